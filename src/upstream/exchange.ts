// One HTTP request's trip through FastCGI: wait for a connection from the pool, send
// the preamble and the body as STDIN records, parse the CGI head, stream the body back
// to a ResponseSink with backpressure, and decide whether the connection may be reused.
// It knows nothing of uWS: front/ implements ResponseSink.
// Over 400 lines on purpose: one request's exchange with the app as one state machine (STDIN, head,
// body, end, reuse verdict).
import { GatewayError, quoteLogText, type ErrorCode } from '../errors.js';
import { CgiHeadParser, HEAD_ERROR, HEAD_INCOMPLETE, type CgiHead } from '../cgi/response-head.js';
import { ProtocolStatus, RecordType } from '../protocol/constants.js';
import { frameCopy, setRecordIds } from '../protocol/stream-writer.js';
import { FailKind, type Channel, type ConnectionUser } from './connection.js';
import type { ConnectionPool, FreshRequest, Waiter } from './pool.js';

/** Where the response goes (front/reply.ts). Fixed methods, one object per request. */
export interface ResponseSink {
  onHead(head: CgiHead): void;
  /** Body bytes (a view valid only during the call). false = stop until exchange.resume(). */
  onBody(data: Buffer): boolean;
  /** The response is complete. */
  onEnd(): void;
  /** The request failed; `headSent` tells whether onHead was called. Called at most once, never after onEnd. */
  onFailure(err: GatewayError, headSent: boolean): void;
  /** STDIN can take more after sendBody returned false. */
  onBodyWritable(): void;
  /** Runs `fn` with the client corked (one send for what `fn` writes); optional. */
  corked?(fn: () => void): void;
}

export interface ExchangeOptions {
  /** FCGATE_MAX_HEAD: bytes of the CGI head block. */
  maxHead: number;
  /** FCGATE_STDERR_LIMIT: bytes of an app's STDERR logged per request; the rest is counted, not kept. */
  stderrLimit: number;
  /** Bytes of request body held while no connection is ready yet, before asking the client to pause. */
  bodyBufferLimit: number;
  /** Logs one line (stderr of the app, tagged). */
  log: (line: string) => void;
}

/** Longest STDERR line logged (nginx cuts its error-log lines near 2 KB); longer ones are cut, the cut counted. */
export const STDERR_LINE_MAX = 2048;

/**
 * Bytes of held STDIN handed to the app's socket at once; more waits here and goes on each
 * 'drain'. Every write resets the socket's timer, so a large replay log read slowly but
 * steadily is not timed out while it goes out. Large enough that a held body (at most
 * FCGATE_BODY_BUFFER, 64 KiB by default) and its preamble leave in one gather write: at
 * 64 KiB a 64 KiB POST took two writes and a 'drain' round, +50 % CPU per request in
 * bench:e2e (post64k, same run).
 */
const WRITE_BATCH = 1024 * 1024;

/** How much of the sent bytes is kept to replay on a fresh connection when a reused one turns out dead. */
const REPLAY_LIMIT = 256 * 1024;
/** The id records are framed with before a connection is known (writePreamble's too); see onAcquired. */
const FIRST_ID = 1;

const State = { Waiting: 0, Head: 1, Body: 2, Done: 3 } as const;

/** What an END_REQUEST's protocolStatus says, for the log line. */
const STATUS_NAMES: Record<number, string> = {
  [ProtocolStatus.CantMpxConn]:
    ' (FCGI_CANT_MPX_CONN: the app serves one request per connection; multiplex=on is wrong for it)',
  [ProtocolStatus.Overloaded]: ' (FCGI_OVERLOADED)',
  [ProtocolStatus.UnknownRole]: ' (FCGI_UNKNOWN_ROLE)',
};

