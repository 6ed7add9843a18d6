// A small FastCGI client for integration tests, built only on src/protocol's exported
// codec: one connection, one request at a time (keep-conn optional), STDIN streamed with
// backpressure, responses gathered whole. It is a test tool, not the gateway's upstream:
// no pooling, no multiplexing, and it gathers STDOUT with Buffer.concat.
import { connect, type NetConnectOpts, type Socket } from 'node:net';
import {
  RecordReader, RecordType, decodePairs, encodeGetValues, frameViews, streamEnd, writePreamble,
  type ProtocolError, type RecordSink,
} from '../../src/protocol/index.js';
import type { ConnectTarget } from './process.js';

export type BodySource = Buffer | Iterable<Buffer> | AsyncIterable<Buffer>;

export interface FcgiRequestOptions {
  id?: number;                               // default 1
  /** Flat [name, value, …] list or an object. */
  params: readonly string[] | Readonly<Record<string, string>>;
  /** STDIN content; each piece is framed without copying, so pieces must not be reused. */
  body?: BodySource;
  keepConn?: boolean;
  maxRecord?: number;                        // PARAMS/STDIN record size (default 65535)
  timeoutMs?: number;                        // whole exchange (default 30000)
}

export interface FcgiExchange {
  id: number;
  stdout: Buffer;
  stderr: Buffer;
  stdoutRecords: number;                     // non-empty STDOUT records seen
  stderrRecords: number;
  stdoutClosed: boolean;                     // the empty STDOUT record came (PHP-FPM 8.2 never sends it)
  appStatus: number;
  protocolStatus: number;
  stdinBytes: number;                        // content bytes we sent
}

interface Pending {
  id: number;
  stdout: Buffer[];
  stderr: Buffer[];
  exchange: FcgiExchange;
  resolve: (x: FcgiExchange) => void;
  reject: (e: Error) => void;
}

const flatten = (p: FcgiRequestOptions['params']): readonly string[] =>
  Array.isArray(p) ? p : Object.entries(p).flat();

