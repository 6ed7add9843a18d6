// The main thread's side of observability (or the only thread's, in single-process mode):
// the label registries and every serving thread's metrics slab (SharedArrayBuffers the
// threads write and this sums at scrape time), the log outputs (LogHub) the threads'
// batches go to, the main thread's own error-log lines, and the counters only the main
// thread sees (reloads, health checks). Families for /metrics are built in families.ts;
// serving them is admin/'s business.
//
// Slab generations: labels only ever get new indices, so a configuration that brings more
// routes, backends or members than the slabs have room for gets new, larger slabs for every
// thread (passed with the reload); the old ones stay and are summed too, so counters never
// go back. A thread that replaces a crashed one takes over its slot's slab: counters go on,
// gauges start from zero.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { threadId } from 'node:worker_threads';
import type { HealthCheckerOptions, MemberHealth } from '../balancer/health-check.js';
import type { BalancerBoard } from '../balancer/shared-state.js';
import { logSettingsOf } from '../config/log-directives.js';
import type { GatewayConfig } from '../config/model.js';
import { ErrorLogFormat } from '../log/error-log.js';
import { keyOf, LogHub, stderrLine } from '../log/hub.js';
import { addHistogram } from '../metrics/histogram.js';
import {
  capacityFor,
  ERROR_CODES,
  fits,
  HEADER_CELLS,
  LabelRegistry,
  POOL_GAUGES,
  SlabLayout,
  STATUS_SLOTS,
  type Capacity,
} from '../metrics/layout.js';
import { configLabels, FIXED_ROUTES } from './labels.js';
import { ThreadObserver, type ObserverHost, type TelemetrySpec } from './thread-observer.js';

/** What the main thread knows that the slabs don't: set by whoever runs the gateway (cli/serve.ts, tests). */
export interface TelemetryContext {
  config(): GatewayConfig;
  board(): BalancerBoard | null;
  health(): MemberHealth[];
  /** Connection cap of a backend over all threads. */
  cap(backend: string): number | undefined;
  threads(): Array<{ slot: number; ready: boolean; restarts: number }>;
  /** true once SIGTERM started the drain (/readyz answers 503). */
  draining(): boolean;
}

export interface TelemetryOptions {
  /** Serving-thread slots (1 in single-process mode). */
  slots: number;
  /** FCGATE_LOG_BUFFER: bytes queued per log output before lines are dropped. */
  logBuffer: number;
  /** fcgate's version (build info). */
  version: string;
  /** Piped logs' first restart delay (tests shorten it). */
  pipeRestartMs?: number;
}

interface Generation {
  layout: SlabLayout;
  slabs: Array<SharedArrayBuffer | null>;
}

export class Telemetry {
  readonly routes = new LabelRegistry(FIXED_ROUTES);
  readonly backends = new LabelRegistry();
  readonly members = new LabelRegistry();
  readonly hub: LogHub;
  readonly startedAt = Date.now();
  private gens: Generation[] = [];
  private errorFormat: ErrorLogFormat;
  private errorKey = 'stderr';
  context: TelemetryContext | null = null;
  readonly reloads = { success: 0, failure: 0, lastOk: true, lastSuccessAt: Date.now() / 1000 };
  /** Config hash (sha256 of the text in force, 16 hex digits) and where it came from. */
  config = { hash: '', source: '' };
  /** Health-check results by member label: [passes, failures]. */
  readonly healthResults = new Map<string, [number, number]>();

  constructor(
    config: GatewayConfig,
    readonly options: TelemetryOptions,
  ) {
    this.errorFormat = new ErrorLogFormat(logSettingsOf(config), { pid: process.pid, threadId });
    this.hub = new LogHub({
      limit: options.logBuffer,
      warn: (line) => this.log(line),
      ...(options.pipeRestartMs !== undefined ? { restartDelayMs: options.pipeRestartMs } : {}),
    });
    this.register(config);
  }

