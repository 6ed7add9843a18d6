// Minimal regressions for what the fuzz tests found (issue 9), one test each, against the
// real gateway in this process in front of the hostile app (which records every request that
// reaches it). The ones marked todo fail today and say why: uWebSockets.js's own parser
// (native, not fixable from JS) or a fix that belongs to src/front/reply.ts.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostileApp, answer } from '../helpers/hostile-app.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { RawConnection, buildRequest, chunkedBody, sleep } from '../helpers/raw-http.js';
import { waitUntil } from './gateway-app-kit.js';

let app: HostileApp;
let gw: TestGateway;
let root: string;
before(async () => {
  app = await HostileApp.start();
  root = mkdtempSync(join(tmpdir(), 'fcgate-findings-'));
  gw = await startTestGateway({ config: `DocumentRoot ${root}\nProxyPass /app/ ${app.url}/\n` });
});
after(async () => {
  await gw.stop();
  await app.close();
  rmSync(root, { recursive: true, force: true });
});

/** Writes `pieces` with `gapMs` between them; the first response (or its absence). */
async function exchange(pieces: Array<string | Buffer>, gapMs = 20, opts: { head?: boolean } = {}) {
  const c = await RawConnection.connect(gw.port);
  try {
    await c.send(pieces, gapMs);
    return await c.read({ timeoutMs: 3000, ...(opts.head ? { headRequest: true } : {}), keepBody: true });
  } finally {
    c.close();
  }
}

const seen = (path: string): boolean => app.requests.some((r) => r.path === path);

test('a path segment longer than NAME_MAX under DocumentRoot is a 404, not a 500 (fuzz: ENAMETOOLONG thrown in routing)', async () => {
  const from = gw.logs.length;
  // 4000 bytes: over NAME_MAX (255) for one segment, under LimitRequestLine (8190).
  const r = await exchange([`GET /${'a'.repeat(4000)} HTTP/1.1\r\nHost: a\r\n\r\n`]);
  assert.equal(r.response?.status, 404);
  assert.deepEqual(
    gw.logs.slice(from).filter((l) => l.includes('FCGATE_INTERNAL')),
    [],
  );
});

test('a request line that arrives in two reads is served', {
  todo: 'issue 9: uWS answers 505 when a read ends 4 or more bytes into an incomplete request line (a URL longer than one TCP segment, split by the network)',
}, async () => {
  const r1 = await exchange(['GET /app/o', 'k HTTP/1.1\r\nHost: a\r\n\r\n']);
  assert.equal(r1.response?.status, 200);
  const long = `GET /app/ok?q=${'x'.repeat(2000)} HTTP/1.1\r\nHost: a\r\n\r\n`;
  const r2 = await exchange([long.slice(0, 1460), long.slice(1460)]);
  assert.equal(r2.response?.status, 200);
});

test('chunk extensions are ignored (RFC 9112 §7.1.1)', {
  todo: 'issue 9: uWS refuses a chunk with an extension: 400, or no answer at all ("5;a=b" in one read to a bare uWS app)',
}, async () => {
  const body = chunkedBody([{ data: Buffer.from('hello'), ext: ';name=value' }]);
  const r = await exchange([
    buildRequest({
      method: 'POST',
      target: '/app/ok',
      headers: [
        ['Host', 'a'],
        ['Transfer-Encoding', 'chunked'],
      ],
      body,
    }),
  ]);
  assert.equal(r.response?.status, 200);
  assert.equal(r.response?.body.toString(), 'ok /app/ok stdin=5\n');
});

test('a chunked body with a trailer field is accepted', {
  todo: 'issue 9: uWS answers 505 to the trailer line (it parses it as a request line)',
}, async () => {
  const body = chunkedBody([{ data: Buffer.from('hello') }], { trailers: ['X-Checksum: 1'] });
  const r = await exchange([
    buildRequest({
      method: 'POST',
      target: '/app/ok',
      headers: [
        ['Host', 'a'],
        ['Transfer-Encoding', 'chunked'],
      ],
      body,
    }),
  ]);
  assert.equal(r.response?.status, 200);
  assert.equal(r.response?.body.toString(), 'ok /app/ok stdin=5\n');
});

