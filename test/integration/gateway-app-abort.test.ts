// The real gateway in front of the built-in demo app (issue #3 §6): a client that goes
// away in the middle of an upload or a download. The gateway must close the backend
// connection (the app sees the abort, its connection count drops back) and keep serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { connectTo, poolOf, request, startPair, waitUntil, type Pair } from './gateway-app-kit.js';

/** Bytes the app read on its (only) connection: a look at a private field, for one test. */
function appBytesRead(p: Pair): number {
  const conns = (p.app.server as unknown as { connections: Set<{ socket: Socket }> }).connections;
  let n = 0;
  for (const c of conns) n += c.socket.bytesRead;
  return n;
}

test('a client aborts mid-upload (requestbuffering=off): the app sees a reset, the gateway serves on', async (t) => {
  // Streamed bodies (requestbuffering=off); buffered ones never reach the app half-sent
  // (real-clients-upload.test.ts). The app buffers all the STDIN it gets (never pauses its
  // socket): a paused Node socket that gets a reset with unread bytes reports a plain end,
  // and the demo app takes an end in the middle of a request's STDIN as a half-close and
  // waits for the rest forever (src/app/responder-connection.ts onPeerEnd; reported). This
  // test is about what the gateway sends.
  const p = await startPair({
    app: { server: { stdinBufferBytes: 64 * 1024 * 1024 } },
    config: (port) => `ProxyPass / fcgi://127.0.0.1:${port}/ requestbuffering=off\n`,
  });
  t.after(() => p.stop());
  const sock = await connectTo(p.gw.port);
  const total = 50 * 1024 * 1024;
  sock.write(
    `POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\nContent-Length: ${total}\r\n\r\n`,
  );
  const piece = Buffer.alloc(256 * 1024, 0x61);
  for (let i = 0; i < 8; i++) {
    if (!sock.write(piece)) await new Promise((r) => sock.once('drain', r));
  }
  await waitUntil(
    () => p.app.server.connectionCount === 1 && p.app.server.running === 1,
    3000,
    'the upload to reach the app',
  );
  // Wait until the app has read all 2 MiB (+ record headers) from its socket: a reset that
  // finds unread bytes in the app's receive queue reads as a plain end on Linux (SOCK_DONE
  // before sk_err in tcp_recvmsg), which the demo app takes for a half-close (see above).
  await waitUntil(() => appBytesRead(p) >= 8 * piece.length + 256, 3000, 'the app to read what was sent');
  sock.destroy();
  await waitUntil(
    () => p.app.server.connectionCount === 0 && p.app.server.running === 0,
    3000,
    'the app to see the abort (connection closed)',
  );
  await waitUntil(() => poolOf(p).size === 0 && poolOf(p).busy === 0, 1000, 'the pool to be empty');
  assert.equal(p.gw.gateway.inFlight, 0);
  const r = await request(p.gw.base, '/echo', { method: 'POST', body: Buffer.from('after') });
  assert.equal(r.status, 200);
  assert.equal((JSON.parse(r.body.toString()) as { length: number }).length, 5);
});

test('a chunked upload aborted mid-way (spooling): nothing reaches the app, the gateway keeps serving', async (t) => {
  const p = await startPair({ tuning: { FCGATE_SPOOL_MEMORY: 4096 } });
  t.after(() => p.stop());
  const sock = await connectTo(p.gw.port);
  sock.write('POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n');
  const piece = Buffer.alloc(64 * 1024, 0x62);
  for (let i = 0; i < 8; i++) sock.write(`${piece.length.toString(16)}\r\n${piece.toString('latin1')}\r\n`);
  await new Promise((r) => setTimeout(r, 100));
  sock.destroy();
  await waitUntil(() => p.gw.gateway.inFlight === 0, 2000, 'the gateway to forget the request');
  assert.equal(p.app.server.connectionCount, 0);
  assert.equal((await request(p.gw.base, '/hello')).status, 200);
});

test('a client aborts a 100 MB download: the backend connection closes, the gateway keeps serving', async (t) => {
  const p = await startPair();
  t.after(() => p.stop());
  for (let round = 0; round < 3; round++) {
    const sock = await connectTo(p.gw.port);
    let got = 0;
    const enough = new Promise<void>((resolve) => {
      sock.on('data', (c: Buffer) => {
        got += c.length;
        if (got > 1024 * 1024) resolve();
      });
    });
    sock.write('GET /bytes?n=100000000 HTTP/1.1\r\nHost: t\r\n\r\n');
    await enough;
    assert.equal(p.app.server.running, 1);
    sock.destroy();
    await waitUntil(
      () => p.app.server.connectionCount === 0 && p.app.server.running === 0,
      3000,
      `round ${round}: the app to see the abort`,
    );
    await waitUntil(() => poolOf(p).size === 0, 1000, 'the pool to be empty');
  }
  const r = await request(p.gw.base, '/bytes?n=1000');
  assert.equal(r.status, 200);
  assert.equal(r.body.length, 1000);
});

test('client aborts while its request waits in the pool queue: it never reaches the app', async (t) => {
  // One request per connection (the demo app would multiplex): the second one queues.
  const p = await startPair({ config: (port) => `ProxyPass / fcgi://127.0.0.1:${port}/ max=1 multiplex=off\n` });
  t.after(() => p.stop());
  const busy = request(p.gw.base, '/slow?ms=500');
  await waitUntil(() => poolOf(p).busy === 1, 2000, 'the slow request to hold the only connection');
  const sock = await connectTo(p.gw.port);
  sock.write('GET /test/count-connection HTTP/1.1\r\nHost: t\r\n\r\n');
  await waitUntil(() => poolOf(p).pending === 1, 2000, 'the second request to queue');
  sock.destroy();
  await waitUntil(() => p.gw.gateway.inFlight === 1, 2000, 'the queued request to be dropped');
  assert.equal((await busy).status, 200);
  const after = await request(p.gw.base, '/test/count-connection');
  assert.equal(after.status, 200);
  // The same kept connection: request 2 on it (the aborted one was never sent).
  assert.equal(after.headers['x-connection-requests'], '2');
});
