// The backpressure bridge from a FastCGI response to a uWS HttpResponse: writes the
// head corked, streams the body with tryEnd (known length: uWS writes Content-Length)
// or write (unknown: chunked), pauses the app when the client can't take more and
// resumes it from onWritable, and turns failures into the table's status or, once the
// head is out, into a closed connection. One object per client request (it survives
// local redirects: restart() points it at the next exchange).
import type { HttpResponse } from 'uWebSockets.js';
import { formatFailure, GatewayError, statusFor } from '../errors.js';
import type { CgiHead } from '../cgi/response-head.js';
import type { RequestSnapshot } from '../request.js';
import type { RequestRecord } from '../request-record.js';
import { asNotModified, notModified } from './conditional.js';
import { ERROR_PAGE_TYPE, errorPage, reasonOf } from './error-page.js';
import type { Exchange, ResponseSink } from '../upstream/exchange.js';
import type { BodyIntake } from './body-intake.js';
import type { BodyFraming } from './request-checks.js';
import type { BodySpool } from './spool.js';
import { inFlightBoard } from './in-flight.js';

export interface ReplyContext {
  /** Logs one line to the error log. */
  log(line: string): void;
  /** Serves `location` internally (RFC 3875 §6.2.2 local redirect). */
  localRedirect(reply: UwsReply, location: string): void;
  retryAfterSeconds: number;
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

/** Statuses that never carry a body (RFC 9110 §6.4.1). */
const noBody = (status: number): boolean => status === 204 || status === 304 || (status >= 100 && status < 200);

/** With flushpackets=off (or on + flushwait), body bytes gather up to this much before a write. */
const COALESCE_LIMIT = 64 * 1024;

/*
 * uWS's cork buffer and the chunked writer (issue 8). While a socket is corked, uWS copies
 * each write into one 16 KiB buffer per thread (LoopData::CORK_BUFFER_SIZE, both builds we
 * load). A write that does not fit makes uWS flush that buffer first, and when the flush
 * cannot complete (a client reading slower than we write) uWS buffers the corked bytes but
 * DROPS the new write's own bytes (AsyncSocket::uncork returns {0, true}; fixed upstream only
 * in uWebSockets 6b7f354, 2026-04). tryEnd's writes are "optional" (nothing is dropped: the
 * write offset tells what was taken), but write() — the chunked path — is not, so a chunk
 * larger than the cork room lost its payload after its size line: the corrupt chunked
 * framing real clients saw. Pinned by test/front/uws-behaviour.test.ts.
 * So, for write(): the bytes put into the current cork are counted (an upper bound), a chunk
 * that would not fit is cut at the room left, and the rest is written right after the cork
 * ends, uncorked, where uWS writes what the kernel takes and buffers the rest in order.
 */
const CORK_BUFFER = 16 * 1024;
/** What uWS itself may have put into the cork before us (100 Continue, Date, its mark). */
const CORK_SLACK = 512;
const CORK_BUDGET = CORK_BUFFER - CORK_SLACK;
/** A chunk's framing around its data: "\r\n" + up to 8 hex digits + "\r\n". */
const CHUNK_FRAMING = 12;
/** Written by uWS with the first write(): Date (37), its mark (17), Transfer-Encoding (28). */
const CHUNKED_HEAD_EXTRA = 37 + 17 + 28;
/** The largest piece of a chunk written alone into a fresh cork. */
const CHUNK_PIECE = CORK_BUDGET - CHUNK_FRAMING;
/** Bytes (an upper bound) written into the cork that is open now; reset when one opens. */
let corkUsed = 0;

/** Bytes uWS writes for a head: status line and header lines (values go out as latin-1 or ASCII). */
function headBytes(head: CgiHead, extra: readonly string[]): number {
  let n = 11 + head.statusLine.length;          // "HTTP/1.1 " + status line + CRLF
  const h = head.headers;
  for (let i = 0; i < h.length; i++) n += h[i]!.length + 2;
  for (let i = 0; i < extra.length; i++) n += Buffer.byteLength(extra[i]!) + 2;
  return n;
}

// Cork callbacks without a closure per reply: res.cork() runs its callback at once, so the
// reply it is for sits in `corking` (set right before each cork call) for that moment.
let corking: UwsReply | null = null;
function corkedBody(): void { corking!.writeBodyCorked(); }
function corkedHead(): void { corking!.writeHeadCorked(); }
function corkedEnd(): void { corking!.res.end(); }
function corkedHeadEnd(): void { corking!.endAfterHead(); }
function noop(): void { /* an empty cork: its uncork drains the socket's buffer */ }
function corkedPiece(): void { corking!.writePieceCorked(); }

// Heads waiting to see whether their body comes in the same read (onHead): one microtask
// for all heads queued during one read, after it was parsed.
let headsQueued: UwsReply[] = [];
function flushHeads(): void {
  const q = headsQueued;
  headsQueued = [];
  for (let i = 0; i < q.length; i++) q[i]!.flushQueuedHead();
}
function queueHeadFlush(reply: UwsReply): void {
  if (headsQueued.length === 0) queueMicrotask(flushHeads);
  headsQueued.push(reply);
}

export class UwsReply implements ResponseSink, RequestRecord {
  exchange: Exchange | null = null;
  snapshot: RequestSnapshot | null = null;
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
  redirectDepth = 0;
  aborted = false;
  /** The response is complete on the client side (or abandoned). */
  done = false;
  headSent = false;
  /** Headers added by the gateway (Vary from ProxyFCGISetEnvIf), flat [name, value, …]. */
  extraHeaders: string[] = [];
  flush: 'on' | 'off' | 'auto' = 'auto';
  flushWaitMs = 0;
  spool: BodySpool | null = null;
  /** The request body's client side, while one is being received. */
  intake: BodyIntake | null = null;
  /** The request's body framing (request-checks.ts), set before dispatch. */
  framing: BodyFraming = { length: -1, chunked: false };
  /** Called once when the response is complete or abandoned. */
  onFinished: ((reply: UwsReply) => void) | null = null;
  /** This request's slot on the thread's in-flight board (in-flight.ts), -1 for none. */
  inFlightSlot = -1;
  /** Called when STDIN can take more: resumes the client, or the spool's replay. */
  bodyWritable: (() => void) | null = null;
  private redirect: string | null = null;
  /** The app's Content-Length: uWS frames with it (tryEnd); -1 = chunked (write). */
  private total = -1;
  /** Body bytes uWS couldn't take yet, and the write offset they start at. */
  private pending: Buffer | null = null;
  private pendingOffset = 0;
  /** Chunked: bytes that did not fit into the cork, written once it closes (see CORK_BUFFER). */
  private deferred: Buffer | null = null;
  private ended = false;
  private finishedCalled = false;
  // Scratch for the corked callbacks, so that no closure is made per chunk.
  private chunk: Buffer | null = null;
  private wrote = true;
  /** The app's response head once it came (read by the access log's %{…}o). */
  head: CgiHead | null = null;
  private coalesce: Buffer | null = null;
  private coalesced = 0;
  private coalesceTimer: NodeJS.Timeout | null = null;
  /** The head waits for the first body chunk or the end, so that they share one write. */
  private headQueued = false;
  /** onWritable is registered on the first write uWS could not take whole (most replies never need it). */
  private writableWatched = false;
  /**
   * Inside corked(): the client is corked already, so writes call uWS directly instead of
   * through a nested res.cork (a JS → C++ → JS round trip each, twice per small response).
   */
  private inCork = false;

