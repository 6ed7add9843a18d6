// One socket to a FastCGI application, one request at a time: the RecordReader on its
// bytes, the request in progress and the one before it (its late records), pause
// and resume for backpressure, the read timeout, and the facts the pool's reuse check
// needs. It knows nothing of HTTP or of pools.
// Over 400 lines on purpose: the read loop, pause/resume with held tails and the END_REQUEST rules
// are one ordering problem.
import net from 'node:net';
import type { BackendAddress } from '../config/model.js';
import { ProtocolStatus, RecordType } from '../protocol/constants.js';
import type { ProtocolError } from '../protocol/errors.js';
import { RecordReader, type RecordSink } from '../protocol/record-reader.js';

/** Why a connection failed a request. */
export const FailKind = { Closed: 0, SocketError: 1, Timeout: 2, Protocol: 3 } as const;
export type FailKind = (typeof FailKind)[keyof typeof FailKind];

/** The request side of a connection: one object per request, fixed methods. */
export interface ConnectionUser {
  /** STDOUT content (a view valid during the call). Return false to pause reading. */
  onStdout(data: Buffer): boolean;
  /** The empty STDOUT record. */
  onStdoutEnd(): void;
  onStderr(data: Buffer): void;
  /**
   * END_REQUEST, delivered once the record (with its padding) is read and nothing else for
   * this request came after it in the same read. `clean` false: the app wrote more records
   * after it (discarded); the connection is closed, never reused (issue 8 §3).
   */
  onEndRequest(appStatus: number, protocolStatus: number, clean: boolean): void;
  /** Runs `fn` with the client side corked, if the user has one (optional). */
  corked?(fn: () => void): void;
  /** The connection broke while this request used it. Called at most once. */
  onConnectionFailed(kind: FailKind, detail: string): void;
  /** The socket took all queued STDIN: more may be written. */
  onWritable(): void;
}

/**
 * What an exchange holds while its request runs: a whole connection (UpstreamConnection,
 * one request at a time) or one request id on a multiplexed one (MuxStream, mux-connection.ts).
 */
export interface Channel {
  /** Requests the connection completed before this one (0: a new connection). */
  readonly served: number;
  /** Bytes of records for an earlier request dropped while this one ran (logged by the exchange). */
  readonly lateBytes: number;
  /**
   * When the connection breaks before this request's head: the app cannot have read it, so it
   * may be sent again on a new connection (with the exchange's own rule: a kept connection,
   * nothing came back for the request). Always so for a connection of one request at a time;
   * on a multiplexed one only if it carried nothing else and the app sent nothing since.
   */
  readonly replayable: boolean;
  /** The request id this request gets. */
  nextRequestId(): number;
  attach(user: ConnectionUser, id: number, timeoutMs: number): void;
  /** STDIN for this request; false when the socket's buffer is full (onWritable follows). */
  write(data: Uint8Array): boolean;
  writeAll(parts: readonly Uint8Array[]): boolean;
  /** The user can take STDOUT again after onStdout returned false. */
  resume(): void;
  /**
   * Ends the request now (client gone, failure): closes the connection with a reset, or on a
   * multiplexed one sends FCGI_ABORT_REQUEST for this id and keeps the connection.
   */
  destroy(): void;
}

let nextSerial = 1;

export class UpstreamConnection implements RecordSink, Channel {
  readonly serial = nextSerial++;
  readonly createdAt = Date.now();
  lastUsed = this.createdAt;
  /** Requests completed on this connection. */
  served = 0;
  /** False once anything abnormal happened: such a connection is never reused. */
  healthy = true;
  private readonly reader: RecordReader;
  private user: ConnectionUser | null = null;
  private id = 0;
  /**
   * The id of the request before this one on the connection: records the app still writes
   * for it (after its END_REQUEST, in a later read) are dropped, counted in `lateBytes`, and
   * the connection is not kept after the current request (issue 8 §3).
   */
  private lateId = 0;
  /** Bytes of records for `lateId` dropped while the current request ran. */
  lateBytes = 0;
  private stdoutEnded = false;
  private ended = false;
  /** END_REQUEST was read; it reaches the user once the reader is past the record (deliverEnd). */
  private endPending = false;
  private endApp = 0;
  private endProtocol = 0;
  private tail: Buffer | null = null;
  private paused = false;
  /** The user's onStdout returned false during the current push. */
  private stopAsked = false;
  private closed = false;
  private timeoutMs = 0;
  /** What the socket's idle timer is set to (0: off). */
  private armedMs = 0;
  /** Called when the socket closes or misbehaves while idle (no user), with why. */
  onIdleLost: ((conn: UpstreamConnection, detail: string) => void) | null = null;

