// Which app path the demo routes on, from the params a gateway or cgi-fcgi sends
// (the gateway's SCRIPT_FILENAME forms: test/cgi/path-info.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveTarget } from '../../src/app/target-path.js';

const t = (p: Record<string, string>) => resolveTarget(new Map(Object.entries(p)));

test('ProxyPass /app/ fcgi://host:port/: the path after the authority, the prefix as base', () => {
  assert.deepEqual(
    t({
      REQUEST_URI: '/app/bytes?n=5',
      SCRIPT_NAME: '/app/bytes',
      QUERY_STRING: 'n=5',
      SCRIPT_FILENAME: 'proxy:fcgi://127.0.0.1:9000/bytes',
    }),
    { path: '/bytes', query: 'n=5', base: '/app' },
  );
  assert.deepEqual(t({ REQUEST_URI: '/app/', SCRIPT_FILENAME: 'proxy:fcgi://localhost:9000/' }), {
    path: '/',
    query: '',
    base: '/app',
  });
});

test('unix socket and balancer forms, %-escapes decoded', () => {
  assert.equal(t({ SCRIPT_FILENAME: 'proxy:fcgi://localhost/x' }).path, '/x');
  assert.equal(t({ SCRIPT_FILENAME: 'proxy:balancer://cluster/a%20b' }).path, '/a b');
  assert.equal(t({ SCRIPT_FILENAME: 'proxy:fcgi://h:1' }).path, '/');
});

test('direct use: REQUEST_URI, then SCRIPT_NAME + PATH_INFO, then /', () => {
  assert.deepEqual(t({ REQUEST_URI: '/hello?x=1', SCRIPT_FILENAME: '/var/www/index.php' }), {
    path: '/hello',
    query: 'x=1',
    base: '',
  });
  assert.equal(t({ REQUEST_URI: 'http://example.com/hello?x' }).path, '/hello', 'absolute-form target');
  assert.equal(t({ REQUEST_URI: '/%zz' }).path, '/%zz', 'invalid escapes stay as they are');
  assert.equal(t({ SCRIPT_NAME: '/demo', PATH_INFO: '/echo' }).path, '/demo/echo');
  assert.deepEqual(t({}), { path: '/', query: '', base: '' });
  assert.equal(t({ QUERY_STRING: 'a=1', REQUEST_URI: '/x?b=2' }).query, 'a=1', 'QUERY_STRING wins');
});
