// A small FastCGI client for the app-side tests, built on the project's codec
// (writePreamble, frameCopy, RecordReader 'client'). Not a test file itself.
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import {
  RecordReader, RecordType, Role, encodeAbortRequest, encodeGetValues, decodePairs, frameCopy,
  streamEnd, writePreamble, type ProtocolError, type RecordSink,
} from '../../src/protocol/index.js';

export type Target = { host: string; port: number } | { path: string };

export interface Reply {
  stdout: Buffer;
  /** STDOUT content that came after the empty end-of-stream STDOUT record. */
  afterEnd: Buffer;
  stderr: string;
  appStatus: number;
  protocolStatus: number;
}

interface Pending {
  stdout: Buffer[];
  afterEnd: Buffer[];
  stdoutEnded: boolean;
  stderr: Buffer[];
  /** When set, STDOUT content goes here instead of being kept. */
  onStdout: ((data: Buffer) => void) | null;
  resolve: (r: Reply) => void;
  done: Promise<Reply>;
}

export interface BeginOptions {
  keepConn?: boolean;
  role?: number;
  /** Request body sent at once and ended; null leaves STDIN open (send it later). Default: empty body. */
  stdin?: Buffer | null;
  onStdout?: (data: Buffer) => void;
}

export class FcgiTestClient implements RecordSink {
  readonly reader = new RecordReader(this, 'client');
  private readonly pending = new Map<number, Pending>();
  readonly management: Array<{ type: number; content: Buffer }> = [];
  private managementWaiters: Array<() => void> = [];
  error: ProtocolError | null = null;
  /** Resolves when the socket closes (the app closed it, or we did). */
  readonly closed: Promise<void>;
  ended = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.reader.push(chunk));
    socket.on('end', () => { this.ended = true; });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async connect(target: Target): Promise<FcgiTestClient> {
    const socket = connect(target as { host: string; port: number });
    await once(socket, 'connect');
    return new FcgiTestClient(socket);
  }

  /** Sends BEGIN_REQUEST + PARAMS (+ STDIN unless `stdin: null`); returns the reply promise. */
  begin(id: number, params: Record<string, string>, options: BeginOptions = {}): Promise<Reply> {
    let resolve!: (r: Reply) => void;
    const done = new Promise<Reply>((r) => { resolve = r; });
    this.pending.set(id, { stdout: [], afterEnd: [], stdoutEnded: false, stderr: [], onStdout: options.onStdout ?? null, resolve, done });
    const flat: string[] = [];
    for (const [k, v] of Object.entries(params)) flat.push(k, v);
    const body = options.stdin === undefined ? Buffer.alloc(0) : options.stdin;
    const preamble = writePreamble(id, flat, {
      keepConn: options.keepConn ?? false,
      role: (options.role ?? Role.Responder) as Role,
      endStdin: body !== null && body.length === 0,
    });
    this.socket.write(preamble);
    if (body !== null && body.length > 0) this.socket.write(frameCopy(RecordType.Stdin, id, body, true));
    return done;
  }

  /** One whole request on this connection. */
  request(params: Record<string, string>, options: BeginOptions & { id?: number } = {}): Promise<Reply> {
    return this.begin(options.id ?? 1, params, options);
  }

  /** Sends STDIN content; resolves when the socket can take more. */
  async sendStdin(id: number, data: Buffer): Promise<void> {
    if (!this.socket.write(frameCopy(RecordType.Stdin, id, data))) await once(this.socket, 'drain');
  }

  endStdin(id: number): void { this.socket.write(streamEnd(RecordType.Stdin, id)); }

  abort(id: number): void { this.socket.write(encodeAbortRequest(id)); }

  write(bytes: Buffer): void { this.socket.write(bytes); }

  /** Sends GET_VALUES and resolves to the answered pairs. */
  async getValues(names: string[]): Promise<Map<string, string>> {
    this.socket.write(encodeGetValues(names));
    const rec = await this.nextManagement();
    if (rec.type !== RecordType.GetValuesResult) throw new Error(`expected GET_VALUES_RESULT, got type ${rec.type}`);
    const flat = decodePairs(rec.content);
    const out = new Map<string, string>();
    for (let i = 0; i < flat.length; i += 2) out.set(flat[i]!, flat[i + 1]!);
    return out;
  }

  /** The next management record received. */
  async nextManagement(): Promise<{ type: number; content: Buffer }> {
    while (this.management.length === 0) {
      await new Promise<void>((resolve) => this.managementWaiters.push(resolve));
    }
    return this.management.shift()!;
  }

  /** What request `id` received so far, when no END_REQUEST came (the app died). */
  partial(id: number): { stdout: Buffer; stdoutEnded: boolean } | undefined {
    const p = this.pending.get(id);
    return p === undefined ? undefined : { stdout: Buffer.concat(p.stdout), stdoutEnded: p.stdoutEnded };
  }

  close(): void { this.socket.destroy(); }

  // --- RecordSink ---
  onStream(type: number, id: number, data: Buffer): boolean {
    const p = this.pending.get(id)!;
    if (data.length === 0) {
      if (type === RecordType.Stdout) p.stdoutEnded = true;
      return true;
    }
    if (type === RecordType.Stdout) {
      if (p.stdoutEnded) p.afterEnd.push(Buffer.from(data));
      else if (p.onStdout !== null) p.onStdout(data);
      else p.stdout.push(Buffer.from(data));
    } else if (type === RecordType.Stderr) {
      p.stderr.push(Buffer.from(data));
    }
    return true;
  }
  onBeginRequest(): void {}
  onAbortRequest(): void {}
  onEndRequest(id: number, appStatus: number, protocolStatus: number): void {
    const p = this.pending.get(id)!;
    this.pending.delete(id);
    p.resolve({
      stdout: Buffer.concat(p.stdout), afterEnd: Buffer.concat(p.afterEnd), stderr: Buffer.concat(p.stderr).toString('utf8'),
      appStatus, protocolStatus,
    });
  }
  onManagement(type: number, content: Buffer): void {
    this.management.push({ type, content: Buffer.from(content) });
    const waiters = this.managementWaiters;
    this.managementWaiters = [];
    for (const w of waiters) w();
  }
  knowsRequest(id: number): boolean { return this.pending.has(id); }
  onProtocolError(err: ProtocolError): void { this.error = err; }
}

/** A CGI response split into status, header lines and body (test parsing, not the gateway's). */
export interface CgiReply {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

export function parseCgi(stdout: Buffer): CgiReply {
  const end = stdout.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no CGI head in ${JSON.stringify(stdout.subarray(0, 200).toString('latin1'))}`);
  const headers: Array<[string, string]> = [];
  let status = 200;
  for (const line of stdout.subarray(0, end).toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
    headers.push([name, value]);
  }
  return { status, headers, body: stdout.subarray(end + 4) };
}

export const header = (r: CgiReply, name: string): string | undefined =>
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
