// The real gateway in front of the built-in demo app (issue #3 §6): the CGI head the app
// writes (/test/headers) as the client sees it: invalid heads, Status passthrough,
// Set-Cookie, Content-Type repeats, local and client redirects, redirect loops, an app
// Content-Length that disagrees with the body, hop-by-hop fields, and HEAD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFcgiServer } from '../../src/app/responder-server.js';
import {
  connectTo,
  logsOf,
  rawHeader,
  rawRequest,
  readResponse,
  request,
  startPair,
  waitUntil,
  type RawResponse,
} from './gateway-app-kit.js';

const get = (path: string, method = 'GET'): string => `${method} ${path} HTTP/1.1\r\nHost: t\r\n\r\n`;
/** /test/headers with these head lines and body. */
const heads = (lines: string[], body = ''): string =>
  '/test/headers?' + [...lines.map((l) => 'h=' + encodeURIComponent(l)), 'body=' + encodeURIComponent(body)].join('&');

test('/test/headers: an invalid head is a 502 and one FCGATE_BAD_CGI_HEADER line', async (t) => {
  const p = await startPair();
  t.after(() => p.stop());
  for (const raw of [
    'not a header line\r\n\r\nbody',
    'Status: 200\r\nBad Name: x\r\n\r\n',
    'Status: 20x\r\n\r\n',
    'Content-Type: text/plain\r\n',
  ]) {
    const before = logsOf(p.gw, 'FCGATE_BAD_CGI_HEADER').length;
    const r = await request(p.gw.base, '/test/headers?raw=' + encodeURIComponent(raw), { agent: p.agent });
    assert.equal(r.status, 502, raw);
    assert.doesNotMatch(r.body.toString(), /not a header|Bad Name/);
    assert.equal(logsOf(p.gw, 'FCGATE_BAD_CGI_HEADER').length, before + 1, p.gw.logs.join('\n'));
  }
  assert.match(
    logsOf(p.gw, 'FCGATE_BAD_CGI_HEADER')[0]!,
    new RegExp(`backend=${p.backend} req=\\S+ GET /test/headers`),
  );
  assert.equal((await request(p.gw.base, '/hello', { agent: p.agent })).status, 200);
});

test('/test/headers: Status passes through with its reason, 599 Custom Reason included', async (t) => {
  const p = await startPair();
  t.after(() => p.stop());
  const cases: Array<[string, string]> = [
    ['Status: 599 Custom Reason', 'HTTP/1.1 599 Custom Reason'],
    ['Status: 404 Gone Fishing', 'HTTP/1.1 404 Gone Fishing'],
    ['Status: 201', 'HTTP/1.1 201 Created'],
  ];
  for (const [line, statusLine] of cases) {
    const r = await rawRequest(p.gw.port, get(heads([line, 'Content-Type: text/plain'], 'body!')));
    r.socket.destroy();
    assert.equal(r.statusLine, statusLine);
    assert.equal(r.body.toString(), 'body!');
  }
});

test('/test/headers: a Status outside 100-599 (999 X) is a 502 and one log line (issue 9)', async (t) => {
  const p = await startPair();
  t.after(() => p.stop());
  for (const line of ['Status: 999 X', 'Status: 600']) {
    const before = logsOf(p.gw, 'FCGATE_BAD_CGI_HEADER').length;
    const r = await rawRequest(p.gw.port, get(heads([line, 'Content-Type: text/plain'], 'body!')));
    r.socket.destroy();
    assert.equal(r.status, 502, line);
    assert.doesNotMatch(r.body.toString(), /body!/);
    const lines = logsOf(p.gw, 'FCGATE_BAD_CGI_HEADER').slice(before);
    assert.equal(lines.length, 1, p.gw.logs.join('\n'));
    assert.match(lines[0]!, /outside 100-599/);
  }
});

