// The FastCGI test client, built only on src/protocol's exported codec (writePreamble,
// frameViews/frameCopy, RecordReader 'client'): several requests at once on one connection
// (for testing multiplexing apps), STDIN sent whole, streamed with backpressure or piece by
// piece, management records, raw bytes for malformed input, and a test-side reading of CGI
// response heads. A test tool, not the gateway's upstream: no pooling, and it gathers
// STDOUT with Buffer.concat.
import { connect, type NetConnectOpts, type Socket } from 'node:net';
import {
  RecordReader,
  RecordType,
  Role,
  decodePairs,
  encodeAbortRequest,
  encodeGetValues,
  frameCopy,
  frameViews,
  streamEnd,
  writePreamble,
  type ProtocolError,
  type RecordSink,
} from '../../src/protocol/index.js';
import type { ConnectTarget } from './process.js';

export type { ConnectTarget } from './process.js';

export type BodySource = Buffer | Iterable<Buffer> | AsyncIterable<Buffer>;

export interface RequestOptions {
  /** Default 1 (request() only: begin() takes the id first). */
  id?: number;
  keepConn?: boolean;
  /** Default Role.Responder. */
  role?: number;
  /**
   * STDIN content, framed without copying (pieces must not be reused), then the empty
   * record; an iterable is sent with backpressure. null leaves STDIN open (sendStdin,
   * endStdin). Default: an empty body.
   */
  stdin?: BodySource | null;
  /** PARAMS/STDIN record size (default 65535): a small one forces record splits. */
  maxRecord?: number;
  /** No END_REQUEST within this time destroys the connection (default 30 000 ms). */
  timeoutMs?: number;
  /** When set, STDOUT content is handed here (a view, valid during the call) instead of kept. */
  onStdout?: (data: Buffer) => void;
}

export interface FcgiReply {
  id: number;
  stdout: Buffer;
  stderr: Buffer;
  /** STDOUT content that came after the empty end-of-stream STDOUT record. */
  afterEnd: Buffer;
  /** Non-empty STDOUT / STDERR records seen. */
  stdoutRecords: number;
  stderrRecords: number;
  /** The empty STDOUT record came (PHP-FPM 8.2 never sends it). */
  stdoutEnded: boolean;
  appStatus: number;
  protocolStatus: number;
  /** STDIN content bytes sent by `stdin` (not by sendStdin). */
  stdinBytes: number;
}

interface Pending {
  reply: FcgiReply;
  stdout: Buffer[];
  stderr: Buffer[];
  afterEnd: Buffer[];
  onStdout: ((data: Buffer) => void) | null;
  timer: NodeJS.Timeout;
  resolve: (r: FcgiReply) => void;
  reject: (e: Error) => void;
}

type Params = readonly string[] | Readonly<Record<string, string>>;

const flatten = (p: Params): readonly string[] => (Array.isArray(p) ? p : Object.entries(p).flat());

