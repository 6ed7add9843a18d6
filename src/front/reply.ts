// One client request's answer: what the client gets, whatever happens behind. The app's
// head goes through the policies here (a local redirect is served internally, a conditional
// GET answered as an origin would, HEAD and bodiless statuses), then the ResponseWriter
// streams it; a failure becomes the table's status (errors.ts) while no head reached the
// client, else a closed connection so the truncation shows; the gateway's own answers
// (errors, refusals, redirects) are one page (error-page.ts). One object per client request:
// it survives local redirects (restart) and carries the record the access log and the
// metrics read when it finishes (request-record.ts).
import type { CgiHead } from '../cgi/response-head.js';
import { formatFailure, type GatewayError, retryAfterFor, statusFor } from '../errors.js';
import type { UpstreamRequest, UpstreamSink } from '../proxy/upstream-request.js';
import type { RequestSnapshot } from '../request.js';
import type { RequestRecord } from '../request-record.js';
import type { BodyIntake } from './body-intake.js';
import { asNotModified, notModified } from './conditional.js';
import { ERROR_PAGE_TYPE, errorPage, reasonOf } from './error-page.js';
import { inFlightBoard } from './in-flight.js';
import type { BodyFraming } from './request-checks.js';
import { noBody, ResponseWriter, type WriterOwner } from './response-writer.js';
import { SendWatch } from './send-watch.js';
import type { BodySpool } from './spool.js';
import type { HttpResponse } from './uws.js';

export interface ReplyContext {
  /** Logs one line to the error log. */
  log(line: string): void;
  /** Serves `location` internally (RFC 3875 §6.2.2 local redirect). */
  localRedirect(reply: UwsReply, location: string): void;
  retryAfterSeconds: number;
  /** FCGATE_SEND_TIMEOUT: how long a client may take nothing of a held-back response (0: no limit). */
  sendTimeoutMs: number;
}

/** How an answer made by the gateway treats the connection. */
export interface ErrorOptions {
  /** Add Retry-After (FCGATE_RETRY_AFTER seconds). */
  retryAfter?: boolean;
  /**
   * 'now': uWS closes the connection once the answer is out (what follows can't be trusted).
   * 'linger': `Connection: close` is sent but uWS goes on reading (and dropping) the rest of
   * the body, so a client still sending gets the answer, not a reset (nginx's lingering
   * close; issue 9); the client closes.
   */
  close?: 'now' | 'linger';
  /** More headers, flat [name, value, …]. */
  headers?: readonly string[];
}

/**
 * Where the answer stands. Waiting: nothing from the app yet. Redirecting: the app asked
 * for a local redirect; its body is dropped and the next request follows its end.
 * Streaming: the app's head is the writer's (queued, or out). Answered: the response is
 * complete on the client side. Aborted: the client went away first.
 */
export const ReplyState = { Waiting: 0, Redirecting: 1, Streaming: 2, Answered: 3, Aborted: 4 } as const;
export type ReplyState = (typeof ReplyState)[keyof typeof ReplyState];

export class UwsReply implements UpstreamSink, RequestRecord, WriterOwner {
  state: ReplyState = ReplyState.Waiting;
  /** The request's way to the app (null: not proxied, or between a local redirect's two requests). */
  upstream: UpstreamRequest | null = null;
  snapshot: RequestSnapshot | null = null;
  /** The TCP peer, when mod_remoteip made another address REMOTE_ADDR (the access log's %{c}a). */
  peerAddress: string | undefined = undefined;
  /** Names the request in log lines: "req=<id> GET /x". */
  tag = '';
  // The RequestRecord the access log and the metrics read when the reply finishes
  // (observe/thread-observer.ts begin() and end()).
  requestId = '';
  startedAt = 0;
  status = 0;
  bytesIn = 0;
  bytesOut = 0;
  firstByteAt = 0;
  routeIndex = 0;
  errorCode: string | null = null;
  balancer: string | null = null;
  env: ReadonlyMap<string, string> | null = null;
  /** The app's response head once it came (read by the access log's %{…}o). */
  head: CgiHead | null = null;
  /** Headers added by the gateway (Vary, the request id), flat [name, value, …]. */
  extraHeaders: string[] = [];
  redirectDepth = 0;
  /** A buffered request body (chunked, or spooled): closed when the reply completes. */
  spool: BodySpool | null = null;
  /** The request body's client side, while one is being received. */
  intake: BodyIntake | null = null;
  /** The request's body framing (request-checks.ts), set before dispatch. */
  framing: BodyFraming = { length: -1, chunked: false };
  /** Called once when the response is complete or abandoned. */
  onFinished: ((reply: UwsReply) => void) | null = null;
  /** Called when STDIN can take more (a spool's replay); else the client is resumed. */
  bodyWritable: (() => void) | null = null;
  /** This request's slot on the thread's in-flight board (in-flight.ts), -1 for none. */
  inFlightSlot = -1;
  private redirect: string | null = null;
  private readonly writer: ResponseWriter;
  private readonly sendWatch: SendWatch;
  private finishedCalled = false;

