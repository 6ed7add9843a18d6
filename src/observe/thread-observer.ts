// The request path's one contact with observability, per serving thread. The request path
// calls, per request:
//   begin(reply, snap)       on arrival: request id (kept from a trusted peer's X-Request-Id,
//                            else generated), the X-Request-Id header the app and the client
//                            see, the arrival time
//   routeIndex(routeResult)  after routing: the config mapping's label index
//   end(record)              once, when the response is complete or abandoned
// and, off the per-request path: connected/rejected (the pool, PoolObserver), picked (a
// balancer member chosen), connections (uWS open/close). end() adds to this thread's slab
// (plain stores into a SharedArrayBuffer only this thread writes: no lock, no message) and
// formats the access-log lines into this thread's buffers. A sampler (1 s, unref'd) writes
// the gauges (pools, in flight, event-loop lag, heap) and the heartbeat /healthz reads.
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { logSettingsOf } from '../config/log-directives.js';
import type { GatewayConfig } from '../config/model.js';
import type { RouteResult } from '../config/router.js';
import { compileAccessFormat, type AccessEntry, type AccessFormatter, type FormatHost } from '../log/access-format.js';
import { ErrorLogFormat } from '../log/error-log.js';
import { keyOf } from '../log/hub.js';
import { LineBuffer, type Deliver } from '../log/line-buffer.js';
import { acceptableId, RequestIds } from '../log/request-id.js';
import { observe } from '../metrics/histogram.js';
import { ERROR_INDEX, Header, PoolGauge, SlabLayout, type Capacity } from '../metrics/layout.js';
import type { RequestSnapshot } from '../request.js';
import type { RequestRecord } from '../request-record.js';
import type { ConnectionPool, PoolObserver } from '../upstream/pool.js';
import { configLabels, FIXED_ROUTES, routeKey } from './labels.js';

/** A serving thread's metrics slab and the label registries it was laid out for (main → thread). */
export interface TelemetrySpec {
  slab: SharedArrayBuffer;
  capacity: Capacity;
  routes: string[];
  backends: string[];
  members: string[];
}

export interface ObserverHost {
  /** The serving thread's slot (0 in single-process mode). */
  slot: number;
  pid: number;
  threadId: number;
  /** Where finished log batches go (the LogHub, directly or through the main thread). */
  deliver: Deliver;
  /** false: no access log at all (tests that want metrics and ids only). */
  accessLogs: boolean;
  /** Whether an incoming X-Request-Id from this peer may be kept (trusted proxies); default: never. */
  trustRequestId?: (snap: RequestSnapshot) => boolean;
  /** ServerName fallback for %v (this machine's host name). */
  hostName: string;
  /**
   * Log batches leave at the latest this long after their first line (FCGATE_LOG_FLUSH_MS;
   * 0: each event-loop turn).
   */
  flushMs?: number;
  /** false (FCGATE_METRICS=0): end() counts nothing into the slab. */
  metrics?: boolean;
  /** A reload without a spec asks here for one (single-process mode registers the labels itself). */
  respec?: (config: GatewayConfig) => TelemetrySpec;
}

/** What the sampler reads from the gateway once a second. */
export interface GaugeSource {
  inFlight(): number;
  pools(): Iterable<{ name: string; idle: number; busy: number; size: number; pending: number }>;
  /** Balancer members in error, per board slot: epoch ms until which (this thread's view). */
  memberErrors(): Iterable<{ slot: number; errorUntil: number }>;
}

/** The fields begin() sets on the request's record (front/reply.ts's UwsReply). */
export interface RequestStart {
  requestId: string;
  startedAt: number;
  extraHeaders: string[];
}

interface AccessLog {
  format: AccessFormatter;
  buffer: LineBuffer;
  env: { name: string; negate: boolean } | null;
}

const SAMPLE_MS = 1000;

export class ThreadObserver implements PoolObserver {
  private cells!: Float64Array;
  private layout!: SlabLayout;
  private routeNames: string[] = [];
  private routeIndexOf = new Map<unknown, number>();
  private backendIndexOf = new Map<string, number>();
  /** Board slot → member label index. */
  private memberIndexOf: number[] = [];
  private access: AccessLog[] = [];
  private buffers = new Map<string, LineBuffer>();
  private errorBuffer: LineBuffer | null = null;
  private errorFormat!: ErrorLogFormat;
  private readonly ids = new RequestIds();
  private idHeader: string | null = 'X-Request-Id';
  private incomingId = 'x-request-id';
  private readonly entry: AccessEntry;
  private readonly formatHost: FormatHost;
  /** Date.now() − performance.now(), refreshed by the sampler (wall-clock times for the log). */
  private wallOffset = Date.now() - performance.now();
  private sampler: NodeJS.Timeout | null = null;
  private loop: IntervalHistogram | null = null;
  private source: GaugeSource | null = null;

