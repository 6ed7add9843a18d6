// One socket to a FastCGI application that multiplexes (FCGI_MPXS_CONNS, issue 15 §1):
// several requests at once, each a MuxStream with its own id. Records are routed by id;
// what one request's client cannot take yet is held for that request alone (up to
// FCGATE_MUX_HOLD, then the whole connection pauses: FastCGI has no flow control per
// request, so the others on it wait, and the pool opens new requests elsewhere); writes made in one event-loop turn leave in one send (cork until setImmediate);
// an abort sends FCGI_ABORT_REQUEST for its id and keeps the connection; a broken
// connection fails every request on it. It knows nothing of HTTP or of pools.
//
//   read:  [STDOUT 3][STDOUT 3][END 3][STDOUT 5][END 5]   one chunk from the app
//          └──── one cork of client 3 ───┘└ cork of 5 ┘   (grouped by id: one send each)
import type net from 'node:net';
import { HEADER_LEN, ProtocolStatus, RecordType } from '../protocol/constants.js';
import type { ProtocolError } from '../protocol/errors.js';
import { encodeAbortRequest } from '../protocol/management.js';
import { RecordReader, type RecordSink } from '../protocol/record-reader.js';
import { type Channel, type ConnectionUser, FailKind } from './connection.js';

/**
 * Ids handed out just before the next one count as recently ended when not in flight:
 * records an app still writes for them are dropped, not a protocol error. Ids go up one by
 * one, so that is a window behind `nextId`, not a table.
 */
const RETIRED_IDS = 1024;
const MAX_ID = 0xffff;

/** One request on a MuxConnection. Fixed fields; what the exchange holds (Channel). */
export class MuxStream implements Channel {
  user: ConnectionUser | null = null;
  /** STDOUT (copies) and the end held while the user can't take them, in order. */
  held: Buffer[] | null = null;
  heldBytes = 0;
  /** END_REQUEST held behind `held`: app status, protocol status (-1: none). */
  heldEnd = -1;
  heldEndApp = 0;
  /** The user's onStdout returned false: hold until resume(). */
  blocked = false;
  /** Counted in the connection's `overLimit`. */
  overLimit = false;
  stdoutEnded = false;
  /** Bytes of STDIN reached the socket: an end without END_REQUEST needs an ABORT_REQUEST. */
  sent = false;
  /** END_REQUEST was read for this id. */
  ended = false;
  /** FCGI_ABORT_REQUEST was sent: the id stays taken until the app's END_REQUEST (or the timeout). */
  aborting = false;
  /** A write returned false: onWritable on 'drain'. */
  wantsDrain = false;
  timeoutMs = 0;
  /** Date.now() of the last record for this id or write of its STDIN. */
  lastActive = 0;
  readonly lateBytes = 0;
  /** No other request was on the connection when this one was opened (see replayable). */
  private readonly openedIdle: boolean;
  /** The connection's record count then. */
  private readonly recordsAtOpen: number;

  constructor(
    readonly conn: MuxConnection,
    readonly id: number,
    /** Requests the connection had completed when this one was opened on it. */
    readonly served: number,
  ) {
    this.openedIdle = conn.streams.size === 0;
    this.recordsAtOpen = conn.records;
  }

  /**
   * A replay is safe only if the connection was idle when this request went out and the app
   * sent nothing since: an app that answered anything after reading this request (or had
   * others in flight) may have it (issue 15 review: a busy connection's requests were replayed).
   */
  get replayable(): boolean {
    return this.openedIdle && this.conn.records === this.recordsAtOpen;
  }

  nextRequestId(): number {
    return this.id;
  }

  attach(user: ConnectionUser, id: number, timeoutMs: number): void {
    void id; // the connection chose it (nextRequestId)
    this.user = user;
    this.timeoutMs = timeoutMs;
    this.lastActive = Date.now();
    this.conn.watchTimeouts(timeoutMs);
  }

  write(data: Uint8Array): boolean {
    return this.conn.send(this, data);
  }