test('a HEAD refused for its framing (two Host headers) closes the connection: a request after the answer is never served (issue 9 §1)', async () => {
  const c = await RawConnection.connect(gw.port);
  try {
    await c.send('HEAD /app/first HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n');
    const r = await c.read({ timeoutMs: 3000, headRequest: true, keepRest: true });
    assert.equal(r.response?.status, 400);
    await c.send('GET /app/after-head HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.ok(await c.waitClosed(2000), 'the connection stays open after the 400');
    await sleep(50);
    assert.equal(seen('/app/after-head'), false, 'the request after the refused HEAD reached the app');
  } finally {
    c.close();
  }
});

// Found by the backend fuzz (fuzz-backend.test.ts).

test('bytes an app writes after END_REQUEST never reach the next request on that connection (issue 8 §3)', async (t) => {
  const late = await HostileApp.start({
    handler: (req) =>
      req.path === '/first'
        ? [
            { do: 'stdout', data: 'Content-Type: text/plain\r\n\r\nfirst\n' },
            { do: 'stdoutEnd' },
            { do: 'end' },
            { do: 'wait', ms: 30 },
            { do: 'stdout', data: 'AFTER THE END\n' },
          ]
        : [
            { do: 'waitStdin' },
            { do: 'wait', ms: 60 },
            { do: 'stdout', data: 'Content-Type: text/plain\r\n\r\nsecond\n' },
            { do: 'stdoutEnd' },
            { do: 'end' },
          ],
  });
  const g = await startTestGateway({ config: `ProxyPass / ${late.url}/ max=1\n`, probe: false });
  t.after(async () => {
    await g.stop();
    await late.close();
  });
  const a = await RawConnection.connect(g.port);
  const b = await RawConnection.connect(g.port);
  try {
    await a.send('GET /first HTTP/1.1\r\nHost: a\r\n\r\n');
    const r1 = await a.read({ timeoutMs: 3000, keepBody: true });
    assert.equal(r1.response?.body.toString(), 'first\n');
    await b.send('GET /second HTTP/1.1\r\nHost: a\r\n\r\n');
    const r2 = await b.read({ timeoutMs: 3000, keepBody: true });
    assert.equal(r2.response?.status, 200, g.logs.join('\n'));
    assert.equal(r2.response?.body.toString(), 'second\n');
    assert.equal(late.accepted, 1, 'max=1: both requests on one connection (the case under test)');
  } finally {
    a.close();
    b.close();
  }
});

// What `timeout` means while STDIN goes out (nginx's fastcgi_send_timeout): the time between
// two writes that make progress. STDIN leaves in 64 KiB batches, each handed over on 'drain',
// and each resets the timer, so a large body read slowly but steadily is not cut. After the
// last batch is in the kernel's buffers (a few MB on loopback) the timer counts to the first
// response byte, as nginx's fastcgi_read_timeout and Apache's ProxyTimeout do: an app slower
// than that at reading its tail needs a larger timeout (docs/security.md). The body here is
// a few times what the kernel buffers hold, read at a pace that makes the whole take about
// one and a half times the timeout.
test('an app that takes a large STDIN slowly but steadily is not timed out while fcgate writes it (each write resets the timer)', async (t) => {
  const slow = await HostileApp.start({
    handler: () => [
      { do: 'readRate', bytesPerSecond: 8_000_000 },
      { do: 'waitStdin' },
      { do: 'readRate', bytesPerSecond: -1 },
      ...answer((r) => `read ${r.stdinBytes}\n`),
    ],
  });
  const g = await startTestGateway({ config: `ProxyPass / ${slow.url}/ timeout=2\n` });
  t.after(async () => {
    await g.stop();
    await slow.close();
  });
  const body = Buffer.alloc(24_000_000, 0x62);
  const r = await exchange2(
    g.port,
    buildRequest({
      method: 'POST',
      target: '/upload',
      headers: [
        ['Host', 'a'],
        ['Content-Length', String(body.length)],
      ],
      body,
    }),
    20_000,
  );
  assert.equal(r.response?.status, 200, g.logs.join('\n'));
  assert.equal(r.response?.body.toString(), 'read 24000000\n');
});

async function exchange2(port: number, bytes: Buffer, timeoutMs = 8000) {
  const c = await RawConnection.connect(port);
  try {
    await c.send(bytes);
    return await c.read({ timeoutMs, keepBody: true });
  } finally {
    c.close();
  }
}

// Found while measuring the limits for docs/security.md.

test('a client that stops reading a response is closed after a send timeout (FCGATE_SEND_TIMEOUT), and the app is let go', async (t) => {
  const flood = await HostileApp.start();
  const g = await startTestGateway({ config: `ProxyPass / ${flood.url}/\n`, tuning: { FCGATE_SEND_TIMEOUT: 1000 } });
  t.after(async () => {
    await g.stop();
    await flood.close();
  });
  const c = await RawConnection.connect(g.port);
  try {
    c.socket.pause(); // never reads
    await c.send(buildRequest({ target: '/flood-stdout?bytes=300000000', headers: [['Host', 'a']] }));
    await waitUntil(() => g.logs.some((l) => l.startsWith('FCGATE_SEND_TIMEOUT')), 4000, 'the send timeout');
    assert.match(
      g.logs.find((l) => l.startsWith('FCGATE_SEND_TIMEOUT'))!,
      /GET \/flood-stdout\S* sent=\d+ idle_ms=\d+ /,
    );
    // The app's request was aborted (its connection closed: the worker is free).
    await waitUntil(() => flood.openConnections === 0, 3000, 'the app connection to be closed');
    // The client, once it reads, finds the response cut and the connection closed.
    c.socket.resume();
    assert.ok(await c.waitClosed(5000), 'the connection is closed');
  } finally {
    c.close();
  }
});
