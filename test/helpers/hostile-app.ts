// A hostile FastCGI application for tests, on src/protocol's codec: a loopback server whose
// answer to each request is a script of steps the test chooses (a handler, or by default the
// request path naming one of BEHAVIOURS): well-formed records, records for another or a
// finished request id, STDOUT after END_REQUEST, a second END_REQUEST, bad records (version
// 0, any padding, unknown types, truncated headers, lying lengths), floods of STDOUT/STDERR
// (bounded, written with backpressure), stalls, FINs and resets at any point (before the
// head, mid-body, during STDIN), slow STDIN reading, FCGI_GET_VALUES answered, unanswered,
// refused or garbled, and several requests at once on one connection (MPXS).
// It records what came (requests, params, STDIN, aborts, protocol errors) and asserts
// nothing: tests decide. Not a second codec: records are framed by src/protocol; only the
// deliberately broken ones are written byte by byte here.
import net from 'node:net';
import {
  FLAG_KEEP_CONN,
  HEADER_LEN,
  MAX_CONTENT,
  PairCollector,
  ProtocolStatus,
  RecordReader,
  RecordType,
  decodePairs,
  encodeEndRequest,
  encodeGetValuesResult,
  encodeUnknownType,
  frameCopy,
  paddingFor,
  streamEnd,
  writeHeader,
  type ProtocolError,
  type RecordSink,
} from '../../src/protocol/index.js';

/** Bytes, or bytes made from the request when the step runs. */
export type Data = string | Buffer | ((req: HostileRequest) => string | Buffer);

/** One thing the app does for a request, in order. `id` defaults to the request's own id. */
export type Step =
  /**
   * STDOUT content (framed in records of up to 65535 bytes; `padding` overrides each
   * record's); a function is called when the step runs (after waitStdin, say).
   */
  | { do: 'stdout'; data: Data; id?: number; padding?: number }
  | { do: 'stderr'; data: string | Buffer; id?: number }
  /** The empty STDOUT record that closes the stream. */
  | { do: 'stdoutEnd'; id?: number }
  | { do: 'end'; appStatus?: number; protocolStatus?: number; id?: number }
  /**
   * Any record, fields as given: `contentLength` may lie about `content` (a truncated or
   * over-long record), `version` may be anything.
   */
  | {
      do: 'record';
      type: number;
      id?: number;
      content?: Buffer;
      padding?: number;
      version?: number;
      contentLength?: number;
    }
  /** Bytes as they are (half a header, garbage). */
  | { do: 'raw'; bytes: Buffer }
  /** `bytes` of `fill` on a stream, in records of `piece` content bytes, with backpressure. */
  | { do: 'flood'; stream: 'stdout' | 'stderr'; bytes: number; piece?: number; fill?: number; id?: number }
  | { do: 'wait'; ms: number }
  /** Until the empty STDIN record came (or the connection closed). */
  | { do: 'waitStdin' }
  /** Read the connection at this many bytes per second from now on; 0 stops reading, -1 reads freely. */
  | { do: 'readRate'; bytesPerSecond: number }
  /** Never go on: the connection stays open until the peer closes it. */
  | { do: 'stall' }
  /** FIN: the app ends the connection. */
  | { do: 'close' }
  /** RST: the connection is reset. */
  | { do: 'reset' };

/** A request as the app saw it. */
export interface HostileRequest {
  id: number;
  /** The connection's serial (1, 2, …, in accept order). */
  connection: number;
  keepConn: boolean;
  params: Record<string, string>;
  /** From REQUEST_URI (else SCRIPT_NAME), without the query. */
  path: string;
  query: URLSearchParams;
  stdinBytes: number;
  /** STDIN content (kept up to KEEP_STDIN bytes). */
  stdin: Buffer[];
  stdinDone: boolean;
  aborted: boolean;
  /** The script ran to its end (false while running, or stopped by a closed connection). */
  finished: boolean;
}

export type Handler = (req: HostileRequest) => Step[] | Promise<Step[]>;

