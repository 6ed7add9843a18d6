// Review of FastCGI multiplexing (issue 15 §1): sequences that mux-connection.ts and
// mux-pool.ts get wrong today, each a test marked todo until the fix lands (the suite stays
// green; a todo test that starts passing is the sign the fix works).
// - Late records of an aborted request: Go's net/http/fcgi answers FCGI_ABORT_REQUEST at
//   once and its handler writes on (an event stream can write for minutes). Once more than
//   RETIRED_IDS newer ids were handed out, such a record is an "unknown request": a protocol
//   error that fails every request on the connection; after the ids wrap, the id is handed to
//   a new request, which gets the old handler's bytes.
// - Time the connection spent paused (another request's slow client) counts toward the
//   per-request read timeout once it reads again.
// - The exchange's replay of a request whose kept connection "the app closed while idle" also
//   fires on a multiplexed connection that was busy: the app had the request (it answered a
//   later one) and gets it a second time.
// - Across threads: a pool whose connection always carries a request never gives its slot up,
//   and another thread's request waits out its acquire deadline.
// The app is scripted (raw-app.ts) on loopback; MuxConnection reads through onRead() as with
// the shared read buffer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { GatewayError } from '../../src/errors.js';
import type { CgiHead } from '../../src/cgi/response-head.js';
import { RecordType } from '../../src/protocol/constants.js';
import { writePreamble } from '../../src/protocol/request-writer.js';
import { frameCopy } from '../../src/protocol/stream-writer.js';
import { LocalBudget, type ConnectionBudget } from '../../src/upstream/budget.js';
import type { ConnectionUser, FailKind } from '../../src/upstream/connection.js';
import { Exchange, type ResponseSink } from '../../src/upstream/exchange.js';
import { MuxConnection, type MuxStream } from '../../src/upstream/mux-connection.js';
import { MuxPool } from '../../src/upstream/mux-pool.js';
import { RawApp, Received, endRequest, stdout, stdoutEnd, until, workerFor } from './raw-app.js';

let app: RawApp;
before(async () => {
  app = await RawApp.start();
});
after(async () => {
  await app.close();
});

class User implements ConnectionUser {
  events: string[] = [];
  answer: () => boolean = () => true;
  onStdout(data: Buffer): boolean {
    this.events.push(`stdout ${data.toString('latin1')}`);
    return this.answer();
  }
  onStdoutEnd(): void {
    this.events.push('stdout-end');
  }
  onStderr(data: Buffer): void {
    this.events.push(`stderr ${data.toString('latin1')}`);
  }
  onEndRequest(appStatus: number, protocolStatus: number, clean: boolean): void {
    this.events.push(`end app=${appStatus} protocol=${protocolStatus} clean=${clean}`);
  }
  onConnectionFailed(kind: FailKind, detail: string): void {
    this.events.push(`failed kind=${kind} ${detail}`);
  }
  onWritable(): void {
    this.events.push('writable');
  }
  get failed(): boolean {
    return this.events.some((e) => e.startsWith('failed'));
  }
}

