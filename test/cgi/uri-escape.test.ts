// uri-escape.ts (canonical target path, keep-%2F unescaping) and file-probe.ts's cache.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonEncodePath, unescapePath } from '../../src/cgi/uri-escape.js';
import { cachedFileProbe, FileKind } from '../../src/cgi/file-probe.js';
import { findPathInfoStart } from '../../src/cgi/path-info.js';

test('canonEncodePath: safe paths returned as they are', () => {
  const p = "/a/b.php/~user/$-_.+!*'(),;:@&=";
  assert.equal(canonEncodePath(p), p);
});

test('canonEncodePath: golden cases', () => {
  const cases: Array<[string, string]> = [
    ['/pa th.x', '/pa%20th.x'], // space
    ['/pa%20th.x', '/pa%20th.x'], // already encoded: unchanged
    ['/%41%42%43', '/ABC'], // unreserved escapes decoded, as Apache maps the decoded URI
    ['/a?b=c', '/a%3Fb=c'], // '?' of a target query
    ['/a#b', '/a%23b'],
    ['/a%2Fb', '/a%2Fb'], // escaped slash stays escaped
    ['/a%2fb', '/a%2Fb'],
    ['/100%', '/100%25'], // lone '%'
    ['/%zz', '/%25zz'],
    ['/%25', '/%25'],
    ['/caf\u00e9', '/caf%C3%A9'], // non-ASCII: UTF-8 bytes
    ['/%E9', '/%E9'], // a non-UTF-8 byte stays %-encoded
    ['/"<>\\^`{|}', '/%22%3C%3E%5C%5E%60%7B%7C%7D'],
  ];
  for (const [input, want] of cases) assert.equal(canonEncodePath(input), want, input);
});

test('unescapePath: decodes all but %2F; invalid escapes kept', () => {
  assert.equal(unescapePath('/pa%20th.x/more'), '/pa th.x/more');
  assert.equal(unescapePath('/a%2Fb%2fc'), '/a%2Fb%2fc');
  assert.equal(unescapePath('/caf%C3%A9'), '/caf\u00e9');
  assert.equal(unescapePath('/100%'), '/100%');
  assert.equal(unescapePath('/%zz'), '/%zz');
  const same = '/no/escapes';
  assert.equal(unescapePath(same), same);
});

test('property: canonEncodePath is idempotent and its output is printable ASCII', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (s) => {
      const once = canonEncodePath('/' + s);
      assert.match(once, /^[\x21-\x7e]*$/);
      assert.equal(canonEncodePath(once), once);
    }),
    { numRuns: 500 },
  );
});

test('property: unescapePath undoes canonEncodePath on well-formed text without %', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme' }), (s) => {
      const path = '/' + s.replace(/%/g, '');
      assert.equal(unescapePath(canonEncodePath(path)), path);
    }),
    { numRuns: 500 },
  );
});

test('property: findPathInfoStart ends at a segment boundary and SCRIPT_NAME is a prefix of the URI', () => {
  const seg = fc.stringMatching(/^[a-z.%0-9 ]{0,4}$/);
  fc.assert(
    fc.property(fc.array(seg, { maxLength: 5 }), fc.array(seg, { maxLength: 5 }), (u, p) => {
      const uri = '/' + u.join('/');
      const info = '/' + p.join('/');
      const at = findPathInfoStart(uri, info);
      assert.ok(at >= 0 && at <= uri.length);
      assert.ok(at === uri.length || uri[at] === '/');
    }),
    { numRuns: 500 },
  );
});

test('cachedFileProbe: reuses answers for ttl, then asks again; bounded', () => {
  let now = 1000;
  let calls = 0;
  const probe = cachedFileProbe(
    (p) => {
      calls++;
      return p.endsWith('.php') ? FileKind.File : FileKind.Directory;
    },
    50,
    3,
    () => now,
  );
  assert.equal(probe('/a'), FileKind.Directory);
  assert.equal(probe('/a/x.php'), FileKind.File);
  assert.equal(probe('/a'), FileKind.Directory);
  assert.equal(calls, 2);
  now += 49;
  probe('/a');
  assert.equal(calls, 2, 'still fresh');
  now += 1;
  probe('/a');
  assert.equal(calls, 3, 'expired');
  for (let i = 0; i < 10; i++) probe(`/d${i}`);
  assert.equal(probe('/d9'), FileKind.Directory);
});
