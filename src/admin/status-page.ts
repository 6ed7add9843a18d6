// /server-status, in the spirit of Apache's mod_status: a live HTML page (uptime, traffic
// and latency over the last minute, per serving thread, per backend pool, balancer
// members, recent error-log lines) and `?auto`, the same figures as `Key: value` lines
// for scripts (Apache's machine-readable form, with fcgate's own keys). Read-only.
import { loadavg } from 'node:os';
import { Header, PoolGauge } from '../metrics/layout.js';
import { HEARTBEAT_DEADLINE_MS, memberStates, type BuildInfo } from '../observe/families.js';
import type { StatusWindow, Window } from '../observe/status-window.js';
import type { Telemetry } from '../observe/telemetry.js';
import { adminNav } from './manager-page.js';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const ms = (s: number): string =>
  Number.isNaN(s)
    ? '–'
    : s < 0.001
      ? `${(s * 1e6).toFixed(0)} µs`
      : s < 1
        ? `${(s * 1000).toFixed(s < 0.01 ? 2 : 1)} ms`
        : `${s.toFixed(2)} s`;

function duration(s: number): string {
  const d = Math.floor(s / 86400),
    h = Math.floor((s % 86400) / 3600),
    m = Math.floor((s % 3600) / 60),
    sec = Math.floor(s % 60);
  return (
    `${d > 0 ? `${d} day${d === 1 ? '' : 's'} ` : ''}${h} hour${h === 1 ? '' : 's'} ${m} `
    + `minute${m === 1 ? '' : 's'} ${sec} second${sec === 1 ? '' : 's'}`
  );
}

/** Error-log lines at warn or worse (text or JSON layout). */
const SERIOUS = /\[[a-z_]+:(warn|error|crit|alert|emerg)\]|"level":"(warn|error|crit|alert|emerg)"/;

export interface StatusData {
  now: number;
  uptimeS: number;
  build: BuildInfo;
  window: Window;
  totals: { requests: number; bytesOut: number; inFlight: number; connections: number };
  threads: Array<{
    slot: number;
    up: boolean;
    restarts: number;
    served: number;
    perSecond: number;
    p50: number;
    p99: number;
    lagP99: number;
    heapUsed: number;
  }>;
  pools: Array<{ backend: string; idle: number; busy: number; open: number; max: number | null; queued: number }>;
  members: ReturnType<typeof memberStates>;
  errors: string[];
}

export function statusData(t: Telemetry, win: StatusWindow, build: BuildInfo, now = Date.now()): StatusData {
  const c = t.summed();
  const L = t.layout;
  const w = win.minute();
  let requests = 0,
    bytesOut = 0;
  for (let r = 0; r < L.cap.routes; r++) bytesOut += c[L.bytesOut + r]!;
  requests = c[Header.Served]!;
  const perThread = new Map(w.threads.map((x) => [x.slot, x]));
  const threads: StatusData['threads'] = (t.context?.threads() ?? []).map((th) => {
    const h = t.slotCells(th.slot);
    const x = perThread.get(th.slot);
    return {
      slot: th.slot,
      up: h !== null && th.ready && now - h[Header.Heartbeat]! < HEARTBEAT_DEADLINE_MS,
      restarts: th.restarts,
      served: h?.[Header.Served] ?? 0,
      perSecond: x?.perSecond ?? 0,
      p50: x?.p50 ?? NaN,
      p99: x?.p99 ?? NaN,
      lagP99: h?.[Header.LagP99] ?? 0,
      heapUsed: h?.[Header.HeapUsed] ?? 0,
    };
  });
  const pools: StatusData['pools'] = [];
  const cfg = t.context?.config();
  const names = new Set<string>();
  if (cfg !== undefined) {
    for (const n of cfg.workers.keys()) names.add(n);
    for (const b of cfg.balancers.values()) for (const m of b.members) names.add(m.worker.name);
  }
  for (const name of names) {
    const b = t.backends.get(name);
    if (b === undefined || b >= L.cap.backends) continue;
    pools.push({
      backend: name,
      idle: c[L.poolCell(b, PoolGauge.Idle)]!,
      busy: c[L.poolCell(b, PoolGauge.Busy)]!,
      open: c[L.poolCell(b, PoolGauge.Open)]!,
      max: t.context?.cap(name) ?? null,
      queued: c[L.poolCell(b, PoolGauge.Queued)]!,
    });
  }
  return {
    now,
    uptimeS: (now - t.startedAt) / 1000,
    build,
    window: w,
    totals: { requests, bytesOut, inFlight: c[Header.InFlight]!, connections: c[Header.ConnectionsOpen]! },
    threads,
    pools,
    members: memberStates(t, now, c),
    errors: t.hub
      .recentErrors()
      .filter((l) => SERIOUS.test(l))
      .slice(-20),
  };
}

