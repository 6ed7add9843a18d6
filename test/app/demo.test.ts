// The demo app's routes, as a FastCGI client sees them: run directly (cgi-fcgi style
// params) and mounted under a prefix behind a gateway (SCRIPT_FILENAME proxy:fcgi://…),
// plus the /test/* failure routes that only exist with testRoutes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { startDemoApp, BYTES_PATTERN, type DemoApp } from '../../src/app/demo.js';
import { ProtocolErrorCode } from '../../src/protocol/index.js';
import {
  FcgiTestClient,
  header,
  paramsFor,
  splitCgiResponse,
  type ConnectTarget,
  type CgiResponse,
} from '../helpers/fcgi-client.js';

let app: DemoApp;
let target: ConnectTarget;
const logs: string[] = [];

before(async () => {
  app = await startDemoApp({
    listen: '127.0.0.1:0',
    testRoutes: true,
    maxBytes: 1 << 30,
    server: { log: (l) => logs.push(l) },
  });
  assert.ok('port' in app.address);
  target = { host: app.address.host, port: app.address.port };
});
after(async () => {
  await app.close();
});

async function get(path: string, extra: Record<string, string> = {}, stdin?: Buffer): Promise<CgiResponse> {
  const c = await FcgiTestClient.connect(target);
  try {
    const r = await c.request(paramsFor(path, extra), stdin === undefined ? {} : { stdin });
    assert.equal(r.appStatus, 0);
    return splitCgiResponse(r.stdout);
  } finally {
    c.close();
  }
}

/** What the gateway sends for `ProxyPass /app/ fcgi://127.0.0.1:9000/` and `/app<path>`. */
function mounted(path: string): Record<string, string> {
  const q = path.indexOf('?');
  const p = q >= 0 ? path.slice(0, q) : path;
  return {
    REQUEST_METHOD: 'GET',
    REQUEST_URI: `/app${path}`,
    SCRIPT_NAME: `/app${p}`,
    QUERY_STRING: q >= 0 ? path.slice(q + 1) : '',
    SCRIPT_FILENAME: `proxy:fcgi://127.0.0.1:9000${p}`,
  };
}

test('/hello, directly and mounted under /app/', { timeout: 20_000 }, async () => {
  const direct = await get('/hello');
  assert.equal(direct.status, 200);
  assert.equal(direct.body.toString(), 'Hello from the fcgate demo app\n');
  assert.equal(header(direct, 'Content-Length'), String(direct.body.length));
  const c = await FcgiTestClient.connect(target);
  const r = splitCgiResponse((await c.request(mounted('/hello'))).stdout);
  assert.equal(r.body.toString(), 'Hello from the fcgate demo app\n');
  c.close();
});

test('/ and /env: the CGI environment as an escaped HTML table, links relative to the mount', {
  timeout: 20_000,
}, async () => {
  const r = await get('/env', { HTTP_X_EVIL: '<script>alert("x")</script>&' });
  assert.equal(r.status, 200);
  assert.match(header(r, 'Content-Type')!, /^text\/html/);
  const html = r.body.toString();
  assert.ok(html.includes('<th>HTTP_X_EVIL</th><td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;</td>'));
  assert.ok(!html.includes('<script>'));
  assert.ok(html.includes('href="/hello"'));

  const c = await FcgiTestClient.connect(target);
  const m = splitCgiResponse((await c.request(mounted('/'))).stdout);
  c.close();
  assert.equal(m.status, 200);
  assert.ok(m.body.toString().includes('href="/app/hello"'), 'links carry the mount prefix');
});

test('unknown paths answer 404; routes resolve from REQUEST_URI, SCRIPT_NAME+PATH_INFO or a prefixed path', {
  timeout: 20_000,
}, async () => {
  assert.equal((await get('/nope')).status, 404);
  const c = await FcgiTestClient.connect(target);
  const r = splitCgiResponse((await c.request({ SCRIPT_NAME: '/demo', PATH_INFO: '/hello' })).stdout);
  c.close();
  assert.equal(r.body.toString(), 'Hello from the fcgate demo app\n');
  assert.equal((await get('/var/www/hello')).status, 200, 'a document-root prefix is skipped');
});

