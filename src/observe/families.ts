// /metrics' content: every family fcgate exposes, from the summed slabs, the per-thread
// headers, the main thread's own counters and what the context knows (caps, balancer
// board, health checks, threads). Names and help texts are the contract with dashboards:
// change them only with a note in the README's "Operating fcgate".
// Over 400 lines on purpose: one builder per metric family, read from the slabs in one pass: a
// table.
import { statusLetters } from '../balancer/shared-state.js';
import { memberState, type MemberState } from '../balancer/stats.js';
import type { Family, Labels, Sample } from '../metrics/family.js';
import { readHistogram } from '../metrics/histogram.js';
import { ERROR_CODES, Header, PoolGauge, STATUS_MIN, STATUS_SLOTS } from '../metrics/layout.js';
import { processFamilies } from '../metrics/process.js';
import { configLabels, memberParts } from './labels.js';
import type { Telemetry } from './telemetry.js';

export interface BuildInfo {
  version: string;
  uws: string;
  node: string;
}

const STATES: readonly MemberState[] = ['ok', 'error', 'disabled', 'stopped', 'draining', 'standby', 'hcfail'];

/** A thread's heartbeat older than this counts as not answering (/healthz, fcgate_thread_up). */
export const HEARTBEAT_DEADLINE_MS = 3000;

function counter(name: string, help: string, samples: Sample[], unit?: string): Family {
  return { name, help, type: 'counter', samples, ...(unit !== undefined ? { unit } : {}) };
}
function gauge(name: string, help: string, samples: Sample[], unit?: string): Family {
  return { name, help, type: 'gauge', samples, ...(unit !== undefined ? { unit } : {}) };
}

/** Each board slot's member state as the manager shows it, over all threads. */
export function memberStates(
  t: Telemetry,
  now = Date.now(),
  cells?: Float64Array,
): Array<{ balancer: string; member: string; slot: number; state: MemberState; loadFactor: number; label: string }> {
  const ctx = t.context;
  const cfg = ctx?.config();
  const board = ctx?.board() ?? null;
  if (cfg === undefined || board === null) return [];
  const summed = cells ?? t.summed();
  const L = t.layout;
  return configLabels(cfg).members.map((m, slot) => {
    const i = t.members.get(m.label);
    const errorUntil = i === undefined ? 0 : summed[L.memberErrorUntil + i]!;
    const flags = slot < board.size ? board.flags(slot) : 0;
    const letters = statusLetters(flags) + (slot < board.size && board.healthFailed(slot) ? 'C' : '');
    const inError = errorUntil > now && !letters.includes('I');
    return {
      balancer: m.balancer,
      member: m.member,
      slot,
      state: memberState(letters, inError),
      loadFactor: slot < board.size ? board.lbFactor(slot) / 100 : 1,
      label: m.label,
    };
  });
}

