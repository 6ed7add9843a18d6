// One FastCGI responder request as the handler sees it: FcgiRequest (params, STDIN as a
// Readable, AbortSignal) and FcgiResponse (STDOUT/STDERR writes, end, drain). The wire
// work (record reading, socket writes, request table) lives in responder-connection.ts;
// this file only frames what the handler writes and keeps the per-request state.
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { HEADER_LEN, ProtocolStatus, RecordType } from '../protocol/constants.js';
import { writeHeader } from '../protocol/header.js';
import { frameViews } from '../protocol/stream-writer.js';

/** What a response needs from its connection (implemented by AppConnection). */
export interface ResponseChannel {
  /** Writes buffers in order under one cork; returns false when the socket buffer is full. */
  writeParts(parts: Buffer[]): boolean;
  /** True once the socket is gone or ending: writes are dropped. */
  readonly closed: boolean;
  /** Bytes written to the socket and not yet handed to the kernel. */
  readonly queuedBytes: number;
  /** The response of request `id` is complete (its records are written or abandoned). */
  requestDone(id: number): void;
  /** Registers `res` for the next socket 'drain'. */
  waitDrain(res: FcgiResponse): void;
  /** Test hooks: bytes straight onto the socket, and ending the socket (FIN after flush). */
  rawWrite(bytes: Buffer): void;
  endSocket(): void;
}

/** appStatus of END_REQUEST when the request was aborted (FCGI_ABORT_REQUEST or handler failure). */
export const APP_STATUS_ABORTED = 1;

export class FcgiRequest {
  /** Aborts `signal`; the connection owns it. */
  readonly controller = new AbortController();

  constructor(
    /** The FastCGI request id (unique on its connection while in flight). */
    readonly id: number,
    /** The CGI environment (FCGI_PARAMS), names as sent. */
    readonly params: Map<string, string>,
    /** FCGI_STDIN content; ends with the empty STDIN record. Reading it is optional. */
    readonly stdin: Readable,
    /** FCGI_KEEP_CONN was set in BEGIN_REQUEST. */
    readonly keepConn: boolean,
    /** Serial number of the connection within its server (1, 2, …). */
    readonly connectionId: number,
    /** How many requests this connection has begun, this one included (1, 2, …). */
    readonly requestOnConnection: number,
  ) {}

  /** Aborted by FCGI_ABORT_REQUEST, by the connection closing, or by the server being destroyed. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** A param by name, or '' when absent. */
  param(name: string): string {
    return this.params.get(name) ?? '';
  }
}

export type HeaderValue = string | number | readonly string[];

/**
 * The STDOUT side of one request. `write` frames a Buffer without copying it (header
 * records around views of it, one corked write); a string is encoded once. The CGI head
 * is the first bytes of STDOUT: the app writes it itself or calls writeHead().
 * Events: 'drain' (the socket drained after write returned false), 'close' (finished or lost).
 */
export class FcgiResponse extends EventEmitter {
  private done = false;
  private stderrUsed = false;
  private headWritten = false;
  private bytesOut = 0;

  constructor(
    private readonly channel: ResponseChannel,
    readonly id: number,
  ) {
    super();
  }

  /** True after end(), an abort, or the connection's loss: further writes are dropped. */
  get finished(): boolean {
    return this.done || this.channel.closed;
  }
  /** STDOUT content bytes written so far (head included). */
  get bytesWritten(): number {
    return this.bytesOut;
  }
  get headersSent(): boolean {
    return this.headWritten || this.bytesOut > 0;
  }
  /** Bytes queued on the connection's socket (all requests on it), not yet taken by the kernel. */
  get queuedBytes(): number {
    return this.channel.queuedBytes;
  }

  /**
   * Writes STDOUT content. Returns false when the socket's buffer is full: wait for
   * 'drain' (or `await res.drained()`) before writing more. Empty chunks are ignored
   * (an empty STDOUT record would end the stream).
   */
  write(chunk: Uint8Array | string): boolean {
    if (this.finished) return false;
    const buf =
      typeof chunk === 'string'
        ? Buffer.from(chunk, 'utf8')
        : Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (buf.length === 0) return true;
    this.bytesOut += buf.length;
    const ok = this.channel.writeParts(frameViews(RecordType.Stdout, this.id, buf));
    if (!ok) this.channel.waitDrain(this);
    return ok;
  }

  /**
   * Writes a CGI head: `Status: 200 OK`, the given fields, and the blank line.
   * Array values give one line each (several Set-Cookie).
   */
  writeHead(status: number, headers: Record<string, HeaderValue> = {}, reason?: string): boolean {
    let head = `Status: ${status} ${reason ?? STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    for (const name of Object.keys(headers)) {
      const v = headers[name]!;
      if (typeof v === 'object') for (const one of v) head += `${name}: ${one}\r\n`;
      else head += `${name}: ${v}\r\n`;
    }
    this.headWritten = true;
    return this.write(head + '\r\n');
  }

  /** Writes FCGI_STDERR content (the gateway logs it; it never reaches the client). */
  stderr(text: Uint8Array | string): boolean {
    if (this.finished) return false;
    const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text);
    if (buf.length === 0) return true;
    this.stderrUsed = true;
    return this.channel.writeParts(frameViews(RecordType.Stderr, this.id, buf));
  }

  /**
   * Ends the request: the empty STDOUT record (and empty STDERR when STDERR was used),
   * then END_REQUEST with `appStatus` and REQUEST_COMPLETE, in one write.
   */
  end(appStatus = 0): void {
    if (this.finished) return;
    this.done = true;
    const size = HEADER_LEN * (this.stderrUsed ? 2 : 1) + 16;
    const out = Buffer.allocUnsafe(size);
    let at = writeHeader(out, 0, RecordType.Stdout, this.id, 0, 0);
    if (this.stderrUsed) at = writeHeader(out, at, RecordType.Stderr, this.id, 0, 0);
    at = writeHeader(out, at, RecordType.EndRequest, this.id, 8, 0);
    out.writeUInt32BE(appStatus >>> 0, at);
    out[at + 4] = ProtocolStatus.RequestComplete;
    out[at + 5] = 0;
    out[at + 6] = 0;
    out[at + 7] = 0;
    this.channel.writeParts([out]);
    this.settle();
  }

  /** Resolves when the socket can take more (at once when it can, or when finished). */
  drained(): Promise<void> {
    if (this.finished) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.off('drain', done);
        this.off('close', done);
        resolve();
      };
      this.once('drain', done);
      this.once('close', done);
      this.channel.waitDrain(this);
    });
  }

  // --- test hooks (the demo's /test/* routes): never needed by a well-behaved app ---

  /** Writes bytes to the socket as they are, outside any record. */
  rawWrite(bytes: Buffer): void {
    if (!this.channel.closed) this.channel.rawWrite(bytes);
  }

  /** Forgets the request without writing anything more (after rawWrite of its own END_REQUEST). */
  detach(): void {
    if (this.done) return;
    this.done = true;
    this.settle();
  }

  /** Ends the connection (FIN after what was written), abandoning this request and any other on it. */
  endConnection(): void {
    this.done = true;
    this.channel.endSocket();
    this.settle();
  }

  /** Called by the connection when the request is aborted or the socket is lost. */
  lose(): void {
    this.done = true;
    this.emit('close');
  }

  private settle(): void {
    this.channel.requestDone(this.id);
    this.emit('close');
  }
}