  constructor(
    private readonly host: ObserverHost,
    config: GatewayConfig,
    spec: TelemetrySpec,
  ) {
    this.formatHost = {
      serverName: config.serverName ?? host.hostName,
      pid: host.pid,
      threadId: host.threadId,
      slot: host.slot,
      routeName: (i) => this.routeNames[i] ?? 'none',
    };
    this.entry = { record: null as unknown as RequestRecord, endedAt: 0, wallStart: 0, wallEnd: 0 };
    this.configure(config, spec);
    this.cells[Header.StartedAt] = Date.now();
    this.cells[Header.Heartbeat] = Date.now();
  }

  /**
   * Applies a configuration (at start and on reload): label indices, log formats, the
   * request-id header; with `spec`, a new slab (a larger layout, or a new generation).
   */
  configure(config: GatewayConfig, spec?: TelemetrySpec): void {
    if (spec === undefined && this.host.respec !== undefined) spec = this.host.respec(config);
    if (spec !== undefined) {
      const cells = new Float64Array(spec.slab);
      const layout = new SlabLayout(spec.capacity);
      if (this.cells !== undefined && this.cells.buffer !== spec.slab) this.layout.clearGauges(this.cells);
      layout.clearGauges(cells);
      this.cells = cells;
      this.layout = layout;
      this.routeNames = spec.routes;
      const routeAt = new Map(spec.routes.map((n, i) => [n, i]));
      const backendAt = new Map(spec.backends.map((n, i) => [n, i]));
      const memberAt = new Map(spec.members.map((n, i) => [n, i]));
      const labels = configLabels(config);
      this.routeIndexOf = new Map<unknown, number>(FIXED_ROUTES.map((_, i) => [i, i]));
      for (const r of labels.routes) {
        const i = routeAt.get(r.label);
        if (i !== undefined && !this.routeIndexOf.has(r.key)) this.routeIndexOf.set(r.key, i);
      }
      this.backendIndexOf = backendAt;
      this.memberIndexOf = labels.members.map((m) => memberAt.get(m.label) ?? -1);
    }
    const logs = logSettingsOf(config);
    this.formatHost.serverName = config.serverName ?? this.host.hostName;
    this.idHeader = logs.requestIdHeader;
    this.incomingId = (logs.requestIdHeader ?? 'X-Request-Id').toLowerCase();
    this.errorFormat = new ErrorLogFormat(logs, this.host);
    const flushMs = logs.buffered ? (this.host.flushMs ?? 100) : 0;
    for (const b of this.buffers.values()) b.flush();
    this.buffers = new Map();
    const bufferFor = (key: string): LineBuffer => {
      let b = this.buffers.get(key);
      if (b === undefined) {
        b = new LineBuffer(key, this.host.deliver, flushMs);
        this.buffers.set(key, b);
      }
      return b;
    };
    this.access = [];
    if (this.host.accessLogs) {
      const list = logs.access ?? [
        { target: { kind: 'stdout' as const }, format: logs.formats.get('combined')!, env: null },
      ];
      for (const a of list) {
        this.access.push({
          format: compileAccessFormat(a.format, this.formatHost, '\n'),
          buffer: bufferFor(keyOf(a.target)),
          env: a.env,
        });
      }
    }
    this.errorBuffer = bufferFor(keyOf(logs.errorLog));
  }

  // ---- the request path ---------------------------------------------------------------

  begin(req: RequestStart, snap: RequestSnapshot): void {
    req.startedAt = performance.now();
    const h = snap.headers;
    const name = this.incomingId;
    let at = -1;
    for (let i = 0; i < h.length; i++)
      if (h[i]![0] === name) {
        at = i;
        break;
      }
    let id: string | null = null;
    if (at >= 0 && this.host.trustRequestId !== undefined && this.host.trustRequestId(snap) && acceptableId(h[at]![1]))
      id = h[at]![1];
    if (id === null) id = this.ids.next();
    req.requestId = id;
    // The app sees the id as HTTP_X_REQUEST_ID whatever the client sent.
    let mine = -1;
    for (let i = 0; i < h.length; i++)
      if (h[i]![0] === 'x-request-id') {
        mine = i;
        break;
      }
    if (mine >= 0) h[mine]![1] = id;
    else h.push(['x-request-id', id]);
    if (this.idHeader !== null) req.extraHeaders.push(this.idHeader, id);
  }

  routeIndex(r: RouteResult): number {
    return this.routeIndexOf.get(routeKey(r)) ?? 0;
  }

  end(rec: RequestRecord): void {
    const now = performance.now();
    if (this.host.metrics !== false) this.count(rec, now);
    const logs = this.access;
    if (logs.length === 0) return;
    const e = this.entry;
    e.record = rec;
    e.endedAt = now;
    e.wallStart = this.wallOffset + rec.startedAt;
    e.wallEnd = this.wallOffset + now;
    for (let i = 0; i < logs.length; i++) {
      const a = logs[i]!;
      if (a.env !== null && (rec.env?.has(a.env.name) ?? false) === a.env.negate) continue;
      a.buffer.push(a.format(e));
    }
    e.record = null as unknown as RequestRecord;
  }