  /**
   * `ownReads`: the socket was opened with `onread` (openConnection's sharedReads) and its
   * reads come through onRead(); otherwise through 'data' events.
   */
  constructor(
    readonly socket: net.Socket,
    readonly backend: string,
    ownReads = false,
  ) {
    this.reader = new RecordReader(this, 'client');
    socket.setNoDelay(true);
    if (!ownReads) socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      if (this.user !== null) this.user.onWritable();
    });
    socket.on('error', (err) => this.lost(FailKind.SocketError, err.message));
    socket.on('end', () => this.lost(FailKind.Closed, 'the application closed the connection'));
    socket.on('close', () => this.lost(FailKind.Closed, 'connection closed'));
    socket.on('timeout', () => {
      if (this.user !== null && !this.paused) this.lost(FailKind.Timeout, `no data for ${this.timeoutMs} ms`);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }
  /** One request at a time: nothing else was on the connection (Channel.replayable). */
  get replayable(): boolean {
    return true;
  }
  get busy(): boolean {
    return this.user !== null;
  }
  /**
   * True when the request ended cleanly and nothing is left half-read. The pool asks from
   * inside onEndRequest, while the reader still counts the END_REQUEST record as current
   * (it moves to the next header after the callback): that record is complete then.
   */
  get clean(): boolean {
    return this.healthy && !this.closed && this.tail === null && this.reader.atBoundary;
  }

  /**
   * The request id for the next request on this connection: 1 for the first (as Apache and
   * nginx always send), then 2, 3, …: records an app writes after a request ended can then
   * never pass for the next request's (they name an id no longer in progress: a protocol
   * error that closes the connection), whatever the timing (issue 8 §3).
   */
  nextRequestId(): number {
    return (this.served % 0xffff) + 1;
  }

  /**
   * Binds a request to this connection and arms the read timeout. The socket's timer stays
   * armed between requests (detach leaves it): socket.setTimeout makes a new timer each
   * call (a bound function, a Timeout, a list insert), which cost ~2 % of the CPU of a small
   * request when done twice per request. Node restarts the timer on every read and write
   * (also after it fired), and the request's first write follows at once, so it counts from
   * there as before; a 'timeout' while idle is ignored (no user).
   */
  attach(user: ConnectionUser, id: number, timeoutMs: number): void {
    this.user = user;
    this.lateId = this.served > 0 ? this.id : 0;
    this.lateBytes = 0;
    this.id = id;
    this.stdoutEnded = false;
    this.ended = false;
    this.endPending = false;
    this.timeoutMs = timeoutMs;
    this.arm(timeoutMs);
  }

  /** Unbinds the request (after END_REQUEST or on abort); the timer stays (see attach). */
  detach(): void {
    this.user = null;
    this.lastUsed = Date.now();
  }

  /** The socket's idle timer, set only when it changes. */
  private arm(ms: number): void {
    if (this.armedMs === ms || this.closed) return;
    this.armedMs = ms;
    this.socket.setTimeout(ms);
  }

  /** Writes bytes for the current request; false when the socket's buffer is full. */
  write(data: Uint8Array): boolean {
    return this.socket.write(data);
  }

  /** Writes several buffers in one syscall where the kernel allows it. */
  writeAll(parts: readonly Uint8Array[]): boolean {
    const s = this.socket;
    if (parts.length === 1) return s.write(parts[0]!);
    s.cork();
    let ok = true;
    for (let i = 0; i < parts.length; i++) ok = s.write(parts[i]!);
    s.uncork();
    return ok;
  }

  /** Stops reading (the client can't take more); the read timeout is off meanwhile. */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
    this.arm(0);
  }

  /** Continues reading, first the bytes held back when pausing. */
  resume(): void {
    if (!this.paused || this.closed) return;
    this.paused = false;
    if (this.user !== null) this.arm(this.timeoutMs);
    while (this.tail !== null) {
      const t = this.tail;
      this.tail = null;
      this.stopAsked = false;
      const used = this.reader.push(t);
      if (this.reader.failed || this.closed) return;
      if (used < t.length) this.tail = t.subarray(used);
      if (this.endPending) {
        this.deliverEnd();
        if (this.closed) return;
        break;
      }
      if (used < t.length || this.stopAsked) {
        this.pause();
        return;
      }
    }
    if (!this.paused && !this.closed) this.socket.resume();
  }

  /**
   * Closes the socket. With a request in flight (client abort, timeout, failure) it is a
   * reset, not a FIN: an app reading STDIN must not take the half-sent body for a whole
   * one, nor wait forever for its end (a FIN only half-closes). Idle: a plain close.
   */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.healthy = false;
    const s = this.socket;
    if (this.user !== null && !s.destroyed && s.remoteAddress !== undefined && s.remoteFamily !== undefined) {
      try {
        s.resetAndDestroy();
        return;
      } catch {
        /* not TCP (unix socket): plain close below */
      }
    }
    s.destroy();
  }

  /** A read into the shared buffer (openConnection's sharedReads): valid during this call only. */
  onRead(nread: number, buf: Buffer): void {
    this.onData(buf.subarray(0, nread));
  }

  private onData(chunk: Buffer): void {
    if (this.user === null) {
      // Bytes while idle: the app broke the protocol or is closing. Never reuse.
      this.lost(FailKind.Protocol, `${chunk.length} unexpected bytes on an idle connection`);
      return;
    }
    if (this.paused || this.tail !== null) {
      // Arrived after pause() was requested (Node may still emit what it had read): keep
      // order. A copy: the chunk may be a view of the shared read buffer (onRead).
      this.tail = this.tail === null ? Buffer.from(chunk) : Buffer.concat([this.tail, chunk]);
      return;
    }
    this.stopAsked = false;
    this.incoming = chunk;
    // One client write per read from the app: the user corks its client while the
    // records of this chunk are parsed (head, body and end leave in one send).
    const user = this.user;
    if (user.corked !== undefined) user.corked(this.pushIncoming);
    else this.pushIncoming();
  }

  private incoming: Buffer | null = null;
  private readonly pushIncoming = (): void => {
    const chunk = this.incoming!;
    this.incoming = null;
    const used = this.reader.push(chunk);
    if (this.reader.failed || this.closed) return;
    if (used < chunk.length) this.tail = Buffer.from(chunk.subarray(used)); // a copy (see onData)
    if (this.endPending) {
      this.deliverEnd();
      return;
    }
    // The user may ask to stop on the chunk's last record: pause then too, or the next
    // chunk would be pushed onto a client that can't take it.
    if (used < chunk.length || this.stopAsked) this.pause();
  };

  /**
   * Hands END_REQUEST to the user once the reader is past the record (its padding may come
   * in the next read): the pool's reuse check then sees a connection at a record boundary.
   * Records after it in the same read never get here: they name a request no longer in
   * progress, a protocol error, and lost() delivers the end as not clean.
   */
  private deliverEnd(): void {
    if (this.user === null) return;
    if (this.reader.inHeader) {
      // Part of a record after END_REQUEST: the request is complete, the connection is not
      // kept; lost() ends it now rather than wait for the rest of a header that may never come.
      this.lost(FailKind.Protocol, 'bytes after END_REQUEST');
      return;
    }
    if (!this.reader.atBoundary) return;
    this.endPending = false;
    this.user.onEndRequest(this.endApp, this.endProtocol, true);
  }

  private lost(kind: FailKind, detail: string): void {
    const user = this.user;
    const wasClosed = this.closed;
    this.destroy();
    if (user !== null && this.endPending) {
      // The request is complete (END_REQUEST came); what followed it is dropped with the connection.
      this.endPending = false;
      user.onEndRequest(this.endApp, this.endProtocol, false);
      return;
    }
    if (user !== null) {
      this.user = null;
      user.onConnectionFailed(kind, detail);
    } else if (!wasClosed && this.onIdleLost !== null) {
      this.onIdleLost(this, detail);
    }
  }

  // RecordSink: records from the application.

  knowsRequest(id: number): boolean {
    return this.user !== null && ((id === this.id && !this.ended) || (id === this.lateId && id !== 0));
  }

  onStream(type: number, id: number, data: Buffer): boolean {
    if (id !== this.id) return this.late(data.length);
    const user = this.user!;
    if (type === RecordType.Stdout) {
      if (this.stdoutEnded) {
        // Data after the end-of-stream record: discarded, and the connection is suspect.
        this.healthy = false;
        return true;
      }
      if (data.length === 0) {
        this.stdoutEnded = true;
        user.onStdoutEnd();
        return true;
      }
      const more = user.onStdout(data);
      if (!more) this.stopAsked = true;
      return more;
    }
    if (data.length > 0) user.onStderr(data);
    return true;
  }

  /** A record for the previous request: dropped, and this connection is not kept. */
  private late(bytes: number): true {
    this.lateBytes += bytes + 8;
    this.healthy = false;
    return true;
  }

  onEndRequest(id: number, appStatus: number, protocolStatus: number): void {
    if (id !== this.id) {
      this.late(8);
      return;
    }
    this.ended = true;
    this.served++;
    if (protocolStatus !== ProtocolStatus.RequestComplete) this.healthy = false;
    this.endPending = true;
    this.endApp = appStatus;
    this.endProtocol = protocolStatus;
  }

  onBeginRequest(): void {
    /* never reaches a client-side reader */
  }
  onAbortRequest(): void {
    /* never reaches a client-side reader */
  }
  onManagement(): void {
    // An unsolicited GET_VALUES_RESULT or UNKNOWN_TYPE: harmless, but unexpected.
    this.healthy = false;
  }

  onProtocolError(err: ProtocolError): void {
    this.lost(FailKind.Protocol, err.message);
  }
}

