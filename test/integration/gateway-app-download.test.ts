// The real gateway in front of the built-in demo app (issue #3 §6): responses over time.
// flushpackets (auto/on: chunks leave as the app writes them; off: gathered), Server-Sent
// Events through /stream, and a 512 MiB download to a client that stops reading for ~2 s
// at a time, against a gateway in a child process (`fcgate serve`) whose RSS is read from
// /proc so that the test's own memory does not count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { BYTES_PATTERN, startDemoApp } from '../../src/app/demo.js';
import { freePort } from '../helpers/free-port.js';
import { waitForConnect, waitExit } from '../helpers/process.js';
import { connectTo, startPair, waitUntil } from './gateway-app-kit.js';

interface Timed {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  firstByteMs: number;
  endMs: number;
  pieces: Array<[number, string]>;
}

/** GET with the arrival time of each body piece (ms after the request was sent). */
function timedGet(url: string, headers: http.OutgoingHttpHeaders = {}): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const req = http.get(url, { headers, agent: false }, (res) => {
      const pieces: Array<[number, string]> = [];
      res.setEncoding('utf8');
      res.on('data', (c: string) => pieces.push([Date.now() - started, c]));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body: pieces.map((p) => p[1]).join(''),
          firstByteMs: pieces[0]?.[0] ?? -1,
          endMs: Date.now() - started,
          pieces,
        });
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`${url}: no complete answer in 10 s`)), 10_000);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

test('flushpackets auto (default) and on: /stream chunks arrive as the app writes them; off: at the end', async (t) => {
  // One gateway per setting: workers are shared by URL, so three ProxyPass lines to the
  // same fcgi:// URL would be one worker with the first line's keys (Apache's rule).
  const pairs = await Promise.all(
    ['', ' flushpackets=on', ' flushpackets=off'].map((keys) =>
      startPair({ config: (port) => `ProxyPass / fcgi://127.0.0.1:${port}/${keys}\n` }),
    ),
  );
  t.after(() => Promise.all(pairs.map((p) => p.stop())));
  const expected = 'chunk 0\nchunk 1\nchunk 2\n';
  const [auto, on, off] = await Promise.all(pairs.map((p) => timedGet(`${p.gw.base}/stream?chunks=3&interval=300`)));
  for (const [name, r] of [
    ['auto', auto!],
    ['on', on!],
    ['off', off!],
  ] as const) {
    assert.equal(r.status, 200, name);
    assert.equal(r.body, expected, name);
    assert.ok(r.endMs >= 550, `${name}: ended after ${r.endMs} ms`);
  }
  for (const [name, r] of [
    ['auto', auto!],
    ['on', on!],
  ] as const) {
    assert.ok(r.firstByteMs < 250, `${name}: first chunk after ${r.firstByteMs} ms (end ${r.endMs} ms)`);
    assert.ok(r.pieces.length >= 3, `${name}: ${r.pieces.length} pieces`);
  }
  assert.ok(off!.firstByteMs >= 550, `off: first body byte after ${off!.firstByteMs} ms`);
  assert.equal(off!.pieces.length, 1, `off: ${off!.pieces.length} pieces`);
});