  constructor(
    readonly res: HttpResponse,
    readonly method: string,
    private readonly ctx: ReplyContext,
  ) {
    this.writer = new ResponseWriter(this);
    this.sendWatch = new SendWatch(this, ctx.sendTimeoutMs);
  }

  // RequestRecord (and WriterOwner) views of the state.
  get aborted(): boolean {
    return this.state === ReplyState.Aborted;
  }
  get done(): boolean {
    return this.state >= ReplyState.Answered;
  }
  get live(): boolean {
    return this.state < ReplyState.Answered;
  }
  /** Something of the answer (the app's head, or the gateway's page) reached the client. */
  get headSent(): boolean {
    return this.state === ReplyState.Answered || (this.state === ReplyState.Streaming && !this.writer.headPending);
  }
  get exchange(): UpstreamRequest | null {
    return this.upstream;
  }
  /** uWS holds response bytes back (a slow reader): the app is held until the client reads. */
  get blocked(): boolean {
    return this.writer.blocked;
  }

  /** uWS onAborted: the client went away (or uWS closed its connection). */
  onAborted(): void {
    if (this.state === ReplyState.Aborted) return;
    const answered = this.state === ReplyState.Answered;
    this.state = ReplyState.Aborted;
    if (!answered) {
      const intake = this.intake;
      const phase =
        intake !== null && !intake.complete
          ? `phase=body received=${intake.received} expected=${intake.expected >= 0 ? intake.expected : 'chunked'}`
          : this.head !== null
            ? `phase=response sent=${this.bytesOut}`
            : 'phase=waiting';
      const backend = this.upstream !== null ? ` backend=${this.upstream.backend}` : '';
      this.ctx.log(
        `FCGATE_CLIENT_ABORTED${backend} ${this.tag} ${phase} cause="the client connection closed before the response was complete"`,
      );
    }
    this.writer.cancel();
    if (this.upstream !== null) this.upstream.abort();
    this.complete();
  }

  /** The response is complete on the client side: a static file's end, or the writer's. */
  finished(): void {
    if (this.state < ReplyState.Answered) this.state = ReplyState.Answered;
    this.complete();
  }

  /** A static file was served (serve-file.ts owns the response meanwhile, its onAborted too). */
  fileServed(status: number, bytes: number, aborted: boolean): void {
    this.status = status;
    this.bytesOut = bytes;
    if (aborted) this.state = ReplyState.Aborted;
    this.finished();
  }

  /** WriterOwner: the writer ended the response. */
  written(): void {
    this.finished();
  }

  /** WriterOwner: the client took what was held back. */
  resumeApp(): void {
    if (this.upstream !== null) this.upstream.resume();
  }

  /** WriterOwner: a write was held back (the send timeout starts). */
  heldBack(): void {
    this.sendWatch.start();
  }

  /** WriterOwner: the client took some of it. */
  tookSome(): void {
    this.sendWatch.progress();
  }

  /** SendWatchOwner: the request body's intake has paused the client. */
  get clientPaused(): boolean {
    return this.intake?.isPaused === true;
  }

