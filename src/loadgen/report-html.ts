// --html FILE: one self-contained page (inline CSS and SVG, no script, nothing fetched):
// the summary as in the terminal, the latency distribution as HdrHistogram plots it
// (latency against percentile on a 1/(1−p) axis), req/s and errors per second, latency
// over time, and this tool's memory over time. With --compare: A and B overlaid, and
// req/s round by round.
import type { CompareReport } from './compare.js';
import { newLatencyHistogram, type Histogram } from './histogram.js';
import { renderCompare, renderSummary } from './report-text.js';
import type { RunReport } from './run.js';
import { barChart, esc, lineChart, type Bar, type Series } from './svg-chart.js';
import { formatMicros, formatRate } from './units.js';

const COLORS = ['#2b7bb9', '#d0643a', '#3a9a4a', '#8a5cb8'];
const ms = (us: number): string => (us === 0 ? '0' : formatMicros(us));

/** The latency-by-percentile curve of `h`: x = −log10(1 − p), up to the resolution of its count. */
function percentileCurve(h: Histogram): Array<[number, number]> {
  const n = h.totalCount;
  if (n === 0) return [];
  const xMax = Math.min(5, Math.log10(n));
  const pts: Array<[number, number]> = [];
  for (let x = 0; x <= xMax + 1e-9; x += 0.05) pts.push([x, h.getValueAtPercentile(100 * (1 - 10 ** -x))]);
  pts.push([xMax, h.maxValue]);
  return pts;
}

function distributionChart(series: Array<{ name: string; h: Histogram }>): string {
  const curves: Series[] = series.map((s, i) => ({
    name: s.name,
    color: COLORS[i % COLORS.length]!,
    points: percentileCurve(s.h),
  }));
  const xMax = Math.max(1, ...curves.map((c) => c.points.at(-1)?.[0] ?? 0));
  const labels = ['0%', '90%', '99%', '99.9%', '99.99%', '99.999%'];
  return lineChart({
    title: 'Latency by percentile',
    yLabel: 'latency',
    series: curves,
    xMin: 0,
    xMax,
    xTicks: labels.slice(0, Math.floor(xMax) + 1).map((label, at) => ({ at, label })),
    yFormat: ms,
  });
}

function timelineCharts(r: RunReport, name: string): string {
  const t = r.run.timeline;
  if (t.length === 0) return '';
  const bars: Bar[] = [];
  for (const p of t) {
    bars.push({
      x: p.second,
      value: p.responses,
      color: '#2b7bb9',
      title: `${p.second + 1} s: ${p.responses} responses`,
    });
    if (p.errors > 0)
      bars.push({ x: p.second, value: p.errors, color: '#c62828', title: `${p.second + 1} s: ${p.errors} errors` });
  }
  const xTicks = t
    .filter((_, i) => i % Math.max(1, Math.ceil(t.length / 15)) === 0)
    .map((p) => ({ at: p.second + 1, label: `${p.second + 1} s` }));
  const latency = lineChart({
    title: `Latency over time${name}`,
    yLabel: 'latency',
    xMin: 1,
    xMax: Math.max(2, t.at(-1)!.second + 1),
    xTicks,
    yFormat: ms,
    series: [
      { name: 'p50', color: COLORS[0]!, points: t.map((p) => [p.second + 1, p.p50Us]) },
      { name: 'p90', color: COLORS[2]!, points: t.map((p) => [p.second + 1, p.p90Us]) },
      { name: 'p99', color: COLORS[1]!, points: t.map((p) => [p.second + 1, p.p99Us]) },
      { name: 'max', color: '#999999', points: t.map((p) => [p.second + 1, p.maxUs]) },
    ],
  });
  const memory = lineChart({
    title: `fcgate bench's own RSS${name}`,
    yLabel: 'RSS (MiB)',
    xMin: 1,
    xMax: Math.max(2, t.at(-1)!.second + 1),
    xTicks,
    yFormat: (v) => String(v),
    height: 220,
    series: [{ name: 'RSS', color: COLORS[3]!, points: t.map((p) => [p.second + 1, p.rssBytes / 2 ** 20]) }],
  });
  return [
    barChart(
      `Responses (blue) and errors (red) per second${name}`,
      'per second',
      bars,
      (x) => `${x + 1}`,
      (v) => formatRate(v),
    ),
    latency,
    memory,
  ].join('\n');
}

function page(title: string, summary: string, charts: string[]): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
<style>
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1100px; }
pre { background: #f6f6f6; padding: 12px; overflow-x: auto; font-size: 12px; line-height: 1.35; }
h1 { font-size: 20px; } svg { display: block; margin: 18px 0; max-width: 100%; height: auto; }
</style>
</head>
<body>
<h1>${esc(title)}</h1>
<pre>${esc(summary)}</pre>
${charts.join('\n')}
<p style="font-size:11px;color:#777">Written by fcgate bench on ${esc(new Date().toISOString())}.</p>
</body>
</html>
`;
}

/** The page of one run. */
export function renderHtml(r: RunReport): string {
  const title = `fcgate bench: ${r.urls.length === 1 ? r.urls[0]!.url : `${r.urls.length} URLs on ${r.address}`}`;
  return page(title, renderSummary(r), [
    distributionChart([{ name: 'all requests', h: r.run.histogram }]),
    timelineCharts(r, ''),
  ]);
}

/** Histograms of one side's rounds added together. */
export function mergedHistogram(runs: RunReport[]): Histogram {
  const h = newLatencyHistogram();
  for (const r of runs) h.add(r.run.histogram);
  return h;
}

/** The page of a --compare. */
export function renderCompareHtml(c: CompareReport): string {
  const [a, b] = c.runs;
  const bars: Bar[] = [];
  for (const [i, r] of a.entries()) {
    bars.push({ x: i, value: r.rps, color: COLORS[0]!, title: `A round ${i + 1}: ${formatRate(r.rps)} req/s` });
  }
  for (const [i, r] of b.entries()) {
    bars.push({ x: i, value: r.rps, color: COLORS[1]!, title: `B round ${i + 1}: ${formatRate(r.rps)} req/s` });
  }
  const charts = [
    distributionChart([
      { name: `A ${a[0]!.urls[0]!.url}`, h: mergedHistogram(a) },
      { name: `B ${b[0]!.urls[0]!.url}`, h: mergedHistogram(b) },
    ]),
    barChart(
      'req/s by round: A (blue), B (orange)',
      'req/s',
      bars,
      (x) => `round ${x + 1}`,
      (v) => formatRate(v),
    ),
  ];
  return page('fcgate bench --compare', renderCompare(c), charts);
}
