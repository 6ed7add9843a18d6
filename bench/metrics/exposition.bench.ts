// Bench: the encode cost of one /metrics scrape of a busy fcgate (12 routes × 5 status
// codes, 8 backends, every duration/first-byte/queue histogram filled, 2 thread slabs):
// building the families from the slabs and encoding them as delimited protobuf with
// plain objects into one protobufjs Writer, against protobufjs "by the book"
// (MetricFamily.fromObject per family, encodeDelimited, Buffer.concat). The text format's
// cost is printed beside it. Not timed: HTTP, the slabs' filling.
import { deepStrictEqual } from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { parseConfig } from '../../src/config/load.js';
import type { Family } from '../../src/metrics/family.js';
import { CLASSIC_BOUNDS, SCHEMA, ZERO_THRESHOLD } from '../../src/metrics/histogram.js';
import { encodeProtobuf, metricFamilyType, spansAndDeltas } from '../../src/metrics/protobuf.js';
import { encodeText } from '../../src/metrics/text.js';
import { buildFamilies } from '../../src/observe/families.js';
import { Telemetry } from '../../src/observe/telemetry.js';
import { runSuite } from '../harness.js';

const routes = Array.from({ length: 12 }, (_, i) => `ProxyPass /r${i}/ fcgi://127.0.0.1:${9000 + (i % 8)}/`).join('\n');
const cfg = parseConfig(routes + '\n', '/tmp/bench.conf');
const t = new Telemetry(cfg, { slots: 2, logBuffer: 1 << 16, version: 'bench' });
t.context = {
  config: () => cfg,
  board: () => null,
  health: () => [],
  cap: () => 16,
  threads: () => [
    { slot: 0, ready: true, restarts: 0 },
    { slot: 1, ready: true, restarts: 0 },
  ],
  draining: () => false,
};
const codes = [200, 304, 404, 502, 503];
for (const slot of [0, 1]) {
  const o = t.localObserver(cfg, { slot, accessLogs: false });
  let k = 0;
  for (let i = 0; i < 5000; i++) {
    const r = cfg.routes[i % 12]!;
    const at = 1000 + (k++ % 997) * 0.37;
    const rec = {
      snapshot: null,
      requestId: '',
      startedAt: 0,
      status: codes[i % 5]!,
      bytesIn: 0,
      bytesOut: 512,
      firstByteAt: at + 0.2 + (i % 13) * 0.4,
      routeIndex: 0,
      errorCode: i % 5 === 3 ? 'FCGATE_APP_CLOSED' : null,
      aborted: false,
      exchange: { backend: r.worker!.name, startedAt: at, acquiredAt: at + (i % 7) * 0.05 },
      balancer: null,
      env: null,
      head: null,
      extraHeaders: [] as string[],
    };
    o.begin(rec, {
      method: 'GET',
      path: '/',
      query: '',
      headers: [],
      remoteAddress: '',
      remotePort: '',
      localAddress: '',
      localPort: 0,
      scheme: 'http',
      protocol: 'HTTP/1.1',
    });
    rec.startedAt = performance.now() - (1 + (i % 50) * 3);
    rec.routeIndex = o.routeIndex({ kind: 'proxy', route: r, handlerUrlPath: '', resolved: {} as never });
    o.end(rec);
  }
  o.stop();
}
const build = { version: 'bench', uws: 'uws', node: process.version };
const families = buildFamilies(t, build);

/** protobufjs as its README shows it: a message per family via fromObject, each encoded, then joined. */
function byTheBook(fams: readonly Family[]): Uint8Array {
  const T = metricFamilyType();
  const parts: Uint8Array[] = [];
  for (const f of fams) {
    const name = f.type === 'counter' ? f.name + '_total' : f.type === 'info' ? f.name + '_info' : f.name;
    const type = f.type === 'counter' ? 0 : f.type === 'histogram' ? 4 : 1;
    const metric =
      f.type === 'histogram'
        ? (f.histograms ?? []).map((s) => {
            const { spans, deltas } = spansAndDeltas(s.histogram.native);
            return {
              label: s.labels.map(([n, v]) => ({ name: n, value: v })),
              histogram: {
                sample_count: s.histogram.count,
                sample_sum: s.histogram.sum,
                bucket: CLASSIC_BOUNDS.map((le, k) => ({ cumulative_count: s.histogram.classic[k]!, upper_bound: le })),
                schema: SCHEMA,
                zero_threshold: ZERO_THRESHOLD,
                zero_count: s.histogram.zeroCount,
                positive_span: spans.length > 0 ? spans : [{ offset: 0, length: 0 }],
                positive_delta: deltas,
              },
            };
          })
        : f.samples.map((s) => ({
            label: s.labels.map(([n, v]) => ({ name: n, value: v })),
            [f.type === 'counter' ? 'counter' : 'gauge']: { value: s.value },
          }));
    const msg = T.fromObject({ name, help: f.help, type, metric, ...(f.unit !== undefined ? { unit: f.unit } : {}) });
    parts.push(T.encodeDelimited(msg).finish());
  }
  return Buffer.concat(parts);
}

// Same bytes first.
deepStrictEqual(Buffer.from(encodeProtobuf(families)), Buffer.from(byTheBook(families)));

const timeIt = (fn: () => unknown): number => {
  const n = 200;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  return ((performance.now() - t0) * 1000) / n;
};
const textUs = timeIt(() => encodeText(buildFamilies(t, build)));
const protoUs = timeIt(() => encodeProtobuf(buildFamilies(t, build)));
const familiesUs = timeIt(() => buildFamilies(t, build));
const series = families.reduce((n, f) => n + f.samples.length + (f.histograms?.length ?? 0), 0);
console.log(
  `one scrape: ${families.length} families, ${series} series; build ${familiesUs.toFixed(0)} µs, `
    + (`build + text ${textUs.toFixed(0)} µs (${encodeText(families).length} B), build + protobuf `
      + `${protoUs.toFixed(0)} µs (${encodeProtobuf(families).length} B)`),
);

runSuite({
  suite: 'exposition',
  input:
    `one scrape: ${families.length} families, ${series} series (12 routes × 5 codes, 8 backends, 36 native `
    + `histograms), 2 thread slabs`,
  candidates: [{ name: 'families + protobuf (one Writer)', fn: () => encodeProtobuf(buildFamilies(t, build)).length }],
  baseline: { name: 'families + protobuf fromObject', fn: () => byTheBook(buildFamilies(t, build)).length },
});