/**
 * The read buffer every app connection of this thread reads into (openConnection's
 * sharedReads): Node's `onread` hands each read to the connection synchronously, which
 * parses it at once; only what must outlive the read (a tail held while paused, bytes the
 * client could not take yet: reply.ts) is copied. Saves the Buffer (and its malloc'd
 * memory) Node makes per read, and the Readable stream steps ('data' events) per read.
 */
const READ_BUFFER_SIZE = 64 * 1024;
let sharedReadBuffer: Buffer | null = null;

/**
 * Opens a connection; calls back exactly once. `sharedReads`: the connection reads into the
 * thread's shared buffer (no 'data' events: for UpstreamConnection's own use only; a caller
 * that takes the socket over, like the GET_VALUES probe, leaves it false).
 */
export function openConnection(
  address: BackendAddress,
  backend: string,
  timeoutMs: number,
  done: (err: Error | null, conn: UpstreamConnection | null, timedOut: boolean) => void,
  sharedReads = false,
): net.Socket {
  return openSocket(address, timeoutMs, (s) => new UpstreamConnection(s, backend, sharedReads), done, sharedReads);
}

/** What openSocket makes of a connected socket: it takes the reads when they are shared. */
export interface SocketOwner {
  onRead(nread: number, buf: Buffer): void;
}

