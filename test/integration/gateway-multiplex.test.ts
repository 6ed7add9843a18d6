// FastCGI multiplexing (issue 15 §1) against the built-in app, which answers
// FCGI_MPXS_CONNS=1: many requests share few connections, each with its own id, bodies
// byte-exact both ways; one slow client does not stall the others; an abort sends
// FCGI_ABORT_REQUEST and keeps the connection; a request that times out fails alone; an app
// that dies with requests in flight fails every one of them (502), none hangs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { BYTES_PATTERN } from '../../src/app/demo.js';
import { connectTo, logsOf, poolOf, readResponse, request, sha256, startPair, waitUntil } from './gateway-app-kit.js';

/** The demo app's /bytes body of n bytes (demo.ts BYTES_PATTERN). */
function pattern(n: number): Buffer {
  return Buffer.alloc(n, BYTES_PATTERN, 'latin1');
}

test('64 concurrent requests share one connection, bodies byte-exact', async () => {
  const p = await startPair({ config: (port) => `ProxyPass / fcgi://127.0.0.1:${port}/ max=4\n` });
  try {
    const sizes = Array.from({ length: 64 }, (_, i) => 1 + i * 4_111);
    const replies = await Promise.all(sizes.map((n) => request(p.gw.base, `/bytes?n=${n}`, { agent: p.agent })));
    for (const [i, r] of replies.entries()) {
      assert.equal(r.status, 200);
      assert.equal(sha256(r.body), sha256(pattern(sizes[i]!)), `request ${i}`);
    }
    const s = poolOf(p);
    assert.equal(s.opened, 1, 'one connection carried all 64');
    assert.equal(p.app.server.connectionCount, 1);
    assert.deepEqual(
      p.gw.logs.filter((l) => !l.startsWith('FCGATE_PROBE')),
      [],
      'nothing logged but the startup probe',
    );
    assert.match(logsOf(p.gw, 'FCGATE_PROBE')[0]!, / multiplex=64 requests\/connection$/);
  } finally {
    await p.stop();
  }
});

test('interleaved uploads and chunked downloads on two connections, byte-exact', async () => {
  // FCGI_MAX_REQS=6 over max=2 connections: 3 requests each; 24 requests queue and share them.
  const p = await startPair({
    config: (port) => `ProxyPass / fcgi://127.0.0.1:${port}/ max=2\n`,
    app: { server: { maxReqs: 6 } },
  });
  try {
    const uploads = Array.from({ length: 12 }, (_, i) => {
      const body = Buffer.alloc(300_000 + i * 77_777);
      for (let k = 0; k < body.length; k++) body[k] = (k * 13 + i) & 0xff;
      return body;
    });
    await Promise.all([
      ...uploads.map(async (body) => {
        const r = await request(p.gw.base, '/echo', { method: 'POST', body, agent: p.agent, timeoutMs: 30_000 });
        assert.equal(r.status, 200);
        const got = JSON.parse(r.body.toString()) as { length: number; sha256: string };
        assert.equal(got.length, body.length);
        assert.equal(got.sha256, sha256(body));
      }),
      ...Array.from({ length: 12 }, async (_, i) => {
        const n = 500_000 + i * 99_991;
        const r = await request(p.gw.base, `/bytes?n=${n}&cl=0`, { agent: p.agent, timeoutMs: 30_000 });
        assert.equal(r.status, 200);
        assert.equal(r.headers['transfer-encoding'], 'chunked');
        assert.equal(sha256(r.body), sha256(pattern(n)));
      }),
    ]);
    assert.ok(poolOf(p).opened <= 2, `opened ${poolOf(p).opened}`);
  } finally {
    await p.stop();
  }
});