export class Exchange implements ConnectionUser, Waiter, FreshRequest {
  queuedAt = 0;
  cancelled = false;
  freshSince = 0;
  stalled = false;
  /** Watched by the pool until the app's first byte (a request on a new connection). */
  private watched = false;
  /** Nothing came from the app yet for this request. */
  private silent = true;
  /** STDERR bytes logged, dropped over the limit, and a line not yet ended (≤ STDERR_LINE_MAX). */
  private stderrBytes = 0;
  private stderrDropped = 0;
  private stderrLine = '';
  /** performance.now() when the pool was asked for a connection, and when one was handed over (0 = not yet): for the metrics. */
  startedAt = 0;
  acquiredAt = 0;
  private conn: Channel | null = null;
  private state: number = State.Waiting;
  /** This request's id on its connection (connection.ts nextRequestId); records held so far carry it. */
  private id = FIRST_ID;
  private readonly parser: CgiHeadParser;
  /** STDIN records built before a connection was ready, or kept for a replay. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private replayable = true;
  private bodyDone: boolean;
  private stdinComplete = false;
  private retried = false;
  /** The last STDIN write to the app's socket was not taken whole ('drain' pending), or records wait in `outq`. */
  private congested = false;
  /** STDIN records not yet handed to the socket (see WRITE_BATCH), in order. */
  private outq: Buffer[] = [];
  private reusedConn = false;
  /** A connection was handed to this exchange at least once (so bytes may have reached the app). */
  private wasAcquired = false;
  /** The app's Content-Length still to pass on; -1 when it sent none. */
  private remaining = -1;
  private discard = false;

  /**
   * `preamble` is BEGIN_REQUEST + PARAMS (+ the empty STDIN when `hasBody` is false).
   * `tag` names the request in log lines ("req=<request id> GET /x").
   */
  constructor(
    private readonly pool: ConnectionPool,
    preamble: Buffer,
    hasBody: boolean,
    private readonly sink: ResponseSink,
    private readonly options: ExchangeOptions,
    readonly tag: string,
  ) {
    this.parser = new CgiHeadParser(options.maxHead);
    this.bodyDone = !hasBody;
    this.stdinComplete = !hasBody;
    this.held.push(preamble);
    this.heldBytes = preamble.length;
  }

  get backend(): string {
    return this.pool.name;
  }

  start(): void {
    this.startedAt = performance.now();
    this.pool.acquire(this);
  }

  /**
   * A piece of the request body (copied here, once, into STDIN records); `last` closes
   * STDIN. Returns false when the caller should pause the client until onBodyWritable.
   */
  sendBody(chunk: Uint8Array, last: boolean): boolean {
    if (this.state === State.Done) return true;
    const records = frameCopy(RecordType.Stdin, this.id, chunk, last);
    if (last) this.bodyDone = true;
    if (this.conn === null) {
      this.hold(records);
      return this.heldBytes < this.options.bodyBufferLimit;
    }
    if (this.replayable) this.hold(records);
    if (this.outq.length > 0) {
      this.outq.push(records); // behind what waits: order is kept
      this.congested = true;
      return false;
    }
    if (last) this.stdinComplete = true;
    this.congested = !this.conn.write(records);
    return !this.congested;
  }

  /**
   * Hands `parts` to the socket in batches of about WRITE_BATCH bytes while it takes them
   * (a batch is one gather write); the rest waits in `outq` for 'drain'.
   */
  private writeOut(parts: readonly Buffer[]): void {
    const conn = this.conn!;
    let i = 0;
    let ok = true;
    while (i < parts.length && ok) {
      let bytes = 0;
      const from = i;
      while (i < parts.length && (i === from || bytes + parts[i]!.length <= WRITE_BATCH)) bytes += parts[i++]!.length;
      ok = conn.writeAll(from === 0 && i === parts.length ? parts : parts.slice(from, i));
    }
    this.outq = i < parts.length ? parts.slice(i) : [];
    this.congested = !ok || this.outq.length > 0;
    if (this.bodyDone && this.outq.length === 0) this.stdinComplete = true;
  }

