// The open-loop schedule: --rate parsing; due times for a constant rate, a ramp (the
// inverse of N(t), checked against N), the warm-up at the starting rate; requestsIn/rateAt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseRate, Schedule } from '../../src/loadgen/schedule.js';

test('--rate R and R1:R2:DURATION', () => {
  assert.deepEqual(parseRate('500'), { from: 500, to: 500, rampMs: 0 });
  assert.deepEqual(parseRate('1000:10000:30s'), { from: 1000, to: 10000, rampMs: 30_000 });
  assert.deepEqual(parseRate('0:200:500ms'), { from: 0, to: 200, rampMs: 500 });
  assert.throws(() => parseRate('0'), /not a rate/);
  assert.throws(() => parseRate('fast'), /not a rate/);
  assert.throws(() => parseRate('1:2'), /neither R nor R1:R2:DURATION/);
  assert.throws(() => parseRate('1:2:soon'), /not a duration/);
  assert.throws(() => parseRate('1:2:0s'), /duration > 0/);
});

test('constant rate: request g is due at g / R', () => {
  const s = new Schedule(parseRate('2000'), 0);
  assert.equal(s.dueMs(0), 0);
  assert.equal(s.dueMs(1), 0.5);
  assert.equal(s.dueMs(4000), 2000);
  assert.equal(s.requestsIn(10_000), 20_000);
});

test('the warm-up runs at the starting rate before the window', () => {
  const s = new Schedule(parseRate('1000:3000:2s'), 500);
  assert.equal(s.warmupRequests, 500);
  assert.equal(s.dueMs(250), 250);
  assert.equal(s.dueMs(500), 500); // the window opens
  assert.ok(Math.abs(s.dueMs(500 + 4000) - 2500) < 1e-6); // the ramp's 4000 requests end at 2 s
  assert.ok(Math.abs(s.dueMs(500 + 4000 + 3000) - 3500) < 1e-6); // then 3000/s
});

test('ramp worked example (schedule.ts): g = 1000 → 0.73 s, 2000 → 1.24 s', () => {
  const s = new Schedule(parseRate('1000:3000:2s'), 0);
  assert.equal(Math.round(s.dueMs(1000)), 732);
  assert.equal(Math.round(s.dueMs(2000)), 1236);
  assert.equal(s.rateAt(1000), 2000);
  assert.equal(s.rateAt(5000), 3000);
});

test('property: due times increase and invert requestsIn, ramping up or down', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 5000 }),
      fc.integer({ min: 1, max: 5000 }),
      fc.integer({ min: 1, max: 10_000 }),
      fc.integer({ min: 0, max: 50_000 }),
      (from, to, rampMs, g) => {
        const s = new Schedule({ from, to, rampMs }, 0);
        const t = s.dueMs(g);
        assert.ok(t >= 0 && Number.isFinite(t));
        assert.ok(s.dueMs(g + 1) >= t);
        assert.ok(Math.abs(s.requestsIn(t) - g) < 1e-6 * Math.max(1, g), `N(${t}) = ${s.requestsIn(t)} ≠ ${g}`);
      },
    ),
    { numRuns: 500 },
  );
});