export interface HostileAppOptions {
  /** The script for each request; default: `behaviour(req)` (the path names a BEHAVIOURS entry). */
  handler?: Handler;
  /**
   * FCGI_GET_VALUES: answer the asked names from this table (names it lacks are left out,
   * as the spec allows); 'none' never answers; 'close' closes the connection; 'garbage'
   * answers bytes that are not a record. Default: { FCGI_MPXS_CONNS: '0' } (PHP-FPM's answer).
   */
  values?: Record<string, string> | 'none' | 'close' | 'garbage';
  host?: string;
}

/** Largest flood a script may ask for: tests stay bounded. */
export const MAX_FLOOD = 512 * 1024 * 1024;
/** STDIN bytes kept per request (the count goes on). */
const KEEP_STDIN = 1 << 20;
/** Requests remembered (oldest dropped first). */
const KEEP_REQUESTS = 10_000;
/** How often a rate-limited connection hands held bytes to its reader. */
const FEED_TICK_MS = 10;
const GARBAGE = Buffer.from('HTTP/1.0 500 not FastCGI\r\n\r\n', 'latin1');

const bytesOf = (d: string | Buffer): Buffer => (typeof d === 'string' ? Buffer.from(d, 'latin1') : d);
const dataOf = (d: Data, req: HostileRequest): Buffer => bytesOf(typeof d === 'function' ? d(req) : d);

export class HostileApp {
  readonly server: net.Server;
  readonly requests: HostileRequest[] = [];
  /** Protocol errors the app's reader saw in what the gateway sent (none expected). */
  readonly protocolErrors: string[] = [];
  /** GET_VALUES records received. */
  getValues = 0;
  /** Connections accepted so far. */
  accepted = 0;
  private readonly open = new Set<AppSide>();
  readonly handler: Handler;

  private constructor(readonly options: HostileAppOptions) {
    this.handler = options.handler ?? behaviour;
    this.server = net.createServer((socket) => {
      const conn = new AppSide(this, socket, ++this.accepted);
      this.open.add(conn);
      socket.once('close', () => this.open.delete(conn));
    });
  }

