// Active health checks, as mod_proxy_hcheck runs them, for balancer members with an
// hcmethod: a TCP connect, an FCGI_GET_VALUES exchange, or a FastCGI request for hcuri
// (PHP-FPM's ping.path) judged by its status (2xx/3xx, or a ProxyHCExpr). `hcfails`
// failures in a row set the member's shared "health check failing" bit (Apache's C),
// `hcpasses` successes in a row clear it. One timer per checked member; each thread's
// pick reads the bit from the BalancerBoard. No sockets here: the checks go out through a
// HealthTransport (proxy/health.ts hands in upstream/'s), so this file is scheduling and
// judgement only, and its tests can script the answers.
import type { GatewayConfig, HealthCheckSettings, WorkerSettings } from '../config/model.js';
import { testCondition, type Cond } from '../config/expression.js';
import { memberLayout, type BalancerBoard } from './shared-state.js';

/** How a check reaches a member: each resolves, never rejects (a failure is its text). */
export interface HealthTransport {
  /** null when connected, else why not. */
  connect(w: WorkerSettings, timeoutMs: number): Promise<string | null>;
  /** The app's FCGI_GET_VALUES answer as `NAME=value …`, or the failure. */
  getValues(w: WorkerSettings, timeoutMs: number): Promise<{ ok: boolean; detail: string }>;
  /** One FastCGI request: its CGI status and header lines (name, value, …), or the failure. */
  request(
    w: WorkerSettings,
    method: string,
    uri: string,
    timeoutMs: number,
  ): Promise<{ status: number; headers: readonly string[]; error?: undefined } | { error: string }>;
}

export interface HealthRecord {
  /** Epoch ms when the check started. */
  at: number;
  ok: boolean;
  ms: number;
  /** `200`, `connected`, `MPXS_CONNS=0`, or what went wrong. */
  detail: string;
}

export interface MemberHealth {
  slot: number;
  name: string;
  method: HealthCheckSettings['method'];
  intervalMs: number;
  failing: boolean;
  /** Successes / failures in a row so far. */
  passesInARow: number;
  failsInARow: number;
  /** Newest last. */
  history: HealthRecord[];
}

export interface HealthCheckerOptions {
  log: (line: string) => void;
  transport: HealthTransport;
  /** Every check's outcome (the metrics count them). */
  onResult?: (slot: number, ok: boolean) => void;
  /** Records kept per member (default 20). */
  historySize?: number;
}

interface Checked {
  state: MemberHealth;
  worker: WorkerSettings;
  hc: HealthCheckSettings;
  timer: NodeJS.Timeout | null;
  running: boolean;
}

export class HealthChecker {
  private readonly checked: Checked[] = [];
  private stopped = true;
  private readonly historySize: number;
  private readonly exprs: Map<string, Cond>;

  /** Whether any member of `config` has an active check. */
  static wanted(config: GatewayConfig): boolean {
    return memberLayout(config).workers.some((w) => w.healthCheck !== undefined && w.healthCheck.method !== 'none');
  }

  constructor(
    config: GatewayConfig,
    private readonly board: BalancerBoard,
    private readonly options: HealthCheckerOptions,
  ) {
    this.historySize = options.historySize ?? 20;
    this.exprs = config.hcExpressions ?? new Map();
    memberLayout(config).workers.forEach((w, slot) => {
      const hc = w.healthCheck;
      if (hc === undefined || hc.method === 'none') return;
      this.checked.push({
        worker: w,
        hc,
        timer: null,
        running: false,
        state: {
          slot,
          name: w.name,
          method: hc.method,
          intervalMs: hc.intervalMs,
          failing: board.healthFailed(slot),
          passesInARow: 0,
          failsInARow: 0,
          history: [],
        },
      });
    });
  }

  /** Checks every member now, then every hcinterval. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    for (const c of this.checked) this.schedule(c, 0);
  }

  stop(): void {
    this.stopped = true;
    for (const c of this.checked)
      if (c.timer !== null) {
        clearTimeout(c.timer);
        c.timer = null;
      }
  }

  /** Copies of every checked member's state and history. */
  snapshot(): MemberHealth[] {
    return this.checked.map((c) => ({ ...c.state, history: c.state.history.slice() }));
  }

