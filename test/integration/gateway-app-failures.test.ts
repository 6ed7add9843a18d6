// The real gateway in front of the built-in demo app (issue #3 §6): what a client sees and
// what the error log says when the backend is down, too slow, dies inside a response,
// speaks garbage, closes early, sends data after its end, or writes to STDERR.
// Headers, pools, bodies and streaming are in the other gateway-app-*.test.ts files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../helpers/free-port.js';
import { startTestGateway } from '../helpers/gateway.js';
import { logsOf, poolOf, rawHeader, rawRequest, request, startPair, waitUntil } from './gateway-app-kit.js';

const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`;

test('backend down: 503 and exactly one FCGATE_CONNECT_FAILED line naming the backend', async (t) => {
  const dead = await freePort();
  const gw = await startTestGateway({ config: `ProxyPass /app/ fcgi://127.0.0.1:${dead}/\n`, probe: false });
  t.after(() => gw.stop());
  const r = await request(gw.base, '/app/hello');
  assert.equal(r.status, 503);
  const lines = logsOf(gw, 'FCGATE_CONNECT_FAILED');
  assert.equal(lines.length, 1, gw.logs.join('\n'));
  assert.match(lines[0]!, new RegExp(`backend=fcgi://127\\.0\\.0\\.1:${dead}\\b`));
  assert.match(lines[0]!, /req=\S+ GET \/app\/hello/);
  // The gateway keeps answering.
  assert.equal((await request(gw.base, '/app/hello')).status, 503);
});

test('a backend slower than timeout=1: 504 after ~1 s, FCGATE_HEADER_TIMEOUT, connection closed', async (t) => {
  // One request per connection: the timeout closes it (multiplexed, only the id is aborted:
  // gateway-multiplex.test.ts).
  const p = await startPair({ config: (port) => `ProxyPass / fcgi://127.0.0.1:${port}/ timeout=1 multiplex=off\n` });
  t.after(() => p.stop());
  const started = Date.now();
  const r = await request(p.gw.base, '/slow?ms=2000');
  const took = Date.now() - started;
  assert.equal(r.status, 504);
  assert.ok(took >= 900 && took < 1900, `answered after ${took} ms`);
  const lines = logsOf(p.gw, 'FCGATE_HEADER_TIMEOUT');
  assert.equal(lines.length, 1, p.gw.logs.join('\n'));
  assert.match(lines[0]!, new RegExp(`backend=${p.backend} req=\\S+ GET /slow\\?ms=2000`));
  // The gateway closed its side at once; the demo app (like PHP-FPM) lets the running
  // request finish, then its write fails and the connection goes.
  await waitUntil(() => poolOf(p).size === 0, 500, 'the gateway to close its connection');
  await waitUntil(
    () => p.app.server.connectionCount === 0 && p.app.server.running === 0,
    3000,
    'the app connection to go',
  );
  const ok = await request(p.gw.base, '/slow?ms=10');
  assert.equal(ok.status, 200);
});

test('/test/die-mid-response: head sent, then the connection closes (Content-Length short), one line', async (t) => {
  const p = await startPair();
  t.after(() => p.stop());
  const r = await rawRequest(p.gw.port, get('/test/die-mid-response?bytes=1000'));
  assert.equal(r.status, 200);
  assert.equal(rawHeader(r, 'content-length'), '2000');
  assert.equal(r.complete, false);
  assert.equal(r.closed, true);
  assert.ok(r.body.length <= 1000, `${r.body.length} body bytes`);
  assert.ok(r.body.every((b) => b === 0x78));
  await waitUntil(() => logsOf(p.gw, 'FCGATE_APP_CLOSED').length > 0, 2000, 'the log line');
  const lines = logsOf(p.gw, 'FCGATE_APP_CLOSED');
  assert.equal(lines.length, 1, p.gw.logs.join('\n'));
  assert.match(lines[0]!, /after_head=1/);
  assert.match(lines[0]!, /GET \/test\/die-mid-response\?bytes=1000/);
});

test('/test/garbage: 502 and FCGATE_PROTOCOL', async (t) => {
  const p = await startPair();
  t.after(() => p.stop());
  const r = await request(p.gw.base, '/test/garbage');
  assert.equal(r.status, 502);
  assert.doesNotMatch(r.body.toString(), /not FastCGI/);
  const lines = logsOf(p.gw, 'FCGATE_PROTOCOL');
  assert.equal(lines.length, 1, p.gw.logs.join('\n'));
  assert.match(lines[0]!, new RegExp(`backend=${p.backend}`));
});

test('/test/close-before-head and /test/close-in-head: 502, logged, next request fine', async (t) => {
  const p = await startPair();
  t.after(() => p.stop());
  const a = await request(p.gw.base, '/test/close-before-head', { agent: p.agent });
  assert.equal(a.status, 502);
  const b = await request(p.gw.base, '/test/close-in-head', { agent: p.agent });
  assert.equal(b.status, 502);
  assert.doesNotMatch(b.body.toString(), /Content-Ty/);
  const failures = p.gw.logs.filter((l) => /^FCGATE_(APP_CLOSED|BAD_CGI_HEADER|PROTOCOL)/.test(l));
  assert.equal(failures.length, 2, p.gw.logs.join('\n'));
  assert.match(failures[0]!, /GET \/test\/close-before-head/);
  assert.match(failures[1]!, /GET \/test\/close-in-head/);
  assert.equal((await request(p.gw.base, '/hello', { agent: p.agent })).status, 200);
});

test('/test/after-end: the data after the end of STDOUT is dropped and that connection is not reused', async (t) => {
  const p = await startPair();
  t.after(() => p.stop());
  const first = await request(p.gw.base, '/test/count-connection', { agent: p.agent });
  const conn1 = first.headers['x-connection'];
  const r = await request(p.gw.base, '/test/after-end', { agent: p.agent });
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'before the end\n');
  const next = await request(p.gw.base, '/test/count-connection', { agent: p.agent });
  assert.equal(next.status, 200);
  assert.notEqual(next.headers['x-connection'], conn1, 'a new backend connection after /test/after-end');
  assert.equal(next.headers['x-connection-requests'], '1');
  const again = await request(p.gw.base, '/test/count-connection', { agent: p.agent });
  assert.equal(again.headers['x-connection'], next.headers['x-connection'], 'healthy connections are reused');
});

test('/test/stderr: each STDERR line in the log, tagged with req id, method and URI, never in the body', async (t) => {
  const p = await startPair();
  t.after(() => p.stop());
  const r = await request(p.gw.base, '/test/stderr?lines=3');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'wrote 3 stderr lines\n');
  const lines = logsOf(p.gw, 'FCGATE_APP_STDERR');
  assert.equal(lines.length, 3, p.gw.logs.join('\n'));
  for (let i = 0; i < 3; i++) {
    assert.match(lines[i]!, new RegExp(`backend=${p.backend}`));
    assert.match(lines[i]!, /req=\S+ GET \/test\/stderr\?lines=3/);
    assert.match(lines[i]!, new RegExp(`demo stderr line ${i} of request`));
  }
  const ids = new Set(lines.map((l) => /req=(\S+)/.exec(l)![1]));
  assert.equal(ids.size, 1);
});