  private complete(): void {
    if (this.finishedCalled) return;
    this.finishedCalled = true;
    // Whatever the path (answered, failed, aborted): no body callbacks, no spool left open,
    // the member's busy count and the send timeout released.
    this.sendWatch.stop();
    if (this.intake !== null) this.intake.stop();
    if (this.spool !== null) this.spool.close();
    if (this.upstream !== null) this.upstream.finish();
    inFlightBoard().leave(this.inFlightSlot);
    if (this.onFinished !== null) this.onFinished(this);
  }

  /** Points the reply at the request a local redirect makes. */
  restart(next: RequestSnapshot): void {
    this.redirectDepth++;
    this.snapshot = next;
    this.redirect = null;
    if (this.upstream !== null) this.upstream.finish();
    this.upstream = null;
    this.state = ReplyState.Waiting;
    this.bodyWritable = null;
  }

  // UpstreamSink

  addVary(names: readonly string[]): void {
    if (!this.extraHeaders.includes('Vary')) this.extraHeaders.push('Vary', names.join(', '));
  }

  onHead(head: CgiHead): void {
    if (this.state !== ReplyState.Waiting) return;
    if (head.localRedirect) {
      this.state = ReplyState.Redirecting;
      this.redirect = head.location;
      this.upstream!.discardBody();
      return;
    }
    if (
      head.status === 200
      && (this.method === 'GET' || this.method === 'HEAD')
      && this.snapshot !== null
      && notModified(this.snapshot, head)
    ) {
      head = asNotModified(head);
    }
    this.head = head;
    this.status = head.status;
    this.firstByteAt = performance.now();
    this.state = ReplyState.Streaming;
    const headOnly = this.method === 'HEAD' || noBody(head.status);
    if (headOnly) this.upstream!.discardBody();
    const w = this.upstream!.worker;
    this.writer.start(head, this.extraHeaders, headOnly, w.flushPackets, w.flushWaitMs);
  }

  onBody(data: Buffer): boolean {
    if (this.state !== ReplyState.Streaming) return true;
    return this.writer.body(data);
  }

  onEnd(): void {
    if (this.state === ReplyState.Redirecting) {
      this.ctx.localRedirect(this, this.redirect!);
      return;
    }
    if (this.state === ReplyState.Streaming) this.writer.end();
  }

  /** Runs `fn` (a read from the app) with the client corked. */
  corked(fn: () => void): void {
    this.writer.corked(fn);
  }

  onBodyWritable(): void {
    if (!this.live) return;
    if (this.bodyWritable !== null) this.bodyWritable();
    else if (this.intake !== null) this.intake.resume();
  }

  /**
   * `appHead` (the exchange's word) says the app had sent a head; whether it reached the
   * client is this reply's business: a local redirect's head never does (issue 8 §3: such a
   * request that then failed got no answer at all), a queued head not yet.
   */
  onFailure(err: GatewayError, appHead: boolean): void {
    void appHead;
    const code = err.code;
    this.errorCode = code;
    const out = this.headSent;
    this.ctx.log(formatFailure(err, this.tag + (out ? ' after_head=1' : '')));
    if (this.state === ReplyState.Aborted) {
      this.complete();
      return;
    }
    if (this.done) return;
    this.writer.cancel();
    if (out) {
      // The head is out: close the connection so the client sees the truncation. Not from
      // inside a cork (what it holds would be dropped): once this read is handled.
      this.state = ReplyState.Answered;
      queueMicrotask(() => {
        if (this.state !== ReplyState.Aborted) this.res.close();
      });
      this.complete();
      return;
    }
    // A body still arriving: answer, and let uWS drop the rest (lingering) rather than reset.
    const receiving = this.intake !== null && !this.intake.complete;
    this.sendError(statusFor[code], {
      retryAfter: retryAfterFor(code),
      ...(receiving ? { close: 'linger' as const } : {}),
    });
  }

