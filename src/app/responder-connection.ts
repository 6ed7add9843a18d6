// One accepted FastCGI connection on the application side: a RecordReader ('app' side)
// fed from the socket, the table of requests in flight on it (multiplexed or not),
// management records (GET_VALUES, unknown types), rejections (UNKNOWN_ROLE, CANT_MPX_CONN,
// OVERLOADED), aborts, STDIN backpressure and the KEEP_CONN rule. Listening, the accept
// queue and the connection limit are responder-server.ts's; framing of STDOUT is
// responder-exchange.ts's.
// Over 400 lines on purpose: the app side of one FastCGI connection (records in, a request's
// streams out) as one state machine.
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { FLAG_KEEP_CONN, ProtocolStatus, RecordType, Role, ValueName } from '../protocol/constants.js';
import { ProtocolError, ProtocolErrorCode } from '../protocol/errors.js';
import { encodeEndRequest, encodeGetValuesResult, encodeUnknownType } from '../protocol/management.js';
import { PairCollector, decodePairs } from '../protocol/pairs.js';
import { RecordReader, type RecordSink } from '../protocol/record-reader.js';
import { APP_STATUS_ABORTED, FcgiRequest, FcgiResponse, type ResponseChannel } from './responder-exchange.js';
import type { FcgiHandler, ResolvedServerOptions } from './options.js';

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly options: ResolvedServerOptions;
  readonly handler: FcgiHandler;
  /** True once close() was called: connections end when idle, new requests are refused. */
  readonly closing: boolean;
  /** Requests in flight over the whole server (FCGI_MAX_REQS is checked against it). */
  running: number;
  connectionClosed(conn: AppConnection): void;
}

/** A request in flight: collecting PARAMS, then running the handler. */
interface Slot {
  id: number;
  keepConn: boolean;
  collector: PairCollector | null; // null once PARAMS ended
  req: FcgiRequest | null;
  res: FcgiResponse | null;
  stdin: Readable | null;
  stdinEnded: boolean;
}

/** Ids recently finished or refused: their late records (STDIN, ABORT) are dropped, not errors. */
const RETIRED_LIMIT = 256;

export class AppConnection implements RecordSink, ResponseChannel {
  private readonly reader: RecordReader;
  private readonly slots = new Map<number, Slot>();
  private readonly retired = new Set<number>();
  private readonly drainWaiters = new Set<FcgiResponse>();
  /** Unread rest of a socket chunk while STDIN backpressure holds the socket. */
  private pending: Buffer | null = null;
  /** The request whose full STDIN buffer paused reading, or -1. */
  private pausedFor = -1;
  private resumeScheduled = false;
  private begun = 0;
  private closeWhenIdle = false;
  private corked = false;
  private gone = false;

