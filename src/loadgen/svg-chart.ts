// Small inline-SVG charts for the HTML report (no script, no CDN): lines on a linear or
// "percentile" x axis, and bars. Text out only; the data is the caller's.

export interface Series {
  name: string;
  color: string;
  /** [x, y] in data units, x ascending. */
  points: Array<[number, number]>;
}

export interface Tick {
  at: number;
  label: string;
}

export interface LineChartSpec {
  title: string;
  yLabel: string;
  series: Series[];
  xTicks: Tick[];
  xMin: number;
  xMax: number;
  /** Formats a y value for the axis. */
  yFormat(v: number): string;
  width?: number;
  height?: number;
}

export const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const fmt = (n: number): string => (Math.round(n * 10) / 10).toString();

/** A "nice" upper bound and step for an axis from 0 to max. */
function niceScale(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  return { top: Math.ceil(max / step) * step, step };
}

export function lineChart(spec: LineChartSpec): string {
  // One legend line per series under the plot (names may be long URLs).
  const bottom = 30 + 16 * spec.series.length;
  const W = spec.width ?? 760,
    H = (spec.height ?? 300) - 44 + bottom;
  const left = 70,
    right = 20,
    top = 36;
  const pw = W - left - right,
    ph = H - top - bottom;
  const maxY = Math.max(0, ...spec.series.flatMap((s) => s.points.map((p) => p[1])));
  const { top: yTop, step } = niceScale(maxY);
  const xs = (x: number): number => left + ((x - spec.xMin) / Math.max(1e-9, spec.xMax - spec.xMin)) * pw;
  const ys = (y: number): number => top + ph - (y / yTop) * ph;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" `
      + `font-family="sans-serif" font-size="11">`,
  );
  out.push(`<text x="${left}" y="18" font-size="14" font-weight="bold">${esc(spec.title)}</text>`);
  for (let v = 0; v <= yTop + step / 2; v += step) {
    const y = fmt(ys(v));
    out.push(
      `<line x1="${left}" y1="${y}" x2="${left + pw}" y2="${y}" stroke="#e4e4e4"/>`,
      `<text x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${esc(spec.yFormat(v))}</text>`,
    );
  }
  for (const t of spec.xTicks) {
    const x = fmt(xs(t.at));
    out.push(
      `<line x1="${x}" y1="${top}" x2="${x}" y2="${top + ph}" stroke="#f0f0f0"/>`,
      `<text x="${x}" y="${top + ph + 16}" text-anchor="middle">${esc(t.label)}</text>`,
    );
  }
  out.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  out.push(
    `<text transform="translate(14 ${top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`,
  );
  spec.series.forEach((s, i) => {
    if (s.points.length > 0) {
      const d = s.points.map((p, k) => `${k === 0 ? 'M' : 'L'}${fmt(xs(p[0]))} ${fmt(ys(p[1]))}`).join(' ');
      out.push(
        `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"><title>${esc(s.name)}</title></path>`,
      );
    }
    const ly = top + ph + 30 + i * 16;
    out.push(
      `<rect x="${left + 10}" y="${ly - 4}" width="12" height="3" fill="${s.color}"/>`,
      `<text x="${left + 26}" y="${ly}">${esc(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}

export interface Bar {
  x: number;
  value: number;
  color: string;
  title: string;
}

/** Bars at integer x positions 0..n-1 (one per second or per round). */
export function barChart(
  title: string,
  yLabel: string,
  bars: Bar[],
  xLabel: (x: number) => string,
  yFormat: (v: number) => string,
  width = 760,
  height = 260,
): string {
  const W = width,
    H = height;
  const left = 70,
    right = 20,
    top = 36,
    bottom = 34;
  const pw = W - left - right,
    ph = H - top - bottom;
  const n = Math.max(1, ...bars.map((b) => b.x + 1));
  const { top: yTop, step } = niceScale(Math.max(0, ...bars.map((b) => b.value)));
  const slot = pw / n;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" `
      + `font-family="sans-serif" font-size="11">`,
  );
  out.push(`<text x="${left}" y="18" font-size="14" font-weight="bold">${esc(title)}</text>`);
  for (let v = 0; v <= yTop + step / 2; v += step) {
    const y = fmt(top + ph - (v / yTop) * ph);
    out.push(
      `<line x1="${left}" y1="${y}" x2="${left + pw}" y2="${y}" stroke="#e4e4e4"/>`,
      `<text x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${esc(yFormat(v))}</text>`,
    );
  }
  const every = Math.max(1, Math.ceil(n / 20));
  for (let x = 0; x < n; x += every) {
    out.push(
      `<text x="${fmt(left + slot * (x + 0.5))}" y="${top + ph + 16}" text-anchor="middle">${esc(xLabel(x))}</text>`,
    );
  }
  const perSlot = new Map<number, number>();
  for (const b of bars) perSlot.set(b.x, (perSlot.get(b.x) ?? 0) + 1);
  const seen = new Map<number, number>();
  for (const b of bars) {
    const k = perSlot.get(b.x)!;
    const i = seen.get(b.x) ?? 0;
    seen.set(b.x, i + 1);
    const bw = Math.max(1, (slot * 0.8) / k);
    const x = left + slot * b.x + slot * 0.1 + i * bw;
    const h = (b.value / yTop) * ph;
    out.push(
      `<rect x="${fmt(x)}" y="${fmt(top + ph - h)}" width="${fmt(Math.max(0.5, bw - 1))}" height="${fmt(h)}" `
        + `fill="${b.color}"><title>${esc(b.title)}</title></rect>`,
    );
  }
  out.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  out.push(`<text transform="translate(14 ${top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  out.push('</svg>');
  return out.join('\n');
}