  constructor(readonly res: HttpResponse, readonly method: string, private readonly ctx: ReplyContext) {}

  /** uWS holds response bytes back (a slow reader): the app is paused until onWritable. */
  get blocked(): boolean { return this.pending !== null || this.deferred !== null || !this.wrote; }

  /** Registers the writable handler (uWS calls it only after a write it held back). */
  private watchWritable(): void {
    if (this.writableWatched) return;
    this.writableWatched = true;
    this.res.onWritable((offset) => this.onWritableEvent(offset));
  }

  /** uWS onAborted: the client went away. */
  onAborted(): void {
    if (this.aborted) return;
    this.aborted = true;
    if (!this.done) {
      // The client went away (or uWS closed its connection) before the response was complete.
      const intake = this.intake;
      const phase = intake !== null && !intake.complete
        ? `phase=body received=${intake.received} expected=${intake.expected >= 0 ? intake.expected : 'chunked'}`
        : this.headSent ? `phase=response sent=${this.bytesOut}` : 'phase=waiting';
      const backend = this.exchange !== null ? ` backend=${this.exchange.backend}` : '';
      this.ctx.log(`FCGATE_CLIENT_ABORTED${backend} ${this.tag} ${phase} cause="the client connection closed before the response was complete"`);
    }
    this.complete();
    if (this.coalesceTimer !== null) clearTimeout(this.coalesceTimer);
    if (this.exchange !== null) this.exchange.abort();
  }

