// One request sent through a balancer: the member's counters while it runs (busy, bytes,
// elected), the passive health check (connect refused or timed out, failonstatus,
// failontimeout put the member in error for `retry`), and failover: when nothing reached
// the member, or the request is idempotent, bodiless and no answer came, it goes to
// another member, up to maxattempts. It sits between the Exchange and the UwsReply as
// the exchange's ResponseSink. Which member is chosen is src/balancer's business.
import type { BalancerRuntime, Member } from '../balancer/balancer.js';
import { GatewayError, type ErrorCode } from '../errors.js';
import type { ResolvedRequest } from '../config/model.js';
import type { CgiHead } from '../cgi/response-head.js';
import { headerOf, type RequestSnapshot } from '../request.js';
import type { Exchange, ResponseSink } from '../upstream/exchange.js';
import type { UwsReply } from './reply.js';

/** What the gateway does for a BalancedRequest: start an exchange on a member. */
export interface BalancedHost {
  /** Builds and starts nothing: returns a new exchange for `member` (sink = req), or null after answering the client. */
  exchangeFor(req: BalancedRequest, member: Member): Exchange | null;
  log(line: string): void;
  /** A member was chosen (failover): the metrics count picks. */
  picked(slot: number): void;
}

/** Failures that say the member could not take the request: nothing reached it. */
const NOT_SENT: ReadonlySet<ErrorCode> = new Set(['FCGATE_CONNECT_FAILED', 'FCGATE_CONNECT_TIMEOUT',
  'FCGATE_QUEUE_FULL', 'FCGATE_BACKEND_OVERLOADED']);
/** Failures that put the member in error (Apache: the worker failed to connect). */
const MEMBER_DOWN: ReadonlySet<ErrorCode> = new Set(['FCGATE_CONNECT_FAILED', 'FCGATE_CONNECT_TIMEOUT']);
/** After the request went out: retried only for idempotent requests without a body. */
const LOST_BEFORE_HEAD: ReadonlySet<ErrorCode> = new Set(['FCGATE_APP_CLOSED']);
const TIMEOUTS: ReadonlySet<ErrorCode> = new Set(['FCGATE_HEADER_TIMEOUT', 'FCGATE_READ_TIMEOUT']);

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export class BalancedRequest implements ResponseSink {
  member: Member;
  exchange: Exchange | null = null;
  /** What the first exchange was built from (set by the gateway), for another member's exchange. */
  snap: RequestSnapshot | null = null;
  resolved: ResolvedRequest | null = null;
  hasBody = false;
  /** Members that failed this request, in order. */
  private tried: Member[] | null = null;
  private running = false;

  constructor(readonly balancer: BalancerRuntime, first: Member, readonly reply: UwsReply,
              readonly route: string | null, private readonly host: BalancedHost) {
    this.member = first;
    const prev = reply.onFinished;
    reply.onFinished = (r) => { this.settle(); if (prev !== null) prev(r); };
  }

  /** Counts the member busy and starts `exchange` on it. */
  start(exchange: Exchange): void {
    this.exchange = exchange;
    this.reply.exchange = exchange;
    this.running = true;
    this.member.busy++;
    if (this.hasBody) this.member.bytesIn += Number(headerOf(this.snap!, 'content-length') ?? 0) || 0;
    exchange.start();
  }

  private settle(): void {
    if (!this.running) return;
    this.running = false;
    this.member.busy--;
  }

  // ResponseSink

  onHead(head: CgiHead): void {
    const fail = this.balancer.config.failOnStatus;
    if (fail.length > 0 && fail.includes(head.status)) {
      this.balancer.markError(this.member, Date.now(), `failonstatus: answered ${head.status}`);
      this.host.log(`FCGATE_MEMBER_ERROR balancer=${this.balancer.name} member=${this.member.name} ${this.reply.tag} cause="status ${head.status} is in failonstatus" retry_ms=${this.member.worker.retryMs}`);
    }
    this.reply.onHead(head);
  }

  onBody(data: Buffer): boolean {
    this.member.bytesOut += data.length;
    return this.reply.onBody(data);
  }

  onEnd(): void {
    this.settle();
    this.reply.onEnd();
  }

  onBodyWritable(): void { this.reply.onBodyWritable(); }

  corked(fn: () => void): void { this.reply.corked(fn); }

  onFailure(err: GatewayError, headSent: boolean): void {
    this.settle();
    const now = Date.now();
    const code = err.code;
    const m = this.member;
    if (MEMBER_DOWN.has(code) || (TIMEOUTS.has(code) && this.balancer.config.failOnTimeout)) {
      this.balancer.markError(m, now, `${code}: ${err.message}`);
      this.host.log(`FCGATE_MEMBER_ERROR balancer=${this.balancer.name} member=${m.name} ${this.reply.tag} cause="${err.message.replace(/"/g, "'")}" retry_ms=${m.worker.retryMs}`);
    }
    // A body can move to another member only while nothing of it was sent (handOverBody).
    const movable = !this.hasBody || this.exchange === null || !this.exchange.acquired;
    if (!headSent && !this.reply.aborted && !this.balancer.config.noFailover && movable && this.canRetry(code)) {
      const tried = this.tried ??= [];
      tried.push(m);
      const next = tried.length > this.balancer.maxAttempts ? null : this.balancer.pick(now, null, tried);
      if (next !== null && 'worker' in next) {
        this.host.picked(next.slot);
        this.host.log(`FCGATE_FAILOVER balancer=${this.balancer.name} from=${m.name} to=${next.name} ${this.reply.tag} cause=${code} attempt=${tried.length}`);
        this.member = next;
        const old = this.exchange!;
        const ex = this.host.exchangeFor(this, next);
        if (ex === null) return;
        // Without a body the new exchange is complete; with one, the held STDIN moves over
        // (only possible when no connection was ever handed to the old exchange).
        if (!this.hasBody || old.handOverBody(ex)) { this.start(ex); return; }
        ex.abort();                                    // not reached: `movable` checked it
      } else if (NOT_SENT.has(code)) {
        // Every member tried could not take it: 503 naming each one and why.
        const which = tried.map((t) => `${t.name} (${t.lastError || code})`).join(', ');
        const why = next === null ? `gave up after ${tried.length} attempt(s) (maxattempts=${this.balancer.maxAttempts})` : next.reason;
        this.reply.onFailure(new GatewayError('FCGATE_NO_MEMBER', this.balancer.name, `${why}; tried: ${which}`), false);
        return;
      }
    }
    this.reply.onFailure(err, headSent);
  }

  /** Nothing reached the member, or the request can be repeated without harm. */
  private canRetry(code: ErrorCode): boolean {
    return NOT_SENT.has(code) || (!this.hasBody && IDEMPOTENT.has(this.reply.method) && LOST_BEFORE_HEAD.has(code));
  }
}
