// Issue 8 §4: default connection reuse never deadlocks an app with few workers. A PHP-FPM
// worker serves one connection at a time and a kept idle connection pins it; fcgiwrap is one
// process. Before the fix: 10 clients on a 5-child pool left 5 requests hanging 60 s (waiting
// in PHP-FPM's backlog behind the gateway's own idle connections), fcgiwrap hung 11 of 20
// sequential requests, and other clients of the same pool got nothing while the gateway sat
// idle on it. Now a stalled request on a new connection makes idle connections go, idle ones
// go 2 s after a burst, and an app that does not answer FCGI_GET_VALUES gets no kept ones.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../helpers/free-port.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { PHP_FIXTURES, skipUnlessPhpFpm, startPhpFpm, type PhpFpm } from '../helpers/php-fpm.js';
import { skipUnlessFound, waitForConnect } from '../helpers/process.js';
import { fcgiRequest } from '../helpers/fcgi-client.js';

const FX = PHP_FIXTURES.replace(/\/+$/, '');

/**
 * `clients` keep-alive clients, each doing `each` requests one after the other; the slowest
 * latency and the statuses.
 */
async function burst(
  base: string,
  path: string,
  clients: number,
  each: number,
): Promise<{ worstMs: number; statuses: Map<number, number> }> {
  const statuses = new Map<number, number>();
  let worstMs = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let i = 0; i < each; i++) {
          const t0 = performance.now();
          const status = await new Promise<number>((resolve, reject) => {
            const req = http.get(`${base}${path}`, { agent, timeout: 20_000 }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            });
            req.on('timeout', () => req.destroy(new Error('no answer within 20 s')));
            req.on('error', reject);
          });
          worstMs = Math.max(worstMs, performance.now() - t0);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      } finally {
        agent.destroy();
      }
    }),
  );
  return { worstMs, statuses };
}

for (const children of [1, 2]) {
  describe(`PHP-FPM pm=static with ${children} child${children > 1 ? 'ren' : ''}, gateway defaults`, {
    skip: skipUnlessPhpFpm(),
  }, () => {
    let fpm: PhpFpm;
    let gw: TestGateway;
    before(async () => {
      fpm = await startPhpFpm({ docroot: PHP_FIXTURES, pm: 'static', maxChildren: children });
      gw = await startTestGateway({ config: `ProxyPass /php/ fcgi://127.0.0.1:${fpm.port}${FX}/\n` });
    });
    after(async () => {
      await gw?.stop();
      await fpm?.stop();
    });

    it('10 keep-alive clients, 3 bursts of 20 requests each: all 200, none waits more than seconds', async () => {
      for (let round = 0; round < 3; round++) {
        const { worstMs, statuses } = await burst(gw.base, '/php/env.php', 10, 20);
        assert.deepEqual(
          [...statuses],
          [[200, 200]],
          `round ${round}: ${[...statuses].join(' ')}\n${gw.logs.join('\n')}`,
        );
        assert.ok(worstMs < 3000, `round ${round}: the slowest request took ${worstMs.toFixed(0)} ms`);
      }
    });

    it('another client of the same pool is served within seconds after a burst', async () => {
      await burst(gw.base, '/php/env.php', 10, 5);
      // Straight to PHP-FPM, as a second gateway or Apache would: it needs a free child.
      const t0 = performance.now();
      const r = await fcgiRequest(
        fpm.target,
        { SCRIPT_FILENAME: `${FX}/env.php`, REQUEST_METHOD: 'GET', QUERY_STRING: '' },
        { timeoutMs: 10_000 },
      );
      assert.match(r.stdout.toString('latin1'), /Content-type/i);
      const ms = performance.now() - t0;
      assert.ok(ms < 4000, `the other client waited ${ms.toFixed(0)} ms`);
    });
  });
}

const hasFcgiwrap = ['/usr/sbin/fcgiwrap', '/usr/bin/fcgiwrap'].some((p) => existsSync(p));

