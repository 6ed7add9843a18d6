// One serving thread's gateway: a uWS App per listen address, routing, the CGI
// environment, the pools of this thread, and the glue between a uWS request and an
// upstream Exchange (body in, response out, local redirects, spooling of bodies that
// come without Content-Length). Startup checks and signals are the CLI's business.
import { stat } from 'node:fs';
import { tmpdir } from 'node:os';
import { BalancerRuntime } from '../balancer/balancer.js';
import { HealthChecker } from '../balancer/health-check.js';
import { BalancerBoard, memberLayout } from '../balancer/shared-state.js';
import type { BalancerStats } from '../balancer/stats.js';
import { buildParams, serverInfoFromEnv, type ServerInfo } from '../cgi/environment.js';
import type { GatewayConfig, WorkerSettings } from '../config/model.js';
import { resolve, type RouteResult } from '../config/router.js';
import { formatFailure, GatewayError } from '../errors.js';
import { writePreamble } from '../protocol/request-writer.js';
import { headerOf, type RequestSnapshot } from '../request.js';
import type { GatewayStats } from '../threads/messages.js';
import { quietObserver } from '../observe/standalone.js';
import type { TelemetrySpec, ThreadObserver } from '../observe/thread-observer.js';
import type { Tuning } from '../tuning.js';
import type { ConnectionBudget } from '../upstream/budget.js';
import { Exchange, type ExchangeOptions } from '../upstream/exchange.js';
import type { PoolStats } from '../upstream/pool.js';
import { PoolRegistry } from '../proxy/pools.js';
import { closeListening, listenApp, listenUnix, type Listening } from './listen.js';
import { BalancedRequest, type BalancedHost } from './balanced-request.js';
import { UwsReply, type ReplyContext } from './reply.js';
import { takeSnapshot, type LocalEndpoint } from './snapshot.js';
import { BodyIntake } from './body-intake.js';
import { checkRequest, type BodyFraming } from './request-checks.js';
import { BodySpool, SpoolAccount, SpoolResult } from './spool.js';
import { inFlightBoard } from './in-flight.js';
import { serveStatic } from './static-files.js';
import { loadUws, type HttpRequest, type HttpResponse, type TemplatedApp } from './uws.js';

export interface GatewayOptions {
  config: GatewayConfig;
  tuning: Tuning;
  /** Connection caps per worker name (shared across threads by the caller), else local ones. */
  budgets?: Map<string, ConnectionBudget>;
  /** Error log sink: one line per call. */
  log?: (line: string) => void;
  /** Listen with SO_REUSEPORT (several threads on one port); the caller claimed the port. */
  shared?: boolean;
  /**
   * The balancer members' shared state (operator flags, load factors, health), made by
   * `new BalancerBoard(config).buffer` in the main thread and given to every serving
   * thread, so that a drain or a loadfactor set in one place applies to all threads at
   * once. Without it the gateway makes a local one (single-process mode).
   */
  balancerState?: SharedArrayBuffer;
  /** Run the active health checks (hcmethod=…) here (default true); threads leave them to the main thread. */
  healthChecks?: boolean;
  /**
   * SpoolAccount.buffer shared by every serving thread (memory and disk of buffered request
   * bodies against FCGATE_SPOOL_*_TOTAL); without it the gateway counts on its own.
   */
  spoolAccount?: SharedArrayBuffer;
  /** Directory for request-body temporary files (FCGATE_SPOOL_DIR; default the OS's). */
  spoolDir?: string;
  /** Request ids, metrics and the access log (observe/); without it: ids and metrics of its own, no access log. */
  observer?: ThreadObserver;
}

const NO_BODY: BodyFraming = { length: -1, chunked: false };
const framingText = (length: number): string => (length >= 0 ? `Content-Length ${length}` : 'chunked');
let markRemoved = false;

