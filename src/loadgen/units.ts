// Durations in, numbers out: `10s`, `500ms`, `2m`, `1h`, a bare number of seconds; and
// the short human forms reports print (1.23 ms, 45.6 MiB, 12,345).

const UNITS: Record<string, number> = { us: 0.001, µs: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds in a duration text; throws a RangeError naming `what` when it is not one. */
export function parseDuration(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(us|µs|ms|s|m|h)?$/.exec(text.trim());
  if (m === null) throw new RangeError(`${what}: "${text}" is not a duration (e.g. 10s, 500ms, 2m)`);
  const ms = Number(m[1]) * UNITS[m[2] ?? 's']!;
  if (!Number.isFinite(ms)) throw new RangeError(`${what}: "${text}" is too large`);
  return ms;
}

/** 1.234 s, 12.3 ms, 456 µs: three significant digits or so. */
export function formatMicros(us: number): string {
  if (us >= 1_000_000) return `${(us / 1_000_000).toFixed(us >= 10_000_000 ? 1 : 2)} s`;
  if (us >= 1000) return `${(us / 1000).toFixed(us >= 100_000 ? 0 : us >= 10_000 ? 1 : 2)} ms`;
  return `${us.toFixed(us >= 100 ? 0 : us >= 10 ? 1 : 2)} µs`;
}

/** Bytes in binary units: 512 B, 1.5 KiB, 23.4 MiB, 1.02 GiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`;
}

/** An integer with thousands separators (12,345). */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A rate with one decimal under 1000, none above (987.6, 12,345). */
export function formatRate(n: number): string {
  return n >= 1000 ? formatCount(n) : n.toFixed(1);
}

/** Seconds as a duration text: 10 s, 1.5 s, 2 m 30 s. */
export function formatSeconds(s: number): string {
  if (s >= 120) return `${Math.floor(s / 60)} m ${Math.round(s % 60)} s`;
  return `${Number.isInteger(s) ? s : s.toFixed(s >= 10 ? 1 : 2)} s`;
}