  /**
   * Whether the client should stop sending body for now: the bytes held while no
   * connection is ready reached the limit, or the app's socket is congested. The sink's
   * onBodyWritable says when to go on.
   */
  get bodyPaused(): boolean {
    if (this.state === State.Done || this.bodyDone) return false;
    return this.conn === null ? this.heldBytes >= this.options.bodyBufferLimit : this.congested;
  }

  /** The client is gone: free the app worker (close the connection) and stop. */
  abort(): void {
    if (this.state === State.Done) return;
    this.state = State.Done;
    this.unwatch();
    if (this.stderrBytes > 0) this.flushStderr();
    if (this.conn === null) {
      this.pool.cancel(this);
      return;
    }
    const conn = this.conn;
    this.conn = null;
    this.outq = [];
    conn.destroy();
    this.pool.release(conn, false);
  }

  /** The sink can take more body: continue reading the app. */
  resume(): void {
    if (this.conn !== null) this.conn.resume();
  }

  /** Keep reading the app but drop the body (HEAD, local redirects). */
  discardBody(): void {
    this.discard = true;
  }

  /** A connection was handed to this exchange at least once: bytes of the request may have reached the app. */
  get acquired(): boolean {
    return this.wasAcquired;
  }

  /**
   * Balancer failover: when this exchange never got a connection (nothing reached the
   * app), moves the STDIN records it holds into `next` (built with its own preamble for
   * another member) and returns true; false when bytes may have been sent.
   */
  handOverBody(next: Exchange): boolean {
    if (this.wasAcquired) return false;
    for (let i = 1; i < this.held.length; i++) next.hold(this.held[i]!); // held[0] is the preamble
    next.bodyDone = this.bodyDone;
    this.held = [];
    this.heldBytes = 0;
    return true;
  }

  // Waiter

  onAcquired(conn: Channel): void {
    if (this.state === State.Done) {
      // aborted while connecting
      this.pool.release(conn, true);
      return;
    }
    this.conn = conn;
    this.wasAcquired = true;
    this.acquiredAt = performance.now();
    this.reusedConn = conn.served > 0;
    this.state = State.Head;
    const id = conn.nextRequestId();
    if (id !== this.id) {
      // Held records were framed for another id: this connection's next one (a reused
      // connection, or a fresh one after a replay). No socket holds them now.
      for (const h of this.held) setRecordIds(h, id);
      this.id = id;
    }
    conn.attach(this, id, this.pool.worker.timeoutMs);
    this.silent = true;
    if (!this.reusedConn) {
      this.freshSince = Date.now();
      this.watched = true;
      this.pool.watchFresh(this);
    }
    const parts = this.held;
    if (!this.replayable) {
      this.held = [];
      this.heldBytes = 0;
    }
    this.writeOut(parts);
    if (this.heldBytes > REPLAY_LIMIT) this.dropReplay();
    // The client may have been paused while the body waited for this connection: what was
    // held is on its way, so it can go on (or on 'drain', when the socket is congested).
    if (!this.congested && !this.bodyDone) this.sink.onBodyWritable();
  }

  onAcquireFailed(err: GatewayError): void {
    if (this.state === State.Done) return;
    this.state = State.Done;
    this.sink.onFailure(err, false);
  }

  // ConnectionUser

  /** The app's first byte for this request: what the pool watched for (see STALL_MS). */
  private answered(): void {
    this.silent = false;
    if (this.watched) {
      this.watched = false;
      this.pool.unwatchFresh(this);
    }
    if (this.reusedConn) this.pool.reuseAnswered();
  }

