// Sizes and durations as people write them in environment variables: `10MB`, `1GiB`, `64k`,
// `500ms`, `30s`, `2m`. Parsing and formatting only; which variable takes which is tuning.ts.
//
// Sizes (case-insensitive; a space before the suffix is allowed):
//   no suffix, B          bytes
//   KB MB GB TB           SI, powers of 1000      10MB  = 10 000 000
//   KiB MiB GiB TiB       IEC, powers of 1024     10MiB = 10 485 760
//   K M G T               powers of 1024, as nginx's `client_max_body_size 10m` and systemd
// A decimal is accepted when the result is a whole number of bytes (`1.5GiB`, not `0.3B`).
//
// Durations: no suffix = the variable's own unit (ms or s); `ms`, `s`, `m` or `min`, `h`.
// The result must be a whole number of the variable's unit (`1500ms` is not whole seconds).

const SIZE_FACTORS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
};

const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };

export type DurationUnit = 'ms' | 's';

const NUMBER_AND_SUFFIX = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;

/** Bytes for `text`, or null when it is not a size (or not a whole number of bytes). */
export function parseSize(text: string): number | null {
  const m = NUMBER_AND_SUFFIX.exec(text.trim());
  if (m === null) return null;
  const factor = SIZE_FACTORS[m[2]!.toLowerCase()];
  if (factor === undefined) return null;
  return wholeProduct(m[1]!, factor, 1);
}

/** `text` in `unit` (ms or s), or null when it is not a duration or not whole in `unit`. */
export function parseDuration(text: string, unit: DurationUnit): number | null {
  const m = NUMBER_AND_SUFFIX.exec(text.trim());
  if (m === null) return null;
  const suffix = m[2]!.toLowerCase();
  const factor = suffix === '' ? DURATION_MS[unit]! : DURATION_MS[suffix];
  if (factor === undefined) return null;
  return wholeProduct(m[1]!, factor, DURATION_MS[unit]!);
}

/**
 * number × factor ÷ divisor when that is a safe whole number. Decimals are scaled to
 * integers first, so `1.1GB` is exactly 1 100 000 000 (no binary fraction error).
 */
function wholeProduct(number: string, factor: number, divisor: number): number | null {
  const dot = number.indexOf('.');
  const decimals = dot < 0 ? 0 : number.length - dot - 1;
  const digits = BigInt(number.replace('.', ''));
  const scale = 10n ** BigInt(decimals);
  const num = digits * BigInt(factor);
  const den = scale * BigInt(divisor);
  if (num % den !== 0n) return null;
  const v = num / den;
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : null;
}

/** The shortest exact way to write `bytes`: `1GiB`, `64KiB`, `10MB`, `1000`. */
export function formatSize(bytes: number): string {
  if (bytes === 0) return '0';
  for (const [suffix, f] of [
    ['TiB', 2 ** 40],
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
    ['TB', 1e12],
    ['GB', 1e9],
    ['MB', 1e6],
    ['KB', 1e3],
  ] as const) {
    if (bytes % f === 0) return `${bytes / f}${suffix}`;
  }
  return String(bytes);
}

/** The shortest exact way to write `value` (in `unit`): `10s`, `2m`, `1500ms`. */
export function formatDuration(value: number, unit: DurationUnit): string {
  const ms = value * DURATION_MS[unit]!;
  if (ms === 0) return `0${unit}`;
  for (const [suffix, f] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms % f === 0) return `${ms / f}${suffix}`;
  }
  return `${ms}ms`;
}