  static async start(options: HostileAppOptions = {}): Promise<HostileApp> {
    const app = new HostileApp(options);
    await new Promise<void>((resolve, reject) => {
      app.server.once('error', reject);
      app.server.listen({ host: options.host ?? '127.0.0.1', port: 0 }, () => {
        app.server.off('error', reject);
        resolve();
      });
    });
    return app;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Connections open now. */
  get openConnections(): number {
    return this.open.size;
  }
  /** ProxyPass target for this app. */
  get url(): string {
    return `fcgi://127.0.0.1:${this.port}`;
  }
  /** Connections open now. */
  get connections(): number {
    return this.open.size;
  }

  /** @internal */
  record(req: HostileRequest): void {
    this.requests.push(req);
    if (this.requests.length > KEEP_REQUESTS) this.requests.splice(0, this.requests.length - KEEP_REQUESTS);
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    for (const c of this.open) c.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

interface Live {
  req: HostileRequest;
  collector: PairCollector | null;
  stdinWaiters: Array<() => void>;
}

/** One accepted connection: the reader on its bytes and the scripts of its requests. */
class AppSide implements RecordSink {
  private readonly reader: RecordReader;
  private readonly live = new Map<number, Live>();
  private closed = false;
  private readonly closeWaiters = new Set<() => void>();
  /**
   * readRate: bytes per second, 0 = not reading, -1 = as fast as they come. Bytes wait in
   * `held` and are fed to the reader at the rate while the socket is paused: the gateway sees
   * a slow reader (its writes fill the socket buffers), not a fast one that merely answers late.
   */
  private rate = -1;
  private readonly held: Buffer[] = [];
  private feedTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly app: HostileApp,
    readonly socket: net.Socket,
    readonly serial: number,
  ) {
    this.reader = new RecordReader(this, 'app');
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {
      /* 'close' follows */
    });
    socket.once('close', () => {
      this.closed = true;
      if (this.feedTimer !== null) clearTimeout(this.feedTimer);
      for (const w of this.closeWaiters) w();
      this.closeWaiters.clear();
      for (const l of this.live.values()) for (const w of l.stdinWaiters) w();
    });
  }

  private onData(chunk: Buffer): void {
    this.held.push(chunk);
    if (this.held.length === 1 && this.rate < 0 && this.feedTimer === null) this.feed();
    else {
      this.socket.pause();
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.feedTimer === null && this.rate !== 0 && !this.closed) {
      this.feedTimer = setTimeout(this.feed, this.rate < 0 ? 0 : FEED_TICK_MS);
    }
  }

  private readonly feed = (): void => {
    this.feedTimer = null;
    if (this.closed) return;
    let budget = this.rate < 0 ? Infinity : Math.max(1, Math.floor((this.rate * FEED_TICK_MS) / 1000));
    while (budget > 0 && this.held.length > 0 && !this.closed) {
      const c = this.held[0]!;
      const n = Math.min(budget, c.length);
      const used = this.reader.push(n === c.length ? c : c.subarray(0, n));
      if (used === c.length) this.held.shift();
      else this.held[0] = c.subarray(used);
      budget -= used;
      if (used < n) {
        // A script starts (PARAMS ended): the rest waits until its first steps ran (readRate).
        this.socket.pause();
        this.feedTimer = setTimeout(this.feed, 0);
        return;
      }
    }
    if (this.held.length === 0) {
      if (this.rate !== 0) this.socket.resume();
    } else {
      this.socket.pause();
      this.schedule();
    }
  };

  // RecordSink: the gateway's side of the protocol.
  onBeginRequest(id: number, _role: number, flags: number): void {
    const req: HostileRequest = {
      id,
      connection: this.serial,
      keepConn: (flags & FLAG_KEEP_CONN) !== 0,
      params: {},
      path: '',
      query: new URLSearchParams(),
      stdinBytes: 0,
      stdin: [],
      stdinDone: false,
      aborted: false,
      finished: false,
    };
    this.live.set(id, { req, collector: new PairCollector(1 << 20), stdinWaiters: [] });
    this.app.record(req);
  }

  onStream(type: number, id: number, data: Buffer): boolean {
    const l = this.live.get(id);
    if (l === undefined) return true; // a request the script already left: ignored
    if (type === RecordType.Params && l.collector !== null) {
      if (data.length > 0) {
        l.collector.push(data);
        return true;
      }
      const flat = l.collector.finish();
      l.collector = null;
      for (let i = 0; i < flat.length; i += 2) l.req.params[flat[i]!] = flat[i + 1]!;
      const uri = l.req.params['REQUEST_URI'] ?? l.req.params['SCRIPT_NAME'] ?? '/';
      const q = uri.indexOf('?');
      l.req.path = q < 0 ? uri : uri.slice(0, q);
      l.req.query = new URLSearchParams(l.req.params['QUERY_STRING'] ?? (q < 0 ? '' : uri.slice(q + 1)));
      void this.run(l);
      return false; // see feed()
    } else if (type === RecordType.Stdin) {
      if (data.length === 0) {
        l.req.stdinDone = true;
        for (const w of l.stdinWaiters) w();
        l.stdinWaiters = [];
      } else {
        l.req.stdinBytes += data.length;
        const kept = l.req.stdin.reduce((n, b) => n + b.length, 0);
        if (kept < KEEP_STDIN) l.req.stdin.push(Buffer.from(data.subarray(0, KEEP_STDIN - kept)));
      }
    }
    return true;
  }

  onAbortRequest(id: number): void {
    const l = this.live.get(id);
    if (l !== undefined) l.req.aborted = true; // hostile: noted, the script goes on
  }

  onEndRequest(): void {
    /* never sent to an app */
  }

  onManagement(type: number, content: Buffer): void {
    if (type !== RecordType.GetValues) {
      this.write(encodeUnknownType(type));
      return;
    }
    this.app.getValues++;
    const v = this.app.options.values ?? { FCGI_MPXS_CONNS: '0' };
    if (v === 'none') return;
    if (v === 'close') {
      this.socket.end();
      return;
    }
    if (v === 'garbage') {
      this.write(GARBAGE);
      return;
    }
    let names: string[] = [];
    try {
      names = decodePairs(content).filter((_, i) => i % 2 === 0);
    } catch {
      /* answer nothing known */
    }
    this.write(encodeGetValuesResult(names.filter((n) => n in v).map((n) => [n, v[n]!] as const)));
  }

  knowsRequest(): boolean {
    return true;
  } // hostile: late records for any id are taken

  onProtocolError(err: ProtocolError): void {
    this.app.protocolErrors.push(err.message);
    this.socket.destroy();
  }

  /** Runs a request's script; stops when the connection is gone. */
  private async run(l: Live): Promise<void> {
    let steps: Step[];
    try {
      steps = await this.app.handler(l.req);
    } catch (err) {
      steps = [
        {
          do: 'stdout',
          data: `Status: 500\r\nContent-Type: text/plain\r\n\r\nhandler failed: ${(err as Error).message}\n`,
        },
        { do: 'stdoutEnd' },
        { do: 'end' },
      ];
    }
    for (const s of steps) {
      if (this.closed) return;
      await this.step(s, l);
    }
    if (!this.closed) l.req.finished = true;
    this.live.delete(l.req.id);
    if (!l.req.keepConn && !this.closed && steps.some((s) => s.do === 'end')) this.socket.end();
  }

  private async step(s: Step, l: Live): Promise<void> {
    const id = 'id' in s && s.id !== undefined ? s.id : l.req.id;
    switch (s.do) {
      case 'stdout':
      case 'stderr': {
        const type = s.do === 'stdout' ? RecordType.Stdout : RecordType.Stderr;
        const data = s.do === 'stdout' ? dataOf(s.data, l.req) : bytesOf(s.data);
        if (s.do === 'stdout' && s.padding !== undefined) {
          for (let at = 0; at < data.length; at += MAX_CONTENT) {
            await this.write(record(type, id, data.subarray(at, at + MAX_CONTENT), s.padding));
          }
        } else if (data.length > 0) await this.write(frameCopy(type, id, data));
        return;
      }
      case 'stdoutEnd':
        await this.write(streamEnd(RecordType.Stdout, id));
        return;
      case 'end':
        await this.write(encodeEndRequest(id, s.appStatus ?? 0, s.protocolStatus ?? ProtocolStatus.RequestComplete));
        return;
      case 'record':
        await this.write(record(s.type, id, s.content ?? Buffer.alloc(0), s.padding, s.version, s.contentLength));
        return;
      case 'raw':
        await this.write(s.bytes);
        return;
      case 'flood':
        await this.flood(s, id);
        return;
      case 'wait':
        await this.sleep(s.ms);
        return;
      case 'waitStdin':
        if (!l.req.stdinDone) await new Promise<void>((r) => l.stdinWaiters.push(r));
        return;
      case 'readRate':
        this.rate = s.bytesPerSecond < 0 ? -1 : s.bytesPerSecond;
        if (this.rate === 0) this.socket.pause();
        else this.schedule();
        return;
      case 'stall':
        await new Promise<void>((r) => this.closeWaiters.add(r));
        return;
      case 'close':
        this.socket.end();
        await new Promise<void>((r) => this.closeWaiters.add(r));
        return;
      case 'reset':
        this.socket.resetAndDestroy();
        return;
    }
  }

  /** Writes `bytes` of `fill` as records of `piece` content bytes, waiting for 'drain' when full. */
  private async flood(s: Extract<Step, { do: 'flood' }>, id: number): Promise<void> {
    const total = Math.min(s.bytes, MAX_FLOOD);
    const piece = Math.max(1, Math.min(s.piece ?? 32 * 1024, MAX_CONTENT));
    const type = s.stream === 'stdout' ? RecordType.Stdout : RecordType.Stderr;
    const full = frameCopy(type, id, Buffer.alloc(piece, s.fill ?? 0x78));
    for (let sent = 0; sent < total && !this.closed; ) {
      const n = Math.min(piece, total - sent);
      await this.write(n === piece ? full : frameCopy(type, id, Buffer.alloc(n, s.fill ?? 0x78)));
      sent += n;
    }
  }

  /** Resolves once the bytes are taken (at once, or at 'drain'), or when the connection closed. */
  private write(bytes: Buffer): Promise<void> {
    if (this.closed || this.socket.destroyed) return Promise.resolve();
    if (this.socket.write(bytes)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.closeWaiters.delete(done);
        resolve();
      };
      this.socket.on('drain', done);
      this.closeWaiters.add(done);
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.closeWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.closeWaiters.add(done);
    });
  }
}

