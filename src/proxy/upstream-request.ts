// One request's journey to the app, as the front sees it: one stable object from the moment
// the route is known until the response ends, whatever happens behind it. It builds the
// Exchange (the CGI environment and the preamble: buildExchange), owns it, and, for a
// balanced route, is the only owner of failover: the member's counters while it runs, the
// passive health check (connect refused or timed out, failonstatus, failontimeout put the
// member in error for `retry`), and a fresh exchange on another member when nothing of the
// request reached the first one (or it is idempotent, bodiless and got no answer), up to
// maxattempts. No uWS types: the front hands a ResponseSink (its reply) and gets this.
// (nginx keeps retries in ngx_http_upstream_next, not in its FastCGI module; undici's
// RetryHandler owns what it re-dispatches and hands downstream one stable controller.)
import type { BalancerRuntime, Member } from '../balancer/balancer.js';
import { buildParams, type ServerInfo } from '../cgi/environment.js';
import type { CgiHead } from '../cgi/response-head.js';
import type { ResolvedRequest, WorkerSettings } from '../config/model.js';
import { memberTargetPath } from '../config/router.js';
import { GatewayError, type ErrorCode } from '../errors.js';
import { writePreamble } from '../protocol/request-writer.js';
import type { ExchangeTiming } from '../request-record.js';
import type { RequestSnapshot } from '../request.js';
import { Exchange, type ExchangeOptions, type ResponseSink } from '../upstream/exchange.js';
import type { PoolRegistry } from './pools.js';

/** What building an exchange needs from the serving thread. */
export interface ProxyContext {
  pools: PoolRegistry;
  server: ServerInfo;
  exchange: ExchangeOptions;
  log(line: string): void;
}

/** The request to send: what the route resolved to, and what the front knows of it. */
export interface RequestPlan {
  snap: RequestSnapshot;
  resolved: ResolvedRequest;
  /** A request body follows (sendBody); else STDIN is closed in the preamble. */
  hasBody: boolean;
  /** The request id (UNIQUE_ID to the app) and the tag of its log lines. */
  requestId: string;
  tag: string;
}

/** The front's side of an UpstreamRequest: the exchange's sink, plus the Vary it must send. */
export interface UpstreamSink extends ResponseSink {
  /** Request headers a ProxyFCGISetEnvIf condition read: the response must vary on them. */
  addVary(names: readonly string[]): void;
}

/** A balanced route: the balancer, the member it chose, the sticky route asked for. */
export interface BalancedChoice {
  balancer: BalancerRuntime;
  member: Member;
  route: string | null;
  /** The metrics hear of each member chosen (failovers included). */
  picked(slot: number): void;
}

