// The protobuf exposition: varint-delimited io.prometheus.client.MetricFamily messages,
// encoded by protobufjs from metric.proto (kept beside this file in src/, loaded once).
// Histograms carry both their classic buckets and the native ones: schema 3, zero
// threshold 2^-20, positive spans and bucket deltas (histogram.ts explains the schema).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { CLASSIC_BOUNDS, SCHEMA, ZERO_THRESHOLD, type HistogramValue } from './histogram.js';
import { sampleName, type Family } from './family.js';

export const PROTOBUF_CONTENT_TYPE =
  'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

const TYPE_CODE = { counter: 0, gauge: 1, histogram: 4, info: 1 } as const;

/** metric.proto: next to the compiled file's source (dist/src/metrics → src/metrics), or beside it. */
function protoPath(): string {
  for (const rel of ['../../../src/metrics/metric.proto', './metric.proto']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('metric.proto not found beside src/metrics');
}

let familyType: protobuf.Type | null = null;

/** The MetricFamily message type (loads metric.proto on first use). */
export function metricFamilyType(): protobuf.Type {
  if (familyType === null) {
    const root = new protobuf.Root();
    root.loadSync(protoPath(), { keepCase: true });
    familyType = root.lookupType('io.prometheus.client.MetricFamily');
  }
  return familyType;
}

interface Span {
  offset: number;
  length: number;
}

/** Native buckets as spans of consecutive indices and count deltas (Prometheus' encoding). */
export function spansAndDeltas(native: ReadonlyArray<readonly [number, number]>): { spans: Span[]; deltas: number[] } {
  const spans: Span[] = [];
  const deltas: number[] = [];
  let prevIndex = 0;
  let prevCount = 0;
  for (let k = 0; k < native.length; k++) {
    const [i, c] = native[k]!;
    const last = spans[spans.length - 1];
    if (last !== undefined && i === prevIndex + 1) last.length++;
    else spans.push({ offset: spans.length === 0 ? i : i - prevIndex - 1, length: 1 });
    deltas.push(c - prevCount);
    prevIndex = i;
    prevCount = c;
  }
  return { spans, deltas };
}

function histogramMessage(h: HistogramValue): Record<string, unknown> {
  const { spans, deltas } = spansAndDeltas(h.native);
  return {
    sample_count: h.count,
    sample_sum: h.sum,
    bucket: CLASSIC_BOUNDS.map((le, k) => ({ cumulative_count: h.classic[k]!, upper_bound: le })),
    schema: SCHEMA,
    zero_threshold: ZERO_THRESHOLD,
    zero_count: h.zeroCount,
    // An empty native histogram still needs a span to be told apart from a classic one.
    positive_span: spans.length > 0 ? spans : [{ offset: 0, length: 0 }],
    positive_delta: deltas,
  };
}

/** Every family as one delimited stream. */
export function encodeProtobuf(families: readonly Family[]): Uint8Array {
  const T = metricFamilyType();
  const w = protobuf.Writer.create();
  for (const f of families) {
    const type = TYPE_CODE[f.type];
    const label = (labels: ReadonlyArray<readonly [string, string]>): Array<{ name: string; value: string }> =>
      labels.map(([name, value]) => ({ name, value }));
    const metric =
      f.type === 'histogram'
        ? (f.histograms ?? []).map((s) => ({ label: label(s.labels), histogram: histogramMessage(s.histogram) }))
        : f.samples.map((s) => ({
            label: label(s.labels),
            [f.type === 'counter' ? 'counter' : 'gauge']: { value: s.value },
          }));
    T.encodeDelimited(
      { name: sampleName(f), help: f.help, type, metric, ...(f.unit !== undefined ? { unit: f.unit } : {}) },
      w,
    );
  }
  return w.finish();
}
