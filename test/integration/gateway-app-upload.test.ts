// The real gateway in front of the built-in demo app (issue #3 §6): request bodies to
// /echo (which answers the length and SHA-256 it read): Content-Length bodies around the
// record and buffer sizes, one 1 GiB body streamed with backpressure, chunked bodies that
// the gateway spools (memory and temporary file) and announces with CONTENT_LENGTH, and
// FCGATE_MAX_BODY (413) for both kinds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { logsOf, PatternBody, rawRequest, request, sha256, startPair } from './gateway-app-kit.js';

interface Echo {
  length: number;
  sha256: string;
  content_length: string;
}

/** POSTs `body` (the whole Buffer, or a PatternBody streamed chunk by chunk with backpressure). */
function post(
  base: string,
  path: string,
  body: Buffer | PatternBody,
  opts: { chunked?: boolean; timeoutMs?: number } = {},
): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const size = Buffer.isBuffer(body) ? body.length : body.size;
    const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'application/octet-stream' };
    if (opts.chunked === true) headers['Transfer-Encoding'] = 'chunked';
    else headers['Content-Length'] = String(size);
    const req = http.request(base + path, { method: 'POST', headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode!, body: Buffer.concat(parts), headers: res.headers });
      });
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`POST ${path} (${size} bytes): no answer within ${opts.timeoutMs ?? 20_000} ms`)),
      opts.timeoutMs ?? 20_000,
    );
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    if (Buffer.isBuffer(body)) {
      // Several writes, so a chunked body has several chunks.
      for (let at = 0; at < body.length; at += 40_000) req.write(body.subarray(at, at + 40_000));
      req.end();
      return;
    }
    const it = body.chunks();
    const pump = (): void => {
      for (;;) {
        const next = it.next();
        if (next.done === true) {
          req.end();
          return;
        }
        // The generator reuses its buffer: copy what http may still hold.
        if (!req.write(Buffer.from(next.value))) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

test('Content-Length uploads of 0 B, 1 B, 65535 B, 65536 B and 10 MiB reach the app intact', async (t) => {
  const p = await startPair();
  t.after(() => p.stop());
  for (const size of [0, 1, 65535, 65536, 65537, 10 * 1024 * 1024]) {
    const body = PatternBody.bytes(size);
    const r = await post(p.gw.base, '/echo', body);
    assert.equal(r.status, 200, `${size} bytes`);
    assert.deepEqual(
      JSON.parse(r.body.toString()) as Echo,
      { length: size, sha256: sha256(body), content_length: String(size) },
      `${size} bytes`,
    );
  }
});

test('chunked uploads of 0 B, 100 KiB, 5 MiB are spooled (a file past FCGATE_SPOOL_MEMORY), whole', async (t) => {
  const p = await startPair({ tuning: { FCGATE_SPOOL_MEMORY: 16 * 1024 } });
  t.after(() => p.stop());
  for (const size of [0, 100 * 1024, 5 * 1024 * 1024]) {
    const body = PatternBody.bytes(size);
    const r = await post(p.gw.base, '/echo', body, { chunked: true });
    assert.equal(r.status, 200, `${size} bytes`);
    assert.deepEqual(
      JSON.parse(r.body.toString()) as Echo,
      { length: size, sha256: sha256(body), content_length: String(size) },
      `${size} bytes`,
    );
  }
  // What the app is told: CONTENT_LENGTH, no Transfer-Encoding (the env page lists the params).
  const env = await post(p.gw.base, '/env', PatternBody.bytes(100 * 1024), { chunked: true });
  assert.equal(env.status, 200);
  const page = env.body.toString();
  assert.match(page, /<tr><th>CONTENT_LENGTH<\/th><td>102400<\/td><\/tr>/);
  assert.doesNotMatch(page, /HTTP_TRANSFER_ENCODING/);
  // A zero-length chunked body over a raw socket (exact bytes): CONTENT_LENGTH 0.
  const zero = await rawRequest(
    p.gw.port,
    'POST /env HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  );
  zero.socket.destroy();
  assert.equal(zero.status, 200);
  assert.match(zero.body.toString(), /<tr><th>CONTENT_LENGTH<\/th><td>0<\/td><\/tr>/);
});

test('FCGATE_MAX_BODY: 413 for a Content-Length over it and for a chunked body that grows past it', async (t) => {
  const p = await startPair({ tuning: { FCGATE_MAX_BODY: 100_000, FCGATE_SPOOL_MEMORY: 16 * 1024 } });
  t.after(() => p.stop());
  // At the limit: fine.
  const ok = await post(p.gw.base, '/echo', PatternBody.bytes(100_000));
  assert.equal(ok.status, 200);
  // Content-Length over the limit: refused from the head, before any body is read.
  const cl = await rawRequest(p.gw.port, 'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100001\r\n\r\n');
  cl.socket.destroy();
  assert.equal(cl.status, 413);
  // Chunked, over the limit after some chunks.
  const ch = await post(p.gw.base, '/echo', PatternBody.bytes(300_000), { chunked: true });
  assert.equal(ch.status, 413);
  assert.equal(logsOf(p.gw, 'FCGATE_BODY_TOO_LARGE').length, 2, p.gw.logs.join('\n'));
  assert.equal(p.app.server.running, 0);
  // The gateway goes on.
  const after = await request(p.gw.base, '/hello');
  assert.equal(after.status, 200);
});

test('a 1 GiB upload (the default FCGATE_MAX_BODY) streamed with backpressure: the app hashes the same', async (t) => {
  const p = await startPair({ config: (port) => `ProxyPass / fcgi://127.0.0.1:${port}/ requestbuffering=off\n` });
  t.after(() => p.stop());
  const size = 1024 * 1024 * 1024;
  const body = new PatternBody(size);
  const started = Date.now();
  const rssBefore = process.memoryUsage().rss;
  let rssMax = rssBefore;
  const sampler = setInterval(() => {
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
  }, 100);
  t.after(() => clearInterval(sampler));
  const r = await post(p.gw.base, '/echo', body, { timeoutMs: 120_000 });
  clearInterval(sampler);
  assert.equal(r.status, 200, r.body.toString());
  assert.deepEqual(JSON.parse(r.body.toString()) as Echo, {
    length: size,
    sha256: body.digest(),
    content_length: String(size),
  });
  // Client, gateway and app share this process: all of them together stay far below the body size.
  assert.ok(rssMax - rssBefore < 300 * 1024 * 1024, `RSS grew by ${((rssMax - rssBefore) / 1048576).toFixed(0)} MiB`);
  t.diagnostic(
    `1 GiB upload in ${Date.now() - started} ms, RSS growth ${((rssMax - rssBefore) / 1048576).toFixed(0)} MiB`,
  );
});
