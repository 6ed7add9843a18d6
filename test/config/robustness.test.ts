// Property: any text either parses or fails with a ConfigError (never a TypeError or
// a RangeError), and any raw path routes to one of the defined result kinds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/config-error.js';
import { resolve } from '../../src/config/router.js';

const words = fc.constantFrom(
  'ProxyPass',
  'ProxyPassMatch',
  'BalancerMember',
  'ProxySet',
  'SetEnvIf',
  'SetEnv',
  'UnsetEnv',
  'ProxyFCGISetEnvIf',
  'SetHandler',
  'Listen',
  'DocumentRoot',
  'DirectoryIndex',
  'CGIPassAuth',
  '<Proxy balancer://c/>',
  '</Proxy>',
  '<Location /a/>',
  '</Location>',
  '<FilesMatch \\.php$>',
  '</FilesMatch>',
  '<IfModule x>',
  '</IfModule>',
  '/a/',
  '!',
  'fcgi://h:1/',
  'balancer://c/',
  'unix:/s|fcgi://h/',
  'max=2',
  'timeout=x',
  '"',
  "'",
  '\\',
  '#',
  '"true"',
  '"reqenv(\'A\') =~ /(x)/"',
  '$1',
  '%{X}',
  'A=1',
  '!B',
  '(',
  'proxy:fcgi://h/',
  '8080',
  '[::1]:80',
  'On',
  'GENERIC',
  'x=',
  '=y',
  '\n',
  '\n',
  '\n',
);

test('property: parseConfig throws only ConfigError', () => {
  fc.assert(
    fc.property(fc.array(words, { maxLength: 40 }), (ws) => {
      const text = ws.join(' ').replace(/ \n /g, '\n');
      try {
        parseConfig(text, 'fuzz.conf');
      } catch (e) {
        assert.ok(e instanceof ConfigError, `${String(e)} for:\n${text}`);
        assert.match(e.message, /^fuzz\.conf(:\d+)?: /);
      }
    }),
    { numRuns: 2000 },
  );
});

test('property: resolve returns a known kind for any path', () => {
  const cfg = parseConfig(
    'ProxyPass /a/ fcgi://h:1/\nProxyPassMatch ^/m/(.*)$ fcgi://h:2/x/$1\nProxyPass /b !\n',
    'p.conf',
  );
  const kinds = new Set(['proxy', 'static', 'redirect-dir', 'not-found', 'bad-request']);
  const seg = fc.constantFrom(
    'a',
    'm',
    'b',
    '.',
    '..',
    '',
    '%',
    '%2',
    '%41',
    '%2F',
    '%00',
    '%e9',
    'é',
    '?',
    ' ',
    '%C3%A9',
  );
  fc.assert(
    fc.property(fc.array(seg, { maxLength: 10 }), (segs) => {
      const r = resolve(cfg, {
        method: 'GET',
        path: '/' + segs.join('/'),
        query: '',
        headers: [],
        remoteAddress: '::1',
        remotePort: '',
        localAddress: '::1',
        localPort: 1,
        scheme: 'http',
        protocol: 'HTTP/1.1',
      });
      assert.ok(kinds.has(r.kind));
      if (r.kind === 'proxy') {
        assert.ok(!r.resolved.decodedPath.includes('//'));
        assert.ok(!/[ ?#%]/.test(r.resolved.targetPath.replace(/%[0-9A-F]{2}/g, '')), r.resolved.targetPath);
      }
    }),
    { numRuns: 2000 },
  );
});
