// One serving thread's gateway: a uWS App per listen address and the dispatch of each
// request — checks (request-checks.ts), routing (config/router.ts), then a static file, an
// answer of the gateway's own, or the app through an UpstreamRequest (proxy/), with its body
// (request-body.ts) and the reply (reply.ts); local redirects come back here. It also holds
// what the thread shares between requests: pools (proxy/pools.ts), balancers, the health
// checks when run here. Startup checks and signals are the CLI's business.
import { stat } from 'node:fs';
import { tmpdir } from 'node:os';
import { BalancerRuntime } from '../balancer/balancer.js';
import type { HealthChecker } from '../balancer/health-check.js';
import { HealthChecks } from '../proxy/health.js';
import { BalancerBoard, memberLayout } from '../balancer/shared-state.js';
import type { BalancerStats } from '../balancer/stats.js';
import { serverInfoFromEnv } from '../cgi/environment.js';
import type { GatewayConfig, ListenAddress, ResolvedRequest } from '../config/model.js';
import { resolve, siteFor, type RouteResult } from '../config/router.js';
import { applyRemoteIp } from '../config/remote-ip.js';
import { sitesOn } from '../config/sites.js';
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
import { closeListening, listenApp, type Listening } from './listen.js';
import { UwsReply, type ReplyContext } from './reply.js';
import { receiveDirect, receiveSpooled, replaySpool, type BodyLimits, type BodyMax } from './request-body.js';
import { checkRequest, type BodyFraming } from './request-checks.js';
import { takeSnapshot, type LocalEndpoint } from './snapshot.js';
import { SpoolAccount } from './spool.js';
import { serveStatic } from './static-files.js';
import { certificateOf, tlsApp, TlsFiles, type TlsSite } from './tls.js';
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

/** One uWS app and its listener. */
interface AppEntry {
  app: TemplatedApp;
  listening: Listening | null;
  local: LocalEndpoint;
  listen: ListenAddress;
  /** The sites of a TLS listener (the default first); null for plain HTTP. */
  tls: TlsSite[] | null;
  handler: (res: HttpResponse, req: HttpRequest) => void;
  /** Connections open now (uWS's filter), and whether a TLS reload replaced it. */
  open: number;
  retired: boolean;
}
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
  private readonly health: HealthChecks;
  private readonly apps: AppEntry[] = [];
  /** Listeners replaced by a TLS reload that still have connections. */
  private readonly retired = new Set<AppEntry>();
  /** Chain files written for TLS sites (removed at close). */
  private readonly tlsFiles = new TlsFiles();
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
        [...this.pools.all].map((p) => ({
          name: p.name,
          idle: p.idleCount,
          busy: p.busy,
          size: p.size,
          pending: p.pending,
        })),
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
    this.reloadTls();
    this.proxyContext.server = serverInfoFromEnv(process.env, config.serverAdmin);
    this.useBalancerState(balancerState);
    this.observer.configure(config, telemetry);
    this.pools.reload(budgets);
  }

  /**
   * SIGHUP with TLS listeners whose files may have changed: a new SSLApp with the files as
   * they are now listens on the same port (SO_REUSEPORT: the serving threads share their
   * ports), then the old listen socket closes; the old app keeps its open connections and is
   * closed once the last one is gone (front/tls.ts says why not in place). A gateway that
   * listens alone (exclusive port) cannot: it logs that a restart is needed. One line each.
   */
  private reloadTls(): void {
    const uws = loadUws();
    for (const a of [...this.apps]) {
      if (a.tls === null || a.listening === null) continue;
      const l = a.listen;
      const where = `listen=${a.local.address}:${a.local.port}`;
      if (!this.config.listen.some((x) => x.host === l.host && x.port === l.port && x.protocol === 'https')) continue;
      if (this.options.shared !== true) {
        this.log(
          `FCGATE_TLS_RELOAD_FAILED ${where} cause="this gateway listens alone (exclusive port): restart it to serve new certificates"`,
        );
        continue;
      }
      const after = sitesOn(this.config, l);
      let app: TemplatedApp;
      try {
        app = tlsApp(uws, after, this.tlsFiles, a.handler);
      } catch (err) {
        this.log(
          `FCGATE_TLS_RELOAD_FAILED ${where} cause="${(err as Error).message.replace(/"/g, "'")}": the old certificates stay`,
        );
        continue;
      }
      const entry: AppEntry = { ...a, app, listening: null, tls: after, open: 0, retired: false };
      app.filter((_res, count) => this.onConnections(entry, count as number));
      listenApp(app, a.local.address, a.local.port, { exclusive: false }).then(
        (listening) => {
          entry.listening = listening;
          this.apps.push(entry);
          this.retire(a);
          this.log(
            `FCGATE_TLS_RELOADED ${where} default_certificate=${certificateOf(after[0]!)} `
              + `names=${after.flatMap((x) => x.names).join(',') || '(none)'}`,
          );
        },
        (err: Error) => {
          app.close();
          this.log(
            `FCGATE_TLS_RELOAD_FAILED ${where} cause="${err.message.replace(/"/g, "'")}": the old certificates stay`,
          );
        },
      );
    }
  }

  /** A listener replaced (TLS reload): it stops accepting; its app closes with its last connection. */
  private retire(a: AppEntry): void {
    const i = this.apps.indexOf(a);
    if (i >= 0) this.apps.splice(i, 1);
    if (a.listening !== null) {
      closeListening(a.listening);
      a.listening = null;
    }
    a.retired = true;
    if (a.open <= 0) a.app.close();
    else this.retired.add(a);
  }

  private onConnections(a: AppEntry, count: number): void {
    a.open += count;
    this.observer.connections(count);
    if (a.retired && a.open <= 0 && this.retired.delete(a)) setImmediate(() => a.app.close());
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
    if (typeof cfg === 'function' && !markRemoved) {
      cfg('999999990007');
      markRemoved = true;
    }
    const out: LocalEndpoint[] = [];
    for (const l of this.config.listen) {
      const host = l.host ?? '0.0.0.0';
      const https = l.protocol === 'https';
      const local: LocalEndpoint = https
        ? { address: host, port: l.port, scheme: 'https' }
        : { address: host, port: l.port };
      const handler = (res: HttpResponse, req: HttpRequest): void => this.onRequest(res, req, local);
      let app: TemplatedApp;
      let tls: TlsSite[] | null = null;
      if (https) {
        tls = sitesOn(this.config, l);
        try {
          app = tlsApp(uws, tls, this.tlsFiles, handler);
        } catch (err) {
          throw new Error(
            `Listen ${host}:${l.port} https: uWebSockets.js could not load the certificate `
              + `${certificateOf(tls[0]!)}: ${(err as Error).message}`,
          );
        }
      } else {
        app = uws.App();
        app.any('/*', handler);
      }
      const entry: AppEntry = { app, listening: null, local, listen: l, tls, handler, open: 0, retired: false };
      app.filter((_res, count) => this.onConnections(entry, count as number));
      entry.listening = await listenApp(app, host, l.port, { exclusive: !this.options.shared });
      entry.local.port = entry.listening.port;
      this.apps.push(entry);
      out.push({ ...entry.local });
    }
    return out;
  }

  /** Stops accepting; in-flight requests go on. */
  stopListening(): void {
    for (const a of this.apps)
      if (a.listening !== null) {
        closeListening(a.listening);
        a.listening = null;
      }
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
    this.stopListening();
    for (const a of this.apps) a.app.close();
    for (const a of this.retired) a.app.close();
    this.retired.clear();
    this.tlsFiles.remove();
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
