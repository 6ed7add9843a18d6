// The exposition model: metric families as the three encoders (text.ts, protobuf.ts)
// read them. Names follow Prometheus conventions (base units, `_total` for counters, added
// by the encoders: `name` here is the family name without it).
import type { HistogramValue } from './histogram.js';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'info';

export type Labels = ReadonlyArray<readonly [string, string]>;

export interface Sample {
  labels: Labels;
  value: number;
}
export interface HistogramSample {
  labels: Labels;
  histogram: HistogramValue;
}

export interface Family {
  /** Without `_total` (counters) or `_info` (info). */
  name: string;
  help: string;
  type: MetricType;
  /** OpenMetrics UNIT (`seconds`, `bytes`); the name ends with it. */
  unit?: string;
  samples: Sample[];
  histograms?: HistogramSample[];
}

/** The name samples carry: `_total` for counters, `_info` for info metrics. */
export function sampleName(f: Family): string {
  return f.type === 'counter' ? f.name + '_total' : f.type === 'info' ? f.name + '_info' : f.name;
}