test('Server-Sent Events through /stream: text/event-stream, one event at a time', async (t) => {
  const p = await startPair();
  t.after(() => p.stop());
  const r = await timedGet(`${p.gw.base}/stream?chunks=3&interval=200`, { Accept: 'text/event-stream' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/event-stream');
  assert.equal(r.headers['cache-control'], 'no-cache');
  assert.equal(r.body, 'data: chunk 0\n\ndata: chunk 1\n\ndata: chunk 2\n\n');
  assert.ok(r.firstByteMs < 150, `first event after ${r.firstByteMs} ms`);
  assert.ok(r.pieces.length >= 3, `${r.pieces.length} pieces`);
  // Each event arrived in its own piece, ~200 ms apart.
  const times = r.pieces.map((x) => x[0]);
  assert.ok(times[times.length - 1]! - times[0]! >= 350, times.join(','));
});

/** VmRSS of a process in bytes, or -1 once it is gone. */
function rssOf(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? -1 : Number(m[1]) * 1024;
  } catch {
    return -1;
  }
}

/**
 * GET /bytes?n=`total` over a raw socket, pausing the socket for `pauseMs` each time the
 * body passes one of `pauseAt`; checks every byte against BYTES_PATTERN (views, not bytes).
 */
async function stallingDownload(
  port: number,
  total: number,
  pauseAt: number[],
  pauseMs: number,
  says: () => string,
): Promise<{ head: string; got: number; bad: number; pauses: number }> {
  const pattern = Buffer.alloc(64 * 1024 + 64, BYTES_PATTERN, 'latin1');
  const sock = await connectTo(port);
  try {
    return await new Promise((resolve, reject) => {
      let head: string | null = null;
      let headBuf = Buffer.alloc(0);
      let got = 0;
      let bad = -1;
      let pauses = 0;
      const timer = setTimeout(() => reject(new Error(`only ${got} of ${total} bytes after 90 s`)), 90_000);
      const check = (c: Buffer): void => {
        for (let at = 0; at < c.length; ) {
          const n = Math.min(64 * 1024, c.length - at);
          const off = (got + at) % 64;
          if (bad < 0 && !c.subarray(at, at + n).equals(pattern.subarray(off, off + n))) bad = got + at;
          at += n;
        }
        got += c.length;
      };
      sock.on('data', (c: Buffer) => {
        if (head === null) {
          headBuf = Buffer.concat([headBuf, c]);
          const end = headBuf.indexOf('\r\n\r\n');
          if (end < 0) return;
          head = headBuf.subarray(0, end).toString('latin1');
          c = headBuf.subarray(end + 4);
        }
        check(c);
        if (pauses < pauseAt.length && got >= pauseAt[pauses]!) {
          pauses++;
          sock.pause();
          setTimeout(() => sock.resume(), pauseMs);
        }
        if (got >= total) {
          clearTimeout(timer);
          resolve({ head, got, bad, pauses });
        }
      });
      sock.on('close', () => {
        clearTimeout(timer);
        reject(new Error(`closed after ${got} bytes; gateway said: ${says()}`));
      });
      sock.write(`GET /bytes?n=${total} HTTP/1.1\r\nHost: t\r\n\r\n`);
    });
  } finally {
    sock.destroy();
  }
}

test('flushpackets=on flushwait=5 to a stalling client: 64 MiB, nothing lost while uWS holds bytes back', async (t) => {
  const p = await startPair({
    config: (port) => `ProxyPass / fcgi://127.0.0.1:${port}/ flushpackets=on flushwait=5\n`,
  });
  t.after(() => p.stop());
  const total = 64 * 1024 * 1024;
  const r = await stallingDownload(
    p.gw.port,
    total,
    [8, 24, 40].map((m) => m * 1024 * 1024),
    300,
    () => p.gw.logs.join('\n'),
  );
  assert.equal(r.got, total);
  assert.equal(r.bad, -1, `first wrong byte at ${r.bad}`);
  assert.equal(r.pauses, 3);
});

test('512 MiB to a client that stalls ~2 s at a time: every byte right, the gateway under 150 MB RSS', async (t) => {
  const app = await startDemoApp({ listen: '127.0.0.1:0' });
  const appPort = (app.address as { port: number }).port;
  const port = await freePort();
  const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [main, 'serve', '--listen', `127.0.0.1:${port}`, '--pass', `/=fcgi://127.0.0.1:${appPort}/`],
    { env: { ...process.env, FCGATE_THREADS: '1', FCGATE_ALLOW_ROOT: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  ); // CI runs as root
  let output = '';
  child.stdout.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    output += c.toString();
  });
  t.after(async () => {
    child.kill('SIGKILL');
    await waitExit(child, 5000);
    await app.server.destroyAll();
  });
  await waitForConnect(
    { host: '127.0.0.1', port },
    {
      timeoutMs: 15_000,
      abandon: () => (child.exitCode !== null ? `the gateway exited (${child.exitCode}): ${output}` : null),
    },
  );
  const pid = child.pid!;
  const baseline = rssOf(pid);

  const total = 512 * 1024 * 1024;
  let rssMax = baseline;
  const sampler = setInterval(() => {
    rssMax = Math.max(rssMax, rssOf(pid));
  }, 100);
  t.after(() => clearInterval(sampler));
  const started = Date.now();
  const result = await stallingDownload(
    port,
    total,
    [64, 192, 320].map((m) => m * 1024 * 1024),
    2000,
    () => output,
  );
  clearInterval(sampler);
  const took = Date.now() - started;
  assert.match(result.head, /^HTTP\/1\.1 200 /);
  assert.match(result.head, new RegExp(`\r\nContent-Length: ${total}(\r\n|$)`, 'i'));
  assert.equal(result.got, total);
  assert.equal(result.bad, -1, `first wrong byte at ${result.bad}`);
  assert.equal(result.pauses, 3);
  const mb = (n: number): string => (n / 1e6).toFixed(1);
  t.diagnostic(
    `512 MiB in ${took} ms with 3 × 2 s stalls; gateway RSS ${mb(baseline)} MB at rest, ${mb(rssMax)} MB at most`,
  );
  assert.ok(rssMax > 0 && rssMax < 150e6, `gateway RSS reached ${mb(rssMax)} MB (baseline ${mb(baseline)} MB)`);
  await waitUntil(() => app.server.running === 0, 2000, 'the app to finish');
});
