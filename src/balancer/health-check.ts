// Active health checks, as mod_proxy_hcheck runs them, for balancer members with an
// hcmethod: a TCP connect, an FCGI_GET_VALUES exchange, or a FastCGI request for hcuri
// (PHP-FPM's ping.path) judged by its status (2xx/3xx, or a ProxyHCExpr). `hcfails`
// failures in a row set the member's shared "health check failing" bit (Apache's C),
// `hcpasses` successes in a row clear it. One timer per checked member; each thread's
// pick reads the bit from the BalancerBoard. The only file of src/balancer that opens
// sockets (it could live in upstream/; it stays beside the state it drives).
import net from 'node:net';
import type { GatewayConfig, HealthCheckSettings, WorkerSettings } from '../config/model.js';
import { testCondition, type Cond } from '../config/expression.js';
import { CgiHeadParser, HEAD_ERROR, HEAD_INCOMPLETE } from '../cgi/response-head.js';
import { RecordType } from '../protocol/constants.js';
import { RecordReader, type RecordSink } from '../protocol/record-reader.js';
import { writePreamble } from '../protocol/request-writer.js';
import { probeBackend } from '../upstream/probe.js';
import { memberLayout, type BalancerBoard } from './shared-state.js';

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

  constructor(config: GatewayConfig, private readonly board: BalancerBoard, private readonly options: HealthCheckerOptions) {
    this.historySize = options.historySize ?? 20;
    this.exprs = config.hcExpressions ?? new Map();
    memberLayout(config).workers.forEach((w, slot) => {
      const hc = w.healthCheck;
      if (hc === undefined || hc.method === 'none') return;
      this.checked.push({
        worker: w, hc, timer: null, running: false,
        state: { slot, name: w.name, method: hc.method, intervalMs: hc.intervalMs, failing: board.healthFailed(slot), passesInARow: 0, failsInARow: 0, history: [] },
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
    for (const c of this.checked) if (c.timer !== null) { clearTimeout(c.timer); c.timer = null; }
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

  private probe(c: Checked, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
    const w = c.worker;
    switch (c.hc.method) {
      case 'tcp': return tcpCheck(w, timeoutMs);
      case 'getvalues':
        return probeBackend(w.address, w.name, timeoutMs).then((p) => p.error !== null ? { ok: false, detail: p.error }
          : { ok: true, detail: Object.entries(p.raw).map(([k, v]) => `${k}=${v}`).join(' ') || 'answered' });
      default: return requestCheck(w, c.hc, timeoutMs, c.hc.expr === null ? null : this.exprs.get(c.hc.expr) ?? null);
    }
  }

  /** hcfails failures in a row set the shared bit, hcpasses successes in a row clear it. */
  private record(c: Checked, rec: HealthRecord): void {
    const s = c.state;
    this.options.onResult?.(s.slot, rec.ok);
    s.history.push(rec);
    if (s.history.length > this.historySize) s.history.shift();
    if (rec.ok) { s.passesInARow++; s.failsInARow = 0; } else { s.failsInARow++; s.passesInARow = 0; }
    if (!s.failing && s.failsInARow >= c.hc.fails) {
      s.failing = true;
      this.board.setHealthFailed(s.slot, true);
      this.options.log(`FCGATE_HEALTH_FAIL member=${s.name} method=${c.hc.method} fails=${s.failsInARow} cause="${rec.detail.replace(/"/g, "'")}"`);
    } else if (s.failing && s.passesInARow >= c.hc.passes) {
      s.failing = false;
      this.board.setHealthFailed(s.slot, false);
      this.options.log(`FCGATE_HEALTH_PASS member=${s.name} method=${c.hc.method} passes=${s.passesInARow} detail="${rec.detail.replace(/"/g, "'")}"`);
    }
  }
}

function connectTo(w: WorkerSettings): net.Socket {
  const a = w.address;
  return a.kind === 'tcp' ? net.connect({ host: a.host, port: a.port }) : net.connect({ path: a.path });
}

function tcpCheck(w: WorkerSettings, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const s = connectTo(w);
    const timer = setTimeout(() => { s.destroy(); resolve({ ok: false, detail: `connect timed out after ${timeoutMs} ms` }); }, timeoutMs);
    s.once('connect', () => { clearTimeout(timer); s.destroy(); resolve({ ok: true, detail: 'connected' }); });
    s.once('error', (e) => { clearTimeout(timer); s.destroy(); resolve({ ok: false, detail: e.message }); });
  });
}

/**
 * A FastCGI request for hc.uri with the smallest CGI environment PHP-FPM's ping needs
 * (SCRIPT_NAME and SCRIPT_FILENAME = the URI); passes on 2xx/3xx or when `expr` holds.
 */
function requestCheck(w: WorkerSettings, hc: HealthCheckSettings, timeoutMs: number,
                      expr: Cond | null): Promise<{ ok: boolean; detail: string }> {
  const q = hc.uri.indexOf('?');
  const path = q < 0 ? hc.uri : hc.uri.slice(0, q);
  const method = hc.method.toUpperCase();
  const host = w.address.kind === 'tcp' ? w.address.host : 'localhost';
  const preamble = writePreamble(1, [
    'GATEWAY_INTERFACE', 'CGI/1.1', 'SERVER_SOFTWARE', 'fcgate-hcheck', 'SERVER_PROTOCOL', 'HTTP/1.1',
    'REQUEST_METHOD', method, 'REQUEST_URI', hc.uri, 'QUERY_STRING', q < 0 ? '' : hc.uri.slice(q + 1),
    'SCRIPT_NAME', path, 'SCRIPT_FILENAME', path, 'SERVER_NAME', host, 'SERVER_ADDR', '127.0.0.1',
    'REMOTE_ADDR', '127.0.0.1', 'HTTP_HOST', host, 'HTTP_USER_AGENT', 'fcgate-hcheck',
  ], { keepConn: false, endStdin: true });
  return new Promise((resolve) => {
    const s = connectTo(w);
    let settled = false;
    const done = (ok: boolean, detail: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ ok, detail });
    };
    const timer = setTimeout(() => done(false, `no answer within ${timeoutMs} ms`), timeoutMs);
    const parser = new CgiHeadParser(16 * 1024);
    const judge = (): void => {
      const head = parser.result();
      const status = head.status;
      let ok: boolean;
      if (expr !== null) {
        const h = head.headers;
        ok = testCondition(expr, {
          params: new Map(),
          header: (name) => { for (let i = 0; i < h.length; i += 2) if (h[i]!.toLowerCase() === name.toLowerCase()) return h[i + 1]; return undefined; },
          variable: (name) => name === 'REQUEST_STATUS' ? String(status) : undefined,
        }) !== null;
      } else {
        ok = status >= 200 && status < 400;
      }
      done(ok, `${method} ${hc.uri} → ${status}`);
    };
    const sink: RecordSink = {
      onStream: (type, _id, data) => {
        if (type !== RecordType.Stdout || data.length === 0 || parser.complete) return true;
        const at = parser.push(data);
        if (at === HEAD_ERROR) done(false, `bad CGI head: ${parser.error?.detail ?? ''}`);
        else if (at !== HEAD_INCOMPLETE) judge();
        return true;
      },
      onBeginRequest: () => {},
      onAbortRequest: () => {},
      onEndRequest: () => { if (!parser.complete) done(false, 'END_REQUEST before a complete CGI head'); },
      onManagement: () => {},
      knowsRequest: (id) => id === 1,
      onProtocolError: (e) => done(false, e.message),
    };
    const reader = new RecordReader(sink, 'client');
    s.on('data', (chunk: Buffer) => { reader.push(chunk); });
    s.once('connect', () => s.write(preamble));
    s.once('error', (e) => done(false, e.message));
    s.once('close', () => done(false, 'closed before answering'));
  });
}
