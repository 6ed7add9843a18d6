// Latency histograms: HdrHistogram (hdr-histogram-js) in microseconds, 3 significant
// digits, growing as needed. Threads hand theirs over in HdrHistogram's standard
// compressed form (V2 encoding, base64: "HISTFAAA…"), which is lossless, so the merged
// histogram of a run is exactly the histogram of all its requests. The same text goes
// into --json, where any HdrHistogram tool can decode it.
import hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

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
