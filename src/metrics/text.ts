// Prometheus' text exposition format 0.0.4 and OpenMetrics 1.0 text. Histograms appear
// with their classic buckets only: native buckets exist in the protobuf format alone
// (protobuf.ts), as in Prometheus' own client libraries.
import { CLASSIC_BOUNDS } from './histogram.js';
import { sampleName, type Family, type Labels } from './family.js';

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

const LE_TEXT = CLASSIC_BOUNDS.map((b) => formatValue(b));
const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

/** A sample value as Go's strconv formats it for Prometheus (+Inf, -Inf, NaN, shortest float). */
function formatValue(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  return String(v);
}

function labelText(labels: Labels, extra?: readonly [string, string]): string {
  if (labels.length === 0 && extra === undefined) return '';
  let s = '{';
  let first = true;
  for (const [k, v] of labels) {
    s += (first ? '' : ',') + k + '="' + escapeLabel(v) + '"';
    first = false;
  }
  if (extra !== undefined) s += (first ? '' : ',') + extra[0] + '="' + extra[1] + '"';
  return s + '}';
}

function histogramLines(f: Family): string {
  let out = '';
  for (const { labels, histogram: h } of f.histograms ?? []) {
    const inner = labelText(labels).slice(1, -1);
    const prefix = `${f.name}_bucket{${inner}${inner === '' ? '' : ','}le="`;
    for (let k = 0; k < CLASSIC_BOUNDS.length; k++) out += `${prefix}${LE_TEXT[k]}"} ${formatValue(h.classic[k]!)}\n`;
    out += `${f.name}_bucket${labelText(labels, ['le', '+Inf'])} ${formatValue(h.count)}\n`;
    out += `${f.name}_sum${labelText(labels)} ${formatValue(h.sum)}\n`;
    out += `${f.name}_count${labelText(labels)} ${formatValue(h.count)}\n`;
  }
  return out;
}

/** Text format 0.0.4: counters and info gauges carry their sample names in HELP/TYPE. */
export function encodeText(families: readonly Family[]): string {
  let out = '';
  for (const f of families) {
    const name = sampleName(f);
    out += `# HELP ${name} ${escapeHelp(f.help)}\n# TYPE ${name} ${f.type === 'info' ? 'gauge' : f.type}\n`;
    if (f.type === 'histogram') {
      out += histogramLines(f);
      continue;
    }
    for (const s of f.samples) out += `${name}${labelText(s.labels)} ${formatValue(s.value)}\n`;
  }
  return out;
}

/** OpenMetrics 1.0: family names without _total / _info, UNIT lines, `# EOF` at the end. */
export function encodeOpenMetrics(families: readonly Family[]): string {
  let out = '';
  for (const f of families) {
    out += `# TYPE ${f.name} ${f.type}\n`;
    if (f.unit !== undefined) out += `# UNIT ${f.name} ${f.unit}\n`;
    out += `# HELP ${f.name} ${escapeHelp(f.help)}\n`;
    if (f.type === 'histogram') {
      out += histogramLines(f);
      continue;
    }
    const name = sampleName(f);
    for (const s of f.samples) out += `${name}${labelText(s.labels)} ${formatValue(s.value)}\n`;
  }
  return out + '# EOF\n';
}
