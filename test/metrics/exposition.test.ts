// The three expositions of one small set of families, against text written by hand, the
// protobuf stream decoded again with protobufjs (native histogram fields included), and
// Accept negotiation with the headers real scrapers send.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import type { Family } from '../../src/metrics/family.js';
import {
  CLASSIC_BOUNDS,
  HISTOGRAM_CELLS,
  observe,
  readHistogram,
  ZERO_THRESHOLD,
} from '../../src/metrics/histogram.js';
import { negotiate } from '../../src/metrics/negotiate.js';
import { encodeProtobuf, metricFamilyType, spansAndDeltas } from '../../src/metrics/protobuf.js';
import { encodeOpenMetrics, encodeText } from '../../src/metrics/text.js';

function families(): Family[] {
  const c = new Float64Array(HISTOGRAM_CELLS);
  observe(c, 0, 0.012);
  observe(c, 0, 0.012);
  observe(c, 0, 0.011); // (0.011049… is bucket -51's lower bound): bucket -52
  observe(c, 0, 2);
  return [
    {
      name: 'fcgate_http_requests',
      help: 'Requests.',
      type: 'counter',
      samples: [
        {
          labels: [
            ['route', '/a"b\\c\nd'],
            ['code', '200'],
          ],
          value: 3,
        },
      ],
    },
    { name: 'fcgate_up', help: 'Line one\nline \\two', type: 'gauge', samples: [{ labels: [], value: 1 }] },
    {
      name: 'fcgate_d_seconds',
      help: 'D.',
      type: 'histogram',
      unit: 'seconds',
      samples: [],
      histograms: [{ labels: [['route', 'r']], histogram: readHistogram(c, 0) }],
    },
    { name: 'fcgate_build', help: 'Build.', type: 'info', samples: [{ labels: [['version', '1.0']], value: 1 }] },
  ];
}

const BUCKETS = (cum: (le: number) => number): string =>
  CLASSIC_BOUNDS.map((le) => `fcgate_d_seconds_bucket{route="r",le="${le}"} ${cum(le)}\n`).join('');
const cumulative = (le: number): number => (le >= 2 ? 4 : le >= 0.025 ? 3 : 0);

test('text format 0.0.4: HELP/TYPE with sample names, escaped labels and help, classic buckets', () => {
  assert.equal(
    encodeText(families()),
    '# HELP fcgate_http_requests_total Requests.\n'
      + '# TYPE fcgate_http_requests_total counter\n'
      + 'fcgate_http_requests_total{route="/a\\"b\\\\c\\nd",code="200"} 3\n'
      + '# HELP fcgate_up Line one\\nline \\\\two\n'
      + '# TYPE fcgate_up gauge\n'
      + 'fcgate_up 1\n'
      + '# HELP fcgate_d_seconds D.\n'
      + '# TYPE fcgate_d_seconds histogram\n'
      + BUCKETS(cumulative)
      + 'fcgate_d_seconds_bucket{route="r",le="+Inf"} 4\n'
      + 'fcgate_d_seconds_sum{route="r"} 2.035\n'
      + 'fcgate_d_seconds_count{route="r"} 4\n'
      + '# HELP fcgate_build_info Build.\n'
      + '# TYPE fcgate_build_info gauge\n'
      + 'fcgate_build_info{version="1.0"} 1\n',
  );
});

test('OpenMetrics 1.0: family names without suffixes, UNIT, info type, # EOF', () => {
  const text = encodeOpenMetrics(families());
  assert.ok(
    text.startsWith(
      '# TYPE fcgate_http_requests counter\n# HELP fcgate_http_requests Requests.\nfcgate_http_requests_total{',
    ),
  );
  assert.ok(
    text.includes('# TYPE fcgate_d_seconds histogram\n# UNIT fcgate_d_seconds seconds\n# HELP fcgate_d_seconds D.\n'),
  );
  assert.ok(
    text.includes('# TYPE fcgate_build info\n# HELP fcgate_build Build.\nfcgate_build_info{version="1.0"} 1\n'),
  );
  assert.ok(text.endsWith('fcgate_build_info{version="1.0"} 1\n# EOF\n'));
});