  constructor(
    private readonly socket: Socket,
    private readonly host: ConnectionHost,
    readonly serial: number,
  ) {
    this.reader = new RecordReader(this, 'app');
    socket.on('data', (chunk: Buffer) => this.consume(chunk));
    socket.on('drain', () => this.onSocketDrain());
    socket.on('end', () => this.onPeerEnd());
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A web server that resets or stops reading is routine (client gone); anything else is worth a line.
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') this.logLine(`socket error: ${err.message}`);
    });
    socket.on('close', () => this.onClose());
  }

  get closed(): boolean {
    return this.gone || this.socket.destroyed || !this.socket.writable;
  }
  get queuedBytes(): number {
    return this.socket.writableLength;
  }
  /** Requests in flight on this connection. */
  get busy(): number {
    return this.slots.size;
  }

  /** Ends the connection once no request is in flight (server close). */
  endWhenIdle(): void {
    this.closeWhenIdle = true;
    if (this.slots.size === 0) this.endSocket();
  }

  /** Destroys the socket at once; requests in flight are aborted. */
  destroy(): void {
    this.socket.destroy();
  }

  // --- reading ---

  private consume(chunk: Buffer): void {
    if (this.gone) return;
    // Node allocates a fresh Buffer per read, so views into `chunk` stay valid after
    // the reader's call returns: STDIN goes to the handler without a copy.
    const used = this.reader.push(chunk);
    if (this.pausedFor !== -1 && !this.reader.failed && !this.gone) {
      // A request's STDIN buffer is full (the reader may have stopped at the chunk's end).
      if (used < chunk.length) this.pending = used === 0 ? chunk : chunk.subarray(used);
      this.socket.pause();
    }
  }

  /** A paused request's consumer wants more: feed the rest of the chunk, then the socket. */
  private resumeReading(): void {
    this.resumeScheduled = false;
    if (this.pausedFor === -1 || this.gone) return;
    this.pausedFor = -1;
    const rest = this.pending;
    this.pending = null;
    if (rest !== null) this.consume(rest);
    if (this.pausedFor === -1 && !this.gone) this.socket.resume();
  }

  private scheduleResume(id: number): void {
    if (this.pausedFor !== id || this.resumeScheduled) return;
    this.resumeScheduled = true;
    process.nextTick(() => this.resumeReading());
  }

  knowsRequest(id: number): boolean {
    return this.slots.has(id) || this.retired.has(id);
  }

  onBeginRequest(id: number, role: number, flags: number): void {
    if (this.slots.has(id)) {
      this.fail(
        new ProtocolError(
          ProtocolErrorCode.UnexpectedType,
          `BEGIN_REQUEST for request ${id} in flight`,
          id,
          RecordType.BeginRequest,
        ),
      );
      return;
    }
    this.retired.delete(id);
    this.begun++;
    const keepConn = (flags & FLAG_KEEP_CONN) !== 0;
    const o = this.host.options;
    let refusal = -1;
    if (role !== Role.Responder) refusal = ProtocolStatus.UnknownRole;
    else if (!o.mpxsConns && this.slots.size > 0) refusal = ProtocolStatus.CantMpxConn;
    else if (this.slots.size >= o.maxRequestsPerConnection || this.host.running >= o.maxReqs || this.host.closing)
      refusal = ProtocolStatus.Overloaded;
    if (refusal !== -1) {
      this.send(encodeEndRequest(id, 0, refusal));
      this.retire(id);
      if (!keepConn && this.slots.size === 0) this.endSocket();
      return;
    }
    if (!keepConn) this.closeWhenIdle = true;
    this.host.running++;
    this.slots.set(id, {
      id,
      keepConn,
      collector: new PairCollector(o.maxParamsBytes),
      req: null,
      res: null,
      stdin: null,
      stdinEnded: false,
    });
  }

  onStream(type: number, id: number, data: Buffer): boolean {
    const slot = this.slots.get(id);
    if (slot === undefined || this.gone) return true; // retired id: dropped
    if (type === RecordType.Params) {
      if (slot.collector === null) {
        this.fail(new ProtocolError(ProtocolErrorCode.UnexpectedType, 'PARAMS after the end of PARAMS', id, type));
        return true;
      }
      if (data.length > 0) {
        try {
          slot.collector.push(data);
        } catch (err) {
          this.fail(err as ProtocolError);
        }
        return true;
      }
      this.start(slot);
      return true;
    }
    if (type !== RecordType.Stdin) return true; // DATA belongs to the Filter role
    if (slot.collector !== null) {
      this.fail(new ProtocolError(ProtocolErrorCode.UnexpectedType, 'STDIN before the end of PARAMS', id, type));
      return true;
    }
    if (slot.stdinEnded) {
      this.fail(new ProtocolError(ProtocolErrorCode.UnexpectedType, 'STDIN after the end of STDIN', id, type));
      return true;
    }
    const stdin = slot.stdin!;
    if (data.length === 0) {
      slot.stdinEnded = true;
      if (!stdin.destroyed) stdin.push(null);
      return true;
    }
    if (stdin.destroyed) return true; // the handler finished: discard
    stdin.push(data);
    const o = this.host.options;
    const limit = this.slots.size > 1 ? o.stdinMpxBufferBytes : o.stdinBufferBytes;
    if (stdin.readableLength < limit) return true;
    this.pausedFor = id;
    return false;
  }

  onAbortRequest(id: number): void {
    const slot = this.slots.get(id);
    if (slot === undefined) return; // already answered
    if (slot.res === null) {
      // still in PARAMS: never started
      this.send(encodeEndRequest(id, APP_STATUS_ABORTED, ProtocolStatus.RequestComplete));
      this.requestDone(id);
      return;
    }
    slot.req!.controller.abort(new Error('FCGI_ABORT_REQUEST'));
    slot.res.end(APP_STATUS_ABORTED);
  }

  onEndRequest(): void {
    /* client-side record: the reader never delivers it on the app side */
  }

  onManagement(type: number, content: Buffer): void {
    if (type !== RecordType.GetValues) {
      this.send(encodeUnknownType(type));
      return;
    }
    let names: string[];
    try {
      names = decodePairs(content, content.length);
    } catch (err) {
      this.fail(err as ProtocolError);
      return;
    }
    const o = this.host.options;
    const answers: Array<[string, string]> = [];
    for (let i = 0; i < names.length; i += 2) {
      const name = names[i]!;
      if (name === ValueName.MaxConns) answers.push([name, String(o.maxConns)]);
      else if (name === ValueName.MaxReqs) answers.push([name, String(o.maxReqs)]);
      else if (name === ValueName.MpxsConns) answers.push([name, o.mpxsConns ? '1' : '0']);
    }
    this.send(encodeGetValuesResult(answers));
  }

  onProtocolError(err: ProtocolError): void {
    this.fail(err);
  }

  /** PARAMS ended: build the request and run the handler. */
  private start(slot: Slot): void {
    let flat: string[];
    try {
      flat = slot.collector!.finish();
    } catch (err) {
      this.fail(err as ProtocolError);
      return;
    }
    slot.collector = null;
    const params = new Map<string, string>();
    for (let i = 0; i < flat.length; i += 2) params.set(flat[i]!, flat[i + 1]!);
    const id = slot.id;
    const stdin = new Readable({
      highWaterMark: this.host.options.stdinBufferBytes,
      read: () => this.scheduleResume(id),
    });
    slot.stdin = stdin;
    const req = new FcgiRequest(id, params, stdin, slot.keepConn, this.serial, this.begun);
    const res = new FcgiResponse(this, id);
    slot.req = req;
    slot.res = res;
    try {
      const out = this.host.handler(req, res);
      if (out !== undefined && typeof out.then === 'function') {
        out.then(undefined, (err: unknown) => this.handlerFailed(res, err));
      }
    } catch (err) {
      this.handlerFailed(res, err);
    }
  }

  private handlerFailed(res: FcgiResponse, err: unknown): void {
    this.logLine(
      `handler failed on request ${res.id}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    if (res.finished) return;
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
    res.end(APP_STATUS_ABORTED);
  }

  // --- writing (ResponseChannel) ---

  writeParts(parts: Buffer[]): boolean {
    if (this.closed) return false;
    const s = this.socket;
    this.corkForTick();
    for (let i = 0; i < parts.length; i++) s.write(parts[i]!);
    return !s.writableNeedDrain;
  }

  /**
   * Holds writes until the end of this tick, so a head, a body and END_REQUEST written
   * in one go (and the answers to several multiplexed requests) leave in one writev:
   * the syscall, not the JS, is most of an answer's cost.
   */
  private corkForTick(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(this.uncork);
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  waitDrain(res: FcgiResponse): void {
    this.drainWaiters.add(res);
    if (!this.socket.writableNeedDrain) process.nextTick(() => this.onSocketDrain());
  }

  private onSocketDrain(): void {
    if (this.drainWaiters.size === 0) return;
    const waiting = [...this.drainWaiters];
    this.drainWaiters.clear();
    for (const res of waiting) res.emit('drain');
  }

  requestDone(id: number): void {
    const slot = this.slots.get(id);
    if (slot === undefined) return;
    this.slots.delete(id);
    this.host.running--;
    if (slot.res !== null) this.drainWaiters.delete(slot.res);
    if (slot.stdin !== null && !slot.stdin.readableEnded) slot.stdin.destroy();
    this.retire(id);
    // A request that held the socket for its unread STDIN no longer does.
    if (this.pausedFor === id) this.scheduleResume(id);
    if (this.closeWhenIdle && this.slots.size === 0) this.endSocket();
  }

  rawWrite(bytes: Buffer): void {
    this.send(bytes);
  }

  private send(bytes: Buffer): void {
    if (this.closed) return;
    this.corkForTick();
    this.socket.write(bytes);
  }

  /** FIN after what was written (the spec's "the application closes the connection"). */
  endSocket(): void {
    if (this.gone) return;
    this.socket.end();
  }

  // --- end of the connection ---

  private retire(id: number): void {
    this.retired.add(id);
    if (this.retired.size > RETIRED_LIMIT) this.retired.delete(this.retired.values().next().value!);
  }

  private onPeerEnd(): void {
    // The web server half-closed: nothing more will arrive. Requests whose STDIN is
    // complete may still answer (the spec lets the server close its side first only when
    // done with it); one still waiting for PARAMS or STDIN never can: abort it, so its
    // handler stops instead of waiting forever for the rest of the body.
    for (const [id, slot] of this.slots) {
      if (slot.stdinEnded) continue;
      if (slot.req === null) {
        this.requestDone(id);
        continue;
      }
      slot.req.controller.abort(new Error('the web server closed before the end of STDIN'));
      if (slot.stdin !== null && !slot.stdin.readableEnded) slot.stdin.destroy();
    }
    if (this.slots.size === 0) this.endSocket();
    else this.closeWhenIdle = true;
  }

  private fail(err: ProtocolError): void {
    if (this.gone) return;
    this.logLine(`${err.message}; closing the connection`);
    this.socket.destroy();
    this.onClose();
  }

  private onClose(): void {
    if (this.gone) return;
    this.gone = true;
    this.pending = null;
    for (const slot of this.slots.values()) {
      this.host.running--;
      slot.req?.controller.abort(new Error('FastCGI connection closed'));
      if (slot.stdin !== null && !slot.stdin.readableEnded) slot.stdin.destroy();
      slot.res?.lose();
    }
    this.slots.clear();
    this.drainWaiters.clear();
    this.host.connectionClosed(this);
  }

  private logLine(text: string): void {
    this.host.options.log(`connection ${this.serial}: ${text}`);
  }
}
