// A raw-socket HTTP/1.1 client for tests that behave as the world does: requests written in
// pieces with delays, responses read at a limited rate or paused, malformed requests sent as
// bytes (buildRequest, chunkedBody: any field may be wrong on purpose). Responses are checked
// by a strict incremental parser (status line, headers, then the body framed by
// Content-Length or by chunked encoding validated byte by byte) that hashes the body as it
// goes, so 50 MB downloads need no memory; converse() reads every response a connection gets
// until the server closes (half-closing when it goes quiet). No assertions here: tests decide.
import { createHash, type Hash } from 'node:crypto';
import net from 'node:net';

export interface ParsedResponse {
  statusLine: string;
  status: number;
  /** [name lower-case, value] in order. */
  headers: Array<[string, string]>;
  /** Body bytes after de-chunking. */
  bodyBytes: number;
  /** SHA-256 hex of the (de-chunked) body. */
  sha256: string;
  /** The body itself when asked for (`keepBody`), else empty. */
  body: Buffer;
  chunked: boolean;
  /** Content-Length reached, or the chunked terminator and trailer end arrived. */
  complete: boolean;
  /** Interim (1xx) status lines that came before this response, e.g. "HTTP/1.1 100 Continue". */
  interim: string[];
}

/** First value of a header. */
export const headerIn = (r: { headers: Array<[string, string]> }, name: string): string | undefined =>
  r.headers.find(([n]) => n === name)?.[1];

const S = { Head: 0, Length: 1, Size: 2, Data: 3, DataEnd: 4, Trailer: 5, Done: 6, ToClose: 7 } as const;

/**
 * Parses one response incrementally and strictly. `push` returns the bytes it used (the rest
 * belongs to a next response); a framing error throws with the byte offset, so corruption
 * shows where it happened (a missing CRLF after chunk data, a bad size line, ...).
 */
export class StrictResponseParser {
  private state: number = S.Head;
  private head = Buffer.alloc(0);
  private remaining = 0;
  private line = '';
  private readonly hash: Hash = createHash('sha256');
  private readonly parts: Buffer[] = [];
  private offset = 0;
  result: ParsedResponse | null = null;
  private readonly interim: string[] = [];

  constructor(private readonly opts: { headRequest?: boolean; keepBody?: boolean } = {}) {}

  get done(): boolean {
    return this.state === S.Done;
  }

