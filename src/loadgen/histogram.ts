// Latency histograms: HdrHistogram (hdr-histogram-js) in microseconds, 3 significant
// digits, growing as needed. At the end threads hand theirs over in HdrHistogram's
// standard compressed form (V2 encoding, base64: "HISTFAAA…"), which is lossless, so the
// merged histogram of a run is exactly the histogram of all its requests; the same text
// goes into --json, where any HdrHistogram tool can decode it. Each second's histogram
// travels as its non-empty buckets (value, count pairs in a transferred Float64Array):
// recorded again they land in the same buckets, and the main thread allocates nothing
// per second (decoding would allocate a counts array each time, which the mostly idle
// main thread's GC then holds on to for a long while).
import hdr from 'hdr-histogram-js';
import type { Histogram, JsHistogram } from 'hdr-histogram-js';

export type { Histogram } from 'hdr-histogram-js';

/** An empty latency histogram (µs, 1 µs .. 1 h to start with, resized beyond). */
export function newLatencyHistogram(): Histogram {
  return hdr.build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

/** The compressed, base64 form of `h`. */
export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

/** Adds an encoded histogram into `into`. */
export function addEncoded(into: Histogram, encoded: string): void {
  const h = hdr.decodeFromCompressedBase64(encoded, 32, false);
  into.add(h);
  h.destroy();
}

/** The non-empty buckets of `h` as [value, count, value, count, …] (value: the bucket's highest equivalent). */
export function bucketsOf(h: Histogram): Float64Array {
  const it = (h as JsHistogram).recordedValuesIterator;
  it.reset();
  let n = 0;
  while (it.hasNext()) {
    it.next();
    n++;
  }
  const out = new Float64Array(n * 2);
  it.reset();
  for (let i = 0; it.hasNext(); i += 2) {
    const v = it.next();
    out[i] = v.valueIteratedTo;
    out[i + 1] = v.countAtValueIteratedTo;
  }
  return out;
}

/** Records the buckets of bucketsOf() into `into` (exact per bucket). */
export function addBuckets(into: Histogram, buckets: Float64Array): void {
  for (let i = 0; i < buckets.length; i += 2) into.recordValueWithCount(buckets[i]!, buckets[i + 1]!);
}

/** The percentiles every report prints, in this order. */
export const PERCENTILES = [50, 75, 90, 99, 99.9, 99.99] as const;

export interface LatencySummary {
  count: number;
  minUs: number;
  meanUs: number;
  stdevUs: number;
  maxUs: number;
  /** Keyed p50, p75, p90, p99, p99.9, p99.99 → microseconds. */
  percentiles: Record<string, number>;
}

export const percentileKey = (p: number): string => `p${p}`;

/** Summary figures of `h` (all zero when it is empty). */
export function summarize(h: Histogram): LatencySummary {
  const count = h.totalCount;
  const percentiles: Record<string, number> = {};
  for (const p of PERCENTILES) percentiles[percentileKey(p)] = count === 0 ? 0 : h.getValueAtPercentile(p);
  return {
    count,
    minUs: count === 0 || h.minNonZeroValue >= Number.MAX_SAFE_INTEGER ? 0 : h.minNonZeroValue,
    meanUs: count === 0 ? 0 : h.mean,
    stdevUs: count === 0 ? 0 : h.stdDeviation,
    maxUs: count === 0 ? 0 : h.maxValue,
    percentiles,
  };
}

/** HdrHistogram's percentile distribution text (values in milliseconds), for --percentiles. */
export function percentileDistribution(h: Histogram): string {
  return h.outputPercentileDistribution(5, 1000);
}