/**
 * One record written byte by byte, so that every field can be wrong: `contentLength`
 * (default content.length) and `version` (default 1) as given, `padding` (default the
 * spec's) zero bytes after the content.
 */
export function record(
  type: number,
  id: number,
  content: Buffer,
  padding?: number,
  version = 1,
  contentLength = content.length,
): Buffer {
  const pad = padding ?? paddingFor(content.length);
  const out = Buffer.alloc(HEADER_LEN + content.length + pad);
  writeHeader(out, 0, type, id, contentLength & 0xffff, pad & 0xff);
  out[0] = version & 0xff;
  content.copy(out, HEADER_LEN);
  return out;
}

/** A CGI head and body, then the stream end and END_REQUEST: what a good app writes. */
export function answer(body: Data, head = 'Status: 200 OK\r\nContent-Type: text/plain\r\n'): Step[] {
  const h = Buffer.from(head + '\r\n', 'latin1');
  const data: Data =
    typeof body === 'function' ? (r) => Buffer.concat([h, bytesOf(body(r))]) : Buffer.concat([h, bytesOf(body)]);
  return [{ do: 'stdout', data }, { do: 'stdoutEnd' }, { do: 'end' }];
}

const int = (q: URLSearchParams, name: string, dflt: number, max: number): number => {
  const v = Number(q.get(name));
  return q.has(name) && Number.isFinite(v) && v >= 0 ? Math.min(v, max) : dflt;
};