test('/bytes?n=N: N bytes of the documented pattern with Content-Length', { timeout: 20_000 }, async () => {
  const n = 200_000;
  const r = await get(`/bytes?n=${n}`);
  assert.equal(r.status, 200);
  assert.equal(header(r, 'Content-Length'), String(n));
  assert.equal(r.body.length, n);
  for (const i of [0, 1, 63, 64, 65471, 65472, 65473, n - 1]) {
    assert.equal(String.fromCharCode(r.body[i]!), BYTES_PATTERN[i % 64], `byte ${i}`);
  }
  assert.equal((await get('/bytes?n=0')).body.length, 0);
  assert.equal((await get('/bytes?n=abc')).status, 400);
  assert.equal((await get(`/bytes?n=${2 ** 31}`)).status, 400, 'above maxBytes');
});

test('/echo: length and sha256 of the body', { timeout: 20_000 }, async () => {
  const body = randomBytes(300_000);
  const r = await get('/echo', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(body.length) }, body);
  assert.equal(header(r, 'Content-Type'), 'application/json');
  assert.deepEqual(JSON.parse(r.body.toString()), {
    length: body.length,
    sha256: createHash('sha256').update(body).digest('hex'),
    content_length: String(body.length),
  });
  assert.deepEqual(JSON.parse((await get('/echo')).body.toString()).length, 0);
});

test('/slow?ms=N answers after N ms; bounded', { timeout: 20_000 }, async () => {
  const t0 = Date.now();
  const r = await get('/slow?ms=60');
  assert.ok(Date.now() - t0 >= 55);
  assert.equal(r.body.toString(), 'slept 60 ms\n');
  assert.equal((await get('/slow?ms=60001')).status, 400);
});

test('/slow is cut short by FCGI_ABORT_REQUEST', { timeout: 20_000 }, async () => {
  const c = await FcgiTestClient.connect(target);
  const p = c.begin(1, paramsFor('/slow?ms=60000'), { keepConn: true });
  c.abort(1);
  const r = await p;
  assert.notEqual(r.appStatus, 0);
  c.close();
});

test('/stream: chunks over time, plain or as server-sent events', { timeout: 20_000 }, async () => {
  const plain = await get('/stream?chunks=3&interval=5');
  assert.equal(plain.body.toString(), 'chunk 0\nchunk 1\nchunk 2\n');
  const sse = await get('/stream?chunks=2&interval=5', { HTTP_ACCEPT: 'text/event-stream' });
  assert.equal(header(sse, 'Content-Type'), 'text/event-stream');
  assert.equal(sse.body.toString(), 'data: chunk 0\n\ndata: chunk 1\n\n');
  assert.equal((await get('/stream?chunks=x')).status, 400);
});

test('/test/garbage: bytes that are not FastCGI, then close', { timeout: 20_000 }, async () => {
  const c = await FcgiTestClient.connect(target);
  void c.begin(1, paramsFor('/test/garbage'));
  await c.closed;
  assert.equal(c.error?.code, ProtocolErrorCode.BadVersion);
});

test('/test/die-mid-response: head and part of the body, then close without END_REQUEST', {
  timeout: 20_000,
}, async () => {
  const c = await FcgiTestClient.connect(target);
  void c.begin(1, paramsFor('/test/die-mid-response?bytes=5000'));
  await c.closed;
  const got = c.partial(1)!;
  const r = splitCgiResponse(got.stdout);
  assert.equal(header(r, 'Content-Length'), '10000');
  assert.equal(r.body.length, 5000);
  assert.equal(got.stdoutEnded, false);
  assert.equal(c.error, null);
});