  /**
   * A request whose framing can't be trusted (request-checks.ts): log, answer, close. The
   * answer waits for the end of uWS's current read: a request smuggled behind this one in
   * the same read then finds this response pending, and uWS closes the connection before
   * dispatching it (its pipelining rule, native-notes/uws.md) — nothing after the bad
   * request is ever routed. uWS's close flag alone would not do: its parser goes on with the
   * rest of the read and the next request resets the flag (issue 9 §1).
   */
  refuse(err: GatewayError): void {
    this.errorCode = err.code;
    this.ctx.log(formatFailure(err, this.tag));
    setImmediate(() => {
      this.sendError(statusFor[err.code], { close: 'now' });
    });
  }

  /** Over FCGATE_MAX_BODY: 413 while the client may still be sending (lingering close). */
  tooLarge(err: GatewayError): void {
    this.errorCode = err.code;
    this.ctx.log(formatFailure(err, this.tag));
    this.sendError(413, { close: 'linger' });
  }

  /** The client stopped sending its body: 408, the app's request (if any) aborted, the connection closed. */
  bodyTimedOut(idleMs: number): void {
    if (!this.live) return;
    const intake = this.intake;
    const backend = this.upstream !== null ? ` backend=${this.upstream.backend}` : '';
    this.errorCode = 'FCGATE_BODY_TIMEOUT';
    this.ctx.log(
      `FCGATE_BODY_TIMEOUT${backend} ${this.tag} received=${intake?.received ?? 0} expected=${intake !== null && intake.expected >= 0 ? intake.expected : 'chunked'} idle_ms=${idleMs} cause="no request body bytes for ${idleMs} ms"`,
    );
    if (this.upstream !== null) this.upstream.abort(); // the app sees its connection reset, never a short body
    this.sendError(408, { close: 'now' });
  }

  /** The client took nothing of a held-back response for FCGATE_SEND_TIMEOUT: closed, the app let go. */
  sendTimedOut(idleMs: number): void {
    if (!this.live) return;
    const backend = this.upstream !== null ? ` backend=${this.upstream.backend}` : '';
    this.errorCode = 'FCGATE_SEND_TIMEOUT';
    this.ctx.log(
      `FCGATE_SEND_TIMEOUT${backend} ${this.tag} sent=${this.bytesOut} idle_ms=${idleMs} cause="the client took no response bytes for ${idleMs} ms"`,
    );
    this.writer.cancel();
    if (this.upstream !== null) this.upstream.abort();
    this.state = ReplyState.Answered;
    this.res.close();
    this.complete();
  }

  /** Answers `status` with a short page (before any head went out). */
  sendError(status: number, opts: ErrorOptions = {}): void {
    if (!this.live) return;
    this.state = ReplyState.Answered;
    const reason = reasonOf(status);
    const body = errorPage(status);
    const res = this.res;
    const head = this.method === 'HEAD';
    this.status = status;
    if (!head) this.bytesOut = body.length;
    res.cork(() => {
      res.writeStatus(`${status} ${reason}`);
      res.writeHeader('Content-Type', ERROR_PAGE_TYPE);
      if (opts.retryAfter === true) res.writeHeader('Retry-After', String(this.ctx.retryAfterSeconds));
      if (opts.close === 'linger') res.writeHeader('Connection', 'close');
      const extra = opts.headers ?? [];
      for (let i = 0; i < extra.length; i += 2) res.writeHeader(extra[i]!, extra[i + 1]!);
      const x = this.extraHeaders;
      for (let i = 0; i < x.length; i += 2) res.writeHeader(x[i]!, x[i + 1]!);
      // HEAD: no body. endWithoutBody's close flag sends a bogus length and hangs
      // (native-notes/uws.md), so a HEAD that must close ends with an empty body and uWS's
      // own close: Content-Length 0 and Connection: close (issue 9 §1, fuzz-findings).
      if (head && opts.close === 'now') res.end('', true);
      else if (head) res.writeHeader('Content-Length', String(Buffer.byteLength(body))).endWithoutBody();
      else res.end(body, opts.close === 'now');
    });
    this.complete();
  }

  /** A redirect answered by the gateway itself (a directory URL without its slash, mod_alias). */
  sendRedirect(status: number, location: string): void {
    this.sendError(status, { headers: ['Location', location] });
  }
}