const HEAD = 'Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n';

/**
 * Misbehaviours by name, so that a URL picks one (`/after-end`, `/flood-stdout?bytes=N`):
 * the soak script and tests that go through the real CLI use these. Parameters come from
 * the query; sizes and times are capped.
 */
export const BEHAVIOURS: Readonly<Record<string, (req: HostileRequest) => Step[]>> = {
  /** A good answer after reading all of STDIN; the body names the path and the STDIN size. */
  ok: () => [{ do: 'waitStdin' }, ...answer((r) => `ok ${r.path} stdin=${r.stdinBytes}\n`)],
  /** `canary <n>`: a request whose exact body the caller knows. */
  canary: (r) => [{ do: 'waitStdin' }, ...answer(`canary ${r.query.get('n') ?? ''}\n`)],
  /** A complete answer, then STDOUT for the finished request, then a second END_REQUEST. */
  'after-end': () => [...answer('before the end\n'), { do: 'stdout', data: 'AFTER THE END\n' }, { do: 'end' }],
  /** Two END_REQUESTs. */
  'double-end': () => [...answer('one answer\n'), { do: 'end' }],
  /** STDOUT for a request id nobody asked for, before the head. */
  'other-id': (r) => [{ do: 'stdout', data: HEAD + 'for someone else\n', id: r.id + 1 }, ...answer('mine\n')],
  /** A head without Content-Length and `bytes` (default 8 MiB) of body. */
  'flood-stdout': (r) => [
    { do: 'waitStdin' },
    { do: 'stdout', data: 'Content-Type: application/octet-stream\r\n\r\n' },
    { do: 'flood', stream: 'stdout', bytes: int(r.query, 'bytes', 8 << 20, MAX_FLOOD) },
    { do: 'stdoutEnd' },
    { do: 'end' },
  ],
  /** `bytes` (default 1 MiB) of STDERR in `piece`-byte records, then a good answer. */
  'flood-stderr': (r) => [
    {
      do: 'flood',
      stream: 'stderr',
      bytes: int(r.query, 'bytes', 1 << 20, MAX_FLOOD),
      piece: int(r.query, 'piece', 4096, MAX_CONTENT),
      fill: 0x65,
    },
    ...answer('after stderr\n'),
  ],
  /** Never answers. */
  'stall-head': () => [{ do: 'stall' }],
  /** A head with Content-Length 1000 and 100 bytes of body, then nothing. */
  'stall-body': () => [{ do: 'stdout', data: 'Content-Length: 1000\r\n\r\n' + 'x'.repeat(100) }, { do: 'stall' }],
  'reset-head': () => [{ do: 'reset' }],
  'reset-body': () => [{ do: 'stdout', data: 'Content-Length: 1000\r\n\r\n' + 'x'.repeat(100) }, { do: 'reset' }],
  /** Reset while the gateway may still be sending STDIN (the body is not waited for). */
  'reset-stdin': (r) => [{ do: 'wait', ms: int(r.query, 'ms', 0, 5000) }, { do: 'reset' }],
  'close-head': () => [{ do: 'close' }],
  'close-body': () => [{ do: 'stdout', data: 'Content-Length: 1000\r\n\r\n' + 'x'.repeat(100) }, { do: 'close' }],
  /** A record with version 0. */
  'bad-version': () => [
    { do: 'record', type: RecordType.Stdout, content: Buffer.from(HEAD), version: 0 },
    { do: 'end' },
  ],
  /** Every record padded with 255 bytes (legal: the spec allows any padding). */
  'huge-padding': () => [{ do: 'stdout', data: HEAD + 'padded\n', padding: 255 }, { do: 'stdoutEnd' }, { do: 'end' }],
  /** A record of type 42 for the request. */
  'unknown-type': () => [{ do: 'record', type: 42, content: Buffer.from('what is this') }, ...answer('late\n')],
  /** Half a record header, then the connection ends. */
  truncated: () => [{ do: 'raw', bytes: Buffer.from([1, RecordType.Stdout, 0]) }, { do: 'close' }],
  /** Reads STDIN at `rate` (default 1000) bytes per second, then answers. */
  'slow-stdin': (r) => [
    { do: 'readRate', bytesPerSecond: int(r.query, 'rate', 1000, 1 << 30) },
    { do: 'waitStdin' },
    { do: 'readRate', bytesPerSecond: -1 },
    ...answer((q) => `read ${q.stdinBytes} bytes slowly\n`),
  ],
  /** Waits `ms` (default 100) before a good answer. */
  slow: (r) => [{ do: 'waitStdin' }, { do: 'wait', ms: int(r.query, 'ms', 100, 60_000) }, ...answer('slow\n')],
  /** Status 999. */
  'bad-status': () => answer('nine nine nine\n', 'Status: 999 Beyond\r\nContent-Type: text/plain\r\n'),
  /** X-Sendfile, X-Accel-Redirect and X-LIGHTTPD-send-file pointing at /etc/passwd. */
  sendfile: () =>
    answer(
      'sendfile\n',
      'Content-Type: text/plain\r\nX-Sendfile: /etc/passwd\r\nX-Accel-Redirect: /internal/passwd\r\nX-LIGHTTPD-send-file: /etc/passwd\r\n',
    ),
  /** An END_REQUEST saying FCGI_OVERLOADED, without STDOUT. */
  overloaded: () => [{ do: 'end', protocolStatus: ProtocolStatus.Overloaded }],
};

/** The default handler: the last path segment names a behaviour; anything else is `ok`. */
export function behaviour(req: HostileRequest): Step[] {
  const name = req.path.slice(req.path.lastIndexOf('/') + 1);
  return (BEHAVIOURS[name] ?? BEHAVIOURS['ok']!)(req);
}
