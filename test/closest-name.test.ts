// "Did you mean": the distance (with swapped neighbours) and the closeness limit that keeps
// suggestions to real typos (issue 13).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { closestName, didYouMean, editDistance } from '../src/closest-name.js';

test('editDistance: inserts, deletes, replacements and swaps count one each; case is ignored', () => {
  assert.equal(editDistance('ProxyPass', 'ProxyPass'), 0);
  assert.equal(editDistance('proxypass', 'ProxyPass'), 0);
  assert.equal(editDistance('ProxyPas', 'ProxyPass'), 1);
  assert.equal(editDistance('ProxyPazz', 'ProxyPass'), 2);
  assert.equal(editDistance('Lsiten', 'Listen'), 1); // swap
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});

test('editDistance is a symmetric measure (property)', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
      const d = editDistance(a, b);
      return (
        d === editDistance(b, a)
        && d <= Math.max(a.length, b.length)
        && (d === 0) === (a.toLowerCase() === b.toLowerCase())
      );
    }),
    { numRuns: 500 },
  );
});

test('closestName suggests only close names', () => {
  const vars = ['FCGATE_THREADS', 'FCGATE_MAX_BODY', 'FCGATE_MAX_HEAD', 'FCGATE_DRAIN_MS'];
  assert.equal(closestName('FCGATE_THREDS', vars), 'FCGATE_THREADS');
  assert.equal(closestName('FCGATE_MAXBODY', vars), 'FCGATE_MAX_BODY');
  assert.equal(closestName('FCGATE_DRAIN', vars), 'FCGATE_DRAIN_MS');
  assert.equal(closestName('FCGATE_SOMETHING_ELSE', vars), null);
  assert.equal(closestName('ProxyPassReverse', ['ProxyPass', 'ProxyPassMatch']), null);
  assert.equal(closestName('max', ['max', 'ttl']), null); // the same name is no suggestion
  assert.equal(didYouMean('lisen', ['Listen']), ' (did you mean Listen?)');
  assert.equal(didYouMean('x', ['Listen']), '');
});