  /** Signals the end of the response once. */
  finished(): void { this.complete(); }

  private complete(): void {
    this.done = true;
    if (this.finishedCalled) return;
    this.finishedCalled = true;
    // Whatever the path (answered, failed, aborted): no body callbacks, no spool left open.
    if (this.intake !== null) this.intake.stop();
    if (this.spool !== null) this.spool.close();
    inFlightBoard().leave(this.inFlightSlot);
    if (this.onFinished !== null) this.onFinished(this);
  }

  /** Points the reply at the request a local redirect makes. */
  restart(next: RequestSnapshot): void {
    this.redirectDepth++;
    this.snapshot = next;
    this.redirect = null;
    this.exchange = null;
    this.total = -1;
    this.ended = false;
    this.bodyWritable = null;
  }

  onHead(head: CgiHead): void {
    if (this.aborted) return;
    if (head.localRedirect) {
      this.redirect = head.location;
      this.exchange!.discardBody();
      return;
    }
    if (head.status === 200 && (this.method === 'GET' || this.method === 'HEAD') && this.snapshot !== null
        && notModified(this.snapshot, head)) {
      head = asNotModified(head);
    }
    this.head = head;
    this.headSent = true;
    this.firstByteAt = performance.now();
    const bodyless = this.method === 'HEAD' || noBody(head.status);
    if (bodyless) this.exchange!.discardBody();
    else this.total = head.contentLength;
    if (this.flush === 'off' || (this.flush === 'on' && this.flushWaitMs > 0)) {
      this.coalesce = Buffer.allocUnsafe(COALESCE_LIMIT);
    }
    this.headQueued = true;
    queueHeadFlush(this);                   // a head whose body comes in a later read
  }

  /** @internal (the module's cork callbacks) */
  writeHeadCorked(): void {
    const res = this.res;
    const head = this.head!;
    this.status = head.status;
    res.writeStatus(head.statusLine);
    const h = head.headers;
    if (head.nonAscii) {
      for (let i = 0; i < h.length; i += 2) res.writeHeader(h[i]!, Buffer.from(h[i + 1]!, 'latin1'));
    } else {
      for (let i = 0; i < h.length; i += 2) res.writeHeader(h[i]!, h[i + 1]!);
    }
    const x = this.extraHeaders;
    for (let i = 0; i < x.length; i += 2) res.writeHeader(x[i]!, x[i + 1]!);
    if (this.total < 0) corkUsed += headBytes(head, x) + CHUNKED_HEAD_EXTRA;
    if (this.method === 'HEAD' || noBody(head.status)) {
      // HEAD: the length the GET would have, when the app said it; 204/304: none.
      // endWithoutBody(n) leaves uWS waiting for n bytes (native-notes/uws.md): write the
      // header ourselves and end without a length.
      if (this.method === 'HEAD' && head.contentLength >= 0 && !noBody(head.status)) {
        res.writeHeader('Content-Length', String(head.contentLength));
      }
      res.endWithoutBody();
      this.complete();
    } else if (this.total === 0) {
      res.end();
      this.complete();
    }
  }

