// --urls files (URL [WEIGHT] per line, comments, one address) and the smooth weighted
// round-robin order requests take through them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUrlList, weightedOrder } from '../../src/loadgen/url-list.js';

test('URL [WEIGHT] lines, blank lines and # comments', () => {
  const list = parseUrlList(
    '# mix\nhttp://127.0.0.1:8080/a 5\n\n  http://127.0.0.1:8080/b\r\nhttp://127.0.0.1:8080/c?x=1 2\n',
    'mix.txt',
  );
  assert.deepEqual(
    list.map((e) => [e.target.path, e.target.query, e.weight]),
    [
      ['/a', '', 5],
      ['/b', '', 1],
      ['/c', 'x=1', 2],
    ],
  );
});

test('errors carry file:line', () => {
  assert.throws(() => parseUrlList('http://127.0.0.1:1/a 0\n', 'f'), /^TargetError: f:1: weight must be an integer/);
  assert.throws(() => parseUrlList('\nhttp://127.0.0.1:1/a x y\n', 'f'), /f:2: expected "URL \[WEIGHT\]"/);
  assert.throws(
    () => parseUrlList('http://127.0.0.1:1/a\nfcgi://127.0.0.1:1/b\n', 'f'),
    /f:2: every URL .* same scheme and address/,
  );
  assert.throws(() => parseUrlList('http://127.0.0.1:1/a\nhttp://127.0.0.1:2/b\n', 'f'), /f:2: every URL/);
  assert.throws(() => parseUrlList('ftp://x/\n', 'f'), /f:1: target "ftp:\/\/x\/"/);
  assert.throws(() => parseUrlList('# nothing\n', 'f'), /f: no URL/);
});

test('the weighted order: exact proportions per cycle, spread out (nginx smooth WRR)', () => {
  assert.deepEqual([...weightedOrder([5, 1, 1])], [0, 0, 1, 0, 2, 0, 0]);
  assert.deepEqual([...weightedOrder([1])], [0]);
  const order = weightedOrder([3, 2]);
  assert.deepEqual([...order], [0, 1, 0, 1, 0]);
});

test('large weights are scaled to a bounded cycle, proportions kept', () => {
  const order = weightedOrder([600_000, 300_000, 100_000]);
  assert.ok(order.length <= 10_000);
  const n = [0, 0, 0];
  for (const i of order) n[i]!++;
  assert.deepEqual(n, [6000, 3000, 1000]);
});
