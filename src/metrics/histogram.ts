// Histogram cells in a Float64Array slab: a Prometheus native (sparse exponential)
// histogram and classic buckets side by side, both exact, filled by one observe() call.
// No allocation, no Map: an index computation and four additions per observation.
//
// Native schema 3: bucket i holds (2^((i-1)/8), 2^(i/8)] seconds, a growth factor of
// 2^(1/8) ≈ 1.0905 per bucket, so a quantile read from the buckets is off by at most
// ±4.4 % (half a bucket). client_golang's NativeHistogramBucketFactor 1.1 picks the same.
// Range kept: (2^-20, 2^12] s = (0.95 µs, 68 min], indices -159..96 (256 buckets); the
// zero bucket takes [0, 2^-20] (zero_threshold = 2^-20), anything longer than 2^12 s is
// counted in the top bucket (documented: a request over 68 minutes is "about 68 minutes").
//
// Cell layout of one histogram at `base`:
//   [base]      count          [base+1]  sum (seconds)        [base+2]  zero-bucket count
//   [base+3 …]  native buckets, index NATIVE_MIN first (non-cumulative)
//   [… +CLASSIC_BOUNDS.length] classic buckets, le=CLASSIC_BOUNDS[k] (non-cumulative; +Inf = count)
// Worked example: observe(0.012) → count+1, sum+0.012, log2(0.012)·8 = -51.03 → ceil = -51:
// bucket (2^(-52/8), 2^(-51/8)] = (0.01105, 0.01205]; classic: first bound ≥ 0.012 is 0.025.

export const SCHEMA = 3;
export const ZERO_THRESHOLD = 2 ** -20;
export const NATIVE_MIN = -159;
export const NATIVE_MAX = 96;
const NATIVE_BUCKETS = NATIVE_MAX - NATIVE_MIN + 1;
/** Classic bucket upper bounds, seconds: Prometheus' defaults with sub-millisecond and 30 s added. */
export const CLASSIC_BOUNDS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
export const HISTOGRAM_CELLS = 3 + NATIVE_BUCKETS + CLASSIC_BOUNDS.length;

const SCALE = 2 ** SCHEMA;
const CLASSIC_AT = 3 + NATIVE_BUCKETS;
const NC = CLASSIC_BOUNDS.length;

/** The native bucket index of a positive value above the zero threshold (clamped to the kept range). */
export function nativeIndex(v: number): number {
  const i = Math.ceil(Math.log2(v) * SCALE);
  return i > NATIVE_MAX ? NATIVE_MAX : Math.max(i, NATIVE_MIN);
}

/** Upper bound (inclusive) of native bucket `i`. */
export const nativeUpperBound = (i: number): number => 2 ** (i / SCALE);

/** Adds one observation of `seconds` to the histogram at `base`. Negative or NaN counts as 0. */
export function observe(cells: Float64Array, base: number, seconds: number): void {
  // biome-ignore lint/complexity/useMathMinMax: NaN must count as 0, and Math.max(NaN, 0) is NaN.
  const v = seconds > 0 ? seconds : 0;
  cells[base] += 1;
  cells[base + 1] += v;
  if (v <= ZERO_THRESHOLD) cells[base + 2] += 1;
  else cells[base + 3 + nativeIndex(v) - NATIVE_MIN] += 1;
  let k = 0;
  while (k < NC && v > CLASSIC_BOUNDS[k]!) k++;
  if (k < NC) cells[base + CLASSIC_AT + k] += 1;
}

/** One histogram read out of (summed) cells. */
export interface HistogramValue {
  count: number;
  sum: number;
  zeroCount: number;
  /** Native buckets with a non-zero count, ascending index. */
  native: Array<[index: number, count: number]>;
  /** Cumulative classic counts, one per CLASSIC_BOUNDS entry (+Inf is `count`). */
  classic: number[];
}

/** Adds the histogram at `from` in `src` onto `to` in `dst` (summing threads). */
export function addHistogram(dst: Float64Array, to: number, src: Float64Array, from: number): void {
  for (let i = 0; i < HISTOGRAM_CELLS; i++) dst[to + i] += src[from + i]!;
}

export function readHistogram(cells: Float64Array, base: number): HistogramValue {
  const native: Array<[number, number]> = [];
  for (let i = 0; i < NATIVE_BUCKETS; i++) {
    const c = cells[base + 3 + i]!;
    if (c !== 0) native.push([i + NATIVE_MIN, c]);
  }
  const classic: number[] = [];
  let run = 0;
  for (let k = 0; k < NC; k++) {
    run += cells[base + CLASSIC_AT + k]!;
    classic.push(run);
  }
  return { count: cells[base]!, sum: cells[base + 1]!, zeroCount: cells[base + 2]!, native, classic };
}

/**
 * The q-quantile (0..1) of a histogram from its native buckets, interpolated inside the
 * bucket as Prometheus' histogram_quantile does for native histograms; NaN when empty.
 */
export function nativeQuantile(h: HistogramValue, q: number): number {
  if (h.count === 0) return NaN;
  const rank = q * h.count;
  let seen = h.zeroCount;
  if (rank <= seen) return 0;
  for (const [i, c] of h.native) {
    if (seen + c >= rank) {
      const lo = nativeUpperBound(i - 1),
        hi = nativeUpperBound(i);
      return lo + (hi - lo) * ((rank - seen) / c);
    }
    seen += c;
  }
  return h.native.length === 0 ? 0 : nativeUpperBound(h.native[h.native.length - 1]![0]);
}

/** Subtracts histogram `b` from `a` (a later minus an earlier reading): the observations in between. */
export function histogramDelta(a: HistogramValue, b: HistogramValue | null): HistogramValue {
  if (b === null) return a;
  const before = new Map(b.native);
  const native: Array<[number, number]> = [];
  for (const [i, c] of a.native) {
    const d = c - (before.get(i) ?? 0);
    if (d > 0) native.push([i, d]);
  }
  return {
    count: a.count - b.count,
    sum: a.sum - b.sum,
    zeroCount: a.zeroCount - b.zeroCount,
    native,
    classic: a.classic.map((c, k) => c - (b.classic[k] ?? 0)),
  };
}
