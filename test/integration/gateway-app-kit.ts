// Shared pieces of the gateway-app*.test.ts files (the real gateway in front of the
// built-in demo app): starting the pair, ordinary requests over a keep-alive Agent, raw
// HTTP exchanges over a net socket for exact bytes, a relay that can cut the gateway's
// backend connections, bounded waiting, and a deterministic body generator hashed while
// it generates. No assertions here; the tests decide.
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { startDemoApp, type DemoApp } from '../../src/app/demo.js';
import type { Tuning } from '../../src/tuning.js';
import type { PoolStats } from '../../src/upstream/pool.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

export interface Pair {
  app: DemoApp;
  appPort: number;
  gw: TestGateway;
  /** The worker URL, e.g. fcgi://127.0.0.1:PORT/ (what log lines name). */
  backend: string;
  agent: http.Agent;
  relay: Relay | null;
  stop(): Promise<void>;
}

/**
 * The demo app (test routes on) and a gateway in front of it. `config(port)` gives the
 * configuration text; by default `ProxyPass / fcgi://127.0.0.1:PORT/`.
 */
export async function startPair(
  opts: {
    config?: (port: number) => string;
    tuning?: Partial<Tuning>;
    app?: Partial<Parameters<typeof startDemoApp>[0]>;
    probe?: boolean;
    /** The gateway reaches the app through a Relay (config gets the relay's port). */
    relay?: boolean;
  } = {},
): Promise<Pair> {
  const app = await startDemoApp({ listen: '127.0.0.1:0', testRoutes: true, ...opts.app });
  const appPort = (app.address as { port: number }).port;
  const relay = opts.relay === true ? new Relay(appPort) : null;
  const port = relay !== null ? await relay.start() : appPort;
  const config = opts.config ? opts.config(port) : `ProxyPass / fcgi://127.0.0.1:${port}/\n`;
  let gw: TestGateway;
  try {
    gw = await startTestGateway({
      config,
      ...(opts.tuning ? { tuning: opts.tuning } : {}),
      ...(opts.probe !== undefined ? { probe: opts.probe } : {}),
    });
  } catch (err) {
    await app.server.destroyAll();
    await relay?.stop();
    throw err;
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  // The probe's connection may still be closing on the app side.
  await waitUntil(() => app.server.connectionCount === 0, 2000, 'the probe connection to close');
  return {
    app,
    appPort,
    gw,
    backend: `fcgi://127.0.0.1:${port}`,
    agent,
    relay,
    stop: async () => {
      agent.destroy();
      await gw.stop();
      await relay?.stop();
      await app.server.destroyAll();
    },
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

/** One request over `agent`; the body is a Buffer or absent. Rejects after `timeoutMs`. */
export function request(
  base: string,
  path: string,
  opts: {
    method?: string;
    headers?: http.OutgoingHttpHeaders;
    body?: Buffer;
    agent?: http.Agent;
    timeoutMs?: number;
  } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      base + path,
      { method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent ?? false },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: Buffer.concat(parts),
          });
        });
        res.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`${path}: no complete answer within ${opts.timeoutMs ?? 10_000} ms`));
    }, opts.timeoutMs ?? 10_000);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(opts.body);
  });
}

export interface RawResponse {
  statusLine: string;
  status: number;
  /** [name lower-case, value] in order. */
  headers: Array<[string, string]>;
  body: Buffer;
  /** The body reached its Content-Length, or the chunked terminator arrived. */
  complete: boolean;
  /** The server closed the connection. */
  closed: boolean;
  chunked: boolean;
  /** Bytes that arrived after the end of this response (HEAD with a body, pipelining). */
  extra: Buffer;
}

/** First value of a header in a raw response. */
export const rawHeader = (r: RawResponse, name: string): string | undefined => r.headers.find(([n]) => n === name)?.[1];

/**
 * Reads one response from `sock` (already connected, the request already written or
 * written by the caller). Resolves when it is complete, when the server closes, or (for
 * `idleMs`) when nothing arrived for that long with a complete head.
 */
export function readResponse(
  sock: net.Socket,
  opts: { timeoutMs?: number; head?: boolean } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    let headEnd = -1;
    let res: RawResponse | null = null;
    let length = -1;
    const finish = (closed: boolean): void => {
      cleanup();
      if (res === null) {
        reject(
          new Error(
            `connection closed before a response head (${buf.length} bytes: `
              + `${JSON.stringify(buf.subarray(0, 200).toString('latin1'))})`,
          ),
        );
        return;
      }
      res.closed = closed;
      resolve(res);
    };
    const check = (): void => {
      if (res === null) {
        headEnd = buf.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
        const statusLine = lines.shift()!;
        const headers = lines.map((l): [string, string] => {
          const i = l.indexOf(':');
          return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
        });
        res = {
          statusLine,
          status: Number(statusLine.split(' ')[1]),
          headers,
          body: Buffer.alloc(0),
          complete: false,
          closed: false,
          chunked: false,
          extra: Buffer.alloc(0),
        };
        buf = buf.subarray(headEnd + 4);
        const cl = rawHeader(res, 'content-length');
        res.chunked = rawHeader(res, 'transfer-encoding') === 'chunked';
        if (opts.head === true || res.status === 204 || res.status === 304) {
          res.complete = true;
          res.extra = buf;
          finish(false);
          return;
        }
        if (cl !== undefined) length = Number(cl);
      }
      if (res.chunked) {
        const decoded = dechunk(buf);
        res.body = decoded.body;
        if (decoded.complete) {
          res.complete = true;
          finish(false);
        }
      } else if (length >= 0) {
        res.body = buf;
        if (buf.length >= length) {
          res.complete = true;
          res.body = buf.subarray(0, length);
          res.extra = buf.subarray(length);
          finish(false);
        }
      } else {
        res.body = buf; // read to close
      }
    };
    const onData = (c: Buffer): void => {
      buf = buf.length === 0 ? c : Buffer.concat([buf, c]);
      check();
    };
    const onClose = (): void => finish(true);
    const onError = (): void => {
      /* close follows */
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new Error(
          `no complete response within ${opts.timeoutMs ?? 10_000} ms; got `
            + `${JSON.stringify(buf.subarray(0, 300).toString('latin1'))}`,
        ),
      );
    }, opts.timeoutMs ?? 10_000);
    const cleanup = (): void => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('close', onClose);
      sock.off('error', onError);
    };
    sock.on('data', onData);
    sock.on('close', onClose);
    sock.on('error', onError);
  });
}