  writeAll(parts: readonly Uint8Array[]): boolean {
    let ok = true;
    for (let i = 0; i < parts.length; i++) ok = this.conn.send(this, parts[i]!);
    return ok;
  }

  resume(): void {
    this.conn.resumeStream(this);
  }

  destroy(): void {
    this.conn.abortStream(this);
  }
}

let nextSerial = 1;

export class MuxConnection implements RecordSink {
  readonly serial = nextSerial++;
  readonly createdAt = Date.now();
  /** When the last request ended (for the pool's ttl). */
  lastUsed = this.createdAt;
  /** Requests completed (END_REQUEST read) on this connection. */
  served = 0;
  /** False once anything abnormal happened: it takes no new request and closes when its requests end. */
  healthy = true;
  /** Bytes of records for requests already ended (not aborted), dropped: counted for the log. */
  strayBytes = 0;
  /** Records read from the app (MuxStream.replayable). */
  records = 0;
  /** Requests in flight by id, aborting ones included (they still hold an id at the app). */
  readonly streams = new Map<number, MuxStream>();
  /** Called when an id is given back (a request ended or its abort was answered), and when the connection broke. */
  onFree: ((conn: MuxConnection) => void) | null = null;
  /** Called when a slow client's held bytes made the connection stop reading (the pool logs it). */
  onHeld: ((conn: MuxConnection, held: number) => void) | null = null;
  private readonly reader: RecordReader;
  /** Ids that ended by an abort (at most RETIRED_IDS, oldest dropped first): late records for them are expected. */
  private readonly aborted = new Set<number>();
  /** nextId went past 65535 once: every id counts as handed out. */
  private wrapped = false;
  /** Date.now() of the current read: what records of this read set lastActive to. */
  private now = 0;
  private nextId = 1;
  private closed = false;
  private paused = false;
  /** Streams over holdLimit: the socket is paused while any is. */
  private overLimit = 0;
  private corked = false;
  private heldSeen = false;
  /** The id whose user is corked around the records being pushed (0: none). */
  private corkId = 0;
  /** The read and the run of it that pushPending gives the reader (inside a user's cork). */
  private pending: Buffer | null = null;
  private pendingFrom = 0;
  private pendingTo = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerMs = 0;
  /** The timeout the last watchTimeouts call was for (most requests share one). */
  private timerFor = 0;

  constructor(
    readonly socket: net.Socket,
    readonly backend: string,
    /** Requests in flight allowed (FCGI_MAX_REQS, cli/serve.ts multiplexRequests). */
    readonly limit: number,
    /** FCGATE_MUX_HOLD: STDOUT bytes held for one request whose client is slow before the connection stops reading. */
    private readonly holdLimit: number,
    ownReads = false,
  ) {
    this.reader = new RecordReader(this, 'client');
    socket.setNoDelay(true);
    if (!ownReads) socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', (err) => this.lost(FailKind.SocketError, err.message));
    socket.on('end', () => this.lost(FailKind.Closed, 'the application closed the connection'));
    socket.on('close', () => this.lost(FailKind.Closed, 'connection closed'));
  }

  get isClosed(): boolean {
    return this.closed;
  }
  get isPaused(): boolean {
    return this.paused;
  }
  /** A new request may be opened here now. */
  get hasRoom(): boolean {
    return this.healthy && !this.closed && !this.paused && this.streams.size < this.limit;
  }

  /** A new request on this connection with a free id. Call only when hasRoom. */
  open(): MuxStream {
    let id = this.nextId;
    // Not an id in flight, nor one whose abort the app may still be writing for (after a wrap).
    while (this.streams.has(id) || this.aborted.has(id)) id = id === MAX_ID ? 1 : id + 1;
    if (id === MAX_ID) this.wrapped = true;
    this.nextId = id === MAX_ID ? 1 : id + 1;
    const s = new MuxStream(this, id, this.served);
    this.streams.set(id, s);
    return s;
  }

