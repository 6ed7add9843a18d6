// 100 MiB through the demo app both ways: an /echo upload hashed while streaming and a
// /bytes download read slowly. Memory must stay bounded (backpressure on both sides):
// the server shares this process, so RSS growth is checked, roughly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createDemoHandler, BYTES_PATTERN } from '../../src/app/demo.js';
import { createFcgiServer, type FcgiResponse, type FcgiServer } from '../../src/app/responder-server.js';
import { RecordType, frameCopy } from '../../src/protocol/index.js';
import { FcgiTestClient, paramsFor, splitCgiResponse, type ConnectTarget } from '../helpers/fcgi-client.js';

const TOTAL = 100 * 1024 * 1024;
const RSS_GROWTH_LIMIT = 80 * 1024 * 1024; // well under the 100 MiB that buffering would need

let server: FcgiServer;
let target: ConnectTarget;
/** The latest response the demo handler got, to watch its socket queue. */
let lastResponse: FcgiResponse | null = null;
before(async () => {
  const demo = createDemoHandler();
  server = createFcgiServer(
    (req, res) => {
      lastResponse = res;
      return demo(req, res);
    },
    { log: () => {} },
  );
  const a = await server.listen({ host: '127.0.0.1', port: 0 });
  assert.ok('port' in a);
  target = { host: a.host, port: a.port };
});
after(async () => {
  await server.close();
});

/** Samples RSS every 20 ms until stopped; returns the peak growth over the start. */
function watchRss(): () => number {
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  return () => {
    clearInterval(timer);
    return Math.max(peak, process.memoryUsage.rss()) - start;
  };
}

test('/echo: a 100 MiB upload hashed while streaming, memory bounded', { timeout: 120_000 }, async (t) => {
  const c = await FcgiTestClient.connect(target);
  const stop = watchRss();
  const p = c.begin(1, paramsFor('/echo', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(TOTAL) }), {
    stdin: null,
    timeoutMs: 110_000,
  });
  const piece = Buffer.alloc(60_000);
  const hash = createHash('sha256');
  let sent = 0;
  for (let i = 0; sent < TOTAL; i++) {
    const n = Math.min(piece.length, TOTAL - sent);
    piece.fill(i & 0xff, 0, n);
    const view = piece.subarray(0, n);
    hash.update(view);
    await c.sendStdin(1, view); // frameCopy copies it, so `piece` may be refilled
    sent += n;
  }
  c.endStdin(1);
  const r = await p;
  const growth = stop();
  c.close();
  t.diagnostic(`RSS growth ${(growth / 1048576).toFixed(1)} MiB`);
  assert.deepEqual(JSON.parse(splitCgiResponse(r.stdout).body.toString()), {
    length: TOTAL,
    sha256: hash.digest('hex'),
    content_length: String(TOTAL),
  });
  assert.ok(growth < RSS_GROWTH_LIMIT, `RSS grew by ${(growth / 1048576).toFixed(1)} MiB`);
});

test('/bytes: a 100 MiB download read slowly, memory bounded', { timeout: 120_000 }, async (t) => {
  const c = await FcgiTestClient.connect(target);
  const stop = watchRss();
  // The pattern Buffer is shared by every write, so RSS alone would not show a server that
  // ignores backpressure: watch the bytes queued on the server's socket instead.
  let maxQueued = 0;
  const sampler = setInterval(() => {
    maxQueued = Math.max(maxQueued, lastResponse?.queuedBytes ?? 0);
  }, 5);
  const hash = createHash('sha256');
  let received = 0;
  let nextPause = 8 * 1024 * 1024;
  let head: Buffer | null = null;
  const r = await c.request(paramsFor(`/bytes?n=${TOTAL}`), {
    timeoutMs: 110_000,
    onStdout: (data) => {
      if (head === null) {
        // The head is the first STDOUT write, in its own record.
        head = Buffer.from(data);
        return;
      }
      hash.update(data);
      received += data.length;
      if (received >= nextPause) {
        // a slow reader: stop reading for a while
        nextPause += 8 * 1024 * 1024;
        c.socket.pause();
        setTimeout(() => c.socket.resume(), 30);
      }
    },
  });
  const growth = stop();
  clearInterval(sampler);
  t.diagnostic(`RSS growth ${(growth / 1048576).toFixed(1)} MiB, server socket queue peak ${maxQueued} bytes`);
  assert.ok(maxQueued < 1024 * 1024, `server queued ${maxQueued} bytes`);
  assert.equal(r.appStatus, 0);
  assert.equal(splitCgiResponse(head!).status, 200);
  assert.equal(received, TOTAL);
  const expected = createHash('sha256');
  const period = Buffer.alloc(64 * 16384, BYTES_PATTERN, 'latin1'); // 1 MiB, a whole number of periods
  for (let i = 0; i < TOTAL / period.length; i++) expected.update(period);
  assert.equal(hash.digest('hex'), expected.digest('hex'));
  assert.ok(growth < RSS_GROWTH_LIMIT, `RSS grew by ${(growth / 1048576).toFixed(1)} MiB`);
  await c.closed;
});

test('frameCopy of a 60 000-byte piece frames one record (sanity for the upload above)', () => {
  const framed = frameCopy(RecordType.Stdin, 1, Buffer.alloc(60_000));
  assert.equal(framed.length, 8 + 60_000); // header + content, no padding (60 000 % 8 == 0)
});