  onStdout(data: Buffer): boolean {
    if (this.silent) this.answered();
    this.dropReplay();
    if (this.state === State.Head) {
      const at = this.parser.push(data);
      if (at === HEAD_INCOMPLETE) return true;
      if (at === HEAD_ERROR) {
        const e = this.parser.error!;
        this.fail('FCGATE_BAD_CGI_HEADER', `${e.kind}: ${e.detail}`);
        return true;
      }
      const head = this.parser.result();
      this.remaining = head.contentLength;
      this.state = State.Body;
      this.sink.onHead(head);
      if (this.state !== State.Body) return true; // the sink aborted
      if (at === data.length) return true;
      data = data.subarray(at);
    } else if (this.state !== State.Body) {
      return true;
    }
    if (this.discard) return true;
    if (this.remaining >= 0) {
      if (this.remaining === 0) return true; // beyond the app's Content-Length: cut
      if (data.length > this.remaining) data = data.subarray(0, this.remaining);
      this.remaining -= data.length;
    }
    return this.sink.onBody(data);
  }

  /** Runs `fn` (a read from the app) with the client corked. */
  corked(fn: () => void): void {
    const sink = this.sink;
    if (sink.corked !== undefined && this.state !== State.Done) sink.corked(fn);
    else fn();
  }

  /** The empty STDOUT record: nothing to do, END_REQUEST decides (see onEndRequest). */
  onStdoutEnd(): void {
    /* END_REQUEST decides */
  }

