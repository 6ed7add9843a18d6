// The open loop's wait heap: lanes come out earliest due first, whatever the push order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DueHeap } from '../../src/loadgen/due-heap.js';
import { Lane } from '../../src/loadgen/lane.js';

test('worked example: push 5, 3, 7 → pops 3, 5, 7', () => {
  const h = new DueHeap();
  const lanes = [5, 3, 7].map((due, i) => {
    const l = new Lane(i, 0, 0);
    l.dueMs = due;
    return l;
  });
  for (const l of lanes) h.push(l);
  assert.equal(h.peek()!.dueMs, 3);
  assert.deepEqual([h.pop()!.dueMs, h.pop()!.dueMs, h.pop()!.dueMs], [3, 5, 7]);
  assert.equal(h.pop(), undefined);
  assert.ok(lanes.every((l) => l.heapAt === -1));
});

test('property: pops come out sorted, interleaved with pushes', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 1000 })), { maxLength: 200 }), (ops) => {
      const h = new DueHeap();
      const model: number[] = [];
      let i = 0;
      for (const [push, due] of ops) {
        if (push || model.length === 0) {
          const l = new Lane(i++, 0, 0);
          l.dueMs = due;
          h.push(l);
          model.push(due);
          model.sort((a, b) => a - b);
        } else {
          assert.equal(h.pop()!.dueMs, model.shift());
        }
        assert.equal(h.size, model.length);
      }
      h.clear();
      assert.equal(h.size, 0);
    }),
    { numRuns: 300 },
  );
});
