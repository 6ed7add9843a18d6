// The backpressure bridge from an app's response to a uWS HttpResponse: writes the head
// corked (with the first body bytes when they come in the same read), streams the body with
// tryEnd (known length: uWS writes Content-Length) or write (unknown: chunked, within uWS's
// cork buffer: see CORK_BUFFER), coalesces for flushpackets, holds the app back when the
// client can't take more and lets it go on from onWritable. It decides nothing about what to
// answer: front/reply.ts does (status policies, errors, local redirects).
// Over 400 lines on purpose: the cork accounting that works around uWS losing bytes, backpressure
// and coalescing are one state machine.
import type { CgiHead } from '../cgi/response-head.js';
import type { HttpResponse } from './uws.js';

/** What the writer reports to, and reads from, its reply. */
export interface WriterOwner {
  readonly res: HttpResponse;
  /** The response can still be written (not complete, client not gone). */
  readonly live: boolean;
  /** Body bytes handed to uWS (the access log's %B). */
  bytesOut: number;
  /** The response is complete on the client side. */
  written(): void;
  /** The client took what was held back: the app may send more. */
  resumeApp(): void;
  /** A write was held back by uWS (the send timeout watches from here). */
  heldBack(): void;
  /** The client took some of what was held back (a writable event). */
  tookSome(): void;
}

/** Statuses that never carry a body (RFC 9110 §6.4.1). */
export const noBody = (status: number): boolean => status === 204 || status === 304 || (status >= 100 && status < 200);

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
 * framing real clients saw. Pinned by test/front/uws/*.suite.ts (native-notes/uws.md §4b).
 * So, for write(): the bytes put into the current cork are counted (an upper bound), a chunk
 * that would not fit is cut at the room left, and the rest is written once the cork is
 * closed, in pieces that each fit a fresh cork of their own.
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
  let n = 11 + head.statusLine.length; // "HTTP/1.1 " + status line + CRLF
  const h = head.headers;
  for (let i = 0; i < h.length; i++) n += h[i]!.length + 2;
  for (let i = 0; i < extra.length; i++) n += Buffer.byteLength(extra[i]!) + 2;
  return n;
}

// Cork callbacks without a closure per response: res.cork() runs its callback at once, so
// the writer it is for sits in `corking` (set right before each cork call) for that moment.
let corking: ResponseWriter | null = null;
function corkedBody(): void {
  corking!.writeBodyCorked();
}
function corkedHead(): void {
  corking!.writeHeadCorked();
}
function corkedEnd(): void {
  corking!.owner.res.end();
}
function corkedHeadEnd(): void {
  corking!.endAfterHead();
}
function corkedPiece(): void {
  corking!.writePieceCorked();
}
function noop(): void {
  /* an empty cork: its uncork drains the socket's buffer */
}

// Heads waiting to see whether their body comes in the same read (start): one microtask
// for all heads queued during one read, after it was parsed.
let headsQueued: ResponseWriter[] = [];
function flushHeads(): void {
  const q = headsQueued;
  headsQueued = [];
  for (let i = 0; i < q.length; i++) q[i]!.flushQueuedHead();
}

export class ResponseWriter {
  private head: CgiHead | null = null;
  /** Headers added by the gateway (Vary, the request id), flat [name, value, …]. */
  private extra: readonly string[] = [];
  private headOnly = false;
  /** The app's Content-Length: uWS frames with it (tryEnd); -1 = chunked (write). */
  private total = -1;
  /** Body bytes uWS couldn't take yet (tryEnd), and the write offset they start at. */
  private pending: Buffer | null = null;
  private pendingOffset = 0;
  /** Chunked: bytes that did not fit into the cork, written once it closes (see CORK_BUFFER). */
  private deferred: Buffer | null = null;
  /** The app's response is complete; the end goes out once nothing is held back. */
  private ended = false;
  // Scratch for the corked callbacks, so that no closure is made per chunk.
  private chunk: Buffer | null = null;
  private wrote = true;
  private flush: 'on' | 'off' | 'auto' = 'auto';
  private flushWaitMs = 0;
  private coalesce: Buffer | null = null;
  private coalesced = 0;
  private coalesceTimer: NodeJS.Timeout | null = null;
  /** The head waits for the first body chunk or the end, so that they share one write. */
  private headQueued = false;
  /** onWritable is registered on the first write uWS could not take whole (most responses never need it). */
  private writableWatched = false;
  /**
   * Inside corked(): the client is corked already, so writes call uWS directly instead of
   * through a nested res.cork (a JS → C++ → JS round trip each, twice per small response).
   */
  private inCork = false;