  /**
   * An app's STDERR (issue 9): logged line by line, each line at most STDERR_LINE_MAX
   * characters, at most FCGATE_STDERR_LIMIT bytes per request (the rest counted and named
   * once at the end), escaped so that it can neither end its field nor forge a line. Nothing
   * is kept beyond one unfinished line.
   */
  onStderr(data: Buffer): void {
    if (this.silent) this.answered();
    const room = this.options.stderrLimit - this.stderrBytes;
    if (room <= 0) {
      this.stderrDropped += data.length;
      return;
    }
    if (data.length > room) {
      this.stderrDropped += data.length - room;
      data = data.subarray(0, room);
    }
    this.stderrBytes += data.length;
    const text = this.stderrLine + data.toString('utf8');
    let from = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
      this.logStderr(text.slice(from, nl));
      from = nl + 1;
    }
    this.stderrLine = text.slice(from);
    if (this.stderrLine.length >= STDERR_LINE_MAX) {
      this.logStderr(this.stderrLine);
      this.stderrLine = '';
    }
  }

  private logStderr(line: string): void {
    const text = line.replace(/\s+$/, '');
    if (text.length === 0) return;
    const cut = text.length > STDERR_LINE_MAX ? ` cut=${text.length - STDERR_LINE_MAX}` : '';
    this.options.log(
      `FCGATE_APP_STDERR backend=${this.pool.name} ${this.tag}${cut} stderr="${quoteLogText(cut === '' ? text : text.slice(0, STDERR_LINE_MAX))}"`,
    );
  }

  /** The request is over: the unfinished STDERR line, and what was dropped over the limit. */
  private flushStderr(): void {
    if (this.stderrLine !== '') {
      this.logStderr(this.stderrLine);
      this.stderrLine = '';
    }
    if (this.stderrDropped > 0) {
      this.options.log(
        `FCGATE_APP_STDERR backend=${this.pool.name} ${this.tag} dropped_bytes=${this.stderrDropped} cause="STDERR over FCGATE_STDERR_LIMIT=${this.options.stderrLimit} for one request: not logged"`,
      );
      this.stderrDropped = 0;
    }
  }

  onEndRequest(appStatus: number, protocolStatus: number, clean: boolean): void {
    void appStatus; // Apache ignores it too: the head says what happened
    const conn = this.conn!;
    if (this.state === State.Done) return;
    if (this.silent) this.answered();
    if (this.stderrBytes > 0) this.flushStderr();
    if (!clean) {
      this.options.log(
        `FCGATE_APP_AFTER_END backend=${this.pool.name} ${this.tag} cause="records after END_REQUEST on the same connection: discarded, the connection is closed"`,
      );
    } else if (conn.lateBytes > 0) {
      this.options.log(
        `FCGATE_APP_AFTER_END backend=${this.pool.name} ${this.tag} late_bytes=${conn.lateBytes} cause="records for the request before this one on the connection (written after its END_REQUEST): discarded, the connection is closed"`,
      );
    }
    if (protocolStatus !== ProtocolStatus.RequestComplete && this.state === State.Head) {
      const code: ErrorCode =
        protocolStatus === ProtocolStatus.Overloaded ? 'FCGATE_BACKEND_OVERLOADED' : 'FCGATE_PROTOCOL';
      this.fail(code, `END_REQUEST protocolStatus=${protocolStatus}${STATUS_NAMES[protocolStatus] ?? ''}`);
      return;
    }
    if (this.state === State.Head) {
      const e = this.parser.finish();
      this.fail('FCGATE_BAD_CGI_HEADER', e === null ? 'END_REQUEST before the CGI head' : `${e.kind}: ${e.detail}`);
      return;
    }
    this.state = State.Done;
    this.conn = null;
    // END_REQUEST ends the request whether or not an empty STDOUT record came first:
    // PHP-FPM never sends that record, and requiring it made no PHP-FPM connection reusable.
    const reusable = clean && this.stdinComplete && protocolStatus === ProtocolStatus.RequestComplete;
    this.pool.release(conn, reusable);
    if (this.remaining > 0 && !this.discard) {
      this.sink.onFailure(
        new GatewayError(
          'FCGATE_APP_CLOSED',
          this.pool.name,
          `body ended ${this.remaining} bytes short of the app's Content-Length`,
        ),
        true,
      );
      return;
    }
    this.sink.onEnd();
  }

  onConnectionFailed(kind: FailKind, detail: string): void {
    const conn = this.conn;
    if (conn === null || this.state === State.Done) return;
    // A kept connection the app closed while idle: replace it, once, if nothing came back yet.
    if (
      this.state === State.Head
      && this.reusedConn
      && !this.retried
      && this.replayable
      && conn.replayable
      && (kind === FailKind.Closed || kind === FailKind.SocketError)
    ) {
      this.retried = true;
      this.unwatch();
      this.conn = null;
      this.outq = [];
      this.pool.release(conn, false);
      this.state = State.Waiting;
      this.pool.acquire(this);
      return;
    }
    const beforeHead = this.state === State.Head;
    if (kind === FailKind.Timeout && this.silent && this.reusedConn) this.pool.reuseNeverAnswered(this.tag);
    let code: ErrorCode;
    if (kind === FailKind.Timeout) code = beforeHead ? 'FCGATE_HEADER_TIMEOUT' : 'FCGATE_READ_TIMEOUT';
    else if (kind === FailKind.Protocol) code = 'FCGATE_PROTOCOL';
    else code = 'FCGATE_APP_CLOSED';
    this.fail(code, detail);
  }

  onWritable(): void {
    if (this.outq.length > 0 && this.conn !== null) {
      this.writeOut(this.outq);
      if (this.congested) return;
    }
    this.congested = false;
    if (this.state !== State.Done && !this.bodyDone) this.sink.onBodyWritable();
  }

  private unwatch(): void {
    if (this.watched) {
      this.watched = false;
      this.pool.unwatchFresh(this);
    }
  }

  private fail(code: ErrorCode, detail: string): void {
    this.unwatch();
    if (this.stderrBytes > 0) this.flushStderr();
    const headSent = this.state === State.Body;
    this.state = State.Done;
    const conn = this.conn;
    this.conn = null;
    this.outq = [];
    if (conn !== null) {
      conn.destroy();
      this.pool.release(conn, false);
    }
    this.sink.onFailure(new GatewayError(code, this.pool.name, detail), headSent);
  }

  private hold(records: Buffer): void {
    this.held.push(records);
    this.heldBytes += records.length;
    if (this.conn !== null && this.heldBytes > REPLAY_LIMIT) this.dropReplay();
  }

  private dropReplay(): void {
    if (!this.replayable) return;
    this.replayable = false;
    if (this.conn !== null) {
      this.held = [];
      this.heldBytes = 0;
    }
  }
}