/** What a serving thread reports to the main thread (metrics aggregation). */
export class Gateway {
  /** The configuration in force; reload() swaps it. */
  config: GatewayConfig;
  private readonly tuning: Tuning;
  private readonly pools: PoolRegistry;
  /** This thread's balancers (counters per thread; operator state in `board`, shared). */
  private readonly balancers = new Map<string, BalancerRuntime>();
  private board!: BalancerBoard;
  private health: HealthChecker | null = null;
  private readonly balancedHost: BalancedHost = {
    exchangeFor: (req, member) => this.startExchange(req.reply, req.snap!, req.resolved!, member.worker, member.worker, req.hasBody, req),
    log: (line) => this.log(line),
    picked: (slot) => this.observer.picked(slot),
  };
  private readonly apps: Array<{ app: TemplatedApp; listening: Listening | null; local: LocalEndpoint }> = [];
  private server: ServerInfo;
  private readonly exchangeOptions: ExchangeOptions;
  private readonly replyContext: ReplyContext;
  private readonly spoolAccount: SpoolAccount;
  private readonly spoolDir: string;
  /** This thread's in-flight board: what a crash of the thread would lose (issue 9 item 12). */
  private readonly requestBoard = inFlightBoard();
  readonly log: (line: string) => void;
  readonly observer: ThreadObserver;
  /** Requests in flight (for drain). */
  inFlight = 0;
  served = 0;
  private draining = false;
  private readonly requestDone = (reply: UwsReply): void => { this.inFlight--; this.served++; this.observer.end(reply); };

