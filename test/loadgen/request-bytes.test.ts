// The requests fcgate bench sends, built once per URL: the HTTP request bytes (written out
// by hand here), and the FastCGI request (BEGIN_REQUEST, the CGI environment as PARAMS,
// STDIN) decoded with the app-side RecordReader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRequestSpec, buildHttpRequest } from '../../src/loadgen/http-request.js';
import { buildCgiParams, buildFcgiRequest } from '../../src/loadgen/fcgi-request.js';
import type { RequestSpec } from '../../src/loadgen/request-spec.js';
import { parseTarget } from '../../src/loadgen/target.js';
import { RecordType, Role } from '../../src/protocol/constants.js';
import { decode } from '../protocol/recording-sink.js';

const spec = (over: Partial<RequestSpec> = {}): RequestSpec => ({
  method: 'GET',
  headers: [],
  body: null,
  keepAlive: true,
  docroot: null,
  params: [],
  ...over,
});

test('HTTP: a GET is the request line, Host and the blank line', () => {
  const bytes = buildHttpRequest(parseTarget('http://127.0.0.1:8080/hello?x=1'), spec());
  assert.equal(bytes.toString('latin1'), 'GET /hello?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n');
});

test('HTTP: headers in order, a body with its length, Connection: close without keep-alive', () => {
  const bytes = buildHttpRequest(
    parseTarget('http://localhost/echo'),
    spec({
      method: 'POST',
      headers: [
        ['Content-Type', 'text/plain'],
        ['X-A', 'é'],
      ],
      body: Buffer.from('hello'),
      keepAlive: false,
    }),
  );
  assert.equal(
    bytes.toString('utf8'),
    'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nX-A: é\r\n'
      + 'Content-Length: 5\r\nConnection: close\r\n\r\nhello',
  );
});

test('HTTP: -H Host replaces the URL host; a POST without a body says Content-Length: 0', () => {
  const bytes = buildHttpRequest(
    parseTarget('http://127.0.0.1:1/'),
    spec({ method: 'POST', headers: [['host', 'example.test']] }),
  );
  assert.equal(bytes.toString('latin1'), 'POST / HTTP/1.1\r\nhost: example.test\r\nContent-Length: 0\r\n\r\n');
});

test('request checks: bad method, bad header name, CR/LF in a value, Content-Length by hand', () => {
  assert.throws(() => checkRequestSpec(spec({ method: 'GE T' })), /not a valid HTTP method/);
  assert.throws(() => checkRequestSpec(spec({ headers: [['Bad Name', 'x']] })), /not a valid header name/);
  assert.throws(() => checkRequestSpec(spec({ headers: [['X', 'a\r\nInjected: 1']] })), /CR, LF or NUL/);
  assert.throws(() => checkRequestSpec(spec({ headers: [['Content-Length', '3']] })), /set by fcgate bench/);
  checkRequestSpec(spec({ method: 'PROPFIND', headers: [['X-Ok', 'v']] }));
});

const envOf = (flat: string[]): Map<string, string> => {
  const m = new Map<string, string>();
  for (let i = 0; i < flat.length; i += 2) m.set(flat[i]!, flat[i + 1]!);
  return m;
};

test('FastCGI: the CGI environment a web server would send', () => {
  const env = envOf(
    buildCgiParams(
      parseTarget('fcgi://127.0.0.1:9000/app/index.php?a=1&b=2'),
      spec({
        method: 'POST',
        body: Buffer.from('x=1'),
        docroot: '/var/www/',
        headers: [
          ['Content-Type', 'application/x-www-form-urlencoded'],
          ['X-Forwarded-For', '10.0.0.1'],
          ['Accept', 'a'],
          ['accept', 'b'],
          ['Proxy', 'evil'],
        ],
      }),
    ),
  );
  assert.equal(env.get('REQUEST_METHOD'), 'POST');
  assert.equal(env.get('SCRIPT_FILENAME'), '/var/www/app/index.php');
  assert.equal(env.get('DOCUMENT_ROOT'), '/var/www');
  assert.equal(env.get('SCRIPT_NAME'), '/app/index.php');
  assert.equal(env.get('REQUEST_URI'), '/app/index.php?a=1&b=2');
  assert.equal(env.get('QUERY_STRING'), 'a=1&b=2');
  assert.equal(env.get('SERVER_NAME'), '127.0.0.1');
  assert.equal(env.get('SERVER_PORT'), '9000');
  assert.equal(env.get('GATEWAY_INTERFACE'), 'CGI/1.1');
  assert.equal(env.get('SERVER_PROTOCOL'), 'HTTP/1.1');
  assert.equal(env.get('REMOTE_ADDR'), '127.0.0.1');
  assert.equal(env.get('CONTENT_LENGTH'), '3');
  assert.equal(env.get('CONTENT_TYPE'), 'application/x-www-form-urlencoded');
  assert.equal(env.get('HTTP_HOST'), '127.0.0.1:9000');
  assert.equal(env.get('HTTP_X_FORWARDED_FOR'), '10.0.0.1');
  assert.equal(env.get('HTTP_ACCEPT'), 'a, b');
  assert.equal(env.has('HTTP_PROXY'), false, 'httpoxy: no HTTP_PROXY');
  assert.equal(env.has('HTTP_CONTENT_TYPE'), false);
});

test('FastCGI: without --docroot SCRIPT_FILENAME is the path; --param adds, replaces, removes', () => {
  const env = envOf(
    buildCgiParams(
      parseTarget('unix:/run/fpm.sock|fcgi://localhost/ping'),
      spec({
        params: [
          ['SCRIPT_FILENAME', '/srv/ping.php'],
          ['APP_ENV', 'bench'],
          ['SERVER_SOFTWARE', null],
        ],
      }),
    ),
  );
  assert.equal(env.get('SCRIPT_FILENAME'), '/srv/ping.php');
  assert.equal(env.get('APP_ENV'), 'bench');
  assert.equal(env.has('SERVER_SOFTWARE'), false);
  assert.equal(env.has('DOCUMENT_ROOT'), false);
  assert.equal(env.has('CONTENT_LENGTH'), false, 'a GET without a body has no CONTENT_LENGTH');
  assert.equal(env.get('SERVER_PORT'), '9000');
});

test('FastCGI: the request decodes as BEGIN (keep-conn as asked), the params, and STDIN', () => {
  const params = ['REQUEST_METHOD', 'POST', 'SCRIPT_FILENAME', '/x.php'];
  for (const keep of [true, false]) {
    const bytes = buildFcgiRequest(7, params, Buffer.from('body!'), keep);
    const events = decode('app', [bytes], { trackBegin: true }).events;
    assert.deepEqual(events[0], { kind: 'begin', id: 7, role: Role.Responder, flags: keep ? 1 : 0 });
    const stdin = events.filter((e) => e.kind === 'stream' && e.type === RecordType.Stdin);
    assert.deepEqual(
      stdin.map((e) => (e as { data: Buffer }).data.toString()),
      ['body!', ''],
    );
    const pairs = events.filter((e) => e.kind === 'stream' && e.type === RecordType.Params);
    assert.ok(
      Buffer.concat(pairs.map((e) => (e as { data: Buffer }).data)).includes(Buffer.from('SCRIPT_FILENAME/x.php')),
    );
  }
  const noBody = decode('app', [buildFcgiRequest(1, params, null, true)], { trackBegin: true }).events;
  assert.deepEqual(noBody.at(-1), { kind: 'stream', type: RecordType.Stdin, id: 1, data: Buffer.alloc(0) });
});
