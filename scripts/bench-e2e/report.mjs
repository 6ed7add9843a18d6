// @ts-check
// Reporting for the end-to-end bench: the console table, the e2e section of
// bench/RESULTS.md (ratios against nginx with 1 worker measured in the same run, with the
// `fcgate bench --compare` ratio and its spread, targets, absolute figures with wrk's
// cross-check), the replacement of that section between its markers, and the SVG chart
// (grouped bars of req/s and CPU µs/request). It measures nothing.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { BASELINE, TARGETS, missedTargets, runsIn } from './plan.mjs';

/**
 * One cell: a proxy on a scenario in a mode (figures from `fcgate bench`, wrk's beside them).
 * A cell whose check failed has only mode, proxy, scenario and `failed`.
 * @typedef {object} Row
 * @property {string} mode
 * @property {string} proxy
 * @property {string} scenario
 * @property {string} [failed]  why the cell's one-request check failed
 * @property {number} [repeats]
 * @property {number} requests
 * @property {number} rps
 * @property {number} mbps
 * @property {number} p50Ms
 * @property {number} p99Ms
 * @property {number} maxMs
 * @property {number} status  responses not 2xx/3xx
 * @property {number} socket  socket errors
 * @property {number} errors
 * @property {string} errorDetail
 * @property {number} userUs
 * @property {number} sysUs
 * @property {number} cpuUs
 * @property {number} cpuShare
 * @property {number} rssMB
 * @property {number} anonMB
 * @property {number} procs
 * @property {number} appUs
 * @property {number} benchUs
 * @property {number} wrkRps
 * @property {number} wrkP50Ms
 * @property {number} wrkP99Ms
 */

/**
 * @typedef {{ median: number, min: number, max: number }} Spread
 * @typedef {{ mode: string, scenario: string, a: string, b: string, rounds: number,
 *   ratios: Record<string, Spread | undefined>, medians: unknown }} Compare
 * @typedef {object} Meta
 * @property {string} date
 * @property {string} cpu
 * @property {number} cores
 * @property {string} load
 * @property {{ node: string, nginx: string, apache: string, phpFpm: string, wrk: string }} versions
 * @property {number} elapsed
 * @property {string} command
 * @property {number} seconds
 * @property {number} warmup
 * @property {number} repeat
 * @property {import('./plan.mjs').Mode[]} modes
 * @property {import('./plan.mjs').Scenario[]} scenarios
 * @property {string[]} notes
 * @property {Compare[]} compares
 * @property {number} compareRounds
 * @property {boolean} wrk
 */

export const START = '<!-- e2e:start -->';
export const END = '<!-- e2e:end -->';

/** @param {readonly Row[]} rows @param {string} mode @param {string} scenario @param {string} proxy */
const find = (rows, mode, scenario, proxy) =>
  rows.find((r) => r.mode === mode && r.scenario === scenario && r.proxy === proxy && !r.failed);
/** @param {number | undefined} a @param {number | undefined} b */
const ratio = (a, b) => (a !== undefined && b !== undefined && b > 0 ? `${(a / b).toFixed(2)}×` : '–');
const int = (/** @type {number} */ n) => (Number.isNaN(n) ? '–' : Math.round(n).toLocaleString('en-US'));
/** @param {number} n @param {number} d */
const fixed = (n, d) => (Number.isNaN(n) ? '–' : n.toFixed(d));
const spread = (/** @type {Spread | undefined} */ s) =>
  s ? `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})` : '–';

/**
 * One row per mode × scenario × proxy: with --repeat, each figure is the median of the
 * repeats (a failed repeat makes the row failed). Field by field, so a row may mix repeats.
 * @param {readonly Row[]} all
 * @returns {Row[]}
 */
