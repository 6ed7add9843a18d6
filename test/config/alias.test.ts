// mod_alias rules (alias.ts): prefix matching on segment boundaries, AliasMatch, Redirect's
// Location (rest appended and escaped, query kept, URL-paths made absolute), statuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  mapAlias,
  matchRedirect,
  parseRedirect,
  prefixLength,
  sectionRedirect,
  type AliasRule,
} from '../../src/config/alias.js';

test('prefixLength: segment boundaries, a trailing slash must be present, runs of / count as one', () => {
  assert.equal(prefixLength('/icons', '/icons'), 6);
  assert.equal(prefixLength('/icons', '/icons/a.png'), 6);
  assert.equal(prefixLength('/icons', '/iconsx'), -1);
  assert.equal(prefixLength('/icons/', '/icons'), -1);
  assert.equal(prefixLength('/icons/', '/icons/a'), 7);
  assert.equal(prefixLength('/a/b', '/a//b/c'), 5);
  assert.equal(prefixLength('/', '/anything'), 1);
});

const rule = (pattern: string, target: string, regex: RegExp | null = null): AliasRule => ({
  pattern,
  target,
  regex,
  file: 'f',
  line: 1,
});

test('mapAlias: prefix and regex forms, first match wins, the root for containment checks', () => {
  const rules = [
    rule('/blog/wp-content', '/var/lib/wordpress/wp-content'),
    rule('/blog', '/usr/share/wordpress'),
    rule('^/img/(.*)$', '/srv/img/$1', /^\/img\/(.*)$/),
  ];
  assert.deepEqual(mapAlias(rules, '/blog/wp-content/up/a.png')?.filename, '/var/lib/wordpress/wp-content/up/a.png');
  const b = mapAlias(rules, '/blog/wp-login.php')!;
  assert.equal(b.filename, '/usr/share/wordpress/wp-login.php');
  assert.equal(b.root, '/usr/share/wordpress');
  const i = mapAlias(rules, '/img/a/b.png')!;
  assert.equal(i.filename, '/srv/img/a/b.png');
  assert.equal(i.root, '/srv/img');
  assert.equal(mapAlias(rules, '/other'), null);
});

const base = { scheme: 'http', host: 'www.example.com:8080', rawPath: '', query: '' };

test('Redirect: the rest of the path is appended (escaped), the query kept, URL-paths made absolute', () => {
  const r = [
    parseRedirect(['permanent', '/old', 'https://new.example/n'], false, false, null, 'f', 1),
    parseRedirect(['/docs', '/manual'], false, false, null, 'f', 2),
  ];
  assert.deepEqual(matchRedirect(r, '/old/a b', { ...base, query: 'x=1' }), [301, 'https://new.example/n/a%20b?x=1']);
  assert.deepEqual(matchRedirect(r, '/old', base), [301, 'https://new.example/n']);
  assert.deepEqual(matchRedirect(r, '/docs/x', base), [302, 'http://www.example.com:8080/manual/x']);
  assert.equal(matchRedirect(r, '/oldies', base), null);
  const m = [parseRedirect(['^/p/(\\d+)$', 'https://x/post?id=$1'], true, false, null, 'f', 3)];
  // The target has a query: it is kept as is.
  assert.deepEqual(matchRedirect(m, '/p/42', { ...base, query: 'y=2' }), [302, 'https://x/post?id=42']);
  const gone = [parseRedirect(['gone', '/old'], false, false, null, 'f', 4)];
  assert.deepEqual(matchRedirect(gone, '/old/x', base), [410, null]);
});

test('Redirect inside a section, statuses, and what is refused', () => {
  const s = parseRedirect(['seeother', 'https://x/'], false, true, null, 'f', 1);
  assert.deepEqual(sectionRedirect(s, base), [303, 'https://x/']);
  assert.equal(parseRedirect(['/a', 'https://x/'], false, false, 301, 'f', 1).status, 301); // RedirectPermanent
  assert.equal(parseRedirect(['307', '/a', 'https://x/'], false, false, null, 'f', 1).status, 307);
  assert.throws(() => parseRedirect(['/a'], false, false, null, 'f', 1), /expected \[status\] URL-path URL/);
  assert.throws(
    () => parseRedirect(['gone', '/a', 'https://x/'], false, false, null, 'f', 1),
    /status 410 takes a URL-path and no URL/,
  );
  assert.throws(() => parseRedirect(['a', 'https://x/'], false, false, null, 'f', 1), /must start with '\/'/);
  assert.throws(() => parseRedirect(['/a', 'x/y'], false, false, null, 'f', 1), /absolute URL or a URL-path/);
  assert.throws(() => parseRedirect(['200', '/a'], false, false, null, 'f', 1), /not one Redirect can send/);
  assert.throws(() => parseRedirect(['https://%{HTTP_HOST}/'], false, true, null, 'f', 1), /expressions/);
});