  /** Runs one check of slot `slot` now (tests; the manager's "check now"). */
  async checkNow(slot: number): Promise<HealthRecord | null> {
    const c = this.checked.find((x) => x.state.slot === slot);
    return c === undefined ? null : await this.run(c);
  }

  private schedule(c: Checked, delay: number): void {
    if (this.stopped) return;
    c.timer = setTimeout(() => {
      c.timer = null;
      void this.run(c).then(() => this.schedule(c, c.hc.intervalMs));
    }, delay);
    c.timer.unref();
  }

  private async run(c: Checked): Promise<HealthRecord> {
    const at = Date.now();
    const timeoutMs = Math.max(500, Math.min(c.worker.timeoutMs, Math.max(c.hc.intervalMs, 1000)));
    let r: { ok: boolean; detail: string };
    try {
      r = await this.probe(c, timeoutMs);
    } catch (err) {
      r = { ok: false, detail: (err as Error).message };
    }
    const rec: HealthRecord = { at, ok: r.ok, ms: Date.now() - at, detail: r.detail };
    this.record(c, rec);
    return rec;
  }

  private async probe(c: Checked, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
    const w = c.worker;
    const t = this.options.transport;
    switch (c.hc.method) {
      case 'tcp': {
        const err = await t.connect(w, timeoutMs);
        return err === null ? { ok: true, detail: 'connected' } : { ok: false, detail: err };
      }
      case 'getvalues':
        return t.getValues(w, timeoutMs);
      default: {
        const method = c.hc.method.toUpperCase();
        const a = await t.request(w, method, c.hc.uri, timeoutMs);
        if (a.error !== undefined) return { ok: false, detail: a.error };
        const expr = c.hc.expr === null ? null : (this.exprs.get(c.hc.expr) ?? null);
        return { ok: judge(a.status, a.headers, expr), detail: `${method} ${c.hc.uri} → ${a.status}` };
      }
    }
  }

  /** hcfails failures in a row set the shared bit, hcpasses successes in a row clear it. */
  private record(c: Checked, rec: HealthRecord): void {
    const s = c.state;
    this.options.onResult?.(s.slot, rec.ok);
    s.history.push(rec);
    if (s.history.length > this.historySize) s.history.shift();
    if (rec.ok) {
      s.passesInARow++;
      s.failsInARow = 0;
    } else {
      s.failsInARow++;
      s.passesInARow = 0;
    }
    if (!s.failing && s.failsInARow >= c.hc.fails) {
      s.failing = true;
      this.board.setHealthFailed(s.slot, true);
      this.options.log(
        `FCGATE_HEALTH_FAIL member=${s.name} method=${c.hc.method} fails=${s.failsInARow} cause="${rec.detail.replace(/"/g, "'")}"`,
      );
    } else if (s.failing && s.passesInARow >= c.hc.passes) {
      s.failing = false;
      this.board.setHealthFailed(s.slot, false);
      this.options.log(
        `FCGATE_HEALTH_PASS member=${s.name} method=${c.hc.method} passes=${s.passesInARow} detail="${rec.detail.replace(/"/g, "'")}"`,
      );
    }
  }
}

/** 2xx/3xx passes; with a ProxyHCExpr, the expression decides (%{REQUEST_STATUS}; http('Name') reads the answer's header). */
function judge(status: number, h: readonly string[], expr: Cond | null): boolean {
  if (expr === null) return status >= 200 && status < 400;
  return (
    testCondition(expr, {
      params: new Map(),
      header: (name) => {
        const lower = name.toLowerCase();
        for (let i = 0; i < h.length; i += 2) if (h[i]!.toLowerCase() === lower) return h[i + 1];
        return undefined;
      },
      variable: (name) => (name === 'REQUEST_STATUS' ? String(status) : undefined),
    }) !== null
  );
}
