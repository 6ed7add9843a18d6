// The backpressure bridge from a FastCGI response to a uWS HttpResponse: writes the
// head corked, streams the body with tryEnd (known length: uWS writes Content-Length)
// or write (unknown: chunked), pauses the app when the client can't take more and
// resumes it from onWritable, and turns failures into the table's status or, once the
// head is out, into a closed connection. One object per client request (it survives
// local redirects: restart() points it at the next exchange).
import type { HttpResponse } from 'uWebSockets.js';
import { formatFailure, GatewayError, statusFor } from '../errors.js';
import type { CgiHead } from '../protocol/cgi-head.js';
import { headerOf, type RequestSnapshot } from '../request.js';
import { etagListMatches, parseHttpDate } from './static-files.js';
import type { Exchange, ResponseSink } from '../upstream/exchange.js';
import type { BodySpool } from './spool.js';

export interface ReplyContext {
  /** Logs one line to the error log. */
  log(line: string): void;
  /** Serves `location` internally (RFC 3875 §6.2.2 local redirect). */
  localRedirect(reply: UwsReply, location: string): void;
  retryAfterSeconds: number;
}

export const REASON: Record<number, string> = {
  300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other',
  305: 'Use Proxy', 307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 410: 'Gone', 451: 'Unavailable For Legal Reasons', 405: 'Method Not Allowed', 411: 'Length Required',
  413: 'Content Too Large', 417: 'Expectation Failed', 499: 'Client Closed Request',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

/** Statuses that never carry a body (RFC 9110 §6.4.1). */
const noBody = (status: number): boolean => status === 204 || status === 304 || (status >= 100 && status < 200);

/** With flushpackets=off (or on + flushwait), body bytes gather up to this much before a write. */
const COALESCE_LIMIT = 64 * 1024;

function errorBody(status: number, reason: string): string {
  return `<!DOCTYPE html>\n<html><head><title>${status} ${reason}</title></head><body><h1>${reason}</h1></body></html>\n`;
}

/**
 * A conditional GET answered by the app with 200: the gateway acts as the origin would
 * (Apache does too): If-None-Match against the app's ETag, else If-Modified-Since against
 * its Last-Modified (RFC 9110 §13.2.2).
 */
function notModified(req: RequestSnapshot, head: CgiHead): boolean {
  const inm = headerOf(req, 'if-none-match');
  const ims = inm === undefined ? headerOf(req, 'if-modified-since') : undefined;
  if (inm === undefined && ims === undefined) return false;
  let etag: string | undefined;
  let lastModified: string | undefined;
  const h = head.headers;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i]!.toLowerCase();
    if (name === 'etag') etag = h[i + 1];
    else if (name === 'last-modified') lastModified = h[i + 1];
  }
  if (inm !== undefined) return etag !== undefined && etagListMatches(inm, etag, true);
  if (lastModified === undefined) return false;
  const since = parseHttpDate(ims!);
  const modified = parseHttpDate(lastModified);
  return !Number.isNaN(since) && !Number.isNaN(modified) && modified <= since;
}

/** The 304 version of a head: no Content-Type, no Content-Length (RFC 9110 §15.4.5). */
function asNotModified(head: CgiHead): CgiHead {
  const headers: string[] = [];
  const h = head.headers;
  for (let i = 0; i < h.length; i += 2) {
    if (h[i]!.toLowerCase() !== 'content-type') headers.push(h[i]!, h[i + 1]!);
  }
  return { ...head, status: 304, reason: 'Not Modified', statusLine: '304 Not Modified', headers, contentLength: -1 };
}

// Cork callbacks without a closure per reply: res.cork() runs its callback at once, so the
// reply it is for sits in `corking` (set right before each cork call) for that moment.
let corking: UwsReply | null = null;
function corkedBody(): void { corking!.writeBodyCorked(); }
function corkedHead(): void { corking!.writeHeadCorked(); }
function corkedEnd(): void { corking!.res.end(); }
function corkedHeadEnd(): void { corking!.endAfterHead(); }

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

export class UwsReply implements ResponseSink {
  exchange: Exchange | null = null;
  snapshot: RequestSnapshot | null = null;
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
  /** Something other than an exchange owns the response for now (static file, spooling). */
  pendingAsync = false;
  /** Called once when the response is complete or abandoned. */
  onFinished: (() => void) | null = null;
  /** Called when STDIN can take more: resumes the client, or the spool's replay. */
  bodyWritable: (() => void) | null = null;
  private redirect: string | null = null;
  /** The app's Content-Length: uWS frames with it (tryEnd); -1 = chunked (write). */
  private total = -1;
  /** Body bytes uWS couldn't take yet, and the write offset they start at. */
  private pending: Buffer | null = null;
  private pendingOffset = 0;
  private ended = false;
  private finishedCalled = false;
  // Scratch for the corked callbacks, so that no closure is made per chunk.
  private chunk: Buffer | null = null;
  private wrote = true;
  private head: CgiHead | null = null;
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

  constructor(readonly res: HttpResponse, readonly method: string, readonly tag: string,
              private readonly ctx: ReplyContext) {}

  /** Registers the writable handler (uWS calls it only after a write it held back). */
  private watchWritable(): void {
    if (this.writableWatched) return;
    this.writableWatched = true;
    this.res.onWritable((offset) => this.onWritableEvent(offset));
  }

