// Bench: what registering a request on the thread's in-flight board costs (issue 9 item 12):
// enter (request id, method, path, query), setBackend, leave, as onRequest, startExchange and the
// reply's completion do, against the naive registry (a Map of objects per request, which
// would also die with the thread). Input: a PHP-like request target. Not timed: the log
// decoding in the main thread, which runs only after a crash.
import { deepStrictEqual } from 'node:assert/strict';
import { InFlightBoard, readBoard } from '../../src/front/in-flight.js';
import { runSuite } from '../harness.js';

const method = 'GET';
const path = '/wp-admin/admin-ajax.php';
const query = 'action=heartbeat&_nonce=4f9c2a7be1&interval=60';
const backend = 'fcgi://127.0.0.1:9000/';

const buffer = InFlightBoard.allocate();
const board = new InFlightBoard(buffer);
let serial = 0;

/** A typical moment: a few requests already in flight, one more starts and ends. */
const standing = [board.enter('Xk3_aQ9b-1', 'GET', '/a', ''), board.enter('Xk3_aQ9b-2', 'POST', '/b', 'c=d')];
/** Request ids as the thread's log lines write them (a thread prefix and a counter). */
const ids = Array.from({ length: 1024 }, (_, i) => `Xk3_aQ9b-${(i + 3).toString(36)}`);

interface Entry {
  method: string;
  target: string;
  backend: string;
  startedAt: number;
}
const naiveMap = new Map<string, Entry>();

// Same information read back both ways.
const probe = board.enter('probe-1', method, path, query);
board.setBackend(probe, backend);
const lost = readBoard(buffer).lost.find((l) => l.id === 'probe-1')!;
naiveMap.set('probe-1', { method, target: query ? `${path}?${query}` : path, backend, startedAt: lost.startedAt });
const e = naiveMap.get('probe-1')!;
deepStrictEqual(
  { method: lost.method, target: lost.target, backend: lost.backend },
  { method: e.method, target: e.target, backend: e.backend },
);
board.leave(probe);
naiveMap.delete('probe-1');

runSuite({
  suite: 'in-flight',
  input: `enter + setBackend + leave for ${method} ${path}?${query} (${standing.length} others in flight)`,
  candidates: [
    {
      name: 'InFlightBoard',
      fn: () => {
        const s = board.enter(ids[++serial & 1023]!, method, path, query);
        board.setBackend(s, backend);
        board.leave(s);
        return s + 1;
      },
    },
  ],
  baseline: {
    name: 'Map of objects',
    fn: () => {
      const id = ids[++serial & 1023]!;
      const entry: Entry = { method, target: query ? `${path}?${query}` : path, backend: '', startedAt: Date.now() };
      naiveMap.set(id, entry);
      entry.backend = backend;
      naiveMap.delete(id);
      return entry.target.length;
    },
  },
});
