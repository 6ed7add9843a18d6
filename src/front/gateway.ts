// One serving thread's gateway: a uWS App per listen address and the dispatch of each
// request — checks (request-checks.ts), routing (config/router.ts), then a static file, an
// answer of the gateway's own, or the app through an UpstreamRequest (proxy/), with its body
// (request-body.ts) and the reply (reply.ts); local redirects come back here. It also holds
// what the thread shares between requests: pools (proxy/pools.ts), balancers, the health
// checks when run here. Startup checks and signals are the CLI's business.
// Over 400 lines on purpose: one request's dispatch from the checks to proxy, static file or
// redirect, kept in one file so a request reads top to bottom (listeners: listeners.ts; bodies:
// request-body.ts; failover: proxy/upstream-request.ts).
import { stat } from 'node:fs';
import { tmpdir } from 'node:os';
import { BalancerRuntime } from '../balancer/balancer.js';
import type { HealthChecker } from '../balancer/health-check.js';
import { HealthChecks } from '../proxy/health.js';
import { BalancerBoard, memberLayout } from '../balancer/shared-state.js';
import type { BalancerStats } from '../balancer/stats.js';
import { serverInfoFromEnv } from '../cgi/environment.js';
import type { GatewayConfig, ResolvedRequest } from '../config/model.js';
import { resolve, siteFor, type RouteResult } from '../config/router.js';
import { applyRemoteIp } from '../config/remote-ip.js';
import { GatewayError } from '../errors.js';
import { quietObserver } from '../observe/standalone.js';
import type { TelemetrySpec, ThreadObserver } from '../observe/thread-observer.js';
import { PoolRegistry } from '../proxy/pools.js';
import { UpstreamRequest, type BalancedChoice, type ProxyContext } from '../proxy/upstream-request.js';
import { headerOf, type RequestSnapshot } from '../request.js';
import type { GatewayStats } from '../threads/messages.js';
import type { Tuning } from '../tuning.js';
import type { ConnectionBudget } from '../upstream/budget.js';
import type { PoolStats } from '../upstream/pool.js';
import { inFlightBoard } from './in-flight.js';
import { Listeners } from './listeners.js';
import { UwsReply, type ReplyContext } from './reply.js';
import { receiveDirect, receiveSpooled, replaySpool, type BodyLimits, type BodyMax } from './request-body.js';
import { checkRequest, type BodyFraming } from './request-checks.js';
import { takeSnapshot, type LocalEndpoint } from './snapshot.js';
import { SpoolAccount } from './spool.js';
import { serveStatic } from './static-files.js';
import type { HttpRequest, HttpResponse } from './uws.js';

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

/** What a serving thread reports to the main thread (metrics aggregation). */
export class Gateway {
  /** The configuration in force; reload() swaps it. */
  config: GatewayConfig;
  private readonly tuning: Tuning;
  private readonly pools: PoolRegistry;
  /** This thread's balancers (counters per thread; operator state in `board`, shared). */
  private readonly balancers = new Map<string, BalancerRuntime>();
  private board!: BalancerBoard;
  private readonly health: HealthChecks;
  /** The uWS apps and their listeners (plain and TLS). */
  private readonly listeners: Listeners;
  /** What building an exchange needs (pools, SERVER_*, limits); `server` follows a reload. */
  private readonly proxyContext: ProxyContext;
  private readonly replyContext: ReplyContext;
  private readonly bodyLimits: BodyLimits;
  /** This thread's in-flight board: what a crash of the thread would lose (issue 9 item 12). */
  private readonly requestBoard = inFlightBoard();
  readonly log: (line: string) => void;
  readonly observer: ThreadObserver;
  /** Requests in flight (for drain). */
  inFlight = 0;
  served = 0;
  private draining = false;
  private readonly requestDone = (reply: UwsReply): void => {
    this.inFlight--;
    this.served++;
    this.observer.end(reply);
  };