  push(c: Buffer): number {
    let at = 0;
    while (at < c.length && this.state !== S.Done) {
      switch (this.state) {
        case S.Head: {
          const joined = this.head.length === 0 ? c.subarray(at) : Buffer.concat([this.head, c.subarray(at)]);
          const end = joined.indexOf('\r\n\r\n');
          if (end < 0) {
            if (joined.length > 1 << 20) throw new Error('response head over 1 MiB');
            this.head = Buffer.from(joined);
            at = c.length;
            break;
          }
          const used = end + 4 - this.head.length;
          at += used;
          this.head = Buffer.alloc(0);
          this.startBody(joined.subarray(0, end).toString('latin1'));
          break;
        }
        case S.Length: {
          const n = Math.min(this.remaining, c.length - at);
          this.body(c.subarray(at, at + n));
          at += n;
          this.remaining -= n;
          if (this.remaining === 0) this.finish();
          break;
        }
        case S.ToClose:
          this.body(c.subarray(at));
          at = c.length;
          break;
        case S.Size:
        case S.Trailer: {
          const b = c[at++]!;
          this.offset++;
          if (b !== 0x0a) {
            if (this.line.length > 4096) throw new Error(`chunk line over 4 KiB at body offset ${this.offset}`);
            this.line += String.fromCharCode(b);
            break;
          }
          if (!this.line.endsWith('\r'))
            throw new Error(
              `bare LF in chunk framing at wire offset ${this.offset} (line ${JSON.stringify(this.line)})`,
            );
          const text = this.line.slice(0, -1);
          this.line = '';
          if (this.state === S.Trailer) {
            if (text === '') this.finish();
            break;
          }
          const sizeText = text.split(';')[0]!.trim();
          if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) {
            throw new Error(
              `bad chunk size line ${JSON.stringify(text.slice(0, 60))} after ${this.result!.bodyBytes} body bytes`,
            );
          }
          this.remaining = parseInt(sizeText, 16);
          this.state = this.remaining === 0 ? S.Trailer : S.Data;
          break;
        }
        case S.Data: {
          const n = Math.min(this.remaining, c.length - at);
          this.body(c.subarray(at, at + n));
          at += n;
          this.offset += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.state = S.DataEnd;
            this.line = '';
          }
          break;
        }
        case S.DataEnd: {
          const b = c[at++]!;
          this.offset++;
          const want = this.line === '' ? 0x0d : 0x0a;
          if (b !== want) {
            throw new Error(
              `chunk data not followed by CRLF (got 0x${b.toString(16)}) after ${this.result!.bodyBytes} body bytes`,
            );
          }
          if (this.line === '') this.line = '\r';
          else {
            this.line = '';
            this.state = S.Size;
          }
          break;
        }
      }
    }
    return at;
  }

  /** The server closed: a read-to-close body ends here. */
  closed(): void {
    if (this.state === S.ToClose) this.finish();
  }

  private startBody(headText: string): void {
    const lines = headText.split('\r\n');
    const statusLine = lines.shift()!;
    const m = /^HTTP\/1\.[01] (\d{3})( .*)?$/.exec(statusLine);
    if (m === null) throw new Error(`bad status line ${JSON.stringify(statusLine.slice(0, 80))}`);
    const headers = lines.map((l): [string, string] => {
      const i = l.indexOf(':');
      if (i <= 0) throw new Error(`bad header line ${JSON.stringify(l.slice(0, 80))}`);
      return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
    });
    const status = Number(m[1]);
    if (status >= 100 && status < 200 && status !== 101) {
      this.interim.push(statusLine); // an interim response: the real one follows
      return;
    }
    const r: ParsedResponse = {
      statusLine,
      status,
      headers,
      bodyBytes: 0,
      sha256: '',
      body: Buffer.alloc(0),
      chunked: false,
      complete: false,
      interim: this.interim,
    };
    this.result = r;
    const te = headers.filter(([n]) => n === 'transfer-encoding');
    const cl = headers.filter(([n]) => n === 'content-length');
    if (te.length > 0 && cl.length > 0) throw new Error('response has both Transfer-Encoding and Content-Length');
    if (cl.length > 1) throw new Error('response has two Content-Length headers');
    if (this.opts.headRequest === true || status === 204 || status === 304 || status === 101) {
      this.finish();
      return;
    }
    if (te.length > 0) {
      if (te.length > 1 || te[0]![1].toLowerCase() !== 'chunked')
        throw new Error(`unexpected Transfer-Encoding ${JSON.stringify(te.map((t) => t[1]))}`);
      r.chunked = true;
      this.state = S.Size;
      return;
    }
    if (cl.length === 1) {
      if (!/^\d+$/.test(cl[0]![1])) throw new Error(`bad Content-Length ${cl[0]![1]}`);
      this.remaining = Number(cl[0]![1]);
      if (this.remaining === 0) this.finish();
      else this.state = S.Length;
      return;
    }
    this.state = S.ToClose;
  }

  private body(b: Buffer): void {
    if (b.length === 0) return;
    this.hash.update(b);
    if (this.opts.keepBody === true) this.parts.push(Buffer.from(b));
    this.result!.bodyBytes += b.length;
  }

  private finish(): void {
    const r = this.result!;
    r.complete = true;
    r.sha256 = this.hash.digest('hex');
    if (this.opts.keepBody === true) r.body = Buffer.concat(this.parts);
    this.state = S.Done;
  }
}

export interface ReadOptions {
  /** Read at most this many bytes per second (pausing the socket); default: as fast as possible. */
  rate?: number;
  /** Every `pauseEvery` bytes, stop reading for `pauseMs`. */
  pauseEvery?: number;
  pauseMs?: number;
  headRequest?: boolean;
  keepBody?: boolean;
  /** Reject when no complete response within this long (default 30 s). */
  timeoutMs?: number;
  /** Bytes after the response stay buffered for the next read() (`extra` is then empty). */
  keepRest?: boolean;
}

export interface ConverseOptions {
  /** After this long with no byte from the server (and no complete answer pending), the client half-closes (FIN). */
  quietMs: number;
  /** After the FIN, the server must close within this long. */
  finMs: number;
  /** The whole conversation may take this long. */
  timeoutMs: number;
  /** heads[i]: the i-th response answers a HEAD (no body). */
  heads?: readonly boolean[];
  /** Keep each response's body (else only its length and hash). */
  keepBody?: boolean;
  /** Once this many responses are complete, 50 ms of quiet are enough for the FIN. */
  expect?: number;
}

export interface Conversation {
  /** Every complete response, in order. */
  responses: ParsedResponse[];
  /** A framing error, or a head that never completed before the close; null when all was well formed. */
  error: string | null;
  /**
   * 'closed': the server closed on its own; 'closed-after-fin': it closed after our FIN
   * (it was waiting for more); 'open': it did neither in time (a hang).
   */
  end: 'closed' | 'closed-after-fin' | 'open';
  /** Bytes of a response cut short by the close (its head came, not all of its body). */
  truncated: boolean;
  ms: number;
}