  constructor(readonly owner: WriterOwner) {}

  /** The head is queued and nothing of it reached uWS: the reply may still answer otherwise. */
  get headPending(): boolean {
    return this.headQueued;
  }

  /** uWS holds response bytes back (a slow reader): the app is held until onWritable. */
  get blocked(): boolean {
    return this.pending !== null || this.deferred !== null || !this.wrote;
  }

  /**
   * Takes the app's head: it goes out with the first body bytes, or at the end of the read
   * it came in. `headOnly`: HEAD or a status without body (the app's body is dropped by the
   * caller). flushpackets/flushwait: the worker's.
   */
  start(
    head: CgiHead,
    extra: readonly string[],
    headOnly: boolean,
    flush: 'on' | 'off' | 'auto',
    flushWaitMs: number,
  ): void {
    this.head = head;
    this.extra = extra;
    this.headOnly = headOnly;
    this.total = headOnly ? -1 : head.contentLength;
    this.flush = flush;
    this.flushWaitMs = flushWaitMs;
    if (flush === 'off' || (flush === 'on' && flushWaitMs > 0)) this.coalesce = Buffer.allocUnsafe(COALESCE_LIMIT);
    this.headQueued = true;
    if (headsQueued.length === 0) queueMicrotask(flushHeads);
    headsQueued.push(this);
  }

  /** The queued head will not be written (the reply answers otherwise); timers stop. */
  cancel(): void {
    this.headQueued = false;
    if (this.coalesceTimer !== null) {
      clearTimeout(this.coalesceTimer);
      this.coalesceTimer = null;
    }
  }

  /** Body bytes (a view valid during the call); false: hold the app until resumeApp. */
  body(data: Buffer): boolean {
    if (this.coalesce !== null) return this.gather(data);
    return this.send(data);
  }

  /** The app's response is complete. */
  end(): void {
    if (this.coalesceTimer !== null) {
      clearTimeout(this.coalesceTimer);
      this.coalesceTimer = null;
    }
    if (this.coalesce !== null && this.owner.live) this.flushGathered();
    this.ended = true;
    if (this.pending === null && this.deferred === null) this.finish();
  }

  /** Runs `fn` corked on the client socket while the response is live (one send for what `fn` writes). */
  corked(fn: () => void): void {
    if (!this.owner.live || this.inCork) {
      fn();
      return;
    }
    this.inCork = true;
    corkUsed = 0;
    try {
      this.owner.res.cork(fn);
    } finally {
      this.inCork = false;
    }
    if (this.deferred !== null) this.writeDeferred();
  }