/** `?auto`: one `Key: value` per line. */
export function renderStatusAuto(d: StatusData, host: string): string {
  const w = d.window;
  const lines = [
    host,
    `ServerVersion: fcgate/${d.build.version}`,
    `ServerMPM: threads`,
    `CurrentTime: ${new Date(d.now).toISOString()}`,
    `RestartTime: ${new Date(d.now - d.uptimeS * 1000).toISOString()}`,
    `ServerUptimeSeconds: ${Math.floor(d.uptimeS)}`,
    `ServerUptime: ${duration(d.uptimeS)}`,
    `Load1: ${loadavg()[0]!.toFixed(2)}`,
    `Load5: ${loadavg()[1]!.toFixed(2)}`,
    `Load15: ${loadavg()[2]!.toFixed(2)}`,
    `Total Accesses: ${d.totals.requests}`,
    `Total kBytes: ${Math.floor(d.totals.bytesOut / 1024)}`,
    `Uptime: ${Math.floor(d.uptimeS)}`,
    `ReqPerSec: ${(d.totals.requests / Math.max(1, d.uptimeS)).toFixed(4)}`,
    `BytesPerSec: ${(d.totals.bytesOut / Math.max(1, d.uptimeS)).toFixed(2)}`,
    `BusyWorkers: ${d.totals.inFlight}`,
    `ConnsTotal: ${d.totals.connections}`,
    `Threads: ${d.threads.length}`,
    `ThreadsUp: ${d.threads.filter((t) => t.up).length}`,
    `WindowSeconds: ${w.seconds.toFixed(0)}`,
    `WindowRequests: ${w.requests}`,
    `WindowReqPerSec: ${w.perSecond.toFixed(2)}`,
    `WindowBytesPerSec: ${w.bytesPerSecond.toFixed(0)}`,
    `WindowLatencyP50Seconds: ${Number.isNaN(w.p50) ? 'NaN' : w.p50.toFixed(6)}`,
    `WindowLatencyP90Seconds: ${Number.isNaN(w.p90) ? 'NaN' : w.p90.toFixed(6)}`,
    `WindowLatencyP99Seconds: ${Number.isNaN(w.p99) ? 'NaN' : w.p99.toFixed(6)}`,
  ];
  for (const t of d.threads)
    lines.push(
      `Thread${t.slot}: up=${t.up ? 1 : 0} restarts=${t.restarts} requests=${t.served} `
        + `reqpersec=${t.perSecond.toFixed(2)} lag_p99=${t.lagP99.toFixed(4)}`,
    );
  for (const p of d.pools)
    lines.push(
      `Backend: ${p.backend} idle=${p.idle} busy=${p.busy} open=${p.open} max=${p.max ?? '-'} queued=${p.queued}`,
    );
  for (const m of d.members)
    lines.push(`Member: ${m.balancer} ${m.member} state=${m.state} loadfactor=${m.loadFactor}`);
  return lines.join('\n') + '\n';
}

const poolTable = (rows: string): string =>
  '<table id="pools"><thead><tr><th>Backend</th><th>Idle</th><th>Busy</th><th>Connecting</th><th>Max</th>'
  + `<th>Queued</th></tr></thead><tbody>${rows}</tbody></table>`;

const memberTable = (rows: string): string =>
  '<h2>Balancer members</h2><table id="members"><thead><tr><th>Balancer</th><th>Member</th><th>State</th>'
  + `<th>Load factor</th></tr></thead><tbody>${rows}</tbody></table>`;

