// buildParams against what Apache sends (docs/apache-differences.md, "What fcgate copies"):
// the whole list for the seed request (names, values, order, written by hand), header →
// param rules, Host → SERVER_NAME / SERVER_PORT, config env and balancer params.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildParams, paramOf, serverInfoFromEnv } from '../../src/cgi/environment.js';
import { asRecord, DOCROOT, names, resolved, server, snapshot, worker } from './fixtures.js';

const seedRequest = () =>
  snapshot({
    path: '/mon_appli/a/b.php',
    query: 'x=1&y=2',
    headers: [
      ['host', 'localhost:8181'],
      ['user-agent', 'curl/8.0'],
      ['accept', '*/*'],
    ],
  });
const seedRoute = () => resolved({ targetPath: '/a/b.php', decodedPath: '/mon_appli/a/b.php' });

test('seed request: every param, in Apache order (minus PATH)', () => {
  const { list, vary } = buildParams(seedRequest(), seedRoute(), server());
  assert.deepEqual(list, [
    'HTTP_HOST',
    'localhost:8181', // headers first, in arrival order
    'HTTP_USER_AGENT',
    'curl/8.0',
    'HTTP_ACCEPT',
    '*/*',
    'SERVER_SIGNATURE',
    '', // ServerSignature Off
    'SERVER_SOFTWARE',
    'fcgate',
    'SERVER_NAME',
    'localhost', // from Host
    'SERVER_ADDR',
    '127.0.0.1',
    'SERVER_PORT',
    '8181', // from Host
    'REMOTE_ADDR',
    '127.0.0.1',
    'DOCUMENT_ROOT',
    DOCROOT,
    'REQUEST_SCHEME',
    'http',
    'CONTEXT_PREFIX',
    '',
    'CONTEXT_DOCUMENT_ROOT',
    DOCROOT,
    'SERVER_ADMIN',
    '[no address given]',
    'SCRIPT_FILENAME',
    'proxy:fcgi://localhost:4000/a/b.php',
    'REMOTE_PORT',
    '50000',
    'GATEWAY_INTERFACE',
    'CGI/1.1',
    'SERVER_PROTOCOL',
    'HTTP/1.1',
    'REQUEST_METHOD',
    'GET',
    'QUERY_STRING',
    'x=1&y=2',
    'REQUEST_URI',
    '/mon_appli/a/b.php?x=1&y=2',
    'SCRIPT_NAME',
    '/mon_appli/a/b.php',
  ]);
  assert.deepEqual(vary, []);
});

test('never sent: PATH, REDIRECT_STATUS, REMOTE_USER, AUTH_TYPE, HTTPS (plain http), FCGI_ROLE, DOCUMENT_URI', () => {
  const p = asRecord(buildParams(seedRequest(), seedRoute(), server()).list);
  for (const n of [
    'PATH',
    'REDIRECT_STATUS',
    'REMOTE_USER',
    'AUTH_TYPE',
    'HTTPS',
    'FCGI_ROLE',
    'DOCUMENT_URI',
    'CONTENT_TYPE',
    'CONTENT_LENGTH',
    'PATH_INFO',
    'PATH_TRANSLATED',
  ]) {
    assert.equal(p[n], undefined, n);
  }
});

const headerCase = (cgiPassAuth: boolean) =>
  buildParams(
    snapshot({
      method: 'POST',
      path: '/mon_appli/x',
      headers: [
        ['host', 'localhost:8181'],
        ['content-type', 'text/plain'],
        ['proxy', 'http://evil:1'],
        ['x_under_score', '1'],
        ['x-real_ip', '1.2.3.4'],
        ['a.b', '1'],
        ['x~y', '1'],
        ['wow!', '1'],
        ['authorization', 'Basic dTpw'],
        ['content-length', '5'],
        ['proxy-authorization', 'Basic eDp5'],
        ['cookie', 'a=1; b=2'],
        ['connection', 'keep-alive, x-hop'],
        ['x-hop', 'h'],
        ['te', 'trailers'],
        ['upgrade', 'h2c'],
        ['keep-alive', '300'],
        ['https', 'on'],
        ['transfer-encoding', 'chunked'],
        ['x-empty', ''],
        ['x-latin', 'caf\u00e9'],
      ],
    }),
    resolved({ targetPath: '/x', decodedPath: '/mon_appli/x', cgiPassAuth }),
    server(),
  ).list;

