// A serving thread that crashes loses its in-flight requests; each gets one
// FCGATE_THREAD_CRASH_LOST line with the request's id, method, target and backend, read by
// the main thread from the thread's in-flight board (issue 9 item 12: before, 5 of 10 lost
// requests left no line at all).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, get, startApp, startServe, statsOf, type Proc } from './cli-process.js';

let app: { proc: Proc; port: number };
before(async () => {
  app = await startApp();
});
after(async () => {
  await app.proc.stop();
});

/** Polls the stats until `pred` holds; bounded. */
async function until(
  gw: Proc,
  pred: (st: Awaited<ReturnType<typeof statsOf>>) => boolean,
): Promise<Awaited<ReturnType<typeof statsOf>>> {
  for (let i = 0; i < 200; i++) {
    const st = await statsOf(gw);
    if (pred(st)) return st;
  }
  throw new Error('the stats never got there');
}

for (const threads of [1, 2]) {
  test(`a crashed thread's in-flight requests are each logged as lost, with id, method, target and backend (${threads} thread${threads > 1 ? 's' : ''})`, async () => {
    const port = await freePort();
    const gw = await startServe(
      ['--listen', `127.0.0.1:${port}`, '--pass', `/=fcgi://127.0.0.1:${app.port}/`],
      threads,
      { FCGATE_TEST_HOOKS: '1' },
    );
    try {
      const n = 10;
      const outcomes = Array.from({ length: n }, (_, i) =>
        get(port, `/slow?ms=4000&i=${i}`, false, 15_000).then(
          (a) => `answered ${a.status}`,
          () => 'lost',
        ),
      );
      const st = await until(gw, (s) => s.inFlight === n);
      const onZero = st.threads[0]!.inFlight;
      assert.ok(onZero > 0 || threads > 1, JSON.stringify(st.threads));
      const from = gw.lines.length;
      gw.child.stdin!.write('crash 0\n');
      await gw.waitLine(/FCGATE_THREAD_RESTART thread=0 /, 10_000, from);
      const lostLines = gw.lines.slice(from).filter((l) => l.includes('FCGATE_THREAD_CRASH_LOST'));
      const results = await Promise.all(outcomes);
      const lostTargets = results.flatMap((r, i) => (r === 'lost' ? [`/slow?ms=4000&i=${i}`] : []));
      // One line per request thread 0 had in flight, and those are exactly the requests whose clients got nothing.
      assert.equal(lostLines.length, onZero, gw.lines.slice(from).join('\n'));
      assert.equal(lostTargets.length, onZero, JSON.stringify(results));
      const backend = `fcgi://127.0.0.1:${app.port}`;
      const seen = lostLines.map((l) => {
        const m = /FCGATE_THREAD_CRASH_LOST thread=0 req=(\S+) GET (\S+) backend=(\S+) age_s=(\d+) cause="[^"]+"$/.exec(
          l,
        );
        assert.ok(m !== null, l);
        assert.ok(m[3]!.startsWith(backend), l);
        assert.ok(Number(m[4]) >= 0 && Number(m[4]) < 15, l);
        return m[2]!;
      });
      assert.deepEqual(seen.sort(), lostTargets.sort());
      // The ids are the thread's own req=… ids: distinct.
      assert.equal(new Set(lostLines.map((l) => /req=(\S+)/.exec(l)![1])).size, onZero);
      // The replacement starts with an empty board: a second crash with nothing in flight logs no lost request.
      await gw.waitLine(/FCGATE_THREAD_READY thread=0 restarts=1/, 10_000, from);
      await until(gw, (s) => s.inFlight === 0);
      assert.equal((await get(port, '/hello')).status, 200);
      const again = gw.lines.length;
      gw.child.stdin!.write('crash 0\n');
      await gw.waitLine(/FCGATE_THREAD_RESTART thread=0 /, 10_000, again);
      assert.deepEqual(
        gw.lines.slice(again).filter((l) => l.includes('FCGATE_THREAD_CRASH_LOST')),
        [],
      );
    } finally {
      await gw.stop();
    }
  });
}