/** Failures that say the member could not take the request: nothing reached it. */
const NOT_SENT: ReadonlySet<ErrorCode> = new Set([
  'FCGATE_CONNECT_FAILED',
  'FCGATE_CONNECT_TIMEOUT',
  'FCGATE_QUEUE_FULL',
  'FCGATE_BACKEND_OVERLOADED',
]);
/** Failures that put the member in error (Apache: the worker failed to connect). */
const MEMBER_DOWN: ReadonlySet<ErrorCode> = new Set(['FCGATE_CONNECT_FAILED', 'FCGATE_CONNECT_TIMEOUT']);
/** After the request went out: retried only for idempotent requests without a body. */
const LOST_BEFORE_HEAD: ReadonlySet<ErrorCode> = new Set(['FCGATE_APP_CLOSED']);
const TIMEOUTS: ReadonlySet<ErrorCode> = new Set(['FCGATE_HEADER_TIMEOUT', 'FCGATE_READ_TIMEOUT']);
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * The exchange for `plan` on `worker` (a balancer member's worker: `member`), its sink
 * `sink`. Throws a GatewayError (FCGATE_INTERNAL) when the CGI environment cannot be built.
 */
function buildExchange(
  ctx: ProxyContext,
  plan: RequestPlan,
  worker: WorkerSettings,
  member: Member | null,
  sink: ResponseSink,
  front: UpstreamSink,
): Exchange {
  let r = plan.resolved;
  // A member URL's own path goes before the target path, one slash where both have one (as Apache).
  if (member !== null && member.path !== '') r = { ...r, targetPath: memberTargetPath(member.path, r.targetPath) };
  const pool = ctx.pools.poolFor(worker);
  let preamble: Buffer;
  try {
    const params = buildParams(plan.snap, r, ctx.server, member === null ? null : member.worker);
    params.list.push('UNIQUE_ID', plan.requestId); // mod_unique_id's name for the request id
    if (params.vary.length > 0) front.addVary(params.vary);
    preamble = writePreamble(1, params.list, { keepConn: pool.keeps, endStdin: !plan.hasBody });
  } catch (err) {
    throw new GatewayError('FCGATE_INTERNAL', worker.name, `building the request failed: ${(err as Error).message}`);
  }
  return new Exchange(pool, preamble, plan.hasBody, sink, ctx.exchange, plan.tag);
}

export class UpstreamRequest implements ResponseSink, ExchangeTiming {
  /** The exchange in progress (replaced by a failover). */
  private exchange: Exchange;
  /** The worker it goes to (a balanced request: the current member's). */
  worker: WorkerSettings;
  private member: Member | null;
  /** Members that failed this request, in order. */
  private tried: Member[] | null = null;
  /** The member's busy count holds this request. */
  private running = false;
  private done = false;

  /** Throws a GatewayError when the first exchange cannot be built (see buildExchange). */
  constructor(
    private readonly ctx: ProxyContext,
    private readonly plan: RequestPlan,
    worker: WorkerSettings,
    private readonly sink: UpstreamSink,
    private readonly choice: BalancedChoice | null = null,
  ) {
    this.member = choice?.member ?? null;
    this.worker = this.member?.worker ?? worker;
    this.exchange = buildExchange(ctx, plan, this.worker, this.member, this, sink);
  }

  // The front's controller.

  get backend(): string {
    return this.exchange.backend;
  }
  get startedAt(): number {
    return this.exchange.startedAt;
  }
  get acquiredAt(): number {
    return this.exchange.acquiredAt;
  }
  /** Whether the client should stop sending body for now (Exchange.bodyPaused). */
  get bodyPaused(): boolean {
    return this.exchange.bodyPaused;
  }

  /** Asks the pool for a connection (a balanced request: counts the member busy). */
  start(): void {
    const m = this.member;
    if (m !== null) {
      this.running = true;
      m.busy++;
      if (this.plan.hasBody)
        m.bytesIn += Number(this.plan.snap.headers.find(([n]) => n === 'content-length')?.[1] ?? 0) || 0;
    }
    this.exchange.start();
  }

  /** A piece of the request body; false: pause the client until onBodyWritable. */
  sendBody(chunk: Uint8Array, last: boolean): boolean {
    return this.exchange.sendBody(chunk, last);
  }

  /** The client can take more of the response. */
  resume(): void {
    this.exchange.resume();
  }

  /** Keep reading the app but drop the body (HEAD, a local redirect's first answer). */
  discardBody(): void {
    this.exchange.discardBody();
  }

  /** The client is gone: the app's connection is closed (its worker freed). */
  abort(): void {
    this.exchange.abort();
    this.settle();
  }

  /** The response is over (answered, failed or aborted): the member is no longer busy with it. */
  finish(): void {
    this.done = true;
    this.settle();
  }

  private settle(): void {
    if (!this.running) return;
    this.running = false;
    this.member!.busy--;
  }

  // ResponseSink: the exchange's answers, passed on (with the balancer's bookkeeping).

  onHead(head: CgiHead): void {
    const m = this.member;
    if (m !== null) {
      const b = this.choice!.balancer;
      const fail = b.config.failOnStatus;
      if (fail.length > 0 && fail.includes(head.status)) {
        b.markError(m, Date.now(), `failonstatus: answered ${head.status}`);
        this.ctx.log(
          `FCGATE_MEMBER_ERROR balancer=${b.name} member=${m.name} ${this.plan.tag} cause="status ${head.status} is in failonstatus" retry_ms=${m.worker.retryMs}`,
        );
      }
    }
    this.sink.onHead(head);
  }

  onBody(data: Buffer): boolean {
    if (this.member !== null) this.member.bytesOut += data.length;
    return this.sink.onBody(data);
  }

  onEnd(): void {
    this.settle();
    this.sink.onEnd();
  }

  onBodyWritable(): void {
    this.sink.onBodyWritable();
  }

  corked(fn: () => void): void {
    if (this.sink.corked !== undefined) this.sink.corked(fn);
    else fn();
  }

  onFailure(err: GatewayError, headSent: boolean): void {
    this.settle();
    const m = this.member;
    if (m === null || this.done) {
      this.sink.onFailure(err, headSent);
      return;
    }
    const b = this.choice!.balancer;
    const now = Date.now();
    const code = err.code;
    if (MEMBER_DOWN.has(code) || (TIMEOUTS.has(code) && b.config.failOnTimeout)) {
      b.markError(m, now, `${code}: ${err.message}`);
      this.ctx.log(
        `FCGATE_MEMBER_ERROR balancer=${b.name} member=${m.name} ${this.plan.tag} cause="${err.message.replace(/"/g, "'")}" retry_ms=${m.worker.retryMs}`,
      );
    }
    // A body can move to another member only while nothing of it was sent (handOverBody).
    const movable = !this.plan.hasBody || !this.exchange.acquired;
    if (!headSent && !b.config.noFailover && movable && this.canRetry(code)) {
      const tried = (this.tried ??= []);
      tried.push(m);
      const next = tried.length > b.maxAttempts ? null : b.pick(now, null, tried);
      if (next !== null && 'worker' in next) {
        this.ctx.log(
          `FCGATE_FAILOVER balancer=${b.name} from=${m.name} to=${next.name} ${this.plan.tag} cause=${code} attempt=${tried.length}`,
        );
        this.choice!.picked(next.slot);
        if (this.failOver(next)) return;
      } else if (NOT_SENT.has(code)) {
        // Every member tried could not take it: 503 naming each one and why.
        const which = tried.map((t) => `${t.name} (${t.lastError || code})`).join(', ');
        const why =
          next === null ? `gave up after ${tried.length} attempt(s) (maxattempts=${b.maxAttempts})` : next.reason;
        this.sink.onFailure(new GatewayError('FCGATE_NO_MEMBER', b.name, `${why}; tried: ${which}`), false);
        return;
      }
    }
    this.sink.onFailure(err, headSent);
  }

  /** Moves the request to `next` with a fresh exchange; false when that cannot be built. */
  private failOver(next: Member): boolean {
    const old = this.exchange;
    let ex: Exchange;
    try {
      ex = buildExchange(this.ctx, this.plan, next.worker, next, this, this.sink);
    } catch (err) {
      this.sink.onFailure(err as GatewayError, false);
      return true;
    }
    // Without a body the new exchange is complete; with one, the held STDIN moves over
    // (possible only while no connection was ever handed to the old exchange: `movable`).
    if (this.plan.hasBody && !old.handOverBody(ex)) {
      ex.abort();
      return false;
    }
    this.member = next;
    this.worker = next.worker;
    this.exchange = ex;
    this.start();
    return true;
  }

  /** Nothing reached the member, or the request can be repeated without harm. */
  private canRetry(code: ErrorCode): boolean {
    return (
      NOT_SENT.has(code) || (!this.plan.hasBody && IDEMPOTENT.has(this.plan.snap.method) && LOST_BEFORE_HEAD.has(code))
    );
  }
}