  constructor(private readonly options: GatewayOptions) {
    this.config = options.config;
    this.tuning = options.tuning;
    this.log = options.log ?? ((line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`));
    this.observer = options.observer ?? quietObserver(this.config);
    this.pools = new PoolRegistry({ tuning: this.tuning, log: this.log, observer: this.observer,
      ...(options.budgets !== undefined ? { budgets: options.budgets } : {}) });
    this.server = serverInfoFromEnv(process.env, this.config.serverAdmin);
    this.exchangeOptions = {
      maxHead: this.tuning.FCGATE_MAX_HEAD,
      stderrLimit: this.tuning.FCGATE_STDERR_LIMIT,
      bodyBufferLimit: this.tuning.FCGATE_BODY_BUFFER,
      log: this.log,
    };
    this.replyContext = {
      log: this.log,
      localRedirect: (reply, location) => this.localRedirect(reply, location),
      retryAfterSeconds: this.tuning.FCGATE_RETRY_AFTER,
    };
    this.spoolAccount = new SpoolAccount(this.tuning.FCGATE_SPOOL_MEMORY_TOTAL, this.tuning.FCGATE_SPOOL_DISK_TOTAL,
      options.spoolAccount);
    this.spoolDir = options.spoolDir ?? (this.tuning.FCGATE_SPOOL_DIR || tmpdir());
    this.resetMembers();
    this.observer.attach({
      inFlight: () => this.inFlight,
      pools: () => [...this.pools.all].map((p) => ({ name: p.name, idle: p.idleCount, busy: p.busy, size: p.size, pending: p.pending })),
      memberErrors: () => [...this.balancers.values()].flatMap((b) => b.members.map((m) => ({ slot: m.slot, errorUntil: m.errorUntil }))),
    });
  }

  /** Balancer member state from this.config (at start and on reload). */
  private resetMembers(): void {
    this.useBalancerState(this.options.balancerState);
  }

  /**
   * Balancers from this.config over the shared state `buffer` (see GatewayOptions;
   * after a reload, pass the new configuration's buffer). A buffer that does not fit the
   * configuration, or none, gives a local state. Counters start again from zero.
   */
  useBalancerState(buffer?: SharedArrayBuffer): void {
    let board: BalancerBoard;
    try {
      board = new BalancerBoard(this.config, buffer);
    } catch (err) {
      this.log(`FCGATE_BALANCER_STATE ${(err as Error).message}: using a state of this thread's own`);
      board = new BalancerBoard(this.config);
    }
    this.board = board;
    this.balancers.clear();
    const layout = memberLayout(this.config);
    for (const b of this.config.balancers.values()) {
      this.balancers.set(b.name, new BalancerRuntime(b, board, layout.firstSlot.get(b.name)!));
    }
    this.health?.stop();
    this.health = null;
    if (this.options.healthChecks !== false && HealthChecker.wanted(this.config)) {
      this.health = new HealthChecker(this.config, board, { log: this.log });
      this.health.start();
    }
  }

  /** The balancers' shared state (for the manager, or to hand to other threads). */
  get balancerBoard(): BalancerBoard { return this.board; }

  /** A backend's connection cap (the metrics' fcgate_upstream_connections_max). */
  capOf(name: string): number | undefined { return this.pools.capOf(name); }

  /** The health checker running in this gateway, if any (history for the manager). */
  get healthChecker(): HealthChecker | null { return this.health; }

  /** This thread's view of every balancer: per-thread counters with the shared flags (sum threads with sumBalancerStats). */
  balancerStats(): BalancerStats[] {
    const now = Date.now();
    return [...this.balancers.values()].map((b) => b.stats(now));
  }

  /**
   * Swaps in a new configuration without dropping a connection or a request: requests that
   * arrive from now on are routed by `config` and served by new pools; requests in flight
   * finish on the old pools, which then wind down (idle connections close now, busy ones
   * after their request). `budgets` adds or replaces caps by worker name (a name that is
   * already there keeps its counter, so old and new pools share the cap). Listen addresses
   * cannot change this way: the sockets stay as they are (the caller warns).
   * `balancerState`: the new configuration's shared member state (BalancerBoard buffer made
   * by the main thread for it); without it the balancers get a state of this thread's own.
   */
  reload(config: GatewayConfig, budgets?: Map<string, ConnectionBudget>, balancerState?: SharedArrayBuffer,
         telemetry?: TelemetrySpec): void {
    this.config = config;
    this.server = serverInfoFromEnv(process.env, config.serverAdmin);
    this.useBalancerState(balancerState);
    this.observer.configure(config, telemetry);
    this.pools.reload(budgets);
  }

  /** Counters for the metrics: requests served and in flight, this thread's pools. */
  stats(): GatewayStats {
    return { served: this.served, inFlight: this.inFlight, pools: this.poolStats(), balancers: this.balancerStats() };
  }

  /** Listens on every configured address; returns the bound endpoints. */
  async listen(): Promise<LocalEndpoint[]> {
    const uws = loadUws();
    // Don't advertise the library in every response ("uWebSockets: 20"): undocumented but
    // measured, process-wide (native-notes/uws.md).
    const cfg = (uws as unknown as { _cfg?: (key: string) => void })._cfg;
    if (typeof cfg === 'function' && !markRemoved) { cfg('999999990007'); markRemoved = true; }
    const out: LocalEndpoint[] = [];
    for (const l of this.config.listen) {
      if (l.protocol === 'https') {
        throw new Error(`Listen ${l.host ?? '*'}:${l.port} https: TLS is parsed and checked but not served yet (issue 11 phase 2)`);
      }
      const app = uws.App();
      const host = l.host ?? '0.0.0.0';
      const entry = { app, listening: null as Listening | null, local: { address: host, port: l.port } };
      app.any('/*', (res, req) => this.onRequest(res, req, entry.local));
      app.filter((_res, count) => this.observer.connections(count as number));
      entry.listening = await listenApp(app, host, l.port, { exclusive: !this.options.shared });
      entry.local.port = entry.listening.port;
      this.apps.push(entry);
      out.push({ ...entry.local });
    }
    return out;
  }

  /** Listens on a unix socket path (tests, local front ends). */
  async listenUnixSocket(path: string): Promise<void> {
    const app = loadUws().App();
    const entry = { app, listening: null as Listening | null, local: { address: '127.0.0.1', port: 0 } };
    app.any('/*', (res, req) => this.onRequest(res, req, entry.local));
    entry.listening = await listenUnix(app, path);
    this.apps.push(entry);
  }

  /** Stops accepting; in-flight requests go on. */
  stopListening(): void {
    for (const a of this.apps) if (a.listening !== null) { closeListening(a.listening); a.listening = null; }
  }

  /** Stops accepting and, after in-flight requests finish or `deadlineMs`, closes everything. */
  async drain(deadlineMs: number): Promise<void> {
    this.draining = true;
    this.stopListening();
    const until = Date.now() + deadlineMs;
    while (this.inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    this.close();
  }

  /** Closes listeners and pools at once. */
  close(): void {
    this.observer.stop();
    this.health?.stop();
    this.stopListening();
    for (const a of this.apps) a.app.close();
    this.pools.close();
  }

  poolStats(): Record<string, PoolStats> { return this.pools.stats(); }

  private onRequest(res: HttpResponse, req: HttpRequest, local: LocalEndpoint): void {
    const snap = takeSnapshot(req, res, local, 'http');
    const reply = new UwsReply(res, snap.method, this.replyContext);
    this.observer.begin(reply, snap);
    reply.tag = `req=${reply.requestId} ${snap.method} ${snap.path}${snap.query ? '?' + snap.query : ''}`;
    reply.inFlightSlot = this.requestBoard.enter(reply.requestId, snap.method, snap.path, snap.query);
    reply.snapshot = snap;
    this.inFlight++;
    // The reply calls onFinished once (finished, answered or aborted): one shared function.
    reply.onFinished = this.requestDone;
    res.onAborted(() => reply.onAborted());
    if (this.draining) {
      reply.sendError(503, { retryAfter: true });
      return;
    }
    const framing = checkRequest(snap);
    if ('code' in framing) {
      reply.refuse(new GatewayError(framing.code, null, framing.detail));
      return;
    }
    reply.framing = framing;
    this.dispatch(reply, snap, true);
  }

  /** Routes and serves one request (also a local redirect's new request, with `fromClient` false). */
  private dispatch(reply: UwsReply, snap: RequestSnapshot, fromClient: boolean): void {
    let route: RouteResult;
    try {
      route = resolve(this.config, snap);
    } catch (err) {
      this.fail(reply, new GatewayError('FCGATE_INTERNAL', null, `routing failed: ${(err as Error).message}`));
      return;
    }
    reply.routeIndex = this.observer.routeIndex(route);
    switch (route.kind) {
      case 'proxy':
        this.proxy(reply, snap, route, fromClient);
        return;
      case 'static':
        this.serveFile(reply, snap, route.filename, route.contentType);
        return;
      case 'redirect-dir':
        reply.sendRedirect(301, route.location);
        return;
      case 'redirect':                          // mod_alias Redirect: 3xx with Location, or 410 & co. without
        if (route.location !== null) reply.sendRedirect(route.status, route.location);
        else reply.sendError(route.status);
        return;
      case 'forbidden':
        this.log(`FCGATE_FORBIDDEN ${reply.tag} ${route.detail}`);
        reply.sendError(403);
        return;
      case 'not-found':
        reply.sendError(404);
        return;
      case 'bad-request':
        reply.sendError(400);
        return;
    }
  }

  private serveFile(reply: UwsReply, snap: RequestSnapshot, filename: string, contentType?: string | null): void {
    stat(filename, (err, st) => {
      if (reply.aborted) return;
      if (err !== null) { reply.sendError(404); return; }
      serveStatic(reply.res, snap, filename, st, { headers: reply.extraHeaders, contentType, onDone: (o) => {
        reply.status = o.status; reply.bytesOut = o.bytes; reply.aborted = o.aborted; reply.finished();
      } });
    });
  }

  private proxy(reply: UwsReply, snap: RequestSnapshot, route: Extract<RouteResult, { kind: 'proxy' }>,
                fromClient: boolean): void {
    const r = route.resolved;
    if (r.env.size > 0) reply.env = r.env;
    reply.balancer = r.balancer;
    let worker = r.worker;
    let member: WorkerSettings | null = null;
    let balanced: BalancedRequest | null = null;
    if (r.balancer !== null) {
      balanced = this.pickMember(r.balancer, reply, snap);
      if (balanced === null) return;            // answered: 503, every member unusable
      member = balanced.member.worker;
      worker = member;
    }
    if (worker === null) {
      this.fail(reply, new GatewayError('FCGATE_INTERNAL', null, 'route without a worker'));
      return;
    }
    // The body (issue 8 §2, issue 9): small bodies are held whole in memory, larger ones and
    // chunked ones spooled (memory, then a temporary file), so a slow client holds no app
    // worker; with requestbuffering=off bodies over FCGATE_BODY_BUFFER stream as they come.
    const framing: BodyFraming = fromClient ? reply.framing : NO_BODY;
    const length = framing.length;
    if (length > this.tuning.FCGATE_MAX_BODY) {
      reply.tooLarge(new GatewayError('FCGATE_BODY_TOO_LARGE', null,
        `Content-Length ${length} is over FCGATE_MAX_BODY=${this.tuning.FCGATE_MAX_BODY}`));
      return;
    }
    if (framing.chunked || (length > this.tuning.FCGATE_BODY_BUFFER && worker.requestBuffering)) {
      this.spoolThenProxy(reply, snap, r, worker, member, balanced, length);
      return;
    }
    const hasBody = length > 0;
    const exchange = this.startExchange(reply, snap, r, worker, member, hasBody, balanced);
    if (exchange === null) return;
    if (!hasBody) {
      if (balanced !== null) balanced.start(exchange);
      else exchange.start();
      return;
    }
    // Held (up to FCGATE_BODY_BUFFER): STDIN records gather in the exchange and the app is
    // contacted with the last chunk, preamble and body in one write. Streamed: the exchange
    // starts with the first chunk and the client is paused whenever the app's socket is full.
    const streamed = length > this.tuning.FCGATE_BODY_BUFFER;
    let started = false;
    reply.intake = new BodyIntake(reply.res, length, {
      onBodyChunk: (chunk, last) => {
        reply.bytesIn += chunk.length;
        // reply.exchange, not `exchange`: a balancer failover moves the body to another member's exchange.
        const more = reply.exchange!.sendBody(chunk, last);
        if (!started && (streamed || last)) {
          started = true;
          if (balanced !== null) balanced.start(exchange);
          else exchange.start();
        }
        return streamed ? more && !reply.exchange!.bodyPaused : true;
      },
      onBodyTimeout: (idleMs) => reply.bodyTimedOut(idleMs),
      get responseBlocked() { return reply.blocked; },
    }, this.tuning.FCGATE_BODY_TIMEOUT);
  }

  private startExchange(reply: UwsReply, snap: RequestSnapshot, r: Extract<RouteResult, { kind: 'proxy' }>['resolved'],
                        worker: WorkerSettings, member: WorkerSettings | null, hasBody: boolean,
                        balanced: BalancedRequest | null = null): Exchange | null {
    let preamble: Buffer;
    if (balanced !== null) {
      // Kept for a failover to another member; the member URL's own path goes before the target path (as Apache).
      balanced.snap = snap;
      balanced.resolved = r;
      balanced.hasBody = hasBody;
      const path = balanced.member.path;
      if (path !== '') r = { ...r, targetPath: path + r.targetPath };
    }
    const pool = this.pools.poolFor(worker);
    try {
      const params = buildParams(snap, r, this.server, member);
      params.list.push('UNIQUE_ID', reply.requestId);          // mod_unique_id's name for the request id
      if (params.vary.length > 0 && !reply.extraHeaders.includes('Vary')) reply.extraHeaders.push('Vary', params.vary.join(', '));
      preamble = writePreamble(1, params.list, { keepConn: pool.keeps, endStdin: !hasBody });
    } catch (err) {
      this.fail(reply, new GatewayError('FCGATE_INTERNAL', worker.name, `building the request failed: ${(err as Error).message}`));
      return null;
    }
    const exchange = new Exchange(pool, preamble, hasBody, balanced ?? reply, this.exchangeOptions, reply.tag);
    reply.exchange = exchange;
    this.requestBoard.setBackend(reply.inFlightSlot, worker.name);
    reply.flush = worker.flushPackets;
    reply.flushWaitMs = worker.flushWaitMs;
    return exchange;
  }

  /**
   * Receives the whole body into a BodySpool, then builds the exchange with CONTENT_LENGTH
   * (the app needs it: PHP-FPM ignores a body without one; APACHE-BEHAVIOUR) and plays the
   * body into it with backpressure. The spool is closed when the reply completes, whatever
   * the path (reply.complete).
   */
  private spoolThenProxy(reply: UwsReply, snap: RequestSnapshot, r: Extract<RouteResult, { kind: 'proxy' }>['resolved'],
                         worker: WorkerSettings, member: WorkerSettings | null,
                         balanced: BalancedRequest | null, length: number): void {
    const spool = new BodySpool({ memory: this.tuning.FCGATE_SPOOL_MEMORY, maxBody: this.tuning.FCGATE_MAX_BODY,
      dir: this.spoolDir, account: this.spoolAccount });
    reply.spool = spool;
    let complete = false;
    let refused = false;
    const proceed = (): void => {
      if (reply.aborted || refused || reply.done) return;
      if (spool.error !== null) { refuseSpool(spool.isFull ? SpoolResult.Full : SpoolResult.Failed); return; }
      if (length >= 0 && spool.size !== length) {
        this.fail(reply, new GatewayError('FCGATE_INTERNAL', null, `spooled ${spool.size} of ${length} body bytes`));
        return;
      }
      // The app gets CONTENT_LENGTH instead of Transfer-Encoding (deliberate: APACHE-BEHAVIOUR).
      const headers = snap.headers.filter(([n]) => n !== 'transfer-encoding' && n !== 'content-length');
      headers.push(['content-length', String(spool.size)]);
      const spooled: RequestSnapshot = { ...snap, headers };
      const hasBody = spool.size > 0;
      const exchange = this.startExchange(reply, spooled, r, worker, member, hasBody, balanced);
      if (exchange === null) return;
      if (hasBody) {
        const more = spool.replay((chunk, last) => reply.exchange!.sendBody(chunk, last), (err) => {
          if (err !== null && !reply.done) {
            this.fail(reply, new GatewayError('FCGATE_INTERNAL', reply.exchange?.backend ?? null, `spool replay failed: ${err.message}`));
          }
        });
        reply.bodyWritable = more;
      }
      if (balanced !== null) balanced.start(exchange);
      else exchange.start();
    };
    const refuseSpool = (result: SpoolResult): void => {
      refused = true;
      reply.intake?.stop();
      spool.close();
      if (result === SpoolResult.TooLarge) {
        reply.tooLarge(new GatewayError('FCGATE_BODY_TOO_LARGE', null,
          `body over FCGATE_MAX_BODY=${this.tuning.FCGATE_MAX_BODY} (${framingText(length)})`));
      } else if (result === SpoolResult.Full) {
        reply.refuse(new GatewayError('FCGATE_SPOOL_FULL', null,
          `no room to buffer the body: ${spool.error?.message ?? 'spool full'} (disk in use ${this.spoolAccount.diskBytes} of FCGATE_SPOOL_DISK_TOTAL=${this.tuning.FCGATE_SPOOL_DISK_TOTAL})`));
      } else {
        reply.refuse(new GatewayError('FCGATE_INTERNAL', null, `buffering the body failed: ${spool.error?.message ?? 'unknown error'}`));
      }
    };
    spool.onWritten = () => {
      if (reply.aborted || reply.done || refused) return;
      if (spool.error !== null) { refuseSpool(spool.isFull ? SpoolResult.Full : SpoolResult.Failed); return; }
      reply.intake?.resume();
      if (complete && spool.settled) proceed();
    };
    reply.intake = new BodyIntake(reply.res, length, {
      onBodyChunk: (chunk, last) => {
        reply.bytesIn += chunk.length;
        if (refused) return true;
        const result = spool.push(chunk);
        if (result === SpoolResult.TooLarge || result === SpoolResult.Full || result === SpoolResult.Failed) {
          refuseSpool(result);
          return true;
        }
        if (last) {
          complete = true;
          if (spool.settled) proceed();
        }
        return result !== SpoolResult.Pause;
      },
      onBodyTimeout: (idleMs) => reply.bodyTimedOut(idleMs),
      get responseBlocked() { return reply.blocked; },
    }, this.tuning.FCGATE_BODY_TIMEOUT);
  }

  /**
   * Chooses a member of `balancer` for a request (sticky route, lbmethod, lbset, hot
   * standby, error state: src/balancer) and wraps the request for failover. null when
   * none is usable: then the client has its 503 and the log one line saying why.
   */
  private pickMember(balancer: string, reply: UwsReply, snap: RequestSnapshot): BalancedRequest | null {
    const b = this.balancers.get(balancer);
    if (b === undefined) {
      this.fail(reply, new GatewayError('FCGATE_INTERNAL', balancer, 'route to an unknown balancer'));
      return null;
    }
    const route = b.sticky === null ? null : b.routeFor(snap.path, snap.query, headerOf(snap, 'cookie'));
    const m = b.pick(Date.now(), route, null);
    if (!('worker' in m)) {
      this.fail(reply, new GatewayError('FCGATE_NO_MEMBER', balancer, m.reason));
      return null;
    }
    this.observer.picked(m.slot);
    return new BalancedRequest(b, m, reply, route, this.balancedHost);
  }

  private localRedirect(reply: UwsReply, location: string): void {
    if (reply.redirectDepth >= this.tuning.FCGATE_REDIRECT_LIMIT) {
      this.fail(reply, new GatewayError('FCGATE_REDIRECT_LOOP', reply.exchange?.backend ?? null,
        `more than ${this.tuning.FCGATE_REDIRECT_LIMIT} local redirects, last to ${location}`));
      return;
    }
    const q = location.indexOf('?');
    const prev = reply.snapshot;
    const headers = (prev?.headers ?? []).filter(([n]) => n !== 'content-length' && n !== 'content-type' && n !== 'transfer-encoding');
    const base = prev ?? null;
    if (base === null) { reply.sendError(502); return; }
    const next: RequestSnapshot = {
      ...base,
      method: base.method === 'HEAD' ? 'HEAD' : 'GET',
      path: q < 0 ? location : location.slice(0, q),
      query: q < 0 ? '' : location.slice(q + 1),
      headers,
    };
    reply.restart(next);
    this.dispatch(reply, next, false);
  }

  private fail(reply: UwsReply, err: GatewayError): void {
    reply.onFailure(err, reply.headSent);
  }
}

export const formatGatewayFailure = formatFailure;