  onBody(data: Buffer): boolean {
    if (this.done) return true;
    if (this.coalesce !== null) return this.gather(data);
    return this.send(data);
  }

  private send(data: Buffer): boolean {
    if (this.pending !== null || this.deferred !== null) {
      // uWS has not taken the earlier bytes yet (a flushwait timer can write while the
      // client is stalled): queue behind them, never in their place. Rare, small (≤ 64 KiB).
      this.queueBehind(data);
      return false;
    }
    this.chunk = data;
    if (this.inCork) this.writeBodyCorked();
    else {
      corking = this;
      corkUsed = 0;
      this.res.cork(corkedBody);
      if (this.deferred !== null) this.writeDeferred();
    }
    this.chunk = null;
    return this.wrote;
  }

  /** Keeps `data` (a view, so copied) after the bytes still waiting to go out. */
  private queueBehind(data: Buffer): void {
    if (this.pending !== null) this.pending = Buffer.concat([this.pending, data]);
    else this.deferred = this.deferred === null ? Buffer.from(data) : Buffer.concat([this.deferred, data]);
  }

  /**
   * Writes the bytes of chunks that did not fit into the cork they came in, once it is
   * closed: in pieces that each fit into a fresh cork of their own (see CORK_BUFFER), until
   * uWS holds bytes back (then onWritable continues). Then the app may go on, or the
   * response ends.
   */
  private writeDeferred(): void {
    while (this.deferred !== null) {
      if (this.done || this.aborted) { this.deferred = null; return; }
      const d = this.deferred;
      const n = d.length > CHUNK_PIECE ? CHUNK_PIECE : d.length;
      this.chunk = n === d.length ? d : d.subarray(0, n);
      this.deferred = n === d.length ? null : d.subarray(n);
      corking = this;
      this.res.cork(corkedPiece);
      this.chunk = null;
      if (!this.wrote) { this.watchWritable(); return; }
    }
    if (this.ended) this.finish();
    else queueMicrotask(this.resumeApp);
  }

  /** @internal (corkedPiece) */
  writePieceCorked(): void { this.wrote = this.res.write(this.chunk!); }

  private readonly resumeApp = (): void => {
    if (!this.done && !this.aborted && this.exchange !== null) this.exchange.resume();
  };

  /** flushpackets=off / flushwait: copy into the gather buffer; write when full, at the end or after flushwait. */
  private gather(data: Buffer): boolean {
    const buf = this.coalesce!;
    let ok = true;
    let from = 0;
    while (from < data.length) {
      const n = Math.min(buf.length - this.coalesced, data.length - from);
      data.copy(buf, this.coalesced, from, from + n);
      this.coalesced += n;
      from += n;
      if (this.coalesced === buf.length) ok = this.flushGathered() && ok;
    }
    if (this.coalesced > 0 && this.flush === 'on' && this.coalesceTimer === null) {
      this.coalesceTimer = setTimeout(() => { this.coalesceTimer = null; if (!this.done) this.flushGathered(); }, this.flushWaitMs);
    }
    return ok;
  }

  private flushGathered(): boolean {
    if (this.coalesced === 0) return true;
    const out = Buffer.from(this.coalesce!.subarray(0, this.coalesced));   // the gather buffer is reused
    this.coalesced = 0;
    return this.send(out);
  }

