// Sizes and durations as environment variables take them (issue 13): SI vs IEC suffixes,
// decimals, whole-unit rule, and that formatting and parsing agree (fast-check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatDuration, formatSize, parseDuration, parseSize } from '../src/units.js';

test('sizes: KB MB GB TB are powers of 1000; KiB MiB GiB TiB and K M G T powers of 1024', () => {
  const cases: Array<[string, number | null]> = [
    ['0', 0],
    ['1048576', 1048576],
    ['10B', 10],
    ['10 b', 10],
    ['10KB', 10_000],
    ['10MB', 10_000_000],
    ['1GB', 1_000_000_000],
    ['2TB', 2_000_000_000_000],
    ['10KiB', 10_240],
    ['10MiB', 10_485_760],
    ['1GiB', 1_073_741_824],
    ['1TiB', 1_099_511_627_776],
    ['64k', 65_536],
    ['64K', 65_536],
    ['10m', 10_485_760],
    ['10M', 10_485_760],
    ['1g', 1_073_741_824],
    ['1T', 2 ** 40],
    ['10mb', 10_000_000],
    ['10mib', 10_485_760],
    ['1.5GiB', 1_610_612_736],
    ['1.1GB', 1_100_000_000],
    ['0.5KB', 500],
    [' 7 MiB ', 7 * 2 ** 20],
    // not sizes, or not whole bytes
    ['', null],
    ['MB', null],
    ['-1', null],
    ['1e6', null],
    ['10XB', null],
    ['10 M B', null],
    ['0.3B', null],
    ['1.0001KB', null],
    ['lots', null],
    ['9007199254740993', null],
    ['8192TiB', null],
  ];
  for (const [text, bytes] of cases) assert.equal(parseSize(text), bytes, text);
});

test('durations: a plain number is the variable unit; ms, s, m/min, h; whole in the unit', () => {
  const cases: Array<[string, 'ms' | 's', number | null]> = [
    ['500', 'ms', 500],
    ['500ms', 'ms', 500],
    ['30s', 'ms', 30_000],
    ['2m', 'ms', 120_000],
    ['2min', 'ms', 120_000],
    ['1h', 'ms', 3_600_000],
    ['1.5s', 'ms', 1500],
    ['0', 'ms', 0],
    ['30', 's', 30],
    ['30s', 's', 30],
    ['2m', 's', 120],
    ['1h', 's', 3600],
    ['2000ms', 's', 2],
    ['1500ms', 's', null],
    ['0.5', 's', null],
    ['10x', 'ms', null],
    ['s', 's', null],
    ['-5s', 's', null],
    ['10 S', 's', 10],
  ];
  for (const [text, unit, value] of cases) assert.equal(parseDuration(text, unit), value, `${text} in ${unit}`);
});

test('formatSize picks the shortest exact form; parseSize reads it back (property)', () => {
  assert.equal(formatSize(1024 ** 3), '1GiB');
  assert.equal(formatSize(65536), '64KiB');
  assert.equal(formatSize(10_000_000), '10MB');
  assert.equal(formatSize(1000), '1KB');
  assert.equal(formatSize(1234), '1234');
  assert.equal(formatSize(0), '0');
  fc.assert(
    fc.property(fc.maxSafeNat(), (n) => parseSize(formatSize(n)) === n),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.nat({ max: 1 << 20 }), fc.constantFrom('k', 'KiB', 'm', 'MiB', 'kb', 'MB', 'b', ''), (n, suffix) => {
      const factor = { k: 1024, KiB: 1024, m: 2 ** 20, MiB: 2 ** 20, kb: 1000, MB: 1e6, b: 1, '': 1 }[suffix]!;
      return parseSize(`${n}${suffix}`) === n * factor && parseSize(`${n}${suffix.toUpperCase()}`) === n * factor;
    }),
    { numRuns: 500 },
  );
});

test('formatDuration picks the largest whole unit; parseDuration reads it back (property)', () => {
  assert.equal(formatDuration(10_000, 'ms'), '10s');
  assert.equal(formatDuration(1500, 'ms'), '1500ms');
  assert.equal(formatDuration(86_400, 's'), '24h');
  assert.equal(formatDuration(0, 's'), '0s');
  fc.assert(
    fc.property(
      fc.nat({ max: 1e9 }),
      fc.constantFrom('ms' as const, 's' as const),
      (n, unit) => parseDuration(formatDuration(n, unit), unit) === n,
    ),
    { numRuns: 2000 },
  );
});