test('§2 header mapping: httpoxy, dropped names, Content-* in place, hop-by-hop passed, CGIPassAuth off', () => {
  const list = headerCase(false);
  assert.deepEqual(names(list).slice(0, 13), [
    'HTTP_HOST',
    'CONTENT_TYPE',
    'CONTENT_LENGTH',
    'HTTP_COOKIE',
    'HTTP_CONNECTION',
    'HTTP_X_HOP',
    'HTTP_TE',
    'HTTP_UPGRADE',
    'HTTP_KEEP_ALIVE',
    'HTTP_HTTPS',
    'HTTP_TRANSFER_ENCODING',
    'HTTP_X_EMPTY',
    'HTTP_X_LATIN',
  ]);
  const p = asRecord(list);
  assert.equal(p['SERVER_SIGNATURE'], '', 'standard params follow the headers');
  assert.equal(names(list)[13], 'SERVER_SIGNATURE');
  assert.equal(p['HTTP_PROXY'], undefined);
  assert.equal(p['HTTP_AUTHORIZATION'], undefined);
  assert.equal(p['HTTP_PROXY_AUTHORIZATION'], undefined);
  assert.equal(p['HTTPS'], undefined, 'an HTTPS header only gives HTTP_HTTPS');
  assert.equal(p['HTTP_X_EMPTY'], '', 'empty values kept');
  assert.equal(p['HTTP_X_LATIN'], 'caf\u00e9', 'values passed unchanged');
  assert.equal(p['CONTENT_LENGTH'], '5');
  assert.equal(p['HTTP_COOKIE'], 'a=1; b=2');
  assert.equal(p['HTTP_CONTENT_TYPE'], undefined);
  assert.equal(p['REQUEST_METHOD'], 'POST');
});

test('§2 CGIPassAuth On passes Authorization and Proxy-Authorization in place', () => {
  const n = names(headerCase(true));
  assert.deepEqual(n.slice(0, 5), [
    'HTTP_HOST',
    'CONTENT_TYPE',
    'HTTP_AUTHORIZATION',
    'CONTENT_LENGTH',
    'HTTP_PROXY_AUTHORIZATION',
  ]);
  assert.ok(!n.includes('HTTP_PROXY'));
});

test('§2 method and protocol passed as received; REQUEST_URI raw, SCRIPT_NAME decoded', () => {
  const p = asRecord(
    buildParams(
      snapshot({
        method: 'get',
        protocol: 'HTTP/1.2',
        path: '/mon_appli/a/./b/../%41%42%43',
        query: '',
      }),
      resolved({ targetPath: '/a/ABC', decodedPath: '/mon_appli/a/ABC' }),
      server(),
    ).list,
  );
  assert.equal(p['REQUEST_METHOD'], 'get');
  assert.equal(p['SERVER_PROTOCOL'], 'HTTP/1.2');
  assert.equal(p['REQUEST_URI'], '/mon_appli/a/./b/../%41%42%43');
  assert.equal(p['QUERY_STRING'], '');
  assert.equal(p['SCRIPT_NAME'], '/mon_appli/a/ABC');
});

const hostCase = (host: string | null, over: { scheme?: string; serverName?: string | null; local?: string } = {}) => {
  const p = asRecord(
    buildParams(
      snapshot({
        headers: host === null ? [] : [['host', host]],
        scheme: over.scheme ?? 'http',
        localAddress: over.local ?? '127.0.0.1',
      }),
      resolved({ serverName: over.serverName ?? null }),
      server(),
    ).list,
  );
  return [p['SERVER_NAME'], p['SERVER_PORT']];
};

test('§2 SERVER_NAME / SERVER_PORT from Host', () => {
  assert.deepEqual(hostCase('example.com:9999'), ['example.com', '9999']);
  assert.deepEqual(hostCase('LOCALHOST'), ['localhost', '80']);
  assert.deepEqual(hostCase('[::1]:8181'), ['[::1]', '8181']);
  assert.deepEqual(hostCase('[::1]'), ['[::1]', '80']);
  assert.deepEqual(hostCase('localhost.'), ['localhost', '80']);
  assert.deepEqual(hostCase('localhost.:8181'), ['localhost', '8181']);
  assert.deepEqual(hostCase('example.com:09999'), ['example.com', '9999']);
  assert.deepEqual(hostCase('example.com', { scheme: 'https' }), ['example.com', '443']);
  assert.deepEqual(hostCase('example.com', { serverName: 'www.example.org:8080' }), ['example.com', '8080']);
});