  // ---- labels and slabs ---------------------------------------------------------------

  /** Registers a configuration's labels; true when that took a new (larger) slab generation. */
  register(config: GatewayConfig): boolean {
    const l = configLabels(config);
    for (const r of l.routes) this.routes.add(r.label);
    for (const b of l.backends) this.backends.add(b);
    for (const b of config.balancers.keys()) this.backends.add(b); // FCGATE_NO_MEMBER is counted against the balancer
    for (const m of l.members) this.members.add(m.label);
    const need: Capacity = { routes: this.routes.size, backends: this.backends.size, members: this.members.size };
    const cur = this.gens[this.gens.length - 1];
    if (cur !== undefined && fits(need, cur.layout.cap)) return false;
    this.gens.push({ layout: new SlabLayout(capacityFor(need)), slabs: new Array(this.options.slots).fill(null) });
    return cur !== undefined;
  }

  /** The slab and labels a serving thread in `slot` works with now. */
  spec(slot: number): TelemetrySpec {
    const g = this.gens[this.gens.length - 1]!;
    let slab = g.slabs[slot] ?? null;
    if (slab === null) {
      slab = new SharedArrayBuffer(g.layout.bytes);
      g.slabs[slot] = slab;
    }
    return {
      slab,
      capacity: g.layout.cap,
      routes: this.routes.names.slice(),
      backends: this.backends.names.slice(),
      members: this.members.names.slice(),
    };
  }

  /** The current layout. */
  get layout(): SlabLayout {
    return this.gens[this.gens.length - 1]!.layout;
  }

  /** Every slot's slab of every generation, summed into the current layout (header gauges included). */
  summed(): Float64Array {
    const L = this.layout;
    const out = new Float64Array(L.size);
    for (const g of this.gens) {
      for (const slab of g.slabs) if (slab !== null) addSlab(out, L, new Float64Array(slab), g.layout);
    }
    return out;
  }

  /** A slot's current slab (its header: heartbeat, lag, heap …), or null before its thread started. */
  slotCells(slot: number): Float64Array | null {
    const slab = this.gens[this.gens.length - 1]!.slabs[slot] ?? null;
    return slab === null ? null : new Float64Array(slab);
  }

  // ---- logs ---------------------------------------------------------------------------

  /**
   * Opens the configuration's log outputs (files, pipes, stdout/stderr) and uses its
   * LogLevel for the main thread's lines. Throws when a file cannot be opened.
   * `accessLogs` false: no access log (the default stdout one included).
   */
  applyLogs(config: GatewayConfig, accessLogs = true): void {
    const logs = logSettingsOf(config);
    const access = !accessLogs
      ? []
      : logs.access === null
        ? [{ kind: 'stdout' as const }]
        : logs.access.map((a) => a.target);
    this.hub.use(access, logs.errorLog);
    this.errorKey = keyOf(logs.errorLog);
    this.errorFormat = new ErrorLogFormat(logs, { pid: process.pid, threadId });
  }

  /** One line of the main thread's error log (leading FCGATE_* code). */
  readonly log = (line: string): void => {
    const text = this.errorFormat.format(line);
    if (text === null) return;
    if (!this.hub.has(this.errorKey)) {
      stderrLine(text);
      return;
    } // before the outputs are open
    this.hub.write(this.errorKey, Buffer.from(text), 1);
  };

  /** A batch of log lines from a serving thread. */
  deliver(key: string, data: Uint8Array, lines: number): void {
    this.hub.write(
      key,
      Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      lines,
    );
  }

  /** An observer for a gateway running in this thread (single-process mode and tests). */
  localObserver(config: GatewayConfig, host: Partial<ObserverHost> = {}): ThreadObserver {
    const slot = host.slot ?? 0;
    return new ThreadObserver(
      {
        slot,
        pid: process.pid,
        threadId,
        hostName: hostname(),
        accessLogs: true,
        deliver: (key, data, lines) => this.hub.write(key, data, lines),
        respec: (cfg) => {
          this.register(cfg);
          return this.spec(slot);
        },
        ...host,
      },
      config,
      this.spec(slot),
    );
  }