/** Decodes a chunked body as far as it goes. */
function dechunk(buf: Buffer): { body: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
    if (size === 0) return { body: Buffer.concat(parts), complete: buf.indexOf('\r\n', eol + 2) >= 0 };
    if (buf.length < eol + 2 + size + 2) {
      parts.push(buf.subarray(eol + 2, Math.min(buf.length, eol + 2 + size)));
      break;
    }
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return { body: Buffer.concat(parts), complete: false };
}

/** Opens a socket to the gateway. */
export function connectTo(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** One raw request on a fresh connection; the socket stays open for more unless the server closed it. */
export async function rawRequest(
  port: number,
  text: string | Buffer,
  opts: { timeoutMs?: number; head?: boolean } = {},
): Promise<RawResponse & { socket: net.Socket }> {
  const socket = await connectTo(port);
  const p = readResponse(socket, opts);
  socket.write(text);
  try {
    return { ...(await p), socket };
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

/** Polls `cond` every 10 ms until true; rejects naming `what` after `timeoutMs`. */
export async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The gateway's pool counters for the pair's backend. */
export function poolOf(p: Pair): PoolStats {
  // Pools are made at a backend's first request: none yet reads as all zeros.
  return (
    p.gw.gateway.poolStats()[p.backend] ?? {
      size: 0,
      idle: 0,
      busy: 0,
      pending: 0,
      opened: 0,
      reused: 0,
      failedConnects: 0,
    }
  );
}

/** Log lines starting with `code`. */
export const logsOf = (gw: TestGateway, code: string): string[] => gw.logs.filter((l) => l.startsWith(code));

/** SHA-256 hex of a buffer. */
export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * A deterministic body: 64 KiB blocks, block k = a fixed pseudo-random block with its first
 * 8 bytes replaced by k (so repeats differ). `chunks(n)` yields views of a reused buffer
 * after hashing them; `digest()` is the SHA-256 of everything yielded.
 */
export class PatternBody {
  static readonly BLOCK = 64 * 1024;
  private static base: Buffer | null = null;
  private readonly hash = createHash('sha256');
  constructor(readonly size: number) {}

  static block(): Buffer {
    if (PatternBody.base === null) {
      const b = Buffer.allocUnsafe(PatternBody.BLOCK);
      let x = 0x12345678;
      for (let i = 0; i < b.length; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        b[i] = x >>> 24;
      }
      PatternBody.base = b;
    }
    return PatternBody.base;
  }

  /** The whole body in memory (small sizes only). */
  static bytes(size: number): Buffer {
    const out = Buffer.allocUnsafe(size);
    const body = new PatternBody(size);
    let at = 0;
    for (const c of body.chunks()) {
      c.copy(out, at);
      at += c.length;
    }
    return out;
  }

  *chunks(): Generator<Buffer> {
    const block = Buffer.from(PatternBody.block());
    let sent = 0;
    for (let k = 0; sent < this.size; k++) {
      block.writeBigUInt64BE(BigInt(k), 0);
      const n = Math.min(block.length, this.size - sent);
      const view = block.subarray(0, n);
      this.hash.update(view);
      sent += n;
      yield view;
    }
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

/**
 * A TCP relay in front of the app: the gateway connects here. `cut()` ends every relayed
 * connection (FIN to the gateway), as an app that closes idle connections would.
 */
export class Relay {
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private server: net.Server | null = null;
  port = 0;
  accepted = 0;

  constructor(private readonly target: number) {}

  async start(): Promise<number> {
    this.server = net.createServer((down) => {
      this.accepted++;
      const up = net.connect({ host: '127.0.0.1', port: this.target });
      const pair: [net.Socket, net.Socket] = [down, up];
      this.pairs.add(pair);
      down.pipe(up);
      up.pipe(down);
      const drop = (): void => {
        down.destroy();
        up.destroy();
        this.pairs.delete(pair);
      };
      down.on('error', drop);
      up.on('error', drop);
      down.on('close', drop);
      up.on('close', drop);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  get open(): number {
    return this.pairs.size;
  }

  /** Ends every relayed connection on both sides. */
  cut(): void {
    for (const [down, up] of this.pairs) {
      down.end();
      up.end();
    }
  }

  async stop(): Promise<void> {
    for (const [down, up] of this.pairs) {
      down.destroy();
      up.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