async function muxConnection(hold = 1024 * 1024): Promise<{ conn: MuxConnection; close(): void }> {
  const a = app.address as { host: string; port: number };
  const socket = connect({ host: a.host, port: a.port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const conn = new MuxConnection(socket, app.name, 64, hold, true);
  const appSide = await app.next();
  return {
    conn,
    close: () => {
      conn.destroy();
      appSide.destroy();
    },
  };
}

function start(conn: MuxConnection, timeoutMs = 30_000): { s: MuxStream; u: User } {
  const s = conn.open();
  const u = new User();
  s.attach(u, s.nextRequestId(), timeoutMs);
  return { s, u };
}

/** A read from the app into the shared buffer (overwritten after the call). */
function read(conn: MuxConnection, ...parts: Buffer[]): void {
  const buf = Buffer.concat(parts);
  conn.onRead(buf.length, buf);
  buf.fill(0x55);
}

/** A request whose client went away after its body was sent: ABORT_REQUEST, which the app answers at once (Go). */
function abortedAndAnswered(conn: MuxConnection): number {
  const a = start(conn);
  a.s.write(frameCopy(RecordType.Stdin, a.s.id, Buffer.from('body'), true));
  a.s.destroy();
  conn.release(a.s);
  read(conn, endRequest(a.s.id));
  assert.equal(conn.streams.has(a.s.id), false, 'the abort is answered: the id is given back');
  return a.s.id;
}

/** Requests that end before sending anything: each takes the next id. */
function burnIds(conn: MuxConnection, n: number): void {
  for (let i = 0; i < n; i++) conn.release(conn.open());
}

describe('late records of an aborted request', () => {
  test('after more than 1024 newer ids they are still dropped, not a protocol error for every request on the connection', async () => {
    const t = await muxConnection();
    try {
      const aborted = abortedAndAnswered(t.conn);
      burnIds(t.conn, 1100); // a busy connection: 1100 requests while the aborted handler writes on
      const b = start(t.conn);
      read(t.conn, stdout(aborted, 'data: tick\n\n')); // the aborted handler's event stream
      assert.deepEqual(b.u.events, [], 'the request in flight hears nothing of it');
      assert.equal(t.conn.isClosed, false, 'the connection stays');
      read(t.conn, stdout(b.s.id, 'Status: 200\r\n\r\nok'), stdoutEnd(b.s.id), endRequest(b.s.id));
      assert.equal(b.u.events.at(-1), 'end app=0 protocol=0 clean=true');
    } finally {
      t.close();
    }
  });

  test('after the ids wrap, the id of an aborted request the app may still write for is not handed out again', async () => {
    const t = await muxConnection();
    try {
      const aborted = abortedAndAnswered(t.conn);
      assert.equal(aborted, 1);
      burnIds(t.conn, 0xffff - 1); // ids 2…65535
      const c = start(t.conn);
      read(t.conn, stdout(aborted, 'data: tick for the aborted client\n\n'));
      assert.notEqual(c.s.id, aborted, 'a new request does not take the id the old handler still writes for');
      assert.deepEqual(c.u.events, [], "the new request never gets the old handler's bytes");
    } finally {
      t.close();
    }
  });
});

describe('timeouts and a paused connection', () => {
  test("time spent paused for another request's slow client does not count toward a request's read timeout", async () => {
    const t = await muxConnection(100);
    try {
      const slow = start(t.conn, 300);
      const other = start(t.conn, 300);
      slow.u.answer = () => false;
      read(t.conn, stdout(slow.s.id, 'Status: 200\r\n\r\n'), stdout(slow.s.id, Buffer.alloc(300, 'x')));
      assert.equal(t.conn.isPaused, true, 'the hold limit is passed: the connection stops reading');
      // The slow client takes 600 ms (twice the read timeout) to catch up; nothing is read meanwhile.
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(other.u.failed, false, 'no timeout while paused');
      slow.u.answer = () => true;
      slow.s.resume();
      assert.equal(t.conn.isPaused, false);
      // What the app wrote for `other` while the connection was paused sits behind the slow
      // request's backlog: it is read 100 ms later, a third of the read timeout after reading resumed
      // (the check runs every 75 ms: today it fails the request first).
      await new Promise((r) => setTimeout(r, 100));
      read(t.conn, stdout(other.s.id, 'Status: 200\r\n\r\nfine'), stdoutEnd(other.s.id), endRequest(other.s.id));
      assert.deepEqual(
        other.u.events,
        ['stdout Status: 200\r\n\r\nfine', 'end app=0 protocol=0 clean=true'],
        'the request was not failed 600 ms into a pause it had no part in',
      );
      assert.equal(slow.u.failed, false, "the slow request's clock restarts when its client caught up too");
    } finally {
      t.close();
    }
  });
});

class Sink implements ResponseSink {
  events: string[] = [];
  onHead(head: CgiHead): void {
    this.events.push(`head ${head.statusLine}`);
  }
  onBody(data: Buffer): boolean {
    this.events.push(`body ${data.toString('latin1')}`);
    return true;
  }
  onEnd(): void {
    this.events.push('end');
  }
  onFailure(err: GatewayError, headSent: boolean): void {
    this.events.push(`failure ${err.code} headSent=${headSent}`);
  }
  onBodyWritable(): void {
    /* bodies here are sent whole before start() */
  }
  get done(): boolean {
    return this.events.some((e) => e === 'end' || e.startsWith('failure'));
  }
}

const pools: MuxPool[] = [];
after(() => {
  for (const p of pools) p.close();
});

function muxPool(budget: ConnectionBudget, acquireMs = 30_000): MuxPool {
  const pool = new MuxPool(
    workerFor(app.address, app.name, { acquireMs }),
    budget,
    { queueLimit: 16, maxRequestsPerConnection: 0, retryAfterSeconds: 1 },
    8,
  );
  pools.push(pool);
  return pool;
}

function exchange(pool: MuxPool, body?: string): { ex: Exchange; sink: Sink } {
  const params = ['SCRIPT_FILENAME', '/srv/x', 'REQUEST_METHOD', body === undefined ? 'GET' : 'POST'];
  const preamble = writePreamble(1, params, { keepConn: true, endStdin: body === undefined });
  const sink = new Sink();
  const ex = new Exchange(
    pool,
    Buffer.from(preamble),
    body !== undefined,
    sink,
    { maxHead: 8192, stderrLimit: 4096, bodyBufferLimit: 64 * 1024, log: () => {} },
    'req=review',
  );
  if (body !== undefined) ex.sendBody(Buffer.from(body), true);
  return { ex, sink };
}

const answer = (id: number, body = 'ok'): Buffer =>
  Buffer.concat([stdout(id, `Status: 200 OK\r\n\r\n${body}`), stdoutEnd(id), endRequest(id)]);

/** Ids of BEGIN_REQUEST records the app got on `seen`. */
const begun = (seen: Received): number[] =>
  (seen.records() ?? []).filter((r) => r.type === RecordType.BeginRequest).map((r) => r.id);

describe('the exchange on a multiplexed connection', () => {
  test('a request on a busy connection the app then closes is not replayed: the app had it (it answered a later one)', async () => {
    const pool = muxPool(new LocalBudget(2));
    const first = exchange(pool);
    first.ex.start();
    const seen = new Received(await app.next());
    await seen.untilStdinEnd(1);
    seen.socket.write(answer(1));
    await until(() => first.sink.done, 'the first request');
    // The connection is kept and busy: a POST, then a GET after it.
    const post = exchange(pool, 'charge the card once');
    const get = exchange(pool);
    post.ex.start();
    get.ex.start();
    await seen.untilStdinEnd(2);
    await seen.untilStdinEnd(3);
    seen.socket.write(answer(3)); // the app read the POST and answered the GET sent after it…
    await until(() => get.sink.done, 'the GET');
    const before = app.sockets.length;
    seen.socket.destroy(); // …then died
    await until(() => post.sink.done || app.sockets.length > before, 'the POST to fail or be sent again');
    let replays = 0;
    if (app.sockets.length > before) {
      const again = new Received(await app.next());
      await until(() => begun(again).length > 0, 'the replayed BEGIN_REQUEST');
      replays = begun(again).length;
      again.socket.destroy();
      await until(() => post.sink.done, 'the POST to end');
    }
    assert.equal(replays, 0, 'the app got the POST once');
    assert.deepEqual(post.sink.events, ['failure FCGATE_APP_CLOSED headSent=false']);
  });
});

describe('FCGATE_CONN_MAX_REQUESTS', () => {
  test('requests that share a connection being opened never put more than the cap on it', async () => {
    const pool = new MuxPool(
      workerFor(app.address, app.name),
      new LocalBudget(4),
      { queueLimit: 16, maxRequestsPerConnection: 2, retryAfterSeconds: 1 },
      8,
    );
    pools.push(pool);
    const before = app.sockets.length;
    const four = Array.from({ length: 4 }, () => exchange(pool));
    for (const x of four) x.ex.start(); // in one turn: the first opens a connection, the others wait for it
    const seen: Received[] = [];
    const total = (): number => seen.reduce((n, s) => n + begun(s).length, 0);
    for (const end = performance.now() + 5_000; total() < 4; ) {
      if (performance.now() > end) throw new Error('timed out waiting for the four BEGIN_REQUEST records');
      if (app.sockets.length > before + seen.length) seen.push(new Received(await app.next()));
      else await new Promise((r) => setImmediate(r));
    }
    const perConnection = seen.map((s) => begun(s).length);
    for (const s of seen) s.socket.write(Buffer.concat(begun(s).map((id) => answer(id))));
    await until(() => four.every((x) => x.sink.done), 'the four requests');
    assert.deepEqual(perConnection, [2, 2], 'two per connection, as FCGATE_CONN_MAX_REQUESTS=2 says');
  });
});
