// Test support for the upstream/ unit tests: a scripted FastCGI application on loopback
// (a plain net server: the test writes each byte the app sends), worker settings for a
// pool, a parser of what the gateway sent (whole records, read by hand from the header
// fields), record builders on the project's writers, and bounded waiting for an event.
// No assertions here; the tests decide.
import { createServer, type Server, type Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { BackendAddress, WorkerSettings } from '../../src/config/model.js';
import { RecordType } from '../../src/protocol/constants.js';
import { encodeEndRequest } from '../../src/protocol/management.js';
import { frameCopy } from '../../src/protocol/stream-writer.js';

/** An app that accepts connections and leaves every byte to the test. */
export class RawApp {
  readonly sockets: Socket[] = [];
  private taken = 0;

  private constructor(
    private readonly server: Server,
    readonly address: BackendAddress,
  ) {}

  /** Listens on 127.0.0.1 (port 0) or on the unix socket `path`. */
  static async start(path?: string): Promise<RawApp> {
    let app: RawApp | null = null;
    const server = createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => {
        /* resets are part of the tests; they look at 'close' */
      });
      app!.sockets.push(s);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (path !== undefined) server.listen(path, resolve);
      else server.listen(0, '127.0.0.1', resolve);
    });
    const a = server.address();
    const address: BackendAddress =
      path !== undefined
        ? { kind: 'unix', path }
        : { kind: 'tcp', host: '127.0.0.1', port: (a as { port: number }).port };
    app = new RawApp(server, address);
    return app;
  }

  /** The name log lines use for this backend. */
  get name(): string {
    const a = this.address;
    return a.kind === 'tcp' ? `fcgi://${a.host}:${a.port}` : `unix:${a.path}|fcgi://localhost`;
  }

  /** The next accepted connection not handed out yet (in accept order). */
  async next(): Promise<Socket> {
    await until(() => this.sockets.length > this.taken, 'the app to accept a connection');
    return this.sockets[this.taken++]!;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Worker settings for a pool in front of `address`; long timers unless `over` says otherwise. */
export function workerFor(address: BackendAddress, name: string, over: Partial<WorkerSettings> = {}): WorkerSettings {
  return {
    name,
    address,
    reuse: true,
    max: null,
    timeoutMs: 30_000,
    connectTimeoutMs: 5_000,
    acquireMs: 30_000,
    ttlMs: 60_000,
    flushPackets: 'off',
    flushWaitMs: 10,
    requestBuffering: true,
    loadFactor: 1,
    lbSet: 0,
    route: '',
    retryMs: 60_000,
    status: '',
    ...over,
  };
}

/** One record as the app received it. */
export interface Rec {
  type: number;
  id: number;
  content: Buffer;
  padding: number;
}

/**
 * Splits `bytes` into records, reading each header by hand (version, type, id, content
 * length, padding, reserved, as the FastCGI spec lays it out). Throws when
 * the bytes do not end on a record boundary.
 */
export function parseRecords(bytes: Buffer): Rec[] {
  const out: Rec[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 8 > bytes.length) throw new Error(`a record header cut at ${at} of ${bytes.length}`);
    if (bytes[at] !== 1) throw new Error(`version ${bytes[at]} at ${at}`);
    const len = (bytes[at + 4]! << 8) | bytes[at + 5]!;
    const padding = bytes[at + 6]!;
    const end = at + 8 + len + padding;
    if (end > bytes.length) throw new Error(`a record cut at ${at} of ${bytes.length}`);
    out.push({
      type: bytes[at + 1]!,
      id: (bytes[at + 2]! << 8) | bytes[at + 3]!,
      content: bytes.subarray(at + 8, at + 8 + len),
      padding,
    });
    at = end;
  }
  return out;
}

/** Collects what the gateway writes on `socket`. */
export class Received {
  private parts: Buffer[] = [];
  ended = false;
  error: string | null = null;
  closed = false;
  constructor(readonly socket: Socket) {
    socket.on('data', (b: Buffer) => this.parts.push(b));
    socket.on('end', () => {
      this.ended = true;
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      this.error = e.code ?? e.message;
    });
    socket.on('close', () => {
      this.closed = true;
    });
  }
  get bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
  /** The gateway closed its side: a FIN (the app side stays half open), a reset, or a close. */
  get gone(): boolean {
    return this.ended || this.error !== null || this.closed;
  }
  /** The records received so far, when they end on a record boundary; null otherwise. */
  records(): Rec[] | null {
    try {
      return parseRecords(this.bytes);
    } catch {
      return null;
    }
  }
  /** Resolves once the records received so far include the empty STDIN record of `id`. */
  async untilStdinEnd(id = 1): Promise<Rec[]> {
    let recs: Rec[] | null = null;
    await until(() => {
      recs = this.records();
      return recs?.some((r) => r.type === RecordType.Stdin && r.id === id && r.content.length === 0) === true;
    }, `the empty STDIN record of request ${id}`);
    return recs!;
  }
}

/** STDOUT records for `text` (not the closing empty one). */
export const stdout = (id: number, text: string | Buffer): Buffer =>
  frameCopy(RecordType.Stdout, id, typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
export const stdoutEnd = (id: number): Buffer => frameCopy(RecordType.Stdout, id, Buffer.alloc(0), true);
export const stderr = (id: number, text: string | Buffer): Buffer =>
  frameCopy(RecordType.Stderr, id, typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
export const endRequest = (id: number, protocolStatus = 0, appStatus = 0): Buffer =>
  encodeEndRequest(id, appStatus, protocolStatus);

/**
 * Polls `cond` once per event-loop turn for at most `ms` milliseconds (of performance.now():
 * tests that fake Date and timers may call it too).
 */
export async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await nextTurn();
  }
}