  constructor(private readonly options: GatewayOptions) {
    this.config = options.config;
    this.tuning = options.tuning;
    this.log = options.log ?? ((line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`));
    this.observer = options.observer ?? quietObserver(this.config);
    this.health = new HealthChecks({ log: this.log });
    this.listeners = new Listeners({
      shared: options.shared === true,
      log: this.log,
      onRequest: (res, req, local) => this.onRequest(res, req, local),
      onConnections: (count) => this.observer.connections(count),
    });
    this.pools = new PoolRegistry({
      tuning: this.tuning,
      log: this.log,
      observer: this.observer,
      ...(options.budgets !== undefined ? { budgets: options.budgets } : {}),
    });
    this.proxyContext = {
      pools: this.pools,
      server: serverInfoFromEnv(process.env, this.config.serverAdmin),
      exchange: {
        maxHead: this.tuning.FCGATE_MAX_HEAD,
        stderrLimit: this.tuning.FCGATE_STDERR_LIMIT,
        bodyBufferLimit: this.tuning.FCGATE_BODY_BUFFER,
        log: this.log,
      },
      log: this.log,
    };
    this.replyContext = {
      log: this.log,
      localRedirect: (reply, location) => this.localRedirect(reply, location),
      retryAfterSeconds: this.tuning.FCGATE_RETRY_AFTER,
      sendTimeoutMs: this.tuning.FCGATE_SEND_TIMEOUT,
    };
    this.bodyLimits = {
      tuning: this.tuning,
      spoolAccount: new SpoolAccount(
        this.tuning.FCGATE_SPOOL_MEMORY_TOTAL,
        this.tuning.FCGATE_SPOOL_DISK_TOTAL,
        options.spoolAccount,
      ),
      spoolDir: options.spoolDir ?? (this.tuning.FCGATE_SPOOL_DIR || tmpdir()),
    };
    this.resetMembers();
    this.observer.attach({
      inFlight: () => this.inFlight,
      pools: () =>
        [...this.pools.all].map((p) => {
          const s = p.stats();
          return { name: p.name, idle: s.idle, busy: s.busy, size: s.size, pending: s.pending };
        }),
      memberErrors: () =>
        [...this.balancers.values()].flatMap((b) => b.members.map((m) => ({ slot: m.slot, errorUntil: m.errorUntil }))),
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
    if (this.options.healthChecks !== false) this.health.apply(this.config, board);
  }

  /** The balancers' shared state (for the manager, or to hand to other threads). */
  get balancerBoard(): BalancerBoard {
    return this.board;
  }

  /** A backend's connection cap (the metrics' fcgate_upstream_connections_max). */
  capOf(name: string): number | undefined {
    return this.pools.capOf(name);
  }

  /** The health checker running in this gateway, if any (history for the manager). */
  get healthChecker(): HealthChecker | null {
    return this.health.current;
  }

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
  reload(
    config: GatewayConfig,
    budgets?: Map<string, ConnectionBudget>,
    balancerState?: SharedArrayBuffer,
    telemetry?: TelemetrySpec,
  ): void {
    this.config = config;
    this.listeners.reloadTls(config);
    this.proxyContext.server = serverInfoFromEnv(process.env, config.serverAdmin);
    this.useBalancerState(balancerState);
    this.observer.configure(config, telemetry);
    this.pools.reload(budgets);
  }

  /** Counters for the metrics: requests served and in flight, this thread's pools. */
  stats(): GatewayStats {
    return { served: this.served, inFlight: this.inFlight, pools: this.poolStats(), balancers: this.balancerStats() };
  }

  /** Listens on every configured address; returns the bound endpoints. */
  listen(): Promise<LocalEndpoint[]> {
    return this.listeners.listen(this.config);
  }

  /** Stops accepting; in-flight requests go on. */
  stopListening(): void {
    this.listeners.stopListening();
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
    this.health.stop();
    this.listeners.close();
    this.pools.close();
  }

  poolStats(): Record<string, PoolStats> {
    return this.pools.stats();
  }

  private onRequest(res: HttpResponse, req: HttpRequest, local: LocalEndpoint): void {
    const snap = takeSnapshot(req, res, local, local.scheme ?? 'http');
    const fields = snap.headers.length; // as the client sent them (LimitRequestFields)
    // mod_remoteip, with the site the request is for (Apache applies it per vhost).
    const remoteIp = (this.config.vhosts.length === 0 ? this.config : siteFor(this.config, snap)).remoteIp;
    const peer = remoteIp === null ? null : applyRemoteIp(snap, remoteIp);
    const reply = new UwsReply(res, snap.method, this.replyContext);
    if (peer !== null) reply.peerAddress = peer;
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
    const framing = checkRequest(snap, this.config.requestLimits, fields);
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
      case 'redirect': // mod_alias Redirect: 3xx with Location, or 410 & co. without
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
      if (err !== null) {
        reply.sendError(404);
        return;
      }
      serveStatic(reply.res, snap, filename, st, {
        headers: reply.extraHeaders,
        contentType,
        onDone: (o) => {
          reply.fileServed(o.status, o.bytes, o.aborted);
        },
      });
    });
  }

  /**
   * The app through an UpstreamRequest: the member a balancer chooses (else the route's
   * worker), the CGI environment, the body by its strategy (request-body.ts).
   */
  private proxy(
    reply: UwsReply,
    snap: RequestSnapshot,
    route: Extract<RouteResult, { kind: 'proxy' }>,
    fromClient: boolean,
  ): void {
    const r = route.resolved;
    if (r.env.size > 0) reply.env = r.env;
    reply.balancer = r.balancer;
    let choice: BalancedChoice | null = null;
    if (r.balancer !== null) {
      choice = this.pickMember(r.balancer, reply, snap);
      if (choice === null) return; // answered: 503, every member unusable
    }
    const worker = choice?.member.worker ?? r.worker;
    if (worker === null) {
      this.fail(reply, new GatewayError('FCGATE_INTERNAL', null, 'route without a worker'));
      return;
    }
    const framing: BodyFraming = fromClient ? reply.framing : NO_BODY;
    const length = framing.length;
    const t = this.tuning;
    // LimitRequestBody where the request lands, beside FCGATE_MAX_BODY: the smaller wins.
    const own = r.limitRequestBody ?? 0;
    const max: BodyMax =
      own > 0 && own < t.FCGATE_MAX_BODY
        ? { bytes: own, name: 'LimitRequestBody' }
        : { bytes: t.FCGATE_MAX_BODY, name: 'FCGATE_MAX_BODY' };
    if (length > max.bytes) {
      reply.tooLarge(
        new GatewayError('FCGATE_BODY_TOO_LARGE', null, `Content-Length ${length} is over ${max.name}=${max.bytes}`),
      );
      return;
    }
    if (framing.chunked || (length > t.FCGATE_BODY_BUFFER && worker.requestBuffering)) {
      receiveSpooled(reply, length, this.bodyLimits, max, (spool) => {
        // The app gets CONTENT_LENGTH instead of Transfer-Encoding (docs/apache-differences.md).
        const headers = snap.headers.filter(([n]) => n !== 'transfer-encoding' && n !== 'content-length');
        headers.push(['content-length', String(spool.size)]);
        const upstream = this.upstreamFor(reply, { ...snap, headers }, r, spool.size > 0, worker, choice);
        if (upstream === null) return;
        if (spool.size > 0) replaySpool(reply, spool, upstream);
        upstream.start();
      });
      return;
    }
    const upstream = this.upstreamFor(reply, snap, r, length > 0, worker, choice);
    if (upstream === null) return;
    if (length > 0) receiveDirect(reply, upstream, length, length > t.FCGATE_BODY_BUFFER, this.bodyLimits);
    else upstream.start();
  }

  /** The reply's UpstreamRequest (null after answering: the CGI environment could not be built). */
  private upstreamFor(
    reply: UwsReply,
    snap: RequestSnapshot,
    r: ResolvedRequest,
    hasBody: boolean,
    worker: NonNullable<ResolvedRequest['worker']>,
    choice: BalancedChoice | null,
  ): UpstreamRequest | null {
    let upstream: UpstreamRequest;
    try {
      upstream = new UpstreamRequest(
        this.proxyContext,
        { snap, resolved: r, hasBody, requestId: reply.requestId, tag: reply.tag },
        worker,
        reply,
        choice,
      );
    } catch (err) {
      this.fail(reply, err as GatewayError);
      return null;
    }
    reply.upstream = upstream;
    this.requestBoard.setBackend(reply.inFlightSlot, upstream.worker.name);
    return upstream;
  }

  /**
   * Chooses a member of `balancer` for a request (sticky route, lbmethod, lbset, hot
   * standby, error state: src/balancer); failover is the UpstreamRequest's. null when none
   * is usable: then the client has its 503 and the log one line saying why.
   */
  private pickMember(balancer: string, reply: UwsReply, snap: RequestSnapshot): BalancedChoice | null {
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
    return { balancer: b, member: m, route, picked: this.picked };
  }

  private readonly picked = (slot: number): void => this.observer.picked(slot);

  private localRedirect(reply: UwsReply, location: string): void {
    if (reply.redirectDepth >= this.tuning.FCGATE_REDIRECT_LIMIT) {
      this.fail(
        reply,
        new GatewayError(
          'FCGATE_REDIRECT_LOOP',
          reply.upstream?.backend ?? null,
          `more than ${this.tuning.FCGATE_REDIRECT_LIMIT} local redirects, last to ${location}`,
        ),
      );
      return;
    }
    const q = location.indexOf('?');
    const prev = reply.snapshot;
    const headers = (prev?.headers ?? []).filter(
      ([n]) => n !== 'content-length' && n !== 'content-type' && n !== 'transfer-encoding',
    );
    const base = prev ?? null;
    if (base === null) {
      reply.sendError(502);
      return;
    }
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
    reply.onFailure(err, false);
  }
}