export interface ResponseOutcome {
  /** The parsed response, or null when the connection closed before a head. */
  response: ParsedResponse | null;
  /** A framing error, or null. */
  error: string | null;
  /** The server closed the connection (before, at or after the end of the response). */
  closed: boolean;
  /** Bytes after the end of this response (a second response, or garbage). */
  extra: Buffer;
  ms: number;
}

/**
 * A connection to a test server. `send` writes bytes (optionally in pieces with delays);
 * `read` parses the next response with the given reading behaviour.
 */
export class RawConnection {
  readonly socket: net.Socket;
  private buffered: Buffer[] = [];
  private waiter: (() => void) | null = null;
  closed = false;
  error: Error | null = null;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => {
      this.buffered.push(c);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', (e) => {
      this.error = e;
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port });
      s.setNoDelay(true);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new RawConnection(s));
      });
      s.once('error', reject);
    });
  }

  /**
   * Writes `data`, or its pieces one after the other with `delayMs` between them. Stops
   * (resolves) when the connection closes or fails meanwhile; a server that stops reading
   * without closing keeps it waiting (race it with a timeout where that can happen).
   */
  async send(data: string | Buffer | Array<string | Buffer>, delayMs = 0): Promise<void> {
    const pieces = Array.isArray(data) ? data : [data];
    for (let i = 0; i < pieces.length; i++) {
      if (i > 0 && delayMs > 0) await sleep(delayMs);
      if (this.closed || this.socket.destroyed) return;
      await new Promise<void>((resolve) => {
        if (this.socket.write(pieces[i]!)) {
          resolve();
          return;
        }
        const done = (): void => {
          this.socket.off('drain', done);
          this.socket.off('close', done);
          resolve();
        };
        this.socket.once('drain', done);
        this.socket.once('close', done);
      });
    }
  }

  /** Reads and parses one response. */
  async read(opts: ReadOptions = {}): Promise<ResponseOutcome> {
    const t0 = Date.now();
    const parser = new StrictResponseParser({
      ...(opts.headRequest !== undefined ? { headRequest: opts.headRequest } : {}),
      ...(opts.keepBody !== undefined ? { keepBody: opts.keepBody } : {}),
    });
    const deadline = t0 + (opts.timeoutMs ?? 30_000);
    let got = 0;
    let sincePause = 0;
    let error: string | null = null;
    for (;;) {
      while (this.buffered.length > 0 && !parser.done && error === null) {
        const c = this.buffered.shift()!;
        let used = 0;
        try {
          used = parser.push(c);
        } catch (err) {
          error = (err as Error).message;
          break;
        }
        got += used;
        sincePause += used;
        if (used < c.length) this.buffered.unshift(c.subarray(used));
      }
      if (parser.done || error !== null) break;
      if (this.closed) {
        parser.closed();
        break;
      }
      if (Date.now() > deadline) {
        error = `no complete response within ${opts.timeoutMs ?? 30_000} ms (${got} bytes read)`;
        break;
      }
      // Reading behaviour: a rate, and/or a pause every N bytes.
      let waitMs = 0;
      if (opts.rate !== undefined) waitMs = Math.max(waitMs, (got / opts.rate) * 1000 - (Date.now() - t0));
      if (opts.pauseEvery !== undefined && sincePause >= opts.pauseEvery) {
        sincePause = 0;
        waitMs = Math.max(waitMs, opts.pauseMs ?? 100);
      }
      if (waitMs >= 1) {
        this.socket.pause();
        await sleep(Math.min(waitMs, deadline - Date.now()));
        this.socket.resume();
      }
      if (this.buffered.length === 0 && !this.closed) {
        await new Promise<void>((resolve) => {
          this.waiter = resolve;
          setTimeout(resolve, Math.max(1, Math.min(1000, deadline - Date.now()))).unref();
        });
        this.waiter = null;
      }
    }
    if (opts.keepRest === true)
      return { response: parser.result, error, closed: this.closed, extra: Buffer.alloc(0), ms: Date.now() - t0 };
    const extra = this.buffered.length > 0 ? Buffer.concat(this.buffered) : Buffer.alloc(0);
    this.buffered = [];
    return { response: parser.result, error, closed: this.closed, extra, ms: Date.now() - t0 };
  }

  /**
   * Reads responses until the server closes the connection. When the server has sent
   * nothing for `quietMs`, the client half-closes; from then on the server must close within
   * `finMs`. A framing error stops the reading (the connection is then destroyed).
   */
  async converse(opts: ConverseOptions): Promise<Conversation> {
    const t0 = Date.now();
    const responses: ParsedResponse[] = [];
    const keepBody = opts.keepBody === true;
    let parser = new StrictResponseParser({ headRequest: opts.heads?.[0] === true, keepBody });
    let error: string | null = null;
    let finAt = 0;
    let lastByte = Date.now();
    for (;;) {
      while (this.buffered.length > 0 && error === null) {
        const c = this.buffered.shift()!;
        lastByte = Date.now();
        let at = 0;
        while (at < c.length && error === null) {
          try {
            at += parser.push(at === 0 ? c : c.subarray(at));
          } catch (err) {
            error = (err as Error).message;
            break;
          }
          if (parser.done) {
            responses.push(parser.result!);
            parser = new StrictResponseParser({ headRequest: opts.heads?.[responses.length] === true, keepBody });
          }
        }
      }
      if (error !== null) {
        this.socket.destroy();
        break;
      }
      if (this.closed) break;
      const now = Date.now();
      if (now - t0 > opts.timeoutMs || (finAt > 0 && now - finAt > opts.finMs)) {
        return { responses, error, end: 'open', truncated: false, ms: now - t0 };
      }
      const quiet =
        opts.expect !== undefined && responses.length >= opts.expect ? Math.min(50, opts.quietMs) : opts.quietMs;
      if (finAt === 0 && now - lastByte >= quiet) {
        finAt = now;
        this.socket.end();
      }
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, Math.max(1, Math.min(50, opts.quietMs))).unref();
      });
      this.waiter = null;
    }
    parser.closed();
    if (parser.done) responses.push(parser.result!);
    const truncated = error === null && parser.result !== null && !parser.done;
    return { responses, error, end: finAt > 0 ? 'closed-after-fin' : 'closed', truncated, ms: Date.now() - t0 };
  }

  /** Resolves once the server closed the connection, or after `timeoutMs` (false). */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < until) {
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50).unref();
      });
    }
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    if (w !== null) w();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A request written field by field; every part can be wrong on purpose. */
export interface RequestParts {
  method?: string;
  /** The request target as sent (default '/'). */
  target?: string;
  /** 'HTTP/1.1' by default; '' leaves the version out. */
  version?: string;
  /** [name, value] lines in order, written as `name: value`; a [line] entry is written as is (no colon added). */
  headers?: ReadonlyArray<readonly [string, string] | readonly [string]>;
  /** Bytes after the head. */
  body?: string | Buffer;
  /** Line end (default CRLF): '\n' for bare-LF requests. */
  eol?: string;
}