  /**
   * The exchange is done with `s` (pool.release): its id is given back now unless an
   * ABORT_REQUEST still waits for the app's END_REQUEST. One that sent bytes and got no
   * END_REQUEST is aborted first.
   */
  release(s: MuxStream): void {
    s.user = null;
    this.dropHeld(s);
    if (this.streams.get(s.id) !== s) return;
    if (!s.ended && s.sent && !this.closed) this.abortStream(s);
    if (s.aborting && !this.closed) return;
    this.forget(s);
  }

  /** Writes for `s`, corked until the end of this event-loop turn (one send for every request's records). */
  send(s: MuxStream, data: Uint8Array): boolean {
    if (this.closed) return true; // the exchange hears of it through onConnectionFailed
    s.sent = true;
    s.lastActive = Date.now();
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(this.uncork);
    }
    const ok = this.socket.write(data);
    if (!ok) s.wantsDrain = true;
    return ok;
  }

  private readonly uncork = (): void => {
    this.corked = false;
    if (!this.socket.destroyed) this.socket.uncork();
  };

  /** FCGI_ABORT_REQUEST for `s`: its user hears nothing more; the connection stays. */
  abortStream(s: MuxStream): void {
    s.user = null;
    this.dropHeld(s);
    if (s.ended || s.aborting || this.closed || this.streams.get(s.id) !== s) return;
    s.aborting = true;
    s.lastActive = Date.now();
    if (!s.sent) {
      // Nothing reached the app for this id: nothing to abort.
      this.forget(s);
      return;
    }
    this.send(s, encodeAbortRequest(s.id));
  }

  /** The user of `s` can take STDOUT again: what was held goes first, then reading resumes. */
  resumeStream(s: MuxStream): void {
    s.blocked = false;
    const user = s.user;
    if (user === null) return;
    s.lastActive = Date.now(); // held for its client: that wait is not the app's
    while (s.held !== null && s.held.length > 0 && !s.blocked && s.user === user) {
      const b = s.held.shift()!;
      s.heldBytes -= b.length;
      if (user.onStdout(b) === false) s.blocked = true;
    }
    if (s.user !== user) return;
    if (s.held !== null && s.held.length === 0) s.held = null;
    if (s.held === null && s.heldEnd >= 0 && !s.blocked) {
      const protocol = s.heldEnd;
      s.heldEnd = -1;
      user.onEndRequest(s.heldEndApp, protocol, true);
    }
    this.underLimit(s);
  }

  /** Closes the socket; every request still on it fails (lost). */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.healthy = false;
    this.stopTimer();
    this.socket.destroy();
  }

  /** A read into the shared buffer (openSocket's sharedReads): valid during this call only. */
  onRead(nread: number, buf: Buffer): void {
    this.onData(buf.subarray(0, nread));
  }

  /**
   * Pushes a read to the reader, in runs of records for the same id, each run with its
   * client corked (head, body and end of a request leave in one send). Runs are found from
   * the record headers when the reader is between records; otherwise records are delivered
   * one cork each (deliver).
   */
  private onData(chunk: Buffer): void {
    this.now = Date.now();
    let at = 0;
    const end = chunk.length;
    while (at < end && !this.closed && !this.reader.failed) {
      if (!this.reader.atBoundary || end - at < HEADER_LEN) {
        this.reader.push(chunk, at, end);
        return;
      }
      const id = (chunk[at + 2]! << 8) | chunk[at + 3]!;
      let to = at;
      while (to + HEADER_LEN <= end && ((chunk[to + 2]! << 8) | chunk[to + 3]!) === id) {
        to += HEADER_LEN + ((chunk[to + 4]! << 8) | chunk[to + 5]!) + chunk[to + 6]!;
      }
      if (to > end || (to + HEADER_LEN > end && to < end)) to = end; // a record cut by the read: the rest
      const user = id === 0 ? null : (this.streams.get(id)?.user ?? null);
      if (user?.corked === undefined) {
        this.reader.push(chunk, at, to);
      } else {
        this.pending = chunk;
        this.pendingFrom = at;
        this.pendingTo = to;
        this.corkId = id;
        user.corked(this.pushPending);
        this.corkId = 0;
        this.pending = null;
      }
      at = to;
    }
  }

  private readonly pushPending = (): void => {
    this.reader.push(this.pending!, this.pendingFrom, this.pendingTo);
  };

  private onDrain(): void {
    for (const s of this.streams.values()) {
      if (!s.wantsDrain) continue;
      s.wantsDrain = false;
      if (s.user !== null) s.user.onWritable();
    }
  }

  /** Runs the per-request read timeout check every quarter of the shortest timeout (≥ 50 ms). */
  watchTimeouts(ms: number): void {
    if (this.timer !== null && ms === this.timerFor) return;
    const every = Math.max(50, Math.min(1000, Math.floor(ms / 4)));
    this.timerFor = ms;
    if (this.timer !== null && this.timerMs <= every) return;
    this.stopTimer();
    this.timerMs = every;
    this.timer = setInterval(() => this.checkTimeouts(), every);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
      this.timerMs = 0;
    }
  }

  /**
   * A request with no record and no write for its timeout fails alone (its id is aborted);
   * none times out while the connection is paused for another request's slow client, nor
   * while its own client holds it up. An abort the app never answers frees its id after the
   * timeout.
   */
  private checkTimeouts(): void {
    if (this.streams.size === 0) {
      this.stopTimer();
      return;
    }
    if (this.paused) return;
    const now = Date.now();
    for (const s of [...this.streams.values()]) {
      if (s.timeoutMs <= 0 || now - s.lastActive < s.timeoutMs) continue;
      if (s.aborting && s.user === null) {
        this.forget(s);
        continue;
      }
      const user = s.user;
      if (user === null || s.blocked || s.held !== null || s.heldEnd >= 0) continue;
      s.user = null;
      user.onConnectionFailed(FailKind.Timeout, `no data for ${s.timeoutMs} ms`);
    }
  }

  /** The id is free again (late records for it are dropped while it is recent: isRecent), the pool told. */
  private forget(s: MuxStream): void {
    if (this.streams.get(s.id) !== s) return;
    this.streams.delete(s.id);
    this.dropHeld(s);
    if (s.aborting) {
      if (this.aborted.size >= RETIRED_IDS) this.aborted.delete(this.aborted.values().next().value!);
      this.aborted.add(s.id);
    }
    if (this.streams.size === 0) this.lastUsed = Date.now();
    this.onFree?.(this);
  }

  private dropHeld(s: MuxStream): void {
    s.held = null;
    s.heldBytes = 0;
    s.heldEnd = -1;
    this.underLimit(s);
  }

  private underLimit(s: MuxStream): void {
    if (!s.overLimit || s.heldBytes > this.holdLimit) return;
    s.overLimit = false;
    this.overLimit--;
    if (this.overLimit === 0 && this.paused && !this.closed) {
      this.paused = false;
      // Time spent paused for someone's slow client counts toward nobody's read timeout.
      const now = Date.now();
      for (const t of this.streams.values()) t.lastActive = now;
      this.socket.resume();
      this.onFree?.(this); // room again for new requests
    }
  }

  private hold(s: MuxStream, data: Buffer): void {
    (s.held ??= []).push(Buffer.from(data)); // a copy: data is a view of the read
    s.heldBytes += data.length;
    if (!s.overLimit && s.heldBytes > this.holdLimit) {
      s.overLimit = true;
      this.overLimit++;
      if (!this.paused) {
        this.paused = true;
        this.socket.pause();
        if (!this.heldSeen) this.onHeld?.(this, s.heldBytes); // once per connection: no log flood
        this.heldSeen = true;
      }
    }
  }

  /**
   * The connection broke: every request on it fails, except those whose response is whole
   * and only waits for a slow client (END_REQUEST held): they stay and drain (resumeStream).
   */
  private lost(kind: FailKind, detail: string): void {
    const wasClosed = this.closed;
    this.destroy();
    if (wasClosed && this.streams.size === 0) return;
    for (const s of [...this.streams.values()]) {
      if (s.heldEnd >= 0 && s.user !== null) continue;
      this.streams.delete(s.id);
      const user = s.user;
      s.user = null;
      this.dropHeld(s);
      if (user !== null) user.onConnectionFailed(kind, detail);
    }
    this.onFree?.(this);
  }

  // RecordSink: records from the application.

  knowsRequest(id: number): boolean {
    return this.streams.has(id) || this.aborted.has(id) || this.isRecent(id);
  }

  /** `id` was handed out among the last RETIRED_IDS (so it ended, unless in flight). */
  private isRecent(id: number): boolean {
    const behind = this.nextId > id ? this.nextId - id : this.nextId + MAX_ID - id;
    return behind <= RETIRED_IDS && (this.wrapped || id < this.nextId);
  }

  onStream(type: number, id: number, data: Buffer): boolean {
    this.records++;
    const s = this.streams.get(id);
    if (s === undefined || s.ended) {
      this.stray(data.length + HEADER_LEN, id);
      return true;
    }
    s.lastActive = this.now;
    const user = s.user;
    if (user === null) return true; // aborting: the app may write until it sees the abort
    if (type !== RecordType.Stdout) {
      if (data.length > 0) user.onStderr(data);
      return true;
    }
    if (s.stdoutEnded) {
      this.suspect(); // data after the end-of-stream record: dropped
      return true;
    }
    if (data.length === 0) {
      s.stdoutEnded = true;
      return true;
    }
    if (s.blocked || s.held !== null) this.hold(s, data);
    else if (this.corkId === id || user.corked === undefined) {
      if (user.onStdout(data) === false) s.blocked = true;
    } else {
      const d = data;
      user.corked(() => {
        if (s.user === user && user.onStdout(d) === false) s.blocked = true;
      });
    }
    return true;
  }

  onEndRequest(id: number, appStatus: number, protocolStatus: number): void {
    this.records++;
    const s = this.streams.get(id);
    if (s === undefined || s.ended) {
      this.stray(HEADER_LEN * 2, id);
      return;
    }
    s.ended = true;
    if (!s.aborting) this.served++;
    const user = s.user;
    if (user === null) {
      this.forget(s); // the abort is answered: the id is free
      return;
    }
    if (protocolStatus !== ProtocolStatus.RequestComplete && protocolStatus !== ProtocolStatus.Overloaded) {
      this.suspect(); // CANT_MPX_CONN, UNKNOWN_ROLE: take nothing more here
    }
    if (s.blocked || s.held !== null) {
      s.heldEnd = protocolStatus;
      s.heldEndApp = appStatus;
      return;
    }
    if (this.corkId === id || user.corked === undefined) user.onEndRequest(appStatus, protocolStatus, true);
    else user.corked(() => user.onEndRequest(appStatus, protocolStatus, true));
  }

  /**
   * Records for a request already ended: dropped. After an abort they are expected (Go's
   * net/http/fcgi answers the abort at once and its handler writes on); after a clean end
   * they mean an app out of step: no new request goes to this connection.
   */
  private stray(bytes: number, id: number): void {
    const s = this.streams.get(id);
    if (s !== undefined ? s.aborting : this.aborted.has(id)) return;
    this.strayBytes += bytes;
    this.suspect();
  }

  /** Something abnormal: no new request here; the pool hears of it (it closes the connection once idle). */
  private suspect(): void {
    if (!this.healthy) return;
    this.healthy = false;
    this.onFree?.(this);
  }

  onBeginRequest(): void {
    /* never reaches a client-side reader */
  }
  onAbortRequest(): void {
    /* never reaches a client-side reader */
  }
  onManagement(): void {
    this.suspect(); // an unsolicited GET_VALUES_RESULT or UNKNOWN_TYPE
  }

  onProtocolError(err: ProtocolError): void {
    this.lost(FailKind.Protocol, err.message);
  }
}