  /** @internal (the module's cork callbacks) */
  writeBodyCorked(): void {
    const res = this.res;
    if (this.headQueued) { this.headQueued = false; this.writeHeadCorked(); }
    const data = this.chunk!;
    this.bytesOut += data.length;
    if (this.pending !== null || this.deferred !== null) {
      // uWS still holds earlier bytes back: keep order, queue these behind them (only
      // under backpressure, and the app is paused by the false we return).
      this.queueBehind(data);
      this.wrote = false;
      return;
    }
    if (this.total >= 0) {
      const offset = res.getWriteOffset();
      const [ok, finished] = res.tryEnd(data, this.total);
      if (finished) {
        this.complete();
        this.wrote = true;
      } else if (!ok) {
        // A copy: data is a view of the app connection's read buffer, reused by the next read.
        this.pending = Buffer.from(data);
        this.pendingOffset = offset;
        this.wrote = false;
        this.watchWritable();
      } else {
        this.wrote = true;
      }
    } else {
      // Chunked: only what fits into the cork is written now (see CORK_BUFFER).
      const room = CORK_BUDGET - corkUsed - CHUNK_FRAMING;
      if (data.length <= room) {
        corkUsed += CHUNK_FRAMING + data.length;
        this.wrote = res.write(data);
        if (!this.wrote) this.watchWritable();
        return;
      }
      let from = 0;
      if (room >= 1024) {
        from = room;
        res.write(data.subarray(0, room));
      }
      corkUsed = CORK_BUDGET;
      this.deferred = Buffer.from(data.subarray(from));  // a copy: data views the app's read buffer
      this.wrote = false;
    }
  }

  private onWritableEvent(offset: number): boolean {
    if (this.done || this.aborted) return true;
    if (this.total < 0) {
      // Chunked. Bytes that did not fit a cork go first; their writes drain uWS's buffer.
      if (this.deferred !== null) { this.writeDeferred(); return true; }
      // uWS does not drain its own buffer when an onWritable handler is set; an empty cork
      // does (its uncork writes the socket's buffer out). Then the app may go on.
      this.res.cork(noop);
      if (this.ended) this.finish();
      else if (this.exchange !== null) this.exchange.resume();
      return true;
    }
    if (this.pending !== null) {
      const rest = this.pending.subarray(offset - this.pendingOffset);
      const [ok, finished] = this.res.tryEnd(rest, this.total);
      if (finished) {
        this.pending = null;
        this.complete();
        if (this.exchange !== null) this.exchange.resume();
        return true;
      }
      if (!ok) return false;
      this.pending = null;
    }
    if (this.ended) this.finish();
    else if (this.exchange !== null) this.exchange.resume();
    return true;
  }

  onEnd(): void {
    if (this.aborted) return;
    if (this.redirect !== null) {
      this.ctx.localRedirect(this, this.redirect);
      return;
    }
    if (this.coalesceTimer !== null) { clearTimeout(this.coalesceTimer); this.coalesceTimer = null; }
    if (!this.done && this.coalesce !== null) this.flushGathered();
    this.ended = true;
    if (this.pending === null && this.deferred === null) this.finish();
  }

  /** @internal (flushHeads) */
  flushQueuedHead(): void {
    if (!this.headQueued) return;
    this.headQueued = false;
    if (!this.aborted && !this.done) { corking = this; corkUsed = 0; this.res.cork(corkedHead); }
  }

  /** @internal (corkedHeadEnd) */
  endAfterHead(): void { this.writeHeadCorked(); if (!this.done) this.res.end(); }

  private finish(): void {
    if (this.done) return;
    if (this.inCork) {
      if (this.headQueued) { this.headQueued = false; this.endAfterHead(); } else this.res.end();
    } else {
      corking = this;
      corkUsed = 0;
      if (this.headQueued) { this.headQueued = false; this.res.cork(corkedHeadEnd); } else this.res.cork(corkedEnd);
    }
    this.complete();
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
    this.ctx.log(formatFailure(err, this.tag + (this.headSent && !this.headQueued ? ' after_head=1' : '')));
    if (this.aborted) { this.complete(); return; }
    if (this.coalesceTimer !== null) { clearTimeout(this.coalesceTimer); this.coalesceTimer = null; }
    if (this.headQueued) {
      // The app's head never left the gateway: the client can still get a clean error.
      this.headQueued = false;
      this.headSent = false;
    } else if (this.headSent) {
      // The head is out: close the connection so the client sees the truncation. Not from
      // inside a cork (what it holds would be dropped): once this read is handled.
      if (!this.done) queueMicrotask(() => { if (!this.aborted) this.res.close(); });
      this.complete();
      return;
    }
    const retryAfter = code === 'FCGATE_QUEUE_FULL' || code === 'FCGATE_BACKEND_OVERLOADED'
      || code === 'FCGATE_CONNECT_FAILED' || code === 'FCGATE_NO_MEMBER';
    // A body still arriving: answer, and let uWS drop the rest (lingering) rather than reset.
    const receiving = this.intake !== null && !this.intake.complete;
    this.sendError(statusFor[code], { retryAfter, ...(receiving ? { close: 'linger' as const } : {}) });
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
    this.ctx.log(formatFailure(err, this.tag));
    setImmediate(() => { this.sendError(statusFor[err.code], { close: 'now' }); });
  }

