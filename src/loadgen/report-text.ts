// The terminal summary, in the shape people know from wrk and oha: what ran, requests and
// rate, transfer, latency (mean, stdev, max, percentiles), status codes, errors by kind,
// and the cost of the target (--pid) and of this tool; and the --compare table.
import { FIGURES, type CompareReport, type Spread } from './compare.js';
import { PERCENTILES, percentileKey } from './histogram.js';
import { ERROR_KIND_NAMES } from './lane.js';
import type { ProcessCost, RunReport } from './run.js';
import { formatBytes, formatCount, formatMicros, formatRate, formatSeconds } from './units.js';

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

/** "closed loop, 10 connections on 1 thread, 10 s after 1 s warm-up, keep-alive" */
function describeSettings(r: RunReport): string {
  const parts: string[] = [];
  if (r.rate === null) parts.push('closed loop');
  else if (r.rate.rampMs > 0)
    parts.push(
      `open loop, ${formatRate(r.rate.from)} → ${formatRate(r.rate.to)} req/s over `
        + `${formatSeconds(r.rate.rampMs / 1000)}`,
    );
  else parts.push(`open loop at ${formatRate(r.rate.to)} req/s`);
  const conns =
    `${r.connections} `
    + `connection${r.connections === 1 ? '' : 's'}${r.depth > 1 ? ` × ${r.depth} multiplexed` : ''}`;
  parts.push(`${conns} on ${r.threads} thread${r.threads === 1 ? '' : 's'}`);
  const bound = r.durationMs !== null ? formatSeconds(r.durationMs / 1000) : `${formatCount(r.requests!)} requests`;
  parts.push(r.warmupMs > 0 ? `${bound} after ${formatSeconds(r.warmupMs / 1000)} warm-up` : bound);
  parts.push(r.keepAlive ? 'keep-alive' : 'a new connection per request');
  if (r.method !== 'GET') parts.push(r.method);
  return parts.join(', ');
}

function costLine(c: ProcessCost): string {
  const total = c.userUsPerRequest + c.systemUsPerRequest;
  return (
    `${total.toFixed(1)} µs CPU/request (${c.userUsPerRequest.toFixed(1)} user + `
    + `${c.systemUsPerRequest.toFixed(1)} system), `
    + `${c.cores.toFixed(2)} cores, peak RSS ${formatBytes(c.peakRssBytes)} (anon ${formatBytes(c.peakAnonBytes)})`
  );
}

/** The whole summary of one run, ending with a newline. */
export function renderSummary(r: RunReport): string {
  const L: string[] = [];
  const head = r.urls.length === 1 ? r.urls[0]!.url : `${r.urls.length} URLs on ${r.address}`;
  L.push(
    `fcgate bench${r.label !== null ? ` [${r.label}${r.round !== null ? `, round ${r.round}` : ''}]` : ''}: ${head}`,
  );
  if (r.urls.length > 1) for (const u of r.urls) L.push(`  ${lpad(String(u.weight), 6)} × ${u.url}`);
  L.push(`  ${describeSettings(r)}`, '');
  const c = r.run.counts;
  L.push(
    `  Requests   ${formatCount(c.responses)} responses in ${r.durationS.toFixed(2)} s: ${formatRate(r.rps)} req/s`
      + `${r.errors > 0 ? `, ${formatCount(r.errors)} errors` : ''}`,
  );
  L.push(
    `  Transfer   in ${formatBytes(c.bytesIn)} (${formatBytes(c.bytesIn / r.durationS)}/s), out `
      + `${formatBytes(c.bytesOut)} (${formatBytes(c.bytesOut / r.durationS)}/s)`,
  );
  const l = r.latency;
  if (l.count > 0) {
    L.push(
      `  Latency    mean ${formatMicros(l.meanUs)}, stdev ${formatMicros(l.stdevUs)}, max ${formatMicros(l.maxUs)}`,
    );
    L.push(
      `             ${PERCENTILES.map((p) => `p${p} ${formatMicros(l.percentiles[percentileKey(p)]!)}`).join('   ')}`,
    );
  } else {
    L.push('  Latency    no response');
  }
  const statuses = Object.entries(r.run.status).sort((a, b) => Number(a[0]) - Number(b[0]));
  if (statuses.length > 0) {
    const other = r.non2xx3xx > 0 ? `  (${formatCount(r.non2xx3xx)} not 2xx/3xx)` : '';
    L.push(`  Status     ${statuses.map(([s, n]) => `${s}: ${formatCount(n)}`).join(', ')}${other}`);
  }
  if (r.errors === 0) {
    L.push('  Errors     none');
  } else {
    const kinds = r.run.counts.errors
      .map((n, k) =>
        n === 0
          ? null
          : `${ERROR_KIND_NAMES[k]} `
            + `${formatCount(n)}${r.run.firstErrors[k] ? ` (first: ${r.run.firstErrors[k]})` : ''}`,
      )
      .filter((x): x is string => x !== null);
    L.push(`  Errors     ${kinds.join('\n             ')}`);
  }
  const w = r.run.warmup;
  if (r.warmupMs > 0) {
    const we = w.errors.reduce((a, b) => a + b, 0);
    L.push(`  Warm-up    ${formatCount(w.responses)} responses, ${formatCount(we)} errors (not counted above)`);
  }
  if (r.openLoop !== null) {
    const o = r.openLoop;
    L.push(
      `  Schedule   asked ${formatRate(o.askedRate)} req/s, achieved ${formatRate(o.achievedRate)} req/s; `
        + (`send lag mean ${formatMicros(o.lagMeanUs)}, max ${formatMicros(o.lagMaxUs)}; `
          + `${formatCount(o.lateBusy)} sent late behind a busy connection`),
    );
  }
  if (r.fcgi !== null) {
    const parts: string[] = [];
    if (r.fcgi.multiplexAsked > 1) parts.push(`multiplex ${r.depth > 1 ? r.depth : 'refused'}`);
    if (r.fcgi.getValues !== null)
      parts.push(
        Object.entries(r.fcgi.getValues)
          .map(([k, v]) => `${k}=${v}`)
          .join(' '),
      );
    parts.push(`${formatCount(r.fcgi.stderrRequests)} requests wrote to STDERR`);
    L.push(`  FastCGI    ${parts.join('; ')}`);
  }
  if (r.target !== null)
    L.push(`  Target     ${costLine(r.target)} (pid ${r.target.pids.join(',')}: ${r.target.processes} processes)`);
  L.push(`  This tool  ${costLine(r.self)}`);
  for (const n of r.notes) L.push(`  Note: ${n}`);
  return `${L.join('\n')}\n`;
}