export function renderStatusPage(d: StatusData, loggedIn: boolean, refreshS: number | null): string {
  const w = d.window;
  const threadRows = d.threads
    .map(
      (t) =>
        `<tr data-thread="${t.slot}"><td>${t.slot}</td><td><span class="state `
        + `${t.up ? 'ok' : 'error'}">${t.up ? 'Up' : 'Not answering'}</span></td>`
        + (`<td class="num">${t.perSecond.toFixed(1)}</td><td class="num">${ms(t.p50)}</td><td `
          + `class="num">${ms(t.p99)}</td><td class="num">${t.served}</td>`)
        + (`<td class="num">${ms(t.lagP99)}</td><td class="num">${(t.heapUsed / 1048576).toFixed(1)} `
          + `MiB</td><td class="num">${t.restarts}</td></tr>`),
    )
    .join('');
  const poolRows = d.pools
    .map(
      (p) =>
        `<tr data-backend="${esc(p.backend)}"><td>${esc(p.backend)}</td><td class="num">${p.idle}</td><td `
        + `class="num">${p.busy}</td>`
        + (`<td class="num">${Math.max(0, p.open - p.idle - p.busy)}</td><td `
          + `class="num">${p.max ?? '–'}</td><td class="num">${p.queued}</td></tr>`),
    )
    .join('');
  const memberRows = d.members
    .map(
      (m) =>
        `<tr><td>${esc(m.balancer)}</td><td>${esc(m.member)}</td><td><span class="state `
        + `${m.state}">${m.state}</span></td><td class="num">${m.loadFactor}</td></tr>`,
    )
    .join('');
  const errors =
    d.errors.length === 0
      ? '<p class="muted">Nothing in the error log since the start.</p>'
      : `<pre class="errors">${d.errors.map(esc).join('\n')}</pre>`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>fcgate server status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
${refreshS !== null ? `<meta http-equiv="refresh" content="${refreshS}">` : ''}
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1b1f24;background:#fafbfc}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.4em 0 .3em}
table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0002}
th,td{padding:.4em .6em;border-bottom:1px solid #e3e6ea;text-align:left}
th{background:#f0f2f5;font-weight:600;font-size:.9em}.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#6a737d}.state{display:inline-block;padding:.1em .5em;border-radius:1em;font-weight:600;font-size:.9em}
.ok{background:#dcffe4;color:#176f2c}.error,.hcfail{background:#ffdce0;color:#b31d28}
.disabled,.stopped{background:#e1e4e8}
.draining{background:#fff5b1}.standby{background:#dbedff}
.cards{display:flex;gap:1em;flex-wrap:wrap}
.card{background:#fff;box-shadow:0 1px 2px #0002;padding:.7em 1em;min-width:9em}
.card b{display:block;font-size:1.5em;font-variant-numeric:tabular-nums}
pre.errors{background:#fff;box-shadow:0 1px 2px #0002;padding:.8em;overflow-x:auto;font-size:.85em;white-space:pre-wrap}
</style></head><body>
${adminNav('/server-status', loggedIn)}
<h1>fcgate server status</h1>
<p class="muted">fcgate ${esc(d.build.version)} · ${esc(d.build.uws)} · Node.js ${esc(d.build.node)}
 · up ${duration(d.uptimeS)} · ${new Date(d.now).toISOString()} · <a href="?auto">machine-readable</a></p>
<h2>Last minute</h2>
<div class="cards">
<div class="card" id="rps"><b>${w.perSecond.toFixed(1)}</b>requests/s</div>
<div class="card" id="p50"><b>${ms(w.p50)}</b>median latency</div>
<div class="card" id="p90"><b>${ms(w.p90)}</b>90th percentile</div>
<div class="card" id="p99"><b>${ms(w.p99)}</b>99th percentile</div>
<div class="card"><b>${(w.bytesPerSecond / 1024).toFixed(1)}</b>KiB/s sent</div>
<div class="card"><b>${d.totals.inFlight}</b>in flight</div>
<div class="card"><b>${d.totals.connections}</b>client connections</div>
<div class="card"><b>${d.totals.requests}</b>requests since start</div>
</div>
<h2>Serving threads</h2>
<table id="threads"><thead><tr><th>Thread</th><th>State</th><th>Req/s</th><th>p50</th><th>p99</th><th>Requests</th>
<th>Loop lag p99</th><th>Heap</th><th>Restarts</th></tr></thead><tbody>${threadRows}</tbody></table>
<h2>Backend pools</h2>
${poolRows === '' ? '<p class="muted">No backends configured.</p>' : poolTable(poolRows)}
${memberRows === '' ? '' : memberTable(memberRows)}
<h2>Recent errors</h2>
${errors}
</body></html>
`;
}