  /** Over FCGATE_MAX_BODY: 413 while the client may still be sending (lingering close). */
  tooLarge(err: GatewayError): void {
    this.ctx.log(formatFailure(err, this.tag));
    this.sendError(413, { close: 'linger' });
  }

  /** The client stopped sending its body: 408, the exchange (if any) aborted, the connection closed. */
  bodyTimedOut(idleMs: number): void {
    if (this.done || this.aborted) return;
    const intake = this.intake;
    const backend = this.exchange !== null ? ` backend=${this.exchange.backend}` : '';
    this.ctx.log(`FCGATE_BODY_TIMEOUT${backend} ${this.tag} received=${intake?.received ?? 0} expected=${intake !== null && intake.expected >= 0 ? intake.expected : 'chunked'} idle_ms=${idleMs} cause="no request body bytes for ${idleMs} ms"`);
    if (this.exchange !== null) this.exchange.abort();     // the app sees its connection reset, never a short body
    this.sendError(408, { close: 'now' });
  }

  /** Runs `fn` corked on the client socket while the response is live. */
  corked(fn: () => void): void {
    if (this.aborted || this.done || this.inCork) { fn(); return; }
    this.inCork = true;
    corkUsed = 0;
    try {
      this.res.cork(fn);
    } finally {
      this.inCork = false;
    }
    if (this.deferred !== null) this.writeDeferred();
  }

  onBodyWritable(): void {
    if (this.aborted || this.done) return;
    if (this.bodyWritable !== null) this.bodyWritable();
    else if (this.intake !== null) this.intake.resume();
  }

  /** Answers `status` with a short page (before any head went out). */
  sendError(status: number, opts: ErrorOptions = {}): void {
    if (this.aborted || this.done) return;
    this.headSent = true;
    const reason = reasonOf(status);
    const body = errorPage(status);
    const res = this.res;
    this.status = status;
    if (this.method !== 'HEAD') this.bytesOut = body.length;
    res.cork(() => {
      res.writeStatus(`${status} ${reason}`);
      res.writeHeader('Content-Type', ERROR_PAGE_TYPE);
      if (opts.retryAfter === true) res.writeHeader('Retry-After', String(this.ctx.retryAfterSeconds));
      // HEAD: endWithoutBody's close flag sends a bogus length and hangs (native-notes/uws.md):
      // the header alone, and the client closes.
      if (opts.close === 'linger' || (opts.close === 'now' && this.method === 'HEAD')) res.writeHeader('Connection', 'close');
      const extra = opts.headers ?? [];
      for (let i = 0; i < extra.length; i += 2) res.writeHeader(extra[i]!, extra[i + 1]!);
      const x = this.extraHeaders;
      for (let i = 0; i < x.length; i += 2) res.writeHeader(x[i]!, x[i + 1]!);
      if (this.method === 'HEAD') res.writeHeader('Content-Length', String(Buffer.byteLength(body))).endWithoutBody();
      else res.end(body, opts.close === 'now');
    });
    this.complete();
  }

  /** A redirect answered by the gateway itself (a directory URL without its slash). */
  sendRedirect(status: number, location: string): void {
    this.sendError(status, { headers: ['Location', location] });
  }
}