export function medianRows(all) {
  /** @type {Map<string, Row[]>} */
  const groups = new Map();
  for (const r of all) {
    const k = `${r.mode}|${r.scenario}|${r.proxy}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)?.push(r);
  }
  /** @type {Row[]} */
  const out = [];
  for (const list of groups.values()) {
    const failed = list.find((r) => r.failed);
    const first = /** @type {Row} */ (list[0]);
    if (failed || list.length === 1) {
      out.push({ ...(failed ?? first), repeats: list.length });
      continue;
    }
    const row = { ...first, repeats: list.length };
    const numbers = /** @type {Record<string, number>} */ (/** @type {unknown} */ (row));
    for (const [key, v] of Object.entries(first)) {
      if (typeof v !== 'number') continue;
      const xs = list
        .map((r) => /** @type {Record<string, number>} */ (/** @type {unknown} */ (r))[key] ?? NaN)
        .sort((a, b) => a - b);
      const mid = xs.length >> 1;
      numbers[key] = xs.length % 2 ? (xs[mid] ?? NaN) : ((xs[mid - 1] ?? NaN) + (xs[mid] ?? NaN)) / 2;
    }
    const e = list.reduce((a, r) => a + r.errors, 0);
    row.errorDetail = e ? list.map((r) => r.errorDetail).join(' / ') : '';
    out.push(row);
  }
  return out;
}

/** @param {readonly Row[]} rows */
export function printTable(rows) {
  console.table(
    rows.map((r) =>
      r.failed
        ? { mode: r.mode, scenario: r.scenario, proxy: r.proxy, 'req/s': 'FAILED', note: r.failed }
        : {
            mode: r.mode,
            scenario: r.scenario,
            proxy: r.proxy,
            'req/s': Math.round(r.rps),
            'p50 ms': +r.p50Ms.toFixed(2),
            'p99 ms': +r.p99Ms.toFixed(2),
            errors: r.errors,
            'CPU µs/req': +r.cpuUs.toFixed(1),
            'RSS MB': +r.rssMB.toFixed(1),
            'anon MB': +r.anonMB.toFixed(1),
            'app µs/req': +r.appUs.toFixed(1),
            'wrk req/s': Number.isNaN(r.wrkRps) ? '–' : Math.round(r.wrkRps),
            'wrk p99 ms': Number.isNaN(r.wrkP99Ms) ? '–' : +r.wrkP99Ms.toFixed(2),
          },
    ),
  );
}

/**
 * The markdown of the e2e section, markers included.
 * @param {readonly Row[]} rows
 * @param {Meta} meta
 */
export function renderSection(rows, meta) {
  const v = meta.versions;
  const L = [
    START,
    '## End to end: fcgate, nginx and Apache in front of the same FastCGI apps',
    '',
    'Written by `scripts/bench-e2e.mjs` (`npm run bench:e2e`); regenerate rather than edit. Every proxy',
    'runs on loopback with its own config and free port, in front of the same backends: the built-in',
    'demo FastCGI app (its own node process; /hello, /bytes, /echo) and PHP-FPM (pm static, bench/e2e/php/hello.php).',
    'nginx: `fastcgi_pass` to an upstream with `keepalive 32` and `fastcgi_keep_conn on`, access_log off;',
    'Apache: event MPM, `ProxyPass … enablereuse=on`; fcgate: `serve --pass`. Configs: bench/e2e/.',
    'Load: `fcgate bench` (docs/bench.md), 1 load thread, keep-alive (no pipelining); 32 connections (PHP: 16;',
    'the 1000-connection row: 1000); every figure of a cell comes from its `--json` report with `--pid` the',
    "proxy. CPU per request: utime+stime of the proxy's whole process tree (all threads and workers, reaped",
    'children included) from /proc over the measured window, over the responses. Peak RSS: the sum over the',
    "proxy's processes, sampled every 100 ms (shared pages count once per process). wrk (1 thread, same",
    'connections and duration) runs right after in the same cell: its req/s and p99 are the cross-check columns.',
    'The "--compare" column is `fcgate bench --compare nginx-1w fcgate` over interleaved rounds: the median',
    'ratio B/A and its spread. On a shared 2-core VM single runs move by ±10–20 %: compare the ratios, not '
      + 'the absolutes.',
    'The "multiplexing app" rows (issue 15 §1; pinned, fcgate and nginx-1w only): the same demo app process',
    '(it answers FCGI_MPXS_CONNS=1) behind fcgate with `ProxyPass / fcgi://… multiplex=on max=4` and behind',
    'nginx with `fastcgi_keep_conn on` and an upstream `keepalive` as large as the client connections (nginx',
    "sends one request per connection, never multiplexes). Backend CPU per request: utime+stime of the app's",
    'process tree from /proc (read every 100 ms) over the same measured window, over the same responses.',
    '',
    `- Date: ${meta.date}; ${meta.elapsed.toFixed(0)} s for the whole run`,
    `- Machine: ${meta.cpu}, ${meta.cores} cores; 1-minute load average at start: ${meta.load}`,
    `- Versions: node ${v.node}; nginx ${v.nginx}; ${v.apache}; ${v.phpFpm}; ${v.wrk}`,
    `- Command: \`${meta.command}\`; ${meta.seconds} s measured per cell after ${meta.warmup} s `
      + `warm-up${meta.repeat > 1 ? `, each cell ${meta.repeat} times (figures: medians)` : ''}; fresh proxies `
      + `for each scenario, taking turns (order rotated per scenario)`,
    ...meta.modes.map((m) => `- Mode **${m.id}**: ${m.describe}`),
    ...meta.notes.map((n) => `- ${n}`),
    '- Chart: [e2e-chart.svg](e2e-chart.svg) (grouped bars of req/s and CPU µs/request per scenario)',
    '',
    `### Ratios against ${BASELINE} (same mode, same run)`,
    '',
    'req/s: higher is better; CPU/req, backend CPU/req, p50, p99, RSS: lower is better. "Missed" lists the',
    `targets (issue #4, issue 15 §1) fcgate's row misses: ${TARGETS.join('; ')}.`,
    '',
    '| mode | scenario | proxy | req/s | CPU/req | backend CPU/req | p50 | p99 | peak RSS | req/s by --compare '
      + '(spread) | CPU/req by --compare | missed (fcgate) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  /** @param {string} mode @param {string} scenario */
  const compareOf = (mode, scenario) => (meta.compares ?? []).find((c) => c.mode === mode && c.scenario === scenario);
  /** @type {string[]} */
  const missedAll = [];
  for (const m of meta.modes) {
    for (const s of meta.scenarios) {
      if (!runsIn(s, m.id)) continue;
      const base = find(rows, m.id, s.id, BASELINE);
      for (const p of m.proxies) {
        if (p === BASELINE || !runsIn(s, m.id, p)) continue;
        const r = find(rows, m.id, s.id, p);
        const failed = rows.find((x) => x.mode === m.id && x.scenario === s.id && x.proxy === p && x.failed);
        let missed = '';
        if (p === 'fcgate' && r) {
          const ms = missedTargets(s.id, r, base, find(rows, m.id, s.id, 'apache'));
          missed = ms.length ? ms.join(', ') : 'none';
          for (const x of ms) missedAll.push(`${m.id} ${s.label}: ${x}`);
        }
        if (failed) {
          L.push(`| ${m.id} | ${s.label} | ${p} | FAILED: ${failed.failed} | | | | | | | | |`);
          continue;
        }
        const c = p === 'fcgate' ? compareOf(m.id, s.id) : undefined;
        L.push(
          `| ${m.id} | ${s.label} | ${p} | ${ratio(r?.rps, base?.rps)} | ${ratio(r?.cpuUs, base?.cpuUs)} `
            + `| ${ratio(r?.appUs, base?.appUs)} | ${ratio(r?.p50Ms, base?.p50Ms)} | ${ratio(r?.p99Ms, base?.p99Ms)} `
            + `| ${ratio(r?.rssMB, base?.rssMB)} `
            + (`| ${c ? `${spread(c.ratios.rps)}, ${c.rounds} rounds` : '–'} | `
              + `${c ? spread(c.ratios.targetCpuUsPerRequest) : '–'} | ${missed} |`),
        );
      }
    }
  }
  L.push(
    '',
    `Targets missed by fcgate in this run: ${missedAll.length ? missedAll.join('; ') : 'none'}.`,
    'Analysis and profiles: native-notes/performance.md.',
    '',
    '### Absolute figures',
    '',
    'The backend column is the CPU the app (demo app or PHP-FPM) spent per request behind that proxy, over',
    'the measured window:',
    'when pinned, the app and the load generator share core 1, so what a proxy makes the app do shows up in req/s.',
    '',
    'Peak anon: the same peak without file-backed pages (program code such as the node binary, which',
    'every node process maps and shares).',
    '',
    "The wrk columns are wrk's own figures for the same cell (the cross-check of fcgate bench's req/s and p99).",
    '',
    '| mode | scenario | proxy | req/s | MiB/s | p50 ms | p99 ms | errors | CPU µs/req (user + sys) | proxy '
      + 'CPU use (cores) | peak RSS MB | peak anon MB | backend CPU µs/req | wrk req/s | wrk p99 ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const m of meta.modes) {
    for (const s of meta.scenarios) {
      for (const p of m.proxies) {
        const r = rows.find((x) => x.mode === m.id && x.scenario === s.id && x.proxy === p);
        if (!r) continue;
        if (r.failed) {
          L.push(`| ${m.id} | ${s.label} | ${p} | FAILED: ${r.failed} | | | | | | | | | | | |`);
          continue;
        }
        L.push(
          `| ${m.id} | ${s.label} | ${p} | ${int(r.rps)} | ${r.mbps.toFixed(1)} | ${r.p50Ms.toFixed(2)} | `
            + `${r.p99Ms.toFixed(2)} `
            + (`| ${r.errors ? r.errorDetail : 0} | ${r.cpuUs.toFixed(1)} (${r.userUs.toFixed(1)} + `
              + `${r.sysUs.toFixed(1)}) `)
            + (`| ${r.cpuShare.toFixed(2)} | ${r.rssMB.toFixed(1)} | ${fixed(r.anonMB, 1)} | `
              + `${r.appUs.toFixed(1)} | ${int(r.wrkRps)} | ${fixed(r.wrkP99Ms, 2)} |`),
        );
      }
    }
  }
  L.push(END);
  return L.join('\n');
}

/**
 * The e2e section of an existing RESULTS.md text, markers included; '' when absent.
 * @param {string} text
 */
export function extractSection(text) {
  const a = text.indexOf(START);
  const b = text.indexOf(END, a);
  return a >= 0 && b > a ? text.slice(a, b + END.length) : '';
}

/**
 * Replaces the section between the markers in `file` (or appends it).
 * @param {string} file
 * @param {string} section
 */
export function writeSection(file, section) {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Bench results\n';
  const old = extractSection(text);
  const next = old ? text.replace(old, () => section) : `${text.replace(/\n*$/, '\n')}\n${section}\n`;
  writeFileSync(file, next);
}

const esc = (/** @type {unknown} */ s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** @type {Record<string, string>} */
const COLORS = {
  fcgate: '#2b7bb9',
  'fcgate-alt': '#7fb2dc',
  'fcgate-log': '#5b8fc0',
  'fcgate-nometrics': '#a9c8e6',
  'nginx-1w': '#3a9a4a',
  'nginx-2w': '#9fd08f',
  apache: '#d0643a',
};
/** @param {number} n */
function short(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n >= 100 ? String(Math.round(n)) : n.toFixed(1);
}

/**
 * One panel: groups = scenarios, bars = proxies, each group scaled to its own largest bar.
 * @param {readonly Row[]} rows
 * @param {import('./plan.mjs').Mode} mode
 * @param {readonly import('./plan.mjs').Scenario[]} scenarios
 * @param {'rps' | 'cpuUs'} metric
 * @param {string} title
 * @param {number} y0
 * @param {number} W
 */
function panel(rows, mode, scenarios, metric, title, y0, W) {
  const H = 230;
  const top = y0 + 28;
  const base = top + H - 40;
  const left = 20;
  const groupW = (W - 2 * left) / scenarios.length;
  const n = mode.proxies.length;
  const barW = Math.min(34, (groupW - 24) / n);
  const out = [
    `<text x="${left}" y="${y0 + 18}" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<line x1="${left}" y1="${base}" x2="${W - left}" y2="${base}" stroke="#888"/>`,
  ];
  scenarios.forEach((s, gi) => {
    const vals = mode.proxies.map((p) => (runsIn(s, mode.id, p) ? find(rows, mode.id, s.id, p)?.[metric] : null));
    const max = Math.max(.../** @type {number[]} */ (vals.filter((x) => typeof x === 'number')), 1e-9);
    const gx = left + gi * groupW + (groupW - n * barW) / 2;
    vals.forEach((v, bi) => {
      const x = gx + bi * barW;
      if (v === null) return; // not run in this scenario (the multiplexing rows: fcgate and nginx-1w only)
      if (v === undefined) {
        out.push(`<text x="${x + barW / 2}" y="${base - 4}" font-size="9" text-anchor="middle">n/a</text>`);
        return;
      }
      const h = (v / max) * (H - 70);
      out.push(
        `<rect x="${x + 1}" y="${(base - h).toFixed(1)}" width="${barW - 2}" height="${h.toFixed(1)}" `
          + `fill="${COLORS[mode.proxies[bi] ?? ''] ?? '#777'}">`
          + `<title>${esc(`${mode.proxies[bi]}, ${s.label}: ${short(v)}`)}</title></rect>`,
        `<text x="${x + barW / 2}" y="${(base - h - 3).toFixed(1)}" font-size="9" `
          + `text-anchor="middle">${short(v)}</text>`,
      );
    });
    out.push(
      `<text x="${left + gi * groupW + groupW / 2}" y="${base + 15}" font-size="11" `
        + `text-anchor="middle">${esc(s.label)}</text>`,
    );
  });
  return { svg: out.join('\n'), height: H + 28 };
}

/**
 * The whole chart: for each mode a req/s panel and a CPU µs/request panel, with a legend.
 * @param {readonly Row[]} rows
 * @param {Meta} meta
 */
export function renderChart(rows, meta) {
  const W = 980;
  const parts = [];
  let y = 10;
  parts.push(
    `<text x="20" y="${y + 16}" font-size="16" font-weight="bold">fcgate end-to-end bench, `
      + `${esc(meta.date.slice(0, 10))}: ${esc(meta.cpu)} × ${meta.cores}</text>`,
    `<text x="20" y="${y + 34}" font-size="11">Bars within each scenario are scaled to that scenario's `
      + `largest value; labels are absolute. Higher req/s and lower CPU µs/request are better.</text>`,
  );
  y += 44;
  const proxies = [...new Set(meta.modes.flatMap((m) => m.proxies))];
  proxies.forEach((p, i) => {
    parts.push(
      `<rect x="${20 + i * 130}" y="${y}" width="12" height="12" fill="${COLORS[p] ?? '#777'}"/>`,
      `<text x="${36 + i * 130}" y="${y + 11}" font-size="12">${esc(p)}</text>`,
    );
  });
  y += 20;
  for (const m of meta.modes) {
    /** @type {Array<['rps' | 'cpuUs', string]>} */
    const panels = [
      ['rps', 'requests/s'],
      ['cpuUs', 'proxy CPU µs per request'],
    ];
    for (const [metric, what] of panels) {
      const here = meta.scenarios.filter((s) => runsIn(s, m.id));
      const p = panel(rows, m, here, metric, `${what}, ${m.id}`, y, W);
      parts.push(p.svg);
      y += p.height;
    }
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y + 10}" viewBox="0 0 ${W} ${y + 10}" `
    + `font-family="sans-serif">\n`
    + `<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`
  );
}