test("§2 no Host: ServerName, else the local address; port 80 / 443 / ServerName's", () => {
  assert.deepEqual(hostCase(null), ['127.0.0.1', '80']);
  assert.deepEqual(hostCase(null, { local: '::1' }), ['[::1]', '80']);
  assert.deepEqual(hostCase(null, { serverName: 'WWW.Example.org' }), ['www.example.org', '80']);
  assert.deepEqual(hostCase(null, { serverName: 'www.example.org:8080' }), ['www.example.org', '8080']);
  assert.deepEqual(hostCase(null, { scheme: 'https' }), ['127.0.0.1', '443']);
});

test('config env first, control variables not sent, a repeated name keeps its first place with the later value', () => {
  const env = new Map([
    ['proxy-fcgi-pathinfo', 'first-dot'],
    ['APP_ENV', 'prod'],
    ['proxy-sendcl', '1'],
    ['SERVER_ADMIN', 'from-setenv'],
    ['EMPTY', ''],
  ]);
  const { list } = buildParams(
    seedRequest(),
    resolved({ env, targetPath: '/a/b.php', decodedPath: '/mon_appli/a/b.php' }),
    server(),
  );
  const n = names(list);
  assert.deepEqual(n.slice(0, 4), ['APP_ENV', 'SERVER_ADMIN', 'EMPTY', 'HTTP_HOST']);
  assert.equal(list[3], '[no address given]', 'Apache overlays its own SERVER_ADMIN (SET)');
  assert.equal(n.filter((x) => x === 'SERVER_ADMIN').length, 1);
  assert.ok(!n.includes('proxy-fcgi-pathinfo') && !n.includes('proxy-sendcl'));
  assert.equal(paramOf(list, 'EMPTY'), '');
  assert.equal(paramOf(list, 'app_env'), 'prod', 'paramOf compares case-insensitively');
});

test('HTTPS=on over TLS, then BALANCER_* before the headers', () => {
  const member = worker('fcgi://127.0.0.1:4001', { route: 'node2' });
  const { list } = buildParams(
    snapshot({ scheme: 'https', headers: [['host', 'example.com']] }),
    resolved({
      env: new Map([['A', '1']]),
      worker: null,
      balancer: 'balancer://myappcluster',
      targetPath: '/x',
      decodedPath: '/x',
    }),
    server(),
    member,
  );
  assert.deepEqual(list.slice(0, 12), [
    'A',
    '1',
    'HTTPS',
    'on',
    'BALANCER_NAME',
    'balancer://myappcluster',
    'BALANCER_WORKER_NAME',
    'fcgi://127.0.0.1:4001',
    'BALANCER_WORKER_ROUTE',
    'node2',
    'HTTP_HOST',
    'example.com',
  ]);
  assert.equal(paramOf(list, 'SCRIPT_FILENAME'), 'proxy:fcgi://127.0.0.1:4001/x');
  assert.equal(paramOf(list, 'SERVER_PORT'), '443');
  assert.equal(paramOf(list, 'REQUEST_SCHEME'), 'https');
});

test('serverInfoFromEnv: FCGATE_SERVER_SOFTWARE, default fcgate, invalid value named', () => {
  assert.equal(serverInfoFromEnv({}).software, 'fcgate');
  assert.equal(serverInfoFromEnv({}).admin, '[no address given]');
  assert.equal(serverInfoFromEnv({ FCGATE_SERVER_SOFTWARE: 'Apache' }, 'ops@example.com').software, 'Apache');
  // Empty means unset, as for every variable (systemd's `Environment=NAME=` clears it).
  assert.equal(serverInfoFromEnv({ FCGATE_SERVER_SOFTWARE: '' }).software, 'fcgate');
  assert.throws(() => serverInfoFromEnv({ FCGATE_SERVER_SOFTWARE: 'a\nb' }), /FCGATE_SERVER_SOFTWARE/);
});

test('a Host cache flood keeps answers right', () => {
  for (let i = 0; i < 600; i++) {
    assert.deepEqual(hostCase(`h${i}.example:${1000 + i}`), [`h${i}.example`, String(1000 + i)]);
  }
});