describe('fcgiwrap (one process, does not answer FCGI_GET_VALUES), gateway defaults', {
  skip: skipUnlessFound('fcgiwrap', hasFcgiwrap),
}, () => {
  let dir: string;
  let child: ChildProcess;
  let gw: TestGateway;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fcgate-cgi-'));
    writeFileSync(
      join(dir, 'hello.sh'),
      '#!/bin/sh\necho "Content-Type: text/plain"\necho\necho "hello from cgi $QUERY_STRING"\n',
    );
    chmodSync(join(dir, 'hello.sh'), 0o755);
    const port = await freePort();
    child = spawn(
      existsSync('/usr/sbin/fcgiwrap') ? '/usr/sbin/fcgiwrap' : '/usr/bin/fcgiwrap',
      ['-s', `tcp:127.0.0.1:${port}`],
      { stdio: 'ignore' },
    );
    await waitForConnect({ host: '127.0.0.1', port }, { timeoutMs: 5000 });
    gw = await startTestGateway({
      config: `ProxyFCGIBackendType GENERIC\nProxyPass /cgi/ fcgi://127.0.0.1:${port}${dir}/\n`,
      tuning: { FCGATE_PROBE_TIMEOUT: 500 },
    });
  });
  after(async () => {
    await gw?.stop();
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('the probe turns reuse off, logged once', () => {
    assert.equal(gw.logs.filter((l) => l.startsWith('FCGATE_REUSE_OFF')).length, 1, gw.logs.join('\n'));
  });

  it('20 sequential requests, each within 3 s', async () => {
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const r = await fetch(`${gw.base}/cgi/hello.sh?i=${i}`, { signal: AbortSignal.timeout(3000) });
      assert.equal(r.status, 200);
      assert.equal(await r.text(), `hello from cgi i=${i}\n`);
      assert.ok(performance.now() - t0 < 3000);
    }
  });

  it('10 concurrent clients, 5 requests each: all answered', async () => {
    const { worstMs, statuses } = await burst(gw.base, '/cgi/hello.sh', 10, 5);
    assert.deepEqual([...statuses], [[200, 50]]);
    assert.ok(worstMs < 5000, `the slowest took ${worstMs.toFixed(0)} ms`);
  });
});

describe('slow clients do not hold app workers (issue 9 §7: request buffering)', { skip: skipUnlessPhpFpm() }, () => {
  let fpm: PhpFpm;
  let gw: TestGateway;
  before(async () => {
    fpm = await startPhpFpm({ docroot: PHP_FIXTURES, pm: 'static', maxChildren: 2 });
    gw = await startTestGateway({ config: `ProxyPass /php/ fcgi://127.0.0.1:${fpm.port}${FX}/\n` });
  });
  after(async () => {
    await gw?.stop();
    await fpm?.stop();
  });

  it('6 POSTs trickling at 50 B/s: a GET beside them is answered at once (bodies wait in the gateway)', async () => {
    const { RawConnection, sleep } = await import('../helpers/raw-http.js');
    const slow = await Promise.all(Array.from({ length: 6 }, () => RawConnection.connect(gw.port)));
    let stop = false;
    const trickles = slow.map(async (c, i) => {
      await c.send(
        `POST /php/env.php?slow=${i} HTTP/1.1\r\nHost: x\r\nContent-Type: `
          + `application/octet-stream\r\nContent-Length: 1000\r\n\r\n`,
      );
      for (let k = 0; k < 40 && !stop && !c.closed; k++) {
        await c.send('x'.repeat(5));
        await sleep(100);
      }
    });
    try {
      await sleep(500);
      const t0 = performance.now();
      const r = await fetch(`${gw.base}/php/env.php?fast=1`, { signal: AbortSignal.timeout(5000) });
      await r.text();
      const ms = performance.now() - t0;
      assert.equal(r.status, 200);
      assert.ok(ms < 1000, `the GET waited ${ms.toFixed(0)} ms behind the slow POSTs`);
    } finally {
      stop = true;
      for (const c of slow) c.close();
      await Promise.all(trickles);
    }
  });
});
