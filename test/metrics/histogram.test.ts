// Native histogram bucket math (schema 3) and the classic buckets beside it: indices and
// bounds worked out by hand, the zero bucket and the clamp at the top, and a property test
// that every value lands in the bucket whose bounds enclose it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CLASSIC_BOUNDS,
  HISTOGRAM_CELLS,
  NATIVE_MAX,
  NATIVE_MIN,
  histogramDelta,
  nativeIndex,
  nativeQuantile,
  nativeUpperBound,
  observe,
  readHistogram,
  ZERO_THRESHOLD,
} from '../../src/metrics/histogram.js';

test('schema 3 bucket indices: bucket i holds (2^((i-1)/8), 2^(i/8)]', () => {
  assert.equal(nativeIndex(1), 0); // 2^0: upper bound of bucket 0, inclusive
  assert.equal(nativeIndex(2), 8);
  assert.equal(nativeIndex(0.5), -8);
  assert.equal(nativeIndex(1.0000001), 1); // just above 1: the next bucket, (1, 1.0905]
  assert.equal(nativeIndex(1.09), 1); // 2^(1/8) = 1.09051
  assert.equal(nativeIndex(1.0906), 2);
  assert.equal(nativeIndex(0.012), -51); // log2(0.012)·8 = -51.03 → -51: (0.011049, 0.012049]
  assert.equal(nativeIndex(0.1), -26); // log2(0.1)·8 = -26.58 → -26: (0.0920, 0.1003]
  assert.equal(nativeIndex(2 ** 13), NATIVE_MAX); // over 2^12 s: clamped into the top bucket
  assert.equal(nativeIndex(2 ** -30), NATIVE_MIN);
  assert.ok(Math.abs(nativeUpperBound(-51) - 0.012049) < 1e-6);
  assert.equal(nativeUpperBound(8), 2);
});

test('observe() fills count, sum, the zero bucket, one native and one classic bucket', () => {
  const c = new Float64Array(HISTOGRAM_CELLS + 4);
  const base = 2;
  observe(c, base, 0.012);
  observe(c, base, 0.012);
  observe(c, base, 0); // zero bucket
  observe(c, base, ZERO_THRESHOLD); // still the zero bucket (|v| ≤ threshold)
  observe(c, base, 45); // beyond the last classic bound (30 s): only +Inf
  observe(c, base, -1); // a clock going back counts as 0
  const h = readHistogram(c, base);
  assert.equal(h.count, 6);
  assert.ok(Math.abs(h.sum - (0.024 + ZERO_THRESHOLD + 45)) < 1e-12);
  assert.equal(h.zeroCount, 3);
  assert.deepEqual(h.native, [
    [-51, 2],
    [nativeIndex(45), 1],
  ]);
  // Cumulative classic counts: le=0.0005 … le=0.01 have the three zeros, le=0.025 and up also the two 0.012s.
  const expected = CLASSIC_BOUNDS.map((le) => (le < 0.012 ? 3 : 5));
  assert.deepEqual(h.classic, expected);
  assert.equal(c[0], 0, 'nothing written before base');
  assert.equal(c[base + HISTOGRAM_CELLS], 0, 'nothing written after the histogram');
});

test('property: every positive value lies inside its native bucket (up to the clamp)', () => {
  fc.assert(
    fc.property(fc.double({ min: 2 ** -19, max: 2 ** 11.9, noNaN: true }), (v) => {
      const i = nativeIndex(v);
      // Allow one ulp-ish of slack at the exact bounds (log2 rounding).
      return v <= nativeUpperBound(i) * (1 + 1e-12) && v > nativeUpperBound(i - 1) * (1 - 1e-12);
    }),
    { numRuns: 2000 },
  );
});

test('quantiles from native buckets stay within one bucket of the truth; deltas subtract readings', () => {
  const c = new Float64Array(HISTOGRAM_CELLS);
  for (let i = 1; i <= 100; i++) observe(c, 0, i / 1000); // 1 ms … 100 ms
  const first = readHistogram(c, 0);
  const p50 = nativeQuantile(first, 0.5);
  const p99 = nativeQuantile(first, 0.99);
  const factor = 2 ** (1 / 8);
  assert.ok(p50 > 0.05 / factor && p50 < 0.05 * factor, `p50 ${p50}`);
  assert.ok(p99 > 0.099 / factor && p99 < 0.099 * factor, `p99 ${p99}`);
  for (let i = 0; i < 10; i++) observe(c, 0, 2);
  const d = histogramDelta(readHistogram(c, 0), first);
  assert.equal(d.count, 10);
  assert.deepEqual(d.native, [[8, 10]]);
  assert.equal(nativeQuantile(d, 0.5) <= 2 && nativeQuantile(d, 0.5) > 2 / factor, true);
  assert.ok(Number.isNaN(nativeQuantile(histogramDelta(first, first), 0.5)));
});
