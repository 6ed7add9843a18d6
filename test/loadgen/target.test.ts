// Target URLs of fcgate bench: the three forms (http://, fcgi://, unix:PATH|URL), default
// ports, Host headers, IPv6, and the errors a user gets for anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatConnectAddress, parseTarget, sameAddress } from '../../src/loadgen/target.js';

test('http:// with port, path and query', () => {
  const t = parseTarget('http://127.0.0.1:8080/a/b.php?x=1&y=%20');
  assert.equal(t.kind, 'http');
  assert.deepEqual(t.address, { host: '127.0.0.1', port: 8080 });
  assert.equal(t.hostHeader, '127.0.0.1:8080');
  assert.equal(t.path, '/a/b.php');
  assert.equal(t.query, 'x=1&y=%20');
});

test('default ports: 80 for http (left out of Host), 9000 for fcgi', () => {
  const h = parseTarget('http://localhost');
  assert.equal(h.port, 80);
  assert.equal(h.hostHeader, 'localhost');
  assert.equal(h.path, '/');
  const f = parseTarget('fcgi://127.0.0.1/index.php');
  assert.equal(f.kind, 'fcgi');
  assert.deepEqual(f.address, { host: '127.0.0.1', port: 9000 });
  assert.equal(f.path, '/index.php');
  assert.equal(f.query, '');
});

test('IPv6 hosts keep their brackets in Host only', () => {
  const t = parseTarget('fcgi://[::1]:9001/s.php');
  assert.deepEqual(t.address, { host: '::1', port: 9001 });
  assert.equal(t.hostname, '::1');
  assert.equal(t.hostHeader, '[::1]:9001');
  assert.equal(formatConnectAddress(t.address), '[::1]:9001');
});

test('unix:PATH|fcgi://host/script connects to the socket, names the host from the URL', () => {
  const t = parseTarget('unix:/run/php/php8.2-fpm.sock|fcgi://localhost/app/index.php?q');
  assert.equal(t.kind, 'fcgi');
  assert.deepEqual(t.address, { path: '/run/php/php8.2-fpm.sock' });
  assert.equal(t.hostname, 'localhost');
  assert.equal(t.path, '/app/index.php');
  assert.equal(t.query, 'q');
  assert.equal(formatConnectAddress(t.address), 'unix:/run/php/php8.2-fpm.sock');
  assert.equal(parseTarget('unix:/tmp/gw.sock|http://localhost/hello').kind, 'http');
});

test('bad targets say what is expected', () => {
  assert.throws(() => parseTarget('127.0.0.1:8080'), /expected http:\/\/host/);
  assert.throws(() => parseTarget('https://example.com/'), /https is not supported/);
  assert.throws(() => parseTarget('unix:/x.sock'), /unix:\/path\|fcgi:\/\//);
  assert.throws(() => parseTarget('unix:|fcgi://localhost/'), /empty unix socket path/);
  assert.throws(() => parseTarget('http://u:p@127.0.0.1/'), /user:password/);
  assert.throws(() => parseTarget('http://127.0.0.1/#frag'), /fragment/);
  assert.throws(() => parseTarget('http://127.0.0.1:99999/'), /not a valid URL/);
});

test('sameAddress compares TCP and unix addresses', () => {
  assert.ok(sameAddress({ host: 'a', port: 1 }, { host: 'a', port: 1 }));
  assert.ok(!sameAddress({ host: 'a', port: 1 }, { host: 'a', port: 2 }));
  assert.ok(sameAddress({ path: '/s' }, { path: '/s' }));
  assert.ok(!sameAddress({ path: '/s' }, { host: 'a', port: 1 }));
});