/** One client connection to a FastCGI app. */
export class FcgiTestClient implements RecordSink {
  private readonly reader = new RecordReader(this, 'client');
  private readonly pending = new Map<number, Pending>();
  private readonly management: Array<{ type: number; content: Buffer }> = [];
  private managementWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private failure: Error | null = null;
  /** The protocol error the reader met, if any (the connection is then destroyed). */
  error: ProtocolError | null = null;
  /** True once the app sent FIN. */
  ended = false;
  /** Resolves when the socket closes (the app closed it, or we did). */
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
    });
    socket.on('end', () => {
      this.ended = true;
    });
    socket.on('error', (err) => this.failAll(err));
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.failAll(new Error('connection closed'));
        resolve();
      }),
    );
  }

  static connect(target: ConnectTarget): Promise<FcgiTestClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(target as NetConnectOpts);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new FcgiTestClient(socket));
      });
    });
  }

  /**
   * Sends BEGIN_REQUEST, PARAMS and (unless `stdin: null`) STDIN for request `id`; resolves
   * at its END_REQUEST, rejects when the connection closes first. Requests may overlap.
   */
  begin(id: number, params: Params, options: RequestOptions = {}): Promise<FcgiReply> {
    if (this.pending.has(id)) throw new Error(`request ${id} is already running`);
    if (this.failure !== null) throw this.failure;
    const reply: FcgiReply = {
      id,
      stdout: Buffer.alloc(0),
      stderr: Buffer.alloc(0),
      afterEnd: Buffer.alloc(0),
      stdoutRecords: 0,
      stderrRecords: 0,
      stdoutEnded: false,
      appStatus: -1,
      protocolStatus: -1,
      stdinBytes: 0,
    };
    const timeoutMs = options.timeoutMs ?? 30_000;
    const done = new Promise<FcgiReply>((resolve, reject) => {
      const timer = setTimeout(
        () => this.socket.destroy(new Error(`request ${id}: no END_REQUEST within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.pending.set(id, {
        reply,
        stdout: [],
        stderr: [],
        afterEnd: [],
        onStdout: options.onStdout ?? null,
        timer,
        resolve,
        reject,
      });
    });
    done.catch(() => undefined); // a caller that never awaits (it reads partial()) is not an unhandled rejection
    const body = options.stdin === undefined ? Buffer.alloc(0) : options.stdin;
    const noBody = Buffer.isBuffer(body) && body.length === 0;
    this.socket.write(
      writePreamble(id, flatten(params), {
        keepConn: options.keepConn ?? false,
        role: (options.role ?? Role.Responder) as Role,
        endStdin: noBody,
        ...(options.maxRecord !== undefined ? { maxRecord: options.maxRecord } : {}),
      }),
    );
    if (body === null || noBody) return done;
    if (Buffer.isBuffer(body)) {
      reply.stdinBytes = body.length;
      this.writeParts(frameViews(RecordType.Stdin, id, body, true, options.maxRecord));
      return done;
    }
    return this.pump(id, body, reply, options.maxRecord).then(() => done);
  }

  /** One request (id 1 unless given) on this connection. */
  request(params: Params, options: RequestOptions = {}): Promise<FcgiReply> {
    return this.begin(options.id ?? 1, params, options);
  }

  /** Sends STDIN content (copied: `data` may be reused); resolves when the socket takes more. */
  async sendStdin(id: number, data: Uint8Array): Promise<void> {
    if (!this.socket.write(frameCopy(RecordType.Stdin, id, data))) await this.drained();
  }

  endStdin(id: number): void {
    this.socket.write(streamEnd(RecordType.Stdin, id));
  }

  abort(id: number): void {
    this.socket.write(encodeAbortRequest(id));
  }

  /** Raw bytes, for malformed input. */
  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends FCGI_GET_VALUES for `names`; resolves to the answered pairs. */
  async getValues(names: readonly string[]): Promise<Map<string, string>> {
    this.socket.write(encodeGetValues(names));
    const rec = await this.nextManagement();
    if (rec.type !== RecordType.GetValuesResult) throw new Error(`expected GET_VALUES_RESULT, got type ${rec.type}`);
    const flat = decodePairs(rec.content);
    const out = new Map<string, string>();
    for (let i = 0; i < flat.length; i += 2) out.set(flat[i]!, flat[i + 1]!);
    return out;
  }

  /** The next management record received; rejects when the connection closes first. */
  async nextManagement(): Promise<{ type: number; content: Buffer }> {
    while (this.management.length === 0) {
      if (this.failure !== null) throw this.failure;
      await new Promise<void>((resolve, reject) => this.managementWaiters.push({ resolve, reject }));
    }
    return this.management.shift()!;
  }

  /** What request `id` received so far, when no END_REQUEST came (the app died). */
  partial(id: number): { stdout: Buffer; stdoutEnded: boolean } | undefined {
    const p = this.pending.get(id);
    return p === undefined ? undefined : { stdout: Buffer.concat(p.stdout), stdoutEnded: p.reply.stdoutEnded };
  }

  close(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }

  private async pump(
    id: number,
    body: Iterable<Buffer> | AsyncIterable<Buffer>,
    reply: FcgiReply,
    maxRecord: number | undefined,
  ): Promise<void> {
    try {
      for await (const piece of body) {
        if (piece.length === 0) continue; // an empty record would end STDIN early
        reply.stdinBytes += piece.length;
        if (!this.writeParts(frameViews(RecordType.Stdin, id, piece, false, maxRecord))) await this.drained();
      }
      this.writeParts([streamEnd(RecordType.Stdin, id)]);
    } catch (err) {
      this.socket.destroy(err as Error); // rejects the request with the reason
    }
  }

  /** Corked write of `parts`; false when the socket buffer is full. */
  private writeParts(parts: readonly Buffer[]): boolean {
    const s = this.socket;
    s.cork();
    let ok = true;
    for (const p of parts) ok = s.write(p) && ok;
    s.uncork();
    return ok;
  }

  private drained(): Promise<void> {
    const s = this.socket;
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      const onDrain = (): void => {
        s.off('close', onClose);
        resolve();
      };
      const onClose = (): void => {
        s.off('drain', onDrain);
        reject(this.failure ?? new Error('closed while writing'));
      };
      s.once('drain', onDrain);
      s.once('close', onClose);
    });
  }

  /** Rejects every waiting request and management read; pending entries stay for partial(). */
  private failAll(err: Error): void {
    if (this.failure === null) this.failure = err;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(this.failure);
    }
    const waiters = this.managementWaiters;
    this.managementWaiters = [];
    for (const w of waiters) w.reject(this.failure);
  }

  // --- RecordSink ---
  onStream(type: number, id: number, data: Buffer): boolean {
    const p = this.pending.get(id)!;
    const isOut = type === RecordType.Stdout;
    if (data.length === 0) {
      if (isOut) p.reply.stdoutEnded = true;
      return true;
    }
    if (isOut) {
      p.reply.stdoutRecords++;
      if (p.reply.stdoutEnded) p.afterEnd.push(Buffer.from(data));
      else if (p.onStdout !== null) p.onStdout(data);
      else p.stdout.push(Buffer.from(data));
    } else if (type === RecordType.Stderr) {
      p.reply.stderrRecords++;
      p.stderr.push(Buffer.from(data));
    }
    return true;
  }
  onEndRequest(id: number, appStatus: number, protocolStatus: number): void {
    const p = this.pending.get(id)!;
    this.pending.delete(id);
    clearTimeout(p.timer);
    const r = p.reply;
    r.stdout = Buffer.concat(p.stdout);
    r.stderr = Buffer.concat(p.stderr);
    r.afterEnd = Buffer.concat(p.afterEnd);
    r.appStatus = appStatus;
    r.protocolStatus = protocolStatus;
    p.resolve(r);
  }
  onManagement(type: number, content: Buffer): void {
    this.management.push({ type, content: Buffer.from(content) });
    const waiters = this.managementWaiters;
    this.managementWaiters = [];
    for (const w of waiters) w.resolve();
  }
  knowsRequest(id: number): boolean {
    return this.pending.has(id);
  }
  onBeginRequest(): void {
    this.socket.destroy(new Error('BEGIN_REQUEST from the app'));
  }
  onAbortRequest(): void {
    this.socket.destroy(new Error('ABORT_REQUEST from the app'));
  }
  onProtocolError(err: ProtocolError): void {
    this.error = err;
    this.socket.destroy(err);
  }
}

/** Opens a connection, runs one request, closes. */
export async function fcgiRequest(
  target: ConnectTarget,
  params: Params,
  options: RequestOptions = {},
): Promise<FcgiReply> {
  const c = await FcgiTestClient.connect(target);
  try {
    return await c.request(params, options);
  } finally {
    await c.close();
  }
}

/** A CGI response split into head and body. */
export interface CgiResponse {
  /** From a Status: line; null when there was none. */
  status: number | null;
  /** In order, names as sent; the Status line is not among them. */
  headers: Array<[string, string]>;
  body: Buffer;
}

/** Splits a CGI response (STDOUT) into head and body: a test-side reading, not the gateway's parser. */
export function splitCgiResponse(stdout: Buffer): CgiResponse {
  let end = stdout.indexOf('\r\n\r\n');
  let sepLen = 4;
  const lf = stdout.indexOf('\n\n');
  if (end < 0 || (lf >= 0 && lf < end)) {
    end = lf;
    sepLen = 2;
  }
  if (end < 0) throw new Error(`no end of CGI head in ${JSON.stringify(stdout.subarray(0, 200).toString('latin1'))}`);
  const headers: Array<[string, string]> = [];
  let status: number | null = null;
  for (const line of stdout.subarray(0, end).toString('latin1').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`bad CGI header line ${JSON.stringify(line)}`);
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
    else headers.push([name, value]);
  }
  return { status, headers, body: stdout.subarray(end + sepLen) };
}

/** The first value of header `name` (any case). */
export const header = (r: CgiResponse, name: string): string | undefined =>
  r.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];

/** CGI params for a request to `path` of an app at the root, as cgi-fcgi users set them. */
export function paramsFor(path: string, extra: Record<string, string> = {}): Record<string, string> {
  const q = path.indexOf('?');
  return {
    REQUEST_METHOD: 'GET',
    REQUEST_URI: path,
    SCRIPT_NAME: q >= 0 ? path.slice(0, q) : path,
    QUERY_STRING: q >= 0 ? path.slice(q + 1) : '',
    SERVER_PROTOCOL: 'HTTP/1.1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    ...extra,
  };
}