const showFigure = (key: string, v: number | null): string => {
  if (v === null) return '–';
  if (key === 'rps') return formatRate(v);
  if (key === 'p50Us' || key === 'p99Us') return formatMicros(v);
  if (key === 'errors') return formatCount(v);
  if (key === 'targetPeakRssBytes') return formatBytes(v);
  return v.toFixed(1);
};
const showRatio = (s: Spread | null): string =>
  s === null ? '–' : `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;

/** The --compare table: both targets' medians over rounds, the ratio B/A with its spread. */
export function renderCompare(c: CompareReport): string {
  const a = c.runs[0][0]!;
  const b = c.runs[1][0]!;
  const L: string[] = [];
  L.push(`fcgate bench --compare: ${c.rounds} round${c.rounds === 1 ? '' : 's'}, A and B in turn`);
  L.push(`  ${describeSettings(a)}`);
  L.push(`  A  ${a.urls.map((u) => u.url).join(', ')}${a.target !== null ? `  (pid ${a.target.pids.join(',')})` : ''}`);
  L.push(
    `  B  ${b.urls.map((u) => u.url).join(', ')}${b.target !== null ? `  (pid ${b.target.pids.join(',')})` : ''}`,
    '',
  );
  const figures = FIGURES.filter((f) => c.medians[0][f.key] !== null || c.medians[1][f.key] !== null);
  const widths = figures.map(
    (f) =>
      Math.max(
        f.label.length,
        12,
        ...[0, 1].map((s) => showFigure(f.key, c.medians[s]![f.key] ?? null).length),
        showRatio(c.ratios[f.key] ?? null).length,
      ) + 2,
  );
  L.push(`  ${pad('', 6)}${figures.map((f, i) => lpad(f.label, widths[i]!)).join('')}`);
  for (const [side, name] of [
    [0, 'A'],
    [1, 'B'],
  ] as const) {
    const cells = figures.map((f, i) => lpad(showFigure(f.key, c.medians[side][f.key] ?? null), widths[i]!));
    L.push(`  ${pad(name, 6)}${cells.join('')}`);
  }
  L.push(`  ${pad('B/A', 6)}${figures.map((f, i) => lpad(showRatio(c.ratios[f.key] ?? null), widths[i]!)).join('')}`);
  L.push('', '  Medians over rounds; B/A: median of the round-by-round ratios (min–max).');
  L.push(`  req/s by round:  A ${c.runs[0].map((r) => formatRate(r.rps)).join('  ')}`);
  L.push(`                   B ${c.runs[1].map((r) => formatRate(r.rps)).join('  ')}`);
  const errs = [...c.runs[0], ...c.runs[1]].filter((r) => r.errors > 0);
  for (const r of errs.slice(0, 4)) {
    const kinds = r.run.counts.errors
      .map((n, k) => (n === 0 ? null : `${ERROR_KIND_NAMES[k]} ${n}`))
      .filter(Boolean)
      .join(', ');
    L.push(`  Errors in ${r.label} round ${r.round}: ${kinds}`);
  }
  const notes = new Set([...c.runs[0], ...c.runs[1]].flatMap((r) => r.notes.map((n) => `${r.label}: ${n}`)));
  for (const n of notes) L.push(`  Note: ${n}`);
  return `${L.join('\n')}\n`;
}
