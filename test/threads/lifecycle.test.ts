// `fcgate serve` with serving threads, as child processes: SIGTERM drains (listeners close
// at once, in-flight requests finish with 200, exit 0) and SIGHUP reloads the configuration
// under load without losing a request (an invalid file keeps the old configuration).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, get, startApp, startServe, statsOf, type Answer, type Proc } from './cli-process.js';

let app: { proc: Proc; port: number };
let dir: string;
before(async () => {
  app = await startApp();
  dir = mkdtempSync(join(tmpdir(), 'fcgate-threads-'));
});
after(async () => {
  await app.proc.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Resolves 'refused' or 'accepted' for one connection attempt. */
function tryConnect(port: number): Promise<'refused' | 'accepted'> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve('accepted');
    });
    s.once('error', () => resolve('refused'));
  });
}

/** Polls the stats (each a SIGUSR2 round trip) until `inFlight` reaches n; bounded. */
async function untilInFlight(gw: Proc, n: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await statsOf(gw)).inFlight >= n) return;
  }
  throw new Error(`inFlight never reached ${n}`);
}

describe('lifecycle with serving threads', () => {
  test('SIGTERM: listeners close at once, in-flight requests finish with 200, exit 0', async () => {
    const port = await freePort();
    const gw = await startServe(['--listen', `127.0.0.1:${port}`, '--pass', `/=fcgi://127.0.0.1:${app.port}/`], 2);
    try {
      const slow = Array.from({ length: 8 }, () => get(port, '/slow?ms=1000'));
      await untilInFlight(gw, 8);
      const from = gw.lines.length;
      gw.child.kill('SIGTERM');
      await gw.waitLine(/SIGTERM: draining/, 5000, from);
      let refused = false;
      for (let i = 0; i < 100 && !refused; i++) {
        refused = (await tryConnect(port)) === 'refused';
        if (!refused) await new Promise((r) => setTimeout(r, 5));
      }
      assert.ok(refused, 'new connections are refused while draining');
      const answers: Answer[] = await Promise.all(slow);
      assert.deepEqual(
        answers.map((a) => a.status),
        Array(8).fill(200),
      );
      for (const a of answers) assert.equal(a.body, 'slept 1000 ms\n');
      assert.equal(await gw.exited(), 0);
    } finally {
      await gw.stop();
    }
  });

  test('SIGHUP under load: no request lost, the new route works, an invalid file is refused', async () => {
    const port = await freePort();
    const file = join(dir, 'fcgate.conf');
    const base = `Listen 127.0.0.1:${port}\nProxyPass /a/ fcgi://127.0.0.1:${app.port}/\n`;
    writeFileSync(file, base);
    const gw = await startServe(['-c', file], 2);
    const agents: Agent[] = [];
    try {
      assert.equal((await get(port, '/b/hello')).status, 404);
      // The load: 4 keep-alive clients looping, bounded in count; failures are collected.
      let stop = false;
      let done = 0;
      const failures: string[] = [];
      let onDone: (() => void) | null = null;
      const loops = Array.from({ length: 4 }, async () => {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        agents.push(agent);
        for (let i = 0; i < 5000 && !stop; i++) {
          try {
            const a = await get(port, '/a/hello', agent);
            if (a.status !== 200) failures.push(`status ${a.status}`);
          } catch (err) {
            failures.push((err as Error).message);
          }
          done++;
          onDone?.();
        }
      });
      const slow = Array.from({ length: 4 }, () => get(port, '/a/slow?ms=500'));
      /** Resolves once the loops have completed `n` more requests. */
      const progress = (n: number): Promise<void> => {
        const target = done + n;
        return new Promise((resolve) => {
          onDone = () => {
            if (done >= target) {
              onDone = null;
              resolve();
            }
          };
        });
      };
      await progress(100);
      // A changed file: one more route on the same backend, one on a new backend name.
      writeFileSync(
        file,
        base + `ProxyPass /b/ fcgi://127.0.0.1:${app.port}/\nProxyPass /c/ fcgi://localhost:${app.port}/\n`,
      );
      const from = gw.lines.length;
      gw.child.kill('SIGHUP');
      await gw.waitLine(/FCGATE_RELOADED /, 10_000, from);
      await progress(200);
      stop = true;
      await Promise.all(loops);
      assert.deepEqual(failures, [], `${failures.length} of ${done} requests failed`);
      assert.deepEqual(
        (await Promise.all(slow)).map((a) => a.status),
        [200, 200, 200, 200],
      );
      assert.equal((await get(port, '/b/hello')).status, 200);
      assert.equal((await get(port, '/b/hello', agents[0])).status, 200, 'also on a connection opened before');
      assert.equal((await get(port, '/c/hello')).status, 200);
      const st = await statsOf(gw);
      assert.ok(st.budgets[`fcgi://localhost:${app.port}`] !== undefined, JSON.stringify(st.budgets));

      // An invalid file: logged, and the configuration in force stays.
      writeFileSync(file, base + 'NoSuchDirective on\n');
      const from2 = gw.lines.length;
      gw.child.kill('SIGHUP');
      await gw.waitLine(/FCGATE_RELOAD_FAILED .*NoSuchDirective/, 10_000, from2);
      assert.equal((await get(port, '/b/hello')).status, 200);
      assert.ok(gw.child.exitCode === null);
    } finally {
      for (const a of agents) a.destroy();
      await gw.stop();
    }
  });
});