  /** The request's counters and histograms in this thread's slab. */
  private count(rec: RequestRecord, now: number): void {
    const c = this.cells;
    const L = this.layout;
    const route = rec.routeIndex;
    c[L.requestCell(route, rec.status !== 0 ? rec.status : 499)] += 1;
    c[L.bytesIn + route] += rec.bytesIn;
    c[L.bytesOut + route] += rec.bytesOut;
    c[Header.Served] += 1;
    observe(c, L.durationAt(route), (now - rec.startedAt) / 1000);
    const x = rec.exchange;
    let backend = -1;
    if (x !== null) {
      backend = this.backendIndexOf.get(x.backend) ?? -1;
      if (backend >= 0 && x.acquiredAt !== 0) {
        observe(c, L.waitAt(backend), (x.acquiredAt - x.startedAt) / 1000);
        if (rec.firstByteAt !== 0) observe(c, L.ttfbAt(backend), (rec.firstByteAt - x.acquiredAt) / 1000);
      }
    }
    if (rec.errorCode !== null) {
      const code = ERROR_INDEX.get(rec.errorCode);
      if (backend < 0 && rec.balancer !== null) backend = this.backendIndexOf.get(rec.balancer) ?? -1;
      if (code !== undefined) c[L.errorCell(code, backend)] += 1;
    }
  }

  // ---- events off the per-request path ------------------------------------------------

  connected(pool: ConnectionPool, ok: boolean, timedOut: boolean): void {
    const b = this.backendIndexOf.get(pool.name);
    if (b === undefined) return;
    if (ok) this.cells[this.layout.connects + b] += 1;
    else this.cells[this.layout.connectFail + b * 2 + (timedOut ? 1 : 0)] += 1;
  }

  rejected(pool: ConnectionPool, acquireTimeout: boolean): void {
    const b = this.backendIndexOf.get(pool.name);
    if (b !== undefined) this.cells[this.layout.rejected + b * 2 + (acquireTimeout ? 1 : 0)] += 1;
  }

  /** A balancer member (board slot) was chosen for a request (first pick or failover). */
  picked(slot: number): void {
    const m = this.memberIndexOf[slot];
    if (m !== undefined && m >= 0) this.cells[this.layout.picks + m] += 1;
  }

  /** uWS: a client connection opened (+1) or closed (−1). */
  connections(delta: number): void {
    this.cells[Header.ConnectionsOpen] += delta;
  }

  /** The error log: one line (leading FCGATE_* code), filtered by LogLevel, formatted, buffered. */
  readonly log = (line: string): void => {
    const text = this.errorFormat.format(line);
    if (text !== null) this.errorBuffer?.push(text);
  };

  // ---- lifecycle ------------------------------------------------------------------------

  /** Starts the once-a-second sampler over `source`. */
  attach(source: GaugeSource): void {
    this.source = source;
    if (this.sampler !== null) return;
    this.loop = monitorEventLoopDelay({ resolution: 10 });
    this.loop.enable();
    this.sample();
    this.sampler = setInterval(() => this.sample(), SAMPLE_MS);
    this.sampler.unref();
  }

  /** Writes the gauges and the heartbeat now. */
  sample(): void {
    const c = this.cells;
    const L = this.layout;
    const now = Date.now();
    this.wallOffset = now - performance.now();
    c[Header.Heartbeat] = now;
    const heap = getHeapStatistics();
    c[Header.HeapUsed] = heap.used_heap_size;
    c[Header.HeapTotal] = heap.total_heap_size;
    if (this.loop !== null) {
      c[Header.LagP99] = this.loop.count > 0 ? Math.max(0, this.loop.percentile(99) / 1e9 - 0.01) : 0;
      c[Header.LagMax] = this.loop.count > 0 ? Math.max(0, this.loop.max / 1e9 - 0.01) : 0;
      this.loop.reset();
    }
    const s = this.source;
    if (s === null) return;
    c[Header.InFlight] = s.inFlight();
    for (let b = 0; b < L.cap.backends; b++) for (let g = 0; g < 4; g++) c[L.poolCell(b, g)] = 0;
    for (const p of s.pools()) {
      const b = this.backendIndexOf.get(p.name);
      if (b === undefined || b >= L.cap.backends) continue;
      c[L.poolCell(b, PoolGauge.Idle)] += p.idle;
      c[L.poolCell(b, PoolGauge.Busy)] += p.busy;
      c[L.poolCell(b, PoolGauge.Open)] += p.size;
      c[L.poolCell(b, PoolGauge.Queued)] += p.pending;
    }
    c.fill(0, L.memberErrorUntil, L.memberErrorUntil + L.cap.members);
    for (const m of s.memberErrors()) {
      const i = this.memberIndexOf[m.slot];
      if (i !== undefined && i >= 0 && m.errorUntil > c[L.memberErrorUntil + i]!)
        c[L.memberErrorUntil + i] = m.errorUntil;
    }
  }

  /** Hands on every buffered log line now (before a thread ends). */
  flush(): void {
    for (const b of this.buffers.values()) b.flush();
  }

  /** Stops the sampler, flushes the logs, zeroes this thread's gauges. */
  stop(): void {
    if (this.sampler !== null) {
      clearInterval(this.sampler);
      this.sampler = null;
    }
    this.loop?.disable();
    this.flush();
    this.layout.clearGauges(this.cells);
  }
}