test('a client that does not read: its bytes are held up to FCGATE_MUX_HOLD, then new requests go to another connection', async () => {
  const p = await startPair({
    config: (port) => `ProxyPass / fcgi://127.0.0.1:${port}/ max=2\n`,
    tuning: { FCGATE_MUX_HOLD: 256 * 1024 },
  });
  let slow: net.Socket | null = null;
  try {
    // 8 MB to a client that reads nothing for now: past 256 KiB held for it (and what the
    // sockets buffer), the connection stops reading; FastCGI has no flow control per request.
    const n = 8 * 1024 * 1024;
    slow = await connectTo(p.gw.port);
    slow.pause();
    slow.write(`GET /bytes?n=${n} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await waitUntil(() => logsOf(p.gw, 'FCGATE_MUX_HELD').length === 1, 10_000, 'the connection to stop reading');
    assert.match(logsOf(p.gw, 'FCGATE_MUX_HELD')[0]!, /requests=1 held_bytes=\d+ cause="a client reads slower/);
    const fast = await Promise.all(
      Array.from({ length: 20 }, (_, i) => request(p.gw.base, `/bytes?n=${1000 + i}`, { agent: p.agent })),
    );
    for (const [i, r] of fast.entries()) {
      assert.equal(r.status, 200);
      assert.equal(sha256(r.body), sha256(pattern(1000 + i)));
    }
    assert.equal(poolOf(p).opened, 2, 'the others went to a second connection');
    // Now it reads: every byte arrives, in order, and the first connection reads on.
    const whole = readResponse(slow, { timeoutMs: 20_000 });
    slow.resume();
    const r = await whole;
    assert.equal(r.status, 200);
    assert.ok(r.complete);
    assert.equal(r.body.length, n);
    assert.equal(sha256(r.body), sha256(pattern(n)));
  } finally {
    slow?.destroy();
    await p.stop();
  }
});

test('a client that goes away: FCGI_ABORT_REQUEST for its id, the connection stays', async () => {
  const p = await startPair({ config: (port) => `ProxyPass / fcgi://127.0.0.1:${port}/ max=1\n` });
  try {
    const sock = await connectTo(p.gw.port);
    sock.write('GET /slow?ms=20000 HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitUntil(() => p.app.server.running === 1, 5000, 'the app to run the request');
    const during = await request(p.gw.base, '/hello', { agent: p.agent });
    assert.equal(during.status, 200, 'served beside it on the same connection');
    sock.destroy();
    await waitUntil(() => p.app.server.running === 0, 5000, 'the app to see the abort');
    const after = await request(p.gw.base, '/hello', { agent: p.agent });
    assert.equal(after.status, 200);
    assert.equal(poolOf(p).opened, 1, 'the connection was kept');
    assert.equal(p.app.server.connectionCount, 1);
  } finally {
    await p.stop();
  }
});

test('a request past its timeout fails alone (504); the others on its connection are served', async () => {
  const p = await startPair({ config: (port) => `ProxyPass / fcgi://127.0.0.1:${port}/ max=1 timeout=1\n` });
  try {
    const slow = request(p.gw.base, '/slow?ms=5000', { agent: p.agent });
    const others = Array.from({ length: 10 }, () => request(p.gw.base, '/slow?ms=200', { agent: p.agent }));
    const [s, ...rest] = await Promise.all([slow, ...others]);
    assert.equal(s!.status, 504);
    for (const r of rest) assert.equal(r.status, 200);
    assert.equal(logsOf(p.gw, 'FCGATE_HEADER_TIMEOUT').length, 1, p.gw.logs.join('\n'));
    await waitUntil(() => p.app.server.running === 0, 5000, 'the app to see the abort');
    const after = await request(p.gw.base, '/hello', { agent: p.agent });
    assert.equal(after.status, 200);
    assert.equal(poolOf(p).opened, 1, 'the timeout closed no connection');
  } finally {
    await p.stop();
  }
});

test('the app dies with 20 requests in flight: each gets 502 and one log line, none hangs', async () => {
  const p = await startPair({ config: (port) => `ProxyPass / fcgi://127.0.0.1:${port}/ max=1\n` });
  try {
    const inflight = Array.from({ length: 20 }, () =>
      request(p.gw.base, '/slow?ms=20000', { agent: p.agent, timeoutMs: 10_000 }),
    );
    await waitUntil(() => p.app.server.running === 20, 5000, 'the app to run 20 requests');
    assert.equal(poolOf(p).opened, 1);
    await p.app.server.destroyAll();
    const replies = await Promise.all(inflight);
    for (const r of replies) assert.equal(r.status, 502);
    assert.equal(logsOf(p.gw, 'FCGATE_APP_CLOSED').length, 20, p.gw.logs.join('\n'));
  } finally {
    await p.stop();
  }
});
