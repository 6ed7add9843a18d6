// Apache's request limits (issue 11 §5), each just under and just over, as Apache answers:
// LimitRequestLine (414), LimitRequestFieldSize and LimitRequestFields (400), LimitRequestBody
// per location beside FCGATE_MAX_BODY (413, Content-Length and chunked). Every refusal closes
// the connection and never reaches the app; one log line names the limit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { HostileApp } from '../helpers/hostile-app.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { RawConnection, buildRequest, chunkedBody } from '../helpers/raw-http.js';

let app: HostileApp;
let gw: TestGateway;

before(async () => {
  app = await HostileApp.start();
  gw = await startTestGateway({
    probe: false,
    config: `LimitRequestLine 200
LimitRequestFieldSize 100
LimitRequestFields 20
ProxyPass / ${app.url}/
<Location /small/>
  LimitRequestBody 1000
</Location>
`,
  });
});

after(async () => {
  await gw?.stop();
  await app?.close();
});

async function status(bytes: Buffer): Promise<{ status: number | undefined; closed: boolean }> {
  const c = await RawConnection.connect(gw.port);
  try {
    await c.send(bytes);
    const r = await c.read({ timeoutMs: 5000 });
    return { status: r.response?.status, closed: await c.waitClosed(2000) };
  } finally {
    c.close();
  }
}

const get = (target: string, headers: Array<[string, string]> = []): Buffer =>
  buildRequest({ target, headers: [['Host', 'a'], ...headers] });

test('LimitRequestLine: the request line up to the limit is served, one byte more is 414', async () => {
  // "GET " + target + " HTTP/1.1" = 200 bytes.
  const at = `/${'a'.repeat(200 - 'GET  HTTP/1.1'.length - 1)}`;
  assert.equal((await status(get(at))).status, 200);
  const over = await status(get(`${at}b`));
  assert.deepEqual(over, { status: 414, closed: true });
  assert.ok(
    gw.logs.some(
      (l) => l.startsWith('FCGATE_URI_TOO_LONG') && l.includes('request line of 201 bytes, over LimitRequestLine 200'),
    ),
    gw.logs.join('\n'),
  );
});

test('LimitRequestFieldSize and LimitRequestFields: at the limit served, over it 400', async () => {
  // "X-Pad: " + value = 100 bytes.
  assert.equal((await status(get('/ok', [['X-Pad', 'v'.repeat(93)]]))).status, 200, gw.logs.join('\n'));
  assert.deepEqual(await status(get('/ok', [['X-Pad', 'v'.repeat(94)]])), { status: 400, closed: true });
  const many = (n: number): Array<[string, string]> =>
    Array.from({ length: n }, (_, i) => [`X-F${i}`, 'x'] as [string, string]);
  assert.equal((await status(get('/ok', many(19)))).status, 200, 'Host + 19 = 20 fields');
  assert.deepEqual(await status(get('/ok', many(20))), { status: 400, closed: true });
  assert.ok(
    gw.logs.some(
      (l) => l.startsWith('FCGATE_HEADER_LIMIT') && l.includes('21 header fields, over LimitRequestFields 20'),
    ),
  );
});

test('LimitRequestBody in a <Location>: at the limit served, over it 413 (Content-Length and chunked); elsewhere FCGATE_MAX_BODY', async () => {
  const post = (target: string, n: number): Buffer =>
    buildRequest({
      method: 'POST',
      target,
      headers: [
        ['Host', 'a'],
        ['Content-Length', String(n)],
      ],
      body: Buffer.alloc(n, 0x61),
    });
  assert.equal((await status(post('/small/ok', 1000))).status, 200);
  assert.equal((await status(post('/small/ok', 1001))).status, 413);
  assert.equal((await status(post('/big/ok', 5000))).status, 200, 'outside the Location');
  const chunked = buildRequest({
    method: 'POST',
    target: '/small/ok',
    headers: [
      ['Host', 'a'],
      ['Transfer-Encoding', 'chunked'],
    ],
    body: chunkedBody([{ data: Buffer.alloc(600, 0x61) }, { data: Buffer.alloc(600, 0x62) }]),
  });
  assert.equal((await status(chunked)).status, 413);
  assert.ok(
    gw.logs.some((l) => l.startsWith('FCGATE_BODY_TOO_LARGE') && l.includes('over LimitRequestBody=1000')),
    gw.logs.join('\n'),
  );
});