export function buildFamilies(t: Telemetry, build: BuildInfo, now = Date.now()): Family[] {
  const c = t.summed();
  const L = t.layout;
  const routes = t.routes.names,
    backends = t.backends.names,
    members = t.members.names;
  const R = Math.min(routes.length, L.cap.routes),
    B = Math.min(backends.length, L.cap.backends),
    M = Math.min(members.length, L.cap.members);
  const out: Family[] = [];

  // HTTP side
  const reqs: Sample[] = [];
  for (let r = 0; r < R; r++) {
    for (let s = 0; s < STATUS_SLOTS; s++) {
      const v = c[L.requests + r * STATUS_SLOTS + s]!;
      if (v !== 0)
        reqs.push({
          labels: [
            ['route', routes[r]!],
            ['code', String(STATUS_MIN + s)],
          ],
          value: v,
        });
    }
  }
  out.push(
    counter(
      'fcgate_http_requests',
      'HTTP requests answered, by route (the config mapping) and status code; 499: the client went away first.',
      reqs,
    ),
  );
  const hist = (at: (i: number) => number, n: number, key: string, names: string[]) => {
    const list = [];
    for (let i = 0; i < n; i++) {
      const h = readHistogram(c, at(i));
      if (h.count > 0) list.push({ labels: [[key, names[i]!]] as Labels, histogram: h });
    }
    return list;
  };
  out.push({
    name: 'fcgate_http_request_duration_seconds',
    help: "Time from a request's arrival to the end of its response.",
    type: 'histogram',
    unit: 'seconds',
    samples: [],
    histograms: hist((r) => L.durationAt(r), R, 'route', routes),
  });
  const perRoute = (base: number): Sample[] => {
    const s: Sample[] = [];
    for (let r = 0; r < R; r++)
      if (c[base + r] !== 0 || reqs.some((x) => x.labels[0]![1] === routes[r]))
        s.push({ labels: [['route', routes[r]!]], value: c[base + r]! });
    return s;
  };
  out.push(
    counter('fcgate_http_request_bytes', 'Request body bytes received, by route.', perRoute(L.bytesIn), 'bytes'),
  );
  out.push(counter('fcgate_http_response_bytes', 'Response body bytes sent, by route.', perRoute(L.bytesOut), 'bytes'));
  out.push(
    gauge('fcgate_http_requests_in_flight', 'Requests being served now (sampled every second by each thread).', [
      { labels: [], value: c[Header.InFlight]! },
    ]),
  );
  out.push(
    gauge('fcgate_http_connections_open', 'Client connections open now.', [
      { labels: [], value: c[Header.ConnectionsOpen]! },
    ]),
  );

  // Upstream side
  const conns: Sample[] = [],
    max: Sample[] = [],
    queued: Sample[] = [],
    connects: Sample[] = [],
    fails: Sample[] = [],
    rejected: Sample[] = [];
  const cfg = t.context?.config();
  const workers = new Set<string>();
  if (cfg !== undefined) {
    for (const w of cfg.workers.keys()) workers.add(w);
    for (const b of cfg.balancers.values()) for (const m of b.members) workers.add(m.worker.name);
  }
  for (let b = 0; b < B; b++) {
    const name = backends[b]!;
    if (name.startsWith('balancer://')) continue;
    const used = c[L.connects + b]! + c[L.connectFail + b * 2]! + c[L.connectFail + b * 2 + 1]! > 0;
    if (!workers.has(name) && !used) continue;
    const bl: Labels = [['backend', name]];
    const idle = c[L.poolCell(b, PoolGauge.Idle)]!,
      busy = c[L.poolCell(b, PoolGauge.Busy)]!,
      open = c[L.poolCell(b, PoolGauge.Open)]!;
    conns.push(
      { labels: [...bl, ['state', 'idle']], value: idle },
      { labels: [...bl, ['state', 'busy']], value: busy },
      { labels: [...bl, ['state', 'connecting']], value: Math.max(0, open - idle - busy) },
    );
    const cap = t.context?.cap(name);
    if (cap !== undefined) max.push({ labels: bl, value: cap });
    queued.push({ labels: bl, value: c[L.poolCell(b, PoolGauge.Queued)]! });
    connects.push({ labels: bl, value: c[L.connects + b]! });
    fails.push(
      { labels: [...bl, ['code', 'FCGATE_CONNECT_FAILED']], value: c[L.connectFail + b * 2]! },
      { labels: [...bl, ['code', 'FCGATE_CONNECT_TIMEOUT']], value: c[L.connectFail + b * 2 + 1]! },
    );
    rejected.push(
      { labels: [...bl, ['reason', 'queue_full']], value: c[L.rejected + b * 2]! },
      { labels: [...bl, ['reason', 'acquire_timeout']], value: c[L.rejected + b * 2 + 1]! },
    );
  }
  out.push(
    gauge(
      'fcgate_upstream_connections',
      'Backend connections by state (idle, busy, connecting), over all threads (sampled every second).',
      conns,
    ),
  );
  out.push(
    gauge(
      'fcgate_upstream_connections_max',
      'Connection cap of each backend over all threads (max=, FCGI_MAX_CONNS or FCGATE_DEFAULT_MAX_CONNS).',
      max,
    ),
  );
  out.push(
    gauge('fcgate_upstream_queue_length', 'Requests waiting for a backend connection (sampled every second).', queued),
  );
  out.push({
    name: 'fcgate_upstream_queue_wait_seconds',
    help: 'Time a request waited for a backend connection (queue, and connect when a new one was opened).',
    type: 'histogram',
    unit: 'seconds',
    samples: [],
    histograms: hist((b) => L.waitAt(b), B, 'backend', backends),
  });
  out.push({
    name: 'fcgate_upstream_first_byte_seconds',
    help: "Time from holding a backend connection to the app's response head.",
    type: 'histogram',
    unit: 'seconds',
    samples: [],
    histograms: hist((b) => L.ttfbAt(b), B, 'backend', backends),
  });
  out.push(counter('fcgate_upstream_connects', 'Backend connections opened.', connects));
  out.push(
    counter('fcgate_upstream_connect_failures', 'Backend connections that could not be opened, by error code.', fails),
  );
  out.push(
    counter(
      'fcgate_upstream_rejected',
      'Requests answered 503 by a full pool: wait queue full, or no connection within acquire=.',
      rejected,
    ),
  );

  const errs: Sample[] = [];
  for (let e = 0; e < ERROR_CODES.length; e++) {
    for (let b = -1; b < B; b++) {
      const v = c[L.errorCell(e, b)]!;
      if (v !== 0)
        errs.push({
          labels: [
            ['code', ERROR_CODES[e]!],
            ['backend', b < 0 ? '' : backends[b]!],
          ],
          value: v,
        });
    }
  }
  out.push(counter('fcgate_errors', 'Requests that failed, by FCGATE_* code and backend (or balancer).', errs));

  // Balancers
  const picks: Sample[] = [],
    states: Sample[] = [],
    factors: Sample[] = [],
    checks: Sample[] = [];
  for (let m = 0; m < M; m++) {
    const [balancer, member] = memberParts(members[m]!);
    const v = c[L.picks + m]!;
    if (v !== 0)
      picks.push({
        labels: [
          ['balancer', balancer],
          ['member', member],
        ],
        value: v,
      });
  }
  for (const s of memberStates(t, now, c)) {
    const ml: Labels = [
      ['balancer', s.balancer],
      ['member', s.member],
    ];
    for (const st of STATES) states.push({ labels: [...ml, ['state', st]], value: st === s.state ? 1 : 0 });
    factors.push({ labels: ml, value: s.loadFactor });
    const r = t.healthResults.get(s.label);
    if (r !== undefined)
      checks.push(
        { labels: [...ml, ['result', 'pass']], value: r[0] },
        { labels: [...ml, ['result', 'fail']], value: r[1] },
      );
  }
  out.push(
    counter('fcgate_balancer_member_picks', 'Times a balancer chose the member (first choice and failover).', picks),
  );
  out.push(
    gauge(
      'fcgate_balancer_member_state',
      "The member's state as the balancer manager shows it: 1 for the current one.",
      states,
    ),
  );
  out.push(
    gauge(
      'fcgate_balancer_member_load_factor',
      "The member's load factor (loadfactor=, changed live by the manager).",
      factors,
    ),
  );
  out.push(counter('fcgate_balancer_health_checks', 'Active health checks (hcmethod=) by result.', checks));

  // Threads
  const up: Sample[] = [],
    restarts: Sample[] = [],
    lag: Sample[] = [],
    lagMax: Sample[] = [],
    heap: Sample[] = [],
    heapSize: Sample[] = [],
    served: Sample[] = [];
  for (const th of t.context?.threads() ?? []) {
    const tl: Labels = [['thread', String(th.slot)]];
    const h = t.slotCells(th.slot);
    const fresh = h !== null && th.ready && now - h[Header.Heartbeat]! < HEARTBEAT_DEADLINE_MS;
    up.push({ labels: tl, value: fresh ? 1 : 0 });
    restarts.push({ labels: tl, value: th.restarts });
    if (h === null) continue;
    lag.push({ labels: tl, value: h[Header.LagP99]! });
    lagMax.push({ labels: tl, value: h[Header.LagMax]! });
    heap.push({ labels: tl, value: h[Header.HeapUsed]! });
    heapSize.push({ labels: tl, value: h[Header.HeapTotal]! });
    served.push({ labels: tl, value: h[Header.Served]! });
  }
  out.push(gauge('fcgate_thread_up', '1 when the serving thread listens and its heartbeat is under 3 s old.', up));
  out.push(counter('fcgate_thread_restarts', 'Times the serving thread was replaced after it died.', restarts));
  out.push(counter('fcgate_thread_requests', 'Requests answered by the serving thread (slot).', served));
  out.push(
    gauge(
      'fcgate_thread_event_loop_lag_seconds',
      'Event-loop delay of the serving thread, 99th percentile over the last second.',
      lag,
      'seconds',
    ),
  );
  out.push(
    gauge(
      'fcgate_thread_event_loop_lag_max_seconds',
      'Longest event-loop delay of the serving thread in the last second.',
      lagMax,
      'seconds',
    ),
  );
  out.push(gauge('fcgate_thread_heap_used_bytes', 'V8 heap in use by the serving thread.', heap, 'bytes'));
  out.push(gauge('fcgate_thread_heap_size_bytes', 'V8 heap reserved by the serving thread.', heapSize, 'bytes'));

  // Configuration and logs
  const rl = t.reloads;
  out.push(
    counter('fcgate_config_reloads', 'Configuration reloads (SIGHUP) by result.', [
      { labels: [['result', 'success']], value: rl.success },
      { labels: [['result', 'failure']], value: rl.failure },
    ]),
  );
  out.push(
    gauge('fcgate_config_last_reload_successful', 'Whether the last reload succeeded.', [
      { labels: [], value: rl.lastOk ? 1 : 0 },
    ]),
  );
  out.push(
    gauge(
      'fcgate_config_last_reload_success_timestamp_seconds',
      'When the configuration in force was loaded.',
      [{ labels: [], value: Math.round(rl.lastSuccessAt) }],
      'seconds',
    ),
  );
  out.push(
    gauge('fcgate_config_info', 'The configuration in force: sha256 prefix of its text and its file.', [
      {
        labels: [
          ['hash', t.config.hash],
          ['source', t.config.source],
        ],
        value: 1,
      },
    ]),
  );
  const logs = t.hub.stats();
  out.push(
    counter(
      'fcgate_log_lines',
      'Log lines written, by log output.',
      logs.map((s) => ({ labels: [['log', s.log]], value: s.written })),
    ),
  );
  out.push(
    counter(
      'fcgate_log_lines_dropped',
      'Log lines dropped because the output could not keep up (queue full, write error, dead pipe).',
      logs.map((s) => ({ labels: [['log', s.log]], value: s.dropped })),
    ),
  );
  out.push(
    gauge(
      'fcgate_log_queued_bytes',
      'Bytes waiting to be written, by log output.',
      logs.map((s) => ({ labels: [['log', s.log]], value: s.queuedBytes })),
      'bytes',
    ),
  );
  out.push(
    counter(
      'fcgate_log_pipe_restarts',
      'Piped log commands started again after they died.',
      logs.filter((s) => s.log.startsWith('|')).map((s) => ({ labels: [['log', s.log]], value: s.restarts })),
    ),
  );

  out.push(...processFamilies());
  out.push({
    name: 'fcgate_build',
    help: "fcgate's version, the uWebSockets.js build and Node.js version.",
    type: 'info',
    samples: [
      {
        labels: [
          ['version', build.version],
          ['uws', build.uws],
          ['node', build.node],
        ],
        value: 1,
      },
    ],
  });
  return out;
}