  // ---- what only the main thread sees -------------------------------------------------

  /** A reload's outcome; `text` is the configuration now in force (hashed for fcgate_config_info). */
  reloaded(ok: boolean, text?: string, source?: string): void {
    if (ok) {
      this.reloads.success++;
      this.reloads.lastSuccessAt = Date.now() / 1000;
    } else this.reloads.failure++;
    this.reloads.lastOk = ok;
    if (ok && text !== undefined) this.setConfig(text, source ?? this.config.source);
  }

  setConfig(text: string, source: string): void {
    this.config = { hash: createHash('sha256').update(text).digest('hex').slice(0, 16), source };
  }

  /** HealthChecker's onResult: a check of board slot `slot` passed or failed. */
  healthResult(slot: number, ok: boolean): void {
    const cfg = this.context?.config();
    if (cfg === undefined) return;
    const m = configLabels(cfg).members[slot];
    if (m === undefined) return;
    let r = this.healthResults.get(m.label);
    if (r === undefined) {
      r = [0, 0];
      this.healthResults.set(m.label, r);
    }
    r[ok ? 0 : 1]++;
  }

  /** Health-checker options that count results here. */
  healthOptions(log: (line: string) => void): Omit<HealthCheckerOptions, 'transport'> {
    return { log, onResult: (slot, ok) => this.healthResult(slot, ok) };
  }

  /** Writes what the logs hold and closes them. */
  async close(): Promise<void> {
    await this.hub.close();
  }
}

/**
 * Adds slab `src` (laid out by `sl`) onto `dst` (laid out by `dl`, at least as large):
 * label indices mean the same in both, only capacities differ. Member error deadlines
 * (epoch ms) take the latest instead of the sum.
 */
function addSlab(dst: Float64Array, dl: SlabLayout, src: Float64Array, sl: SlabLayout): void {
  for (let i = 0; i < HEADER_CELLS; i++) dst[i] += src[i]!;
  const R = sl.cap.routes,
    B = sl.cap.backends,
    M = sl.cap.members;
  for (let r = 0; r < R; r++) {
    const a = dl.requests + r * STATUS_SLOTS,
      b = sl.requests + r * STATUS_SLOTS;
    for (let s = 0; s < STATUS_SLOTS; s++) dst[a + s] += src[b + s]!;
    dst[dl.bytesIn + r] += src[sl.bytesIn + r]!;
    dst[dl.bytesOut + r] += src[sl.bytesOut + r]!;
    addHistogram(dst, dl.durationAt(r), src, sl.durationAt(r));
  }
  for (let b = 0; b < B; b++) {
    addHistogram(dst, dl.ttfbAt(b), src, sl.ttfbAt(b));
    addHistogram(dst, dl.waitAt(b), src, sl.waitAt(b));
    dst[dl.connects + b] += src[sl.connects + b]!;
    for (let k = 0; k < 2; k++) {
      dst[dl.connectFail + b * 2 + k] += src[sl.connectFail + b * 2 + k]!;
      dst[dl.rejected + b * 2 + k] += src[sl.rejected + b * 2 + k]!;
    }
    for (let g = 0; g < POOL_GAUGES; g++) dst[dl.poolCell(b, g)] += src[sl.poolCell(b, g)]!;
  }
  for (let e = 0; e < ERROR_CODES.length; e++) {
    for (let b = -1; b < B; b++) dst[dl.errorCell(e, b)] += src[sl.errorCell(e, b)]!;
  }
  for (let m = 0; m < M; m++) {
    dst[dl.picks + m] += src[sl.picks + m]!;
    const until = src[sl.memberErrorUntil + m]!;
    if (until > dst[dl.memberErrorUntil + m]!) dst[dl.memberErrorUntil + m] = until;
  }
}