/** Connects, then hands the socket to `make` (openConnection; mux-connection.ts). Calls back exactly once. */
export function openSocket<T extends SocketOwner>(
  address: BackendAddress,
  timeoutMs: number,
  make: (socket: net.Socket) => T,
  done: (err: Error | null, conn: T | null, timedOut: boolean) => void,
  sharedReads: boolean,
): net.Socket {
  let target: T | null = null;
  const onread = sharedReads
    ? {
        buffer: (sharedReadBuffer ??= Buffer.allocUnsafe(READ_BUFFER_SIZE)),
        callback: (nread: number, buf: Uint8Array): boolean => {
          if (target !== null) target.onRead(nread, buf as Buffer);
          return true;
        },
      }
    : undefined;
  const socket =
    address.kind === 'tcp'
      ? net.connect({ host: address.host, port: address.port, onread })
      : net.connect({ path: address.path, onread });
  let settled = false;
  const timer = setTimeout(() => {
    if (settled) return;
    settled = true;
    socket.destroy();
    done(new Error(`connect timed out after ${timeoutMs} ms`), null, true);
  }, timeoutMs);
  socket.once('connect', () => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    socket.removeAllListeners('error');
    target = make(socket);
    done(null, target, false);
  });
  socket.once('error', (err) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    done(err, null, false);
  });
  return socket;
}