test('/test/headers: X-Sendfile, X-Accel-Redirect and X-LIGHTTPD-send-file never reach the client (issue 9)', async (t) => {
  const p = await startPair();
  t.after(() => p.stop());
  const r = await rawRequest(
    p.gw.port,
    get(
      heads(
        [
          'Content-Type: text/plain',
          'X-Sendfile: /etc/passwd',
          'X-Accel-Redirect: /protected/passwd',
          'X-LIGHTTPD-send-file: /etc/passwd',
          'X-Accel-Buffering: no',
          'X-Kept: 1',
        ],
        'b',
      ),
    ),
  );
  r.socket.destroy();
  assert.equal(r.status, 200);
  assert.deepEqual(
    r.headers.filter(([n]) => n.startsWith('x-') && n !== 'x-request-id'),
    [['x-kept', '1']],
  );
  assert.equal(r.body.toString(), 'b');
});

test('/test/headers: several Set-Cookie stay apart; a repeated Content-Type: the last wins', async (t) => {
  const p = await startPair();
  t.after(() => p.stop());
  const r = await request(
    p.gw.base,
    heads(
      [
        'Content-Type: text/plain',
        'Set-Cookie: a=1; Path=/',
        'Set-Cookie: b=2, c=3',
        'Content-Type: application/json',
        'Set-Cookie: d=4',
      ],
      '{}',
    ),
  );
  assert.equal(r.status, 200);
  assert.deepEqual(r.headers['set-cookie'], ['a=1; Path=/', 'b=2, c=3', 'd=4']);
  const types = r.rawHeaders.filter((_, i) => i % 2 === 0 && r.rawHeaders[i]!.toLowerCase() === 'content-type');
  assert.equal(types.length, 1);
  assert.equal(r.headers['content-type'], 'application/json');
});

test('/test/headers: Location /hello without Status is served internally; absolute Location → 302', async (t) => {
  const p = await startPair();
  t.after(() => p.stop());
  const local = await request(p.gw.base, heads(['Location: /hello'], 'ignored'), { agent: p.agent });
  assert.equal(local.status, 200);
  assert.equal(local.body.toString(), 'Hello from the fcgate demo app\n');
  assert.equal(local.headers.location, undefined);

  const withQuery = await request(p.gw.base, heads(['Location: /bytes?n=70'], 'ignored'), { agent: p.agent });
  assert.equal(withQuery.status, 200);
  assert.equal(withQuery.body.length, 70);

  const abs = await request(p.gw.base, heads(['Location: http://example.test/elsewhere'], ''), { agent: p.agent });
  assert.equal(abs.status, 302);
  assert.equal(abs.headers.location, 'http://example.test/elsewhere');

  const withStatus = await request(p.gw.base, heads(['Status: 303 See Other', 'Location: /hello'], 'see'), {
    agent: p.agent,
  });
  assert.equal(withStatus.status, 303);
  assert.equal(withStatus.headers.location, '/hello');
  assert.equal(withStatus.body.toString(), 'see');
});

test('a local redirect loop: 502 after FCGATE_REDIRECT_LIMIT redirects, one FCGATE_REDIRECT_LOOP line', async (t) => {
  let hits = 0;
  const loop = createFcgiServer((_req, res) => {
    hits++;
    res.write('Location: /loop\r\n\r\n');
    res.end();
  });
  const bound = await loop.listen({ host: '127.0.0.1', port: 0 });
  const loopPort = (bound as { port: number }).port;
  const p = await startPair({
    config: (port) => `ProxyPass /loop fcgi://127.0.0.1:${loopPort}/loop\nProxyPass / fcgi://127.0.0.1:${port}/\n`,
    tuning: { FCGATE_REDIRECT_LIMIT: 3 },
  });
  t.after(async () => {
    await p.stop();
    await loop.destroyAll();
  });
  hits = 0;
  const r = await request(p.gw.base, '/loop');
  assert.equal(r.status, 502);
  assert.equal(hits, 4, 'the request and 3 local redirects');
  const lines = logsOf(p.gw, 'FCGATE_REDIRECT_LOOP');
  assert.equal(lines.length, 1, p.gw.logs.join('\n'));
  assert.match(lines[0]!, /req=\S+ GET \/loop/);
  // A redirect into the loop from the demo app counts the same way.
  hits = 0;
  const r2 = await request(p.gw.base, heads(['Location: /loop']));
  assert.equal(r2.status, 502);
  assert.equal(hits, 3);
});