  /** uWS onAborted: the client went away. */
  onAborted(): void {
    this.aborted = true;
    this.complete();
    if (this.coalesceTimer !== null) clearTimeout(this.coalesceTimer);
    if (this.exchange !== null) this.exchange.abort();
    if (this.spool !== null) this.spool.close();
  }

  /** Signals the end of the response once. */
  finished(): void { this.complete(); }

  private complete(): void {
    this.done = true;
    if (this.finishedCalled) return;
    this.finishedCalled = true;
    if (this.onFinished !== null) this.onFinished();
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
    res.writeStatus(head.statusLine);
    const h = head.headers;
    if (head.nonAscii) {
      for (let i = 0; i < h.length; i += 2) res.writeHeader(h[i]!, Buffer.from(h[i + 1]!, 'latin1'));
    } else {
      for (let i = 0; i < h.length; i += 2) res.writeHeader(h[i]!, h[i + 1]!);
    }
    const x = this.extraHeaders;
    for (let i = 0; i < x.length; i += 2) res.writeHeader(x[i]!, x[i + 1]!);
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
    if (this.pending !== null) {
      // uWS has not taken the earlier bytes yet (a flushwait timer can write while the
      // client is stalled): queue behind them, never in their place. Rare, small (≤ 64 KiB).
      this.pending = Buffer.concat([this.pending, data]);
      return false;
    }
    this.chunk = data;
    if (this.inCork) this.writeBodyCorked();
    else { corking = this; this.res.cork(corkedBody); }
    this.chunk = null;
    return this.wrote;
  }

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
    if (this.pending !== null) {
      // uWS still holds earlier bytes back: keep order, queue these behind them (only
      // under backpressure, and the app is paused by the false we return).
      this.pending = Buffer.concat([this.pending, data]);
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
      this.wrote = res.write(data);
      if (!this.wrote) this.watchWritable();
    }
  }

  private onWritableEvent(offset: number): boolean {
    if (this.done || this.aborted) return true;
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
    if (this.pending === null) this.finish();
  }

  /** @internal (flushHeads) */
  flushQueuedHead(): void {
    if (!this.headQueued) return;
    this.headQueued = false;
    if (!this.aborted && !this.done) { corking = this; this.res.cork(corkedHead); }
  }

  /** @internal (corkedHeadEnd) */
  endAfterHead(): void { this.writeHeadCorked(); if (!this.done) this.res.end(); }

  private finish(): void {
    if (this.done) return;
    if (this.inCork) {
      if (this.headQueued) { this.headQueued = false; this.endAfterHead(); } else this.res.end();
    } else {
      corking = this;
      if (this.headQueued) { this.headQueued = false; this.res.cork(corkedHeadEnd); } else this.res.cork(corkedEnd);
    }
    this.complete();
  }

  onFailure(err: GatewayError, headSent: boolean): void {
    const code = err.code;
    this.ctx.log(formatFailure(err, this.tag + (headSent || this.headSent ? ' after_head=1' : '')));
    if (this.aborted) { this.complete(); return; }
    if (this.coalesceTimer !== null) { clearTimeout(this.coalesceTimer); this.coalesceTimer = null; }
    if (this.headQueued) {
      // The app's head never left the gateway: the client can still get a clean error.
      this.headQueued = false;
      this.headSent = false;
    } else if (headSent || this.headSent) {
      // The head is out: close the connection so the client sees the truncation. Not from
      // inside a cork (what it holds would be dropped): once this read is handled.
      if (!this.done) queueMicrotask(() => { if (!this.aborted) this.res.close(); });
      this.complete();
      return;
    }
    this.sendError(statusFor[code], code === 'FCGATE_QUEUE_FULL' || code === 'FCGATE_BACKEND_OVERLOADED'
      || code === 'FCGATE_CONNECT_FAILED' || code === 'FCGATE_NO_MEMBER');
  }

  /** Runs `fn` corked on the client socket while the response is live. */
  corked(fn: () => void): void {
    if (this.aborted || this.done || this.inCork) { fn(); return; }
    this.inCork = true;
    try {
      this.res.cork(fn);
    } finally {
      this.inCork = false;
    }
  }

  onBodyWritable(): void {
    if (this.aborted || this.done) return;
    if (this.bodyWritable !== null) this.bodyWritable();
    else this.res.resume();
  }

  /** Answers `status` with a short page (before any head went out). */
  sendError(status: number, retryAfter = false, extra: string[] = []): void {
    if (this.aborted || this.done) return;
    this.headSent = true;
    const reason = REASON[status] ?? 'Error';
    const body = errorBody(status, reason);
    const res = this.res;
    res.cork(() => {
      res.writeStatus(`${status} ${reason}`);
      res.writeHeader('Content-Type', 'text/html; charset=utf-8');
      if (retryAfter) res.writeHeader('Retry-After', String(this.ctx.retryAfterSeconds));
      for (let i = 0; i < extra.length; i += 2) res.writeHeader(extra[i]!, extra[i + 1]!);
      if (this.method === 'HEAD') res.writeHeader('Content-Length', String(Buffer.byteLength(body))).endWithoutBody();
      else res.end(body, extra.includes('close'));
    });
    this.complete();
  }

  /** A redirect answered by the gateway itself (a directory URL without its slash). */
  sendRedirect(status: number, location: string): void {
    this.sendError(status, false, ['Location', location]);
  }
}