test('/test/close-before-head and /test/close-in-head', { timeout: 20_000 }, async () => {
  for (const [path, expect] of [
    ['/test/close-before-head', ''],
    ['/test/close-in-head', 'Status: 200 OK\r\nContent-Ty'],
  ]) {
    const c = await FcgiTestClient.connect(target);
    void c.begin(1, paramsFor(path!));
    await c.closed;
    assert.equal(c.partial(1)!.stdout.toString(), expect);
  }
});

test('/test/stderr: STDERR lines beside a normal answer', { timeout: 20_000 }, async () => {
  const c = await FcgiTestClient.connect(target);
  const r = await c.request(paramsFor('/test/stderr?lines=2'));
  c.close();
  assert.equal(r.stderr.toString(), 'demo stderr line 0 of request 1\ndemo stderr line 1 of request 1\n');
  assert.equal(splitCgiResponse(r.stdout).body.toString(), 'wrote 2 stderr lines\n');
});

test('/test/headers: header lines verbatim, repeated ones kept; raw= for anything else', {
  timeout: 20_000,
}, async () => {
  const q = new URLSearchParams([
    ['h', 'Status: 302 Found'],
    ['h', 'Location: /elsewhere'],
    ['h', 'Set-Cookie: a=1'],
    ['h', 'Set-Cookie: b=2'],
    ['body', 'moved'],
  ]);
  const c = await FcgiTestClient.connect(target);
  const r = await c.request(paramsFor(`/test/headers?${q}`), { keepConn: true });
  assert.equal(
    r.stdout.toString(),
    'Status: 302 Found\r\nLocation: /elsewhere\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nmoved',
  );
  const raw = await c.request(paramsFor(`/test/headers?${new URLSearchParams({ raw: 'no head at all' })}`));
  assert.equal(raw.stdout.toString(), 'no head at all');
  c.close();
});

test('/test/hang never answers; an abort ends it', { timeout: 20_000 }, async () => {
  const c = await FcgiTestClient.connect(target);
  const p = c.begin(1, paramsFor('/test/hang'), { keepConn: true });
  const v = await c.getValues(['FCGI_MPXS_CONNS']); // a round trip: the request is running
  assert.equal(v.get('FCGI_MPXS_CONNS'), '1');
  c.abort(1);
  assert.notEqual((await p).appStatus, 0);
  c.close();
});

test('/test/count-connection counts connections and requests on each', { timeout: 20_000 }, async () => {
  const c = await FcgiTestClient.connect(target);
  const one = JSON.parse(
    splitCgiResponse((await c.request(paramsFor('/test/count-connection'), { keepConn: true })).stdout).body.toString(),
  );
  const two = JSON.parse(
    splitCgiResponse((await c.request(paramsFor('/test/count-connection'), { keepConn: true })).stdout).body.toString(),
  );
  c.close();
  assert.equal(one.connection, two.connection);
  assert.deepEqual([one.requests, two.requests, one.keepConn], [1, 2, true]);
  const other = JSON.parse((await get('/test/count-connection')).body.toString());
  assert.notEqual(other.connection, one.connection);
  assert.equal(other.requests, 1);
});

test('/test/after-end: STDOUT after the end-of-stream record, then END_REQUEST', { timeout: 20_000 }, async () => {
  const c = await FcgiTestClient.connect(target);
  const r = await c.request(paramsFor('/test/after-end'));
  assert.equal(splitCgiResponse(r.stdout).body.toString(), 'before the end\n');
  assert.equal(r.afterEnd.toString(), 'AFTER THE END\n');
  await c.closed;
});

test('the /test/ routes do not exist without testRoutes', { timeout: 20_000 }, async () => {
  const plain = await startDemoApp({ listen: { host: '127.0.0.1', port: 0 } });
  try {
    assert.ok('port' in plain.address);
    const c = await FcgiTestClient.connect({ host: plain.address.host, port: plain.address.port });
    const r = splitCgiResponse((await c.request(paramsFor('/test/hang'))).stdout);
    assert.equal(r.status, 404);
  } finally {
    await plain.close();
  }
});

test('no log lines from the demo routes above', () => {
  assert.deepEqual(logs, []);
});