test("native buckets as spans and deltas (Prometheus' encoding), worked by hand", () => {
  // Buckets -52:1, -51:2 (adjacent), then 8:1 after a gap of 58 empty buckets.
  assert.deepEqual(
    spansAndDeltas([
      [-52, 1],
      [-51, 2],
      [8, 1],
    ]),
    {
      spans: [
        { offset: -52, length: 2 },
        { offset: 58, length: 1 },
      ],
      deltas: [1, 1, -1],
    },
  );
  assert.deepEqual(spansAndDeltas([]), { spans: [], deltas: [] });
});

test('protobuf delimited: decodes back into MetricFamily messages with native histogram fields', () => {
  const bytes = encodeProtobuf(families());
  const T = metricFamilyType();
  const reader = protobuf.Reader.create(bytes);
  const decoded: Array<Record<string, unknown>> = [];
  while (reader.pos < reader.len)
    decoded.push(T.toObject(T.decodeDelimited(reader), { longs: Number, enums: Number, defaults: false }));
  assert.deepEqual(
    decoded.map((f) => [f['name'], f['type']]),
    [
      ['fcgate_http_requests_total', 0],
      ['fcgate_up', 1],
      ['fcgate_d_seconds', 4],
      ['fcgate_build_info', 1],
    ],
  );
  const counter = (decoded[0]!['metric'] as Array<Record<string, unknown>>)[0]!;
  assert.deepEqual(counter['label'], [
    { name: 'route', value: '/a"b\\c\nd' },
    { name: 'code', value: '200' },
  ]);
  assert.deepEqual(counter['counter'], { value: 3 });
  const h = (decoded[2]!['metric'] as Array<Record<string, unknown>>)[0]!['histogram'] as Record<string, unknown>;
  assert.equal(h['sample_count'], 4);
  assert.equal(h['schema'], 3);
  assert.equal(h['zero_threshold'], ZERO_THRESHOLD);
  assert.deepEqual(h['positive_span'], [
    { offset: -52, length: 2 },
    { offset: 58, length: 1 },
  ]);
  assert.deepEqual(h['positive_delta'], [1, 1, -1]);
  assert.equal((h['bucket'] as unknown[]).length, CLASSIC_BOUNDS.length);
});

test('an empty native histogram still carries a span (so Prometheus sees it as native)', () => {
  const empty: Family = {
    name: 'x_seconds',
    help: 'x',
    type: 'histogram',
    samples: [],
    histograms: [{ labels: [], histogram: readHistogram(new Float64Array(HISTOGRAM_CELLS), 0) }],
  };
  const T = metricFamilyType();
  const f = T.toObject(T.decodeDelimited(encodeProtobuf([empty])), { defaults: false }) as {
    metric: Array<{ histogram: { positive_span: unknown } }>;
  };
  assert.deepEqual(f.metric[0]!.histogram.positive_span, [{ offset: 0, length: 0 }]);
});

test('Accept negotiation as Prometheus client libraries do it', () => {
  // Prometheus 2.42 with native histograms enabled, then without; promtool/curl; OpenMetrics scrapers.
  assert.equal(
    negotiate(
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,'
        + 'text/plain;version=0.0.4;q=0.3,*/*;q=0.1',
    ),
    'protobuf',
  );
  assert.equal(
    negotiate(
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,'
        + 'text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
    ),
    'openmetrics',
  );
  assert.equal(
    negotiate('text/plain;version=0.0.4;q=0.5,application/openmetrics-text;version=1.0.0;q=0.9'),
    'openmetrics',
  );
  assert.equal(
    negotiate('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text'),
    'text',
  );
  assert.equal(negotiate('application/openmetrics-text;version=2.0.0'), 'text');
  assert.equal(negotiate('*/*'), 'text');
  assert.equal(negotiate(undefined), 'text');
  assert.equal(negotiate('text/html'), 'text');
});