/** One client connection to a FastCGI app. */
export class FcgiTestConnection implements RecordSink {
  private readonly reader: RecordReader;
  private pending: Pending | null = null;
  private management: { resolve: (v: [number, Buffer]) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  /** True once the app (or we) closed the socket. */
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(private readonly socket: Socket) {
    this.reader = new RecordReader(this, 'client');
    socket.on('data', (chunk: Buffer) => { this.reader.push(chunk); });
    socket.on('error', (err) => this.failAll(err));
    this.closedPromise = new Promise((resolve) => socket.once('close', () => {
      this.closed = true;
      this.failAll(new Error('connection closed by the app'));
      resolve();
    }));
  }

  static open(target: ConnectTarget): Promise<FcgiTestConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(target as NetConnectOpts);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new FcgiTestConnection(socket));
      });
    });
  }

  /** Sends one request and resolves at its END_REQUEST. */
  async request(opts: FcgiRequestOptions): Promise<FcgiExchange> {
    if (this.pending !== null) throw new Error('FcgiTestConnection: one request at a time');
    if (this.closed) throw new Error('FcgiTestConnection: closed');
    const id = opts.id ?? 1;
    const exchange: FcgiExchange = {
      id, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), stdoutRecords: 0, stderrRecords: 0,
      stdoutClosed: false, appStatus: -1, protocolStatus: -1, stdinBytes: 0,
    };
    const done = new Promise<FcgiExchange>((resolve, reject) => {
      this.pending = { id, stdout: [], stderr: [], exchange, resolve, reject };
    });
    done.catch(() => undefined);   // a failure while still writing is reported by the await below
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const timer = setTimeout(() => this.socket.destroy(
      new Error(`request ${id}: no END_REQUEST within ${timeoutMs} ms`)), timeoutMs);
    try {
      const body = opts.body;
      const noBody = body === undefined || (Buffer.isBuffer(body) && body.length === 0);
      const preamble = writePreamble(id, flatten(opts.params), {
        keepConn: opts.keepConn ?? false, endStdin: noBody,
        ...(opts.maxRecord !== undefined ? { maxRecord: opts.maxRecord } : {}),
      });
      await this.write([preamble]);
      if (!noBody) {
        const pieces: Iterable<Buffer> | AsyncIterable<Buffer> = Buffer.isBuffer(body) ? [body] : body!;
        for await (const piece of pieces) {
          if (piece.length === 0) continue;           // an empty record would end STDIN early
          exchange.stdinBytes += piece.length;
          await this.write(frameViews(RecordType.Stdin, id, piece, false, opts.maxRecord));
        }
        await this.write([streamEnd(RecordType.Stdin, id)]);
      }
      return await done;
    } catch (err) {
      // A write that failed may leave `done` pending; the close below settles it.
      this.socket.destroy();
      await done.catch(() => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** FCGI_GET_VALUES for `names`; resolves to the answered pairs (in answer order). */
  async getValues(names: readonly string[], timeoutMs = 5000): Promise<Array<[string, string]>> {
    const answer = new Promise<[number, Buffer]>((resolve, reject) => {
      this.management = { resolve, reject };
    });
    answer.catch(() => undefined);
    const timer = setTimeout(() => this.socket.destroy(
      new Error(`no GET_VALUES_RESULT within ${timeoutMs} ms`)), timeoutMs);
    try {
      await this.write([encodeGetValues(names)]);
      const [type, content] = await answer;
      if (type !== RecordType.GetValuesResult) throw new Error(`answered with record type ${type}`);
      const flat = decodePairs(content);
      const out: Array<[string, string]> = [];
      for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
      return out;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    this.socket.destroy();
    return this.closedPromise;
  }

  /** Corked write of `parts`; waits for 'drain' when the socket buffer is full. */
  private async write(parts: readonly Buffer[]): Promise<void> {
    if (this.failure !== null) throw this.failure;
    const s = this.socket;
    s.cork();
    let ok = true;
    for (const p of parts) ok = s.write(p) && ok;
    s.uncork();
    if (!ok) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => { s.off('close', onClose); resolve(); };
        const onClose = (): void => { s.off('drain', onDrain); reject(this.failure ?? new Error('closed while writing')); };
        s.once('drain', onDrain);
        s.once('close', onClose);
      });
    }
  }

  private failAll(err: Error): void {
    if (this.failure === null) this.failure = err;
    const p = this.pending;
    this.pending = null;
    p?.reject(err);
    const m = this.management;
    this.management = null;
    m?.reject(err);
  }

  // RecordSink
  onStream(type: number, id: number, data: Buffer): boolean {
    const p = this.pending!;
    if (id !== p.id) throw new Error(`stream record for ${id}, expected ${p.id}`);
    const isOut = type === RecordType.Stdout;
    if (data.length === 0) {
      if (isOut) p.exchange.stdoutClosed = true;
      return true;
    }
    if (isOut) { p.stdout.push(Buffer.from(data)); p.exchange.stdoutRecords++; }
    else { p.stderr.push(Buffer.from(data)); p.exchange.stderrRecords++; }
    return true;
  }
  onEndRequest(id: number, appStatus: number, protocolStatus: number): void {
    const p = this.pending!;
    this.pending = null;
    p.exchange.stdout = Buffer.concat(p.stdout);
    p.exchange.stderr = Buffer.concat(p.stderr);
    p.exchange.appStatus = appStatus;
    p.exchange.protocolStatus = protocolStatus;
    if (id !== p.id) p.reject(new Error(`END_REQUEST for ${id}, expected ${p.id}`));
    else p.resolve(p.exchange);
  }
  onManagement(type: number, content: Buffer): void {
    const m = this.management;
    this.management = null;
    m?.resolve([type, Buffer.from(content)]);
  }
  knowsRequest(id: number): boolean { return this.pending !== null && this.pending.id === id; }
  onBeginRequest(): void { this.failAll(new Error('BEGIN_REQUEST from the app')); }
  onAbortRequest(): void { this.failAll(new Error('ABORT_REQUEST from the app')); }
  onProtocolError(err: ProtocolError): void {
    this.failAll(err);
    this.socket.destroy();
  }
}

/** Opens a connection, runs one request, closes. */
export async function fcgiRequest(target: ConnectTarget, opts: FcgiRequestOptions): Promise<FcgiExchange> {
  const conn = await FcgiTestConnection.open(target);
  try {
    return await conn.request(opts);
  } finally {
    await conn.close();
  }
}

export interface CgiResponse {
  status: number | null;                     // from a Status: line; null when there was none
  headers: Array<[string, string]>;          // in order, names as sent
  body: Buffer;
}

/** Splits a CGI response (STDOUT) into head and body; a test-side reading, not cgi-head.ts. */
export function splitCgiResponse(stdout: Buffer): CgiResponse {
  let end = stdout.indexOf('\r\n\r\n');
  let sepLen = 4;
  const lf = stdout.indexOf('\n\n');
  if (end < 0 || (lf >= 0 && lf < end)) { end = lf; sepLen = 2; }
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