/** The bytes of a request as given: nothing is checked, escaped or added. */
export function buildRequest(p: RequestParts): Buffer {
  const eol = p.eol ?? '\r\n';
  const version = p.version ?? 'HTTP/1.1';
  let head = `${p.method ?? 'GET'} ${p.target ?? '/'}${version === '' ? '' : ' ' + version}${eol}`;
  for (const h of p.headers ?? []) head += (h.length === 1 ? h[0] : `${h[0]}: ${h[1]}`) + eol;
  head += eol;
  const body =
    p.body === undefined ? Buffer.alloc(0) : typeof p.body === 'string' ? Buffer.from(p.body, 'latin1') : p.body;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** One piece of a chunked body: its data, and optionally the size line as written (a wrong one). */
export interface ChunkPart {
  data: Buffer;
  sizeLine?: string;
  ext?: string;
  eol?: string;
}

/**
 * A chunked body: each part as `size[;ext]CRLF data CRLF`, then `0CRLF`, trailer lines and the
 * final CRLF unless `final` is false (an unfinished body).
 */
export function chunkedBody(
  parts: readonly ChunkPart[],
  opts: { final?: boolean; trailers?: readonly string[] } = {},
): Buffer {
  const out: Buffer[] = [];
  for (const c of parts) {
    const eol = c.eol ?? '\r\n';
    out.push(
      Buffer.from(`${c.sizeLine ?? c.data.length.toString(16)}${c.ext ?? ''}${eol}`, 'latin1'),
      c.data,
      Buffer.from(eol, 'latin1'),
    );
  }
  if (opts.final !== false)
    out.push(Buffer.from(`0\r\n${(opts.trailers ?? []).map((t) => t + '\r\n').join('')}\r\n`, 'latin1'));
  return Buffer.concat(out);
}

/** Cuts `data` at `cuts` (sorted offsets) into pieces. */
export function cutAt(data: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const c of cuts) {
    if (c <= from || c >= data.length) continue;
    out.push(data.subarray(from, c));
    from = c;
  }
  out.push(data.subarray(from));
  return out;
}

/** A deterministic pseudo-random generator (tests print their seed). */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}
