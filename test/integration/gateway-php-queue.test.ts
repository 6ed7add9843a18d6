// Queueing in front of a small PHP-FPM: pm=static with 2 children, the gateway's worker
// capped at max=2 connections. 20 concurrent requests to a script sleeping 200 ms must all
// answer 200 in about 10 rounds (~2 s): they wait in the gateway's queue for one of the two
// connections instead of blocking a PHP-FPM child or timing out. With a small
// FCGATE_QUEUE_LIMIT the overflow gets 503 with Retry-After at once. A client that goes
// away frees its PHP-FPM child (deliberate difference: Apache lets the script run on), and
// a worker timeout= gives 504.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PHP_FIXTURES, skipUnlessPhpFpm, startPhpFpm, type PhpFpm } from '../helpers/php-fpm.js';
import { request } from 'node:http';
import { startTestGateway } from '../helpers/gateway.js';

const skip = skipUnlessPhpFpm();
const FX = PHP_FIXTURES.replace(/\/+$/, '');
const N = 20;
const SLEEP_MS = 200;

interface Outcome {
  status: number;
  retryAfter: string | null;
}

async function one(url: string): Promise<Outcome> {
  const r = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  await r.arrayBuffer();
  return { status: r.status, retryAfter: r.headers.get('retry-after') };
}

describe('queueing in front of PHP-FPM with 2 children', { skip }, () => {
  let fpm: PhpFpm;
  before(async () => {
    fpm = await startPhpFpm({ docroot: PHP_FIXTURES, pm: 'static', maxChildren: 2 });
  });
  after(async () => {
    await fpm?.stop();
  });

  test(`${N} concurrent requests, max=2: all 200 in about ${N / 2} rounds`, async (t) => {
    const gw = await startTestGateway({ config: `ProxyPass /q/ fcgi://localhost:${fpm.port}${FX}/ max=2\n` });
    t.after(() => gw.stop());
    const t0 = performance.now();
    const out = await Promise.all(
      Array.from({ length: N }, (_, i) => one(`${gw.base}/q/env.php?sleep=${SLEEP_MS}&i=${i}`)),
    );
    const elapsed = performance.now() - t0;
    assert.deepEqual(
      out.map((o) => o.status),
      new Array<number>(N).fill(200),
      gw.logs.join('\n'),
    );
    const rounds = N / 2;
    t.diagnostic(`${N} requests in ${Math.round(elapsed)} ms`);
    assert.ok(elapsed >= rounds * SLEEP_MS * 0.9, `two at a time: ${Math.round(elapsed)} ms`);
    assert.ok(elapsed < rounds * SLEEP_MS * 3, `queued, not stalled: ${Math.round(elapsed)} ms`);
    const st = gw.gateway.poolStats()[`fcgi://localhost:${fpm.port}`];
    assert.ok(st !== undefined);
    assert.ok(st.opened <= 2, `never more than max connections: ${JSON.stringify(st)}`);
    assert.equal(st.pending, 0);
  });

  test('a full queue answers 503 with Retry-After at once; the rest are served', async (t) => {
    const gw = await startTestGateway({
      config: `ProxyPass /q/ fcgi://localhost:${fpm.port}${FX}/ max=2\n`,
      tuning: { FCGATE_QUEUE_LIMIT: 4, FCGATE_RETRY_AFTER: 3 },
    });
    t.after(() => gw.stop());
    const out = await Promise.all(
      Array.from({ length: N }, (_, i) => one(`${gw.base}/q/env.php?sleep=${SLEEP_MS}&i=${i}`)),
    );
    const ok = out.filter((o) => o.status === 200);
    const full = out.filter((o) => o.status === 503);
    assert.equal(ok.length + full.length, N, JSON.stringify(out.map((o) => o.status)));
    assert.ok(ok.length >= 6, `2 in flight + 4 queued at least: ${ok.length}`);
    assert.ok(full.length >= 1, 'some overflowed');
    for (const f of full) assert.equal(f.retryAfter, '3');
    assert.ok(
      gw.logs.some((l) => l.startsWith('FCGATE_QUEUE_FULL')),
      gw.logs.join('\n'),
    );
  });
  test('a client that goes away frees the only PHP-FPM child for the next request', async (t) => {
    const solo = await startPhpFpm({ docroot: PHP_FIXTURES, pm: 'static', maxChildren: 1 });
    const gw = await startTestGateway({ config: `ProxyPass /q/ fcgi://localhost:${solo.port}${FX}/\n` });
    t.after(async () => {
      await gw.stop();
      await solo.stop();
    });
    // stream.php would run 1000 × 50 ms = 50 s; the client leaves after its first chunk.
    await new Promise<void>((resolve, reject) => {
      const req = request(`${gw.base}/q/stream.php?n=1000&ms=50`, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => {
        if (!req.destroyed) reject(err);
      });
      req.setTimeout(5000, () => req.destroy(new Error('no first chunk')));
      req.end();
    });
    // PHP notices at its next flush (≤ 50 ms) once the gateway closed the backend connection.
    const t0 = performance.now();
    const next = await one(`${gw.base}/q/env.php`);
    const waited = performance.now() - t0;
    assert.equal(next.status, 200);
    assert.ok(waited < 3000, `the child was freed: ${Math.round(waited)} ms`);
  });
  test('worker timeout=1: a script silent for 2 s gets 504 after about 1 s', async (t) => {
    const gw = await startTestGateway({ config: `ProxyPass /q/ fcgi://localhost:${fpm.port}${FX}/ timeout=1\n` });
    t.after(() => gw.stop());
    const t0 = performance.now();
    const r = await one(`${gw.base}/q/env.php?sleep=2000`);
    const waited = performance.now() - t0;
    assert.equal(r.status, 504);
    assert.ok(waited >= 900 && waited < 1900, `${Math.round(waited)} ms`);
    assert.ok(
      gw.logs.some((l) => l.startsWith('FCGATE_HEADER_TIMEOUT')),
      gw.logs.join('\n'),
    );
  });
});
