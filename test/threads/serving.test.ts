// `fcgate serve` with several serving threads, as child processes: every thread takes a
// share of the connections on the one port, a thread that crashes is replaced and the port
// is served again within a second, and a second fcgate on the same port stops with a clear
// message.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, get, startApp, startCli, startServe, statsOf, type Proc } from './cli-process.js';

let app: { proc: Proc; port: number };
before(async () => {
  app = await startApp();
});
after(async () => {
  await app.proc.stop();
});

const passFlags = (port: number): string[] => [
  '--listen',
  `127.0.0.1:${port}`,
  '--pass',
  `/=fcgi://127.0.0.1:${app.port}/`,
];

/** `count` GETs, each on a new connection, at most `parallel` at a time; the statuses. */
async function burst(port: number, count: number, parallel: number, path = '/hello'): Promise<number[]> {
  const out: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        next++;
        out.push((await get(port, path)).status);
      }
    }),
  );
  return out;
}

describe('serving threads', () => {
  test('every thread serves a share of new connections on the shared port', async () => {
    const port = await freePort();
    const gw = await startServe(passFlags(port), 3);
    try {
      const statuses = await burst(port, 150, 16);
      assert.deepEqual([...new Set(statuses)], [200]);
      const st = await statsOf(gw);
      assert.equal(st.threads.length, 3);
      for (const th of st.threads)
        assert.ok(th.ready && th.served > 0, `thread ${th.thread} served ${th.served}: ${JSON.stringify(st.threads)}`);
      assert.equal(st.served, 150);
      assert.equal(st.inFlight, 0);
      const pool = st.pools[`fcgi://127.0.0.1:${app.port}`];
      assert.ok(pool !== undefined && pool.opened >= 3, JSON.stringify(st.pools));
      const budget = st.budgets[`fcgi://127.0.0.1:${app.port}`];
      assert.ok(budget !== undefined && budget.used <= budget.cap && budget.waiting === 0, JSON.stringify(st.budgets));
    } finally {
      await gw.stop();
    }
  });

  for (const threads of [2, 1]) {
    const label = `${threads} thread${threads > 1 ? 's' : ''}`;
    test(`a crashed thread is logged and replaced; requests succeed again within 1 s (${label})`, async (t) => {
      const port = await freePort();
      const gw = await startServe(passFlags(port), threads, { FCGATE_TEST_HOOKS: '1' });
      try {
        assert.equal((await get(port, '/hello')).status, 200);
        const from = gw.lines.length;
        gw.child.stdin!.write('crash 0\n');
        await gw.waitLine(/FCGATE_THREAD_CRASH thread=0 error=.*test hook: thread 0 crashes/, 5000, from);
        const crashedAt = Date.now();
        let okAt = 0;
        for (let i = 0; i < 400 && okAt === 0; i++) {
          try {
            if ((await get(port, '/hello', false, 2000)).status === 200) okAt = Date.now();
          } catch {
            await new Promise((r) => setTimeout(r, 5));
          } // refused while nothing listens
        }
        assert.ok(okAt > 0 && okAt - crashedAt < 1000, `served again after ${okAt - crashedAt} ms`);
        await gw.waitLine(/FCGATE_THREAD_RESTART thread=0 /, 5000, from);
        // The replacement listens again: every thread ready, and all of a burst succeeds.
        await gw.waitLine(/FCGATE_THREAD_READY thread=0 restarts=1/, 5000, from);
        t.diagnostic(`first success ${okAt - crashedAt} ms after the crash was logged`);
        const st = await statsOf(gw);
        assert.ok(
          st.threads.every((th) => th.ready),
          JSON.stringify(st.threads),
        );
        assert.equal(st.threads[0]!.restarts, 1);
        assert.deepEqual([...new Set(await burst(port, 60, 8))], [200]);
        assert.ok(gw.child.exitCode === null, 'the process lives on');
      } finally {
        await gw.stop();
      }
    });
  }

  for (const mux of ['multiplex=off', 'multiplex=auto']) {
    test(`max= is one cap over all threads, and idle connections of one thread never stall another (${mux})`, async () => {
      // max=2 over 3 threads: whichever thread holds the 2 connections idle, a request that
      // lands on another thread must get one at once (not after ttl=60 s or acquire=5 s).
      // The app multiplexes: with auto each thread's pool is a MuxPool, with off a Pool.
      const port = await freePort();
      const gw = await startServe(
        ['--listen', `127.0.0.1:${port}`, '--pass', `/=fcgi://127.0.0.1:${app.port}/ max=2 ttl=60 acquire=5000 ${mux}`],
        3,
      );
      try {
        for (let i = 0; i < 40; i++) {
          const t0 = Date.now();
          assert.equal((await get(port, '/hello')).status, 200);
          const took = Date.now() - t0;
          assert.ok(took < 1000, `request ${i} took ${took} ms`);
        }
        const st = await statsOf(gw);
        assert.ok(st.threads.filter((t) => t.served > 0).length >= 2, JSON.stringify(st.threads));
        const budget = st.budgets[`fcgi://127.0.0.1:${app.port}`]!;
        assert.equal(budget.cap, 2);
        assert.ok(budget.used <= 2 && budget.waiting === 0, JSON.stringify(budget));
        const pool = st.pools[`fcgi://127.0.0.1:${app.port}`]!;
        assert.ok(pool.size <= 2, JSON.stringify(pool));
        const warned = gw.lines.some((l) =>
          /FCGATE_CONFIG_WARNING backend=\S+ is multiplexed over at most 2 connections but 3 serving threads each need one/.test(
            l,
          ),
        );
        assert.equal(warned, mux === 'multiplex=auto', 'the startup warning, only when multiplexed');
      } finally {
        await gw.stop();
      }
    });
  }

  test('FCGATE_IN_PROCESS=1: one serving loop in the main thread serves, reports, reloads and drains', async () => {
    const port = await freePort();
    const gw = await startServe(passFlags(port), 1, { FCGATE_IN_PROCESS: '1' });
    try {
      assert.deepEqual([...new Set(await burst(port, 40, 8))], [200]);
      const st = await statsOf(gw);
      assert.equal(st.threads.length, 1);
      assert.ok(st.threads[0]!.ready);
      assert.equal(st.served, 40);
      const from = gw.lines.length;
      gw.child.kill('SIGHUP');
      await gw.waitLine(/FCGATE_RELOADED/, 10_000, from);
      const slow = get(port, '/slow?ms=300');
      for (let i = 0; i < 100 && (await statsOf(gw)).inFlight < 1; i++);
      gw.child.kill('SIGTERM');
      assert.equal((await slow).status, 200, 'the request in flight finishes');
      assert.equal(await gw.exited(), 0, gw.lines.join('\n'));
    } finally {
      await gw.stop();
    }
  });

  test('FCGATE_IN_PROCESS=1: a crash of the serving code ends the process with status 1, logged', async () => {
    const port = await freePort();
    const gw = await startServe(passFlags(port), 1, { FCGATE_IN_PROCESS: '1', FCGATE_TEST_HOOKS: '1' });
    try {
      assert.equal((await get(port, '/hello')).status, 200);
      gw.child.stdin!.write('crash 0\n');
      assert.equal(await gw.exited(), 1);
      await gw.waitLine(/FCGATE_THREAD_CRASH thread=0 error=.*test hook: thread 0 crashes/, 1000);
      await gw.waitLine(/FCGATE_THREAD_CRASH thread=0 cause="FCGATE_IN_PROCESS=1: .*exits \(status 1\)/, 1000);
    } finally {
      await gw.stop();
    }
  });

  test('FCGATE_IN_PROCESS=1 with more than one serving thread: refused with a clear message', async () => {
    const port = await freePort();
    const p = startCli(['serve', ...passFlags(port)], { FCGATE_THREADS: '2', FCGATE_IN_PROCESS: '1' });
    assert.notEqual(await p.exited(), 0);
    await p.waitLine(
      /FCGATE_IN_PROCESS=1 serves in the main thread and needs FCGATE_THREADS=1 \(2 serving threads asked\)/,
      1000,
    );
  });

  test('a balancer over threads: every member elected, counters summed over threads', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'fcgate-threads-'));
    const file = join(dir, 'fcgate.conf');
    writeFileSync(
      file,
      `Listen 127.0.0.1:${port}\nProxyPass /app/ balancer://pair/\n<Proxy balancer://pair>\n`
        + `  BalancerMember fcgi://127.0.0.1:${app.port}\n  BalancerMember fcgi://localhost:${app.port}\n</Proxy>\n`,
    );
    const gw = await startServe(['-c', file], 2);
    try {
      assert.deepEqual([...new Set(await burst(port, 40, 8, '/app/hello'))], [200]);
      const st = await statsOf(gw);
      assert.equal(st.balancers.length, 1);
      const members = st.balancers[0]!.members;
      assert.equal(
        members.reduce((n, m) => n + m.elected, 0),
        40,
      );
      assert.ok(
        members.every((m) => m.elected > 0),
        JSON.stringify(members),
      );
    } finally {
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a second fcgate on the same port stops with a clear message', async () => {
    const port = await freePort();
    const first = await startServe(passFlags(port), 2);
    try {
      const second = startCli(['serve', ...passFlags(port)], { FCGATE_THREADS: '2' });
      const code = await second.exited();
      assert.equal(code, 1); // a runtime failure, not a usage error (issue 13's exit codes)
      assert.match(
        second.lines.join('\n'),
        new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: another process is already listening there`),
      );
      // The first one was not disturbed.
      assert.equal((await get(port, '/hello')).status, 200);
      assert.deepEqual(
        (await statsOf(first)).threads.map((t) => t.restarts),
        [0, 0],
      );
    } finally {
      await first.stop();
    }
  });
});