test('an app Content-Length longer than the body: the client sees the truncation (connection closed)', async (t) => {
  const p = await startPair();
  t.after(() => p.stop());
  const r = await rawRequest(p.gw.port, get(heads(['Content-Type: text/plain', 'Content-Length: 100'], 'short')));
  assert.equal(r.status, 200);
  assert.equal(rawHeader(r, 'content-length'), '100');
  assert.equal(r.body.toString(), 'short');
  assert.equal(r.complete, false);
  assert.equal(r.closed, true);
  await waitUntil(() => logsOf(p.gw, 'FCGATE_APP_CLOSED').length === 1, 1000, 'the log line');
  assert.match(logsOf(p.gw, 'FCGATE_APP_CLOSED')[0]!, /95 bytes short/);
});

test('a body longer than the app Content-Length is cut; the connection stays usable', async (t) => {
  const p = await startPair();
  t.after(() => p.stop());
  const r = await rawRequest(p.gw.port, get(heads(['Content-Type: text/plain', 'Content-Length: 3'], 'abcdef')));
  assert.equal(rawHeader(r, 'content-length'), '3');
  assert.equal(r.body.toString(), 'abc');
  assert.equal(r.extra.length, 0);
  const next = readResponse(r.socket);
  r.socket.write(get('/hello'));
  const r2 = await next;
  r.socket.destroy();
  assert.equal(r2.status, 200);
  assert.equal(r2.body.toString(), 'Hello from the fcgate demo app\n');
});

test('hop-by-hop fields from the app are dropped; the client connection stays open', async (t) => {
  const p = await startPair();
  t.after(() => p.stop());
  const r = await rawRequest(
    p.gw.port,
    get(
      heads(
        [
          'Content-Type: text/plain',
          'Connection: close, X-Drop',
          'Keep-Alive: timeout=1',
          'X-Drop: 1',
          'Upgrade: h2c',
          'Proxy-Connection: close',
          'TE: trailers',
          'Trailer: X-T',
          'Transfer-Encoding: chunked',
          'X-Keep: yes',
        ],
        'hop',
      ),
    ),
  );
  const names = r.headers.map(([n]) => n);
  for (const gone of ['keep-alive', 'x-drop', 'upgrade', 'proxy-connection', 'te', 'trailer'])
    assert.ok(!names.includes(gone), `${gone} in ${names.join(',')}`);
  assert.notEqual(rawHeader(r, 'connection'), 'close');
  assert.equal(names.filter((n) => n === 'transfer-encoding' || n === 'content-length').length, 1, names.join(','));
  assert.equal(rawHeader(r, 'x-keep'), 'yes');
  assert.equal(r.body.toString(), 'hop');
  assert.equal(r.closed, false);
  const next = readResponse(r.socket);
  r.socket.write(get('/hello'));
  assert.equal((await next).status, 200);
  r.socket.destroy();
});

async function headThenGet(port: number, path: string): Promise<[RawResponse, RawResponse]> {
  const sock = await connectTo(port);
  try {
    const h = readResponse(sock, { head: true });
    sock.write(get(path, 'HEAD'));
    const head = await h;
    // Anything after the head would be read as the start of the next response.
    await new Promise((r) => setTimeout(r, 50));
    const g = readResponse(sock);
    sock.write(get('/hello'));
    return [head, await g];
  } finally {
    sock.destroy();
  }
}

test('HEAD: the Content-Length of the GET, no body, and the connection is reused', async (t) => {
  const p = await startPair();
  t.after(() => p.stop());
  for (const [path, length] of [
    ['/bytes?n=5000', '5000'],
    ['/hello', '31'],
    [heads(['Content-Type: text/plain'], 'no length'), undefined],
  ] as const) {
    const [head, next] = await headThenGet(p.gw.port, path);
    assert.equal(head.status, 200, path);
    assert.equal(rawHeader(head, 'content-length'), length, path);
    assert.equal(head.extra.length, 0, `${path}: body bytes after a HEAD head`);
    assert.equal(next.status, 200, `${path}: the next request on the connection`);
    assert.equal(next.body.toString(), 'Hello from the fcgate demo app\n');
  }
  // A HEAD that redirects locally ends as the HEAD of the target.
  const [head] = await headThenGet(p.gw.port, heads(['Location: /bytes?n=123']));
  assert.equal(head.status, 200);
  assert.equal(rawHeader(head, 'content-length'), '123');
});
