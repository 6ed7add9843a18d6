// Options (options.ts): the absolute and +/- forms, merging, and the symbolic-link rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeOptions, NO_OPTIONS, Opt, parseOptions, symlinkMode, unimplemented } from '../../src/config/options.js';

const P = (s: string) => parseOptions(s.split(' '), 'f', 1);
const mode = (...lines: string[]) => symlinkMode(mergeOptions(NO_OPTIONS, lines.map(P)));

test('the symbolic-link rule: fcgate default "contained", FollowSymLinks, SymLinksIfOwnerMatch (wins), None', () => {
  assert.equal(mode(), 'contained');
  assert.equal(mode('-Indexes'), 'contained'); // says nothing of links
  assert.equal(mode('FollowSymLinks'), 'follow');
  assert.equal(mode('SymLinksIfOwnerMatch'), 'owner');
  assert.equal(mode('FollowSymLinks SymLinksIfOwnerMatch'), 'owner');
  assert.equal(mode('None'), 'none');
  assert.equal(mode('Indexes'), 'none'); // absolute: replaces, FollowSymLinks off
  assert.equal(mode('All'), 'follow');
  assert.equal(mode('-FollowSymLinks'), 'none');
  assert.equal(mode('+SymLinksIfOwnerMatch'), 'owner');
  assert.equal(mode('None', '+FollowSymLinks'), 'follow');
  assert.equal(mode('FollowSymLinks', '-FollowSymLinks'), 'none');
});

test('merge: absolute replaces, relative adds and removes', () => {
  const m = mergeOptions(NO_OPTIONS, [P('Indexes FollowSymLinks'), P('-Indexes +ExecCGI')]);
  assert.equal(m.bits, Opt.FollowSymLinks | Opt.ExecCGI);
  assert.equal(mergeOptions(m, [P('None')]).bits, 0);
});

test('errors: mixing forms (AH00134), unknown options, +All', () => {
  assert.throws(() => P('FollowSymLinks -Indexes'), /either all options must start with \+ or -/);
  assert.throws(() => P('+Bogus'), /unknown option "\+Bogus"/);
  assert.throws(() => P('+All'), /take no \+ or -/);
  assert.throws(() => parseOptions([], 'f', 1), /expected one or more options/);
});

test('what fcgate does not implement is reported for a warning', () => {
  assert.deepEqual(unimplemented(P('Indexes FollowSymLinks MultiViews')), [
    'Indexes (fcgate never lists directories)',
    'MultiViews (no content negotiation)',
  ]);
  assert.deepEqual(unimplemented(P('-Indexes')), []);
});