  /** @internal (the module's cork callbacks) */
  writeHeadCorked(): void {
    const res = this.owner.res;
    const head = this.head!;
    res.writeStatus(head.statusLine);
    const h = head.headers;
    if (head.nonAscii) {
      for (let i = 0; i < h.length; i += 2) res.writeHeader(h[i]!, Buffer.from(h[i + 1]!, 'latin1'));
    } else {
      for (let i = 0; i < h.length; i += 2) res.writeHeader(h[i]!, h[i + 1]!);
    }
    const x = this.extra;
    for (let i = 0; i < x.length; i += 2) res.writeHeader(x[i]!, x[i + 1]!);
    if (this.total < 0) corkUsed += headBytes(head, x) + CHUNKED_HEAD_EXTRA;
    if (this.headOnly) {
      // HEAD: the length the GET would have, when the app said it; 204/304: none.
      // endWithoutBody(n) leaves uWS waiting for n bytes (native-notes/uws.md): write the
      // header ourselves and end without a length.
      if (head.contentLength >= 0 && !noBody(head.status))
        res.writeHeader('Content-Length', String(head.contentLength));
      res.endWithoutBody();
      this.owner.written();
    } else if (this.total === 0) {
      res.end();
      this.owner.written();
    }
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
      this.owner.res.cork(corkedBody);
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
      if (!this.owner.live) {
        this.deferred = null;
        return;
      }
      const d = this.deferred;
      const n = Math.min(d.length, CHUNK_PIECE);
      this.chunk = n === d.length ? d : d.subarray(0, n);
      this.deferred = n === d.length ? null : d.subarray(n);
      corking = this;
      this.owner.res.cork(corkedPiece);
      this.chunk = null;
      if (!this.wrote) {
        this.watchWritable();
        return;
      }
    }
    if (this.ended) this.finish();
    else queueMicrotask(this.resumeApp);
  }

  /** @internal (corkedPiece) */
  writePieceCorked(): void {
    this.wrote = this.owner.res.write(this.chunk!);
  }

  private readonly resumeApp = (): void => {
    if (this.owner.live) this.owner.resumeApp();
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
      this.coalesceTimer = setTimeout(() => {
        this.coalesceTimer = null;
        if (this.owner.live) this.flushGathered();
      }, this.flushWaitMs);
    }
    return ok;
  }

  private flushGathered(): boolean {
    if (this.coalesced === 0) return true;
    const out = Buffer.from(this.coalesce!.subarray(0, this.coalesced)); // the gather buffer is reused
    this.coalesced = 0;
    return this.send(out);
  }

  /** @internal (the module's cork callbacks) */
  writeBodyCorked(): void {
    const res = this.owner.res;
    if (this.headQueued) {
      this.headQueued = false;
      this.writeHeadCorked();
    }
    const data = this.chunk!;
    this.owner.bytesOut += data.length;
    if (this.pending !== null || this.deferred !== null) {
      // uWS still holds earlier bytes back: keep order, queue these behind them (only
      // under backpressure, and the app is held by the false we return).
      this.queueBehind(data);
      this.wrote = false;
      return;
    }
    if (this.total >= 0) {
      const offset = res.getWriteOffset();
      const [ok, finished] = res.tryEnd(data, this.total);
      if (finished) {
        this.owner.written();
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
      this.deferred = Buffer.from(data.subarray(from)); // a copy: data views the app's read buffer
      this.wrote = false;
      this.owner.heldBack();
    }
  }

  /** Registers the writable handler (uWS calls it only after a write it held back). */
  private watchWritable(): void {
    this.owner.heldBack();
    if (this.writableWatched) return;
    this.writableWatched = true;
    this.owner.res.onWritable((offset) => this.onWritable(offset));
  }

  private onWritable(offset: number): boolean {
    if (!this.owner.live) return true;
    this.owner.tookSome();
    if (this.total < 0) {
      // Chunked. Bytes that did not fit a cork go first; their writes drain uWS's buffer.
      if (this.deferred !== null) {
        this.writeDeferred();
        return true;
      }
      // uWS does not drain its own buffer when an onWritable handler is set; an empty cork
      // does (its uncork writes the socket's buffer out). Then the app may go on.
      this.owner.res.cork(noop);
      this.wrote = true; // drained: not blocked any more (the send timeout stops watching)
      if (this.ended) this.finish();
      else this.owner.resumeApp();
      return true;
    }
    if (this.pending !== null) {
      const rest = this.pending.subarray(offset - this.pendingOffset);
      const [ok, finished] = this.owner.res.tryEnd(rest, this.total);
      if (finished) {
        this.pending = null;
        this.owner.written();
        return true;
      }
      if (!ok) return false;
      this.pending = null;
    }
    this.wrote = true; // what uWS held went out: not blocked (else the send timeout could fire while the app is slow)
    if (this.ended) this.finish();
    else this.owner.resumeApp();
    return true;
  }

  /** @internal (flushHeads) */
  flushQueuedHead(): void {
    if (!this.headQueued) return;
    this.headQueued = false;
    if (this.owner.live) {
      corking = this;
      corkUsed = 0;
      this.owner.res.cork(corkedHead);
    }
  }

  /** @internal (corkedHeadEnd) */
  endAfterHead(): void {
    this.writeHeadCorked();
    if (this.owner.live) this.owner.res.end();
  }

  private finish(): void {
    if (!this.owner.live) return;
    if (this.inCork) {
      if (this.headQueued) {
        this.headQueued = false;
        this.endAfterHead();
      } else this.owner.res.end();
    } else {
      corking = this;
      corkUsed = 0;
      if (this.headQueued) {
        this.headQueued = false;
        this.owner.res.cork(corkedHeadEnd);
      } else this.owner.res.cork(corkedEnd);
    }
    this.owner.written();
  }
}
