// Path decoding/normalisation (as Apache: docs/apache-differences.md, "What fcgate copies")
// and the backend path encoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodePath, encodeTargetPath, normaliseSegments, prefixMatches } from '../../src/config/url-path.js';

const ok = (raw: string): string => {
  const r = decodePath(raw);
  assert.ok(r.ok, `${raw} refused: ${JSON.stringify(r)}`);
  return r.path;
};

test('SCRIPT_NAME normalisation rows of §2', () => {
  assert.equal(ok('/mon_appli/a/./b/../c'), '/mon_appli/a/c');
  assert.equal(ok('//mon_appli/a'), '/mon_appli/a');
  assert.equal(ok('/%41%42%43'), '/ABC');
  assert.equal(ok('/a%20b'), '/a b');
  assert.equal(ok('/a/b/..'), '/a/');
  assert.equal(ok('/a/b/.'), '/a/b/');
  assert.equal(ok('/a/%2e%2e/b'), '/b');
  assert.equal(ok('/plain/path.php'), '/plain/path.php');
  assert.equal(ok('/'), '/');
});

test('dot segments never leave the root', () => {
  assert.equal(ok('/../../etc/passwd'), '/etc/passwd');
  assert.equal(ok('/a/../../..'), '/');
  assert.equal(ok('/%2e%2e/x'), '/x');
});

test('refusals: %2F and %00 → not found, bad escapes → bad request', () => {
  assert.deepEqual(decodePath('/a%2Fb'), { ok: false, reason: 'encoded-slash' });
  assert.deepEqual(decodePath('/a%2fb'), { ok: false, reason: 'encoded-slash' });
  assert.deepEqual(decodePath('/a%00b'), { ok: false, reason: 'nul' });
  assert.deepEqual(decodePath('/a%zz'), { ok: false, reason: 'bad-escape' });
  assert.deepEqual(decodePath('/a%4'), { ok: false, reason: 'bad-escape' });
  assert.deepEqual(decodePath('/a%'), { ok: false, reason: 'bad-escape' });
  assert.deepEqual(decodePath('*'), { ok: false, reason: 'not-absolute' });
});

test('UTF-8 escapes decode to text; invalid UTF-8 keeps one char per byte', () => {
  assert.equal(ok('/caf%C3%A9'), '/café');
  assert.equal(ok('/café'), '/café');
  assert.equal(ok('/x%E9y'), '/x\u00e9y');
});

test('encodeTargetPath is ap_proxy_canonenc for paths', () => {
  assert.equal(encodeTargetPath('/a/b.php'), '/a/b.php');
  assert.equal(encodeTargetPath('/extra/pa th.x/more'), '/extra/pa%20th.x/more');
  assert.equal(encodeTargetPath('/rest/of/path?from=alpha'), '/rest/of/path%3Ffrom=alpha');
  assert.equal(encodeTargetPath("/~$-_.+!*'(),;:@&="), "/~$-_.+!*'(),;:@&=");
  assert.equal(encodeTargetPath('/100%'), '/100%25');
  assert.equal(encodeTargetPath('/a#b"c'), '/a%23b%22c');
  assert.equal(encodeTargetPath('/café'), '/caf%C3%A9');
});

test('prefix rule of ProxyPass and <Location>', () => {
  assert.ok(prefixMatches('/app', '/app'));
  assert.ok(prefixMatches('/app', '/app/x'));
  assert.ok(!prefixMatches('/app', '/apple'));
  assert.ok(prefixMatches('/app/', '/app/x'));
  assert.ok(!prefixMatches('/app/', '/app'));
  assert.ok(prefixMatches('/', '/anything'));
});

test('property: decoded paths are normalised and stay normalised', () => {
  const seg = fc.constantFrom('a', 'b', '.', '..', '', '%41', 'x%20y', '%2e', '%2E%2E', 'é');
  fc.assert(
    fc.property(fc.array(seg, { maxLength: 12 }), (segs) => {
      const r = decodePath('/' + segs.join('/'));
      assert.ok(r.ok);
      const p = r.path;
      assert.ok(p.startsWith('/'));
      assert.ok(!p.includes('//'));
      assert.ok(!p.split('/').some((s) => s === '.' || s === '..'));
      assert.equal(normaliseSegments(p), p);
    }),
    { numRuns: 500 },
  );
});
