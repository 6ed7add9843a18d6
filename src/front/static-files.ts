// Serves one file from disk through uWS: the handler form's "files that match no handler"
// (Apache's default handler). GET and HEAD, validators (ETag, Last-Modified), conditional
// requests, one byte range, streaming with backpressure. The pure parts (type table, ETag,
// Range, conditions) come first and are unit-tested; the I/O part is FileTransfer at the end.
// It does not map URLs to files or check DocumentRoot containment: the router does that.

import { close, open, read, type Stats } from 'node:fs';
import { headerOf, type RequestSnapshot } from '../request.js';
import { evaluatePreconditions, ifRangeAllows } from './conditional.js';
import { ERROR_PAGE_TYPE, errorPage, reasonOf } from './error-page.js';
import type { HttpResponse } from './uws.js';

// ---- pure helpers ------------------------------------------------------------------------

/** Extension → Content-Type, a subset of Apache's mime.types. No match: no Content-Type (as Apache 2.4). */
const TYPES: Record<string, string> = Object.assign(Object.create(null) as Record<string, string>, {
  html: 'text/html',
  htm: 'text/html',
  css: 'text/css',
  js: 'text/javascript',
  mjs: 'text/javascript',
  json: 'application/json',
  map: 'application/json',
  txt: 'text/plain',
  csv: 'text/csv',
  xml: 'application/xml',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  ico: 'image/vnd.microsoft.icon',
  pdf: 'application/pdf',
  wasm: 'application/wasm',
  woff: 'font/woff',
  woff2: 'font/woff2',
  ttf: 'font/ttf',
  otf: 'font/otf',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  mp4: 'video/mp4',
  webm: 'video/webm',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
});

/** Content-Type for a file name by its last extension (case-insensitive), or undefined. */
export function contentTypeFor(filename: string): string | undefined {
  const slash = filename.lastIndexOf('/');
  const dot = filename.lastIndexOf('.');
  if (dot <= slash + 1) return undefined; // no extension, or a dot-file
  return TYPES[filename.slice(dot + 1).toLowerCase()];
}

/**
 * Apache's default ETag (FileETag MTime Size): `"<size hex>-<mtime in µs hex>"`,
 * e.g. 45 bytes modified at 1700000000.123456 s → `"2d-6092def1a0640"`.
 */
export function etagFor(size: number, mtimeMs: number): string {
  const micros = Math.floor(mtimeMs * 1000);
  return `"${size.toString(16)}-${micros.toString(16)}"`;
}

/** IMF-fixdate (RFC 9110 §5.6.7) of an mtime, at whole seconds. */
export function httpDate(mtimeMs: number): string {
  return new Date(Math.floor(mtimeMs / 1000) * 1000).toUTCString();
}

export type RangeResult =
  | { kind: 'whole' } // no Range, or one we ignore → 200
  | { kind: 'range'; start: number; end: number } // inclusive end → 206
  | { kind: 'unsatisfiable' }; // → 416

/**
 * Parses a Range header for a representation of `size` bytes (RFC 9110 §14.2). Only one
 * range is served: several ranges get the whole file (200), as a server may ignore Range.
 * A malformed header is ignored (200). A single syntactically valid range that does not
 * overlap the file is unsatisfiable (416). An empty file ignores Range.
 *   bytes=0-99 → 0..99   bytes=100- → 100..size-1   bytes=-100 → last 100 bytes
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined || size === 0) return { kind: 'whole' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (m === null) return { kind: 'whole' }; // several ranges, or garbage
  const [, first, last] = m as unknown as [string, string, string];
  if (first === '') {
    if (last === '') return { kind: 'whole' };
    const n = Number(last);
    if (n === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return { kind: 'whole' }; // invalid: ignore
  if (start >= size) return { kind: 'unsatisfiable' };
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  return { kind: 'range', start, end };
}

// ---- I/O ---------------------------------------------------------------------------------

export interface StaticOutcome {
  status: number;
  /** Body bytes handed to uWS. */
  bytes: number;
  /** The client went away (onAborted) before the end. */
  aborted: boolean;
  /** A read error after the head had gone out (the connection was closed). */
  error?: Error;
}

export interface StaticOptions {
  /** Read size per fs.read; one Buffer of this size (or the file size) per transfer. */
  chunkSize?: number;
  /** ForceType / AddType from the configuration: the Content-Type (null: none); undefined: by extension. */
  contentType?: string | null | undefined;
  onDone?: (outcome: StaticOutcome) => void;
  /** Headers added to every answer (the request id), flat [name, value, …]. */
  headers?: readonly string[];
}

function writeExtra(res: HttpResponse, h: readonly string[] | undefined): void {
  if (h !== undefined) for (let i = 0; i < h.length; i += 2) res.writeHeader(h[i]!, h[i + 1]!);
}

const DEFAULT_CHUNK = 64 * 1024;

/**
 * Answers req with the file at `filename` (already stat'ed by the caller). From this call on
 * serveStatic owns `res`: it replaces res.onAborted (call it only on a response that has not
 * been aborted) and calls options.onDone exactly once. Symlinks are followed, as Apache's
 * default `Options FollowSymLinks` does; the router decides what may be reached.
 * A directory gives 404 (no listings; Apache's handler form answered 404 for a directory URL).
 */
export function serveStatic(
  res: HttpResponse,
  req: Pick<RequestSnapshot, 'method' | 'headers'>,
  filename: string,
  stat: Stats,
  options: StaticOptions = {},
): void {
  const onDone = options.onDone;
  const head = req.method === 'HEAD';
  res.onAborted(() => onDone?.({ status: 0, bytes: 0, aborted: true }));
  const simple = (status: number, text: string | undefined, extra?: [string, string]): void => {
    const body = errorPage(status, text);
    res.cork(() => {
      res.writeStatus(`${status} ${reasonOf(status)}`);
      if (extra !== undefined) res.writeHeader(extra[0], extra[1]);
      writeExtra(res, options.headers);
      res.writeHeader('Content-Type', ERROR_PAGE_TYPE);
      if (head) endHead(res, body.length);
      else res.end(body);
    });
    onDone?.({ status, bytes: head ? 0 : body.length, aborted: false });
  };
  if (req.method !== 'GET' && !head) {
    simple(405, undefined, ['Allow', 'GET, HEAD']);
    return;
  }
  if (!stat.isFile()) {
    simple(404, undefined);
    return;
  }
  const size = stat.size;
  const etag = etagFor(size, stat.mtimeMs);
  const lastModified = httpDate(stat.mtimeMs);
  const pre = evaluatePreconditions(req, etag, stat.mtimeMs);
  if (pre === 304) {
    res.cork(() => {
      res.writeStatus('304 Not Modified').writeHeader('ETag', etag).writeHeader('Last-Modified', lastModified);
      writeExtra(res, options.headers);
      res.endWithoutBody();
    });
    onDone?.({ status: 304, bytes: 0, aborted: false });
    return;
  }
  if (pre === 412) {
    simple(412, undefined);
    return;
  }
  let range = parseRange(headerOf(req as RequestSnapshot, 'range'), size);
  if (range.kind !== 'whole' && !ifRangeAllows(headerOf(req as RequestSnapshot, 'if-range'), etag, stat.mtimeMs)) {
    range = { kind: 'whole' };
  }
  if (range.kind === 'unsatisfiable') {
    simple(416, undefined, ['Content-Range', `bytes */${size}`]);
    return;
  }
  const start = range.kind === 'range' ? range.start : 0;
  const length = range.kind === 'range' ? range.end - range.start + 1 : size;
  const status = range.kind === 'range' ? '206 Partial Content' : '200 OK';
  const type = options.contentType !== undefined ? (options.contentType ?? undefined) : contentTypeFor(filename);
  const writeHead = (): void => {
    res
      .writeStatus(status)
      .writeHeader('Last-Modified', lastModified)
      .writeHeader('ETag', etag)
      .writeHeader('Accept-Ranges', 'bytes');
    if (range.kind === 'range') res.writeHeader('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
    if (type !== undefined) res.writeHeader('Content-Type', type);
    writeExtra(res, options.headers);
  };
  if (head || length === 0) {
    res.cork(() => {
      writeHead();
      endHead(res, length);
    });
    onDone?.({ status: Number(status.slice(0, 3)), bytes: 0, aborted: false });
    return;
  }
  new FileTransfer(
    res,
    filename,
    start,
    length,
    writeHead,
    Number(status.slice(0, 3)),
    Math.min(options.chunkSize ?? DEFAULT_CHUNK, length),
    onDone,
  ).start();
}

/**
 * Streams `length` bytes from `start` with one Buffer: read → tryEnd(chunk, length) → if uWS
 * could not take it all, wait for onWritable and resend the tail from the write offset; the
 * next read starts only when the chunk is fully taken, so the Buffer can be reused.
 * Methods bound once per transfer: no closure per chunk.
 */
class FileTransfer {
  private fd = -1;
  private inFlight = false; // an open or read is running
  private position: number;
  private remaining: number;
  private sent = 0;
  private aborted = false;
  private finished = false;
  private headWritten = false;
  private readonly buf: Buffer;
  private pending: Buffer | null = null;
  private pendingOffset = 0;
  private readonly onOpenBound = this.onOpen.bind(this);
  private readonly onReadBound = this.onRead.bind(this);

  constructor(
    private readonly res: HttpResponse,
    private readonly filename: string,
    start: number,
    private readonly length: number,
    private readonly writeHead: () => void,
    private readonly status: number,
    chunk: number,
    private readonly onDone?: (o: StaticOutcome) => void,
  ) {
    this.position = start;
    this.remaining = length;
    this.buf = Buffer.allocUnsafe(chunk);
    res.onAborted(() => {
      this.aborted = true;
      this.finish(undefined);
    });
    res.onWritable((offset) => this.onWritable(offset));
  }

  start(): void {
    this.inFlight = true;
    open(this.filename, 'r', this.onOpenBound);
  }

  private onOpen(err: NodeJS.ErrnoException | null, fd: number): void {
    this.inFlight = false;
    if (this.aborted) {
      if (!err) close(fd, noop);
      return;
    }
    if (err) {
      const status = err.code === 'EACCES' || err.code === 'EPERM' ? 403 : 404;
      const body = errorPage(status);
      this.res.cork(() => {
        this.res
          .writeStatus(`${status} ${reasonOf(status)}`)
          .writeHeader('Content-Type', ERROR_PAGE_TYPE)
          .end(body);
      });
      this.finished = true;
      this.onDone?.({ status, bytes: body.length, aborted: false });
      return;
    }
    this.fd = fd;
    this.readNext();
  }

  private readNext(): void {
    this.inFlight = true;
    read(this.fd, this.buf, 0, Math.min(this.buf.length, this.remaining), this.position, this.onReadBound);
  }

  private onRead(err: NodeJS.ErrnoException | null, n: number): void {
    this.inFlight = false;
    if (this.aborted) {
      this.closeFd();
      return;
    } // finish() left the fd to us
    if (err || n === 0) {
      // The file shrank or failed under us: the head promised `length` bytes, so the only
      // honest thing left is to close the connection (the truncation shows).
      const error = err ?? new Error(`${this.filename} ended ${this.remaining} bytes early`);
      const headWritten = this.headWritten;
      this.finish(error); // first: res.close() runs onAborted
      if (headWritten) this.res.close();
      else this.res.cork(() => this.res.writeStatus('500 Internal Server Error').end());
      return;
    }
    this.position += n;
    this.remaining -= n;
    this.send(this.buf.subarray(0, n));
  }

  /** Hands chunk to uWS; returns true when all of it was taken. */
  private send(chunk: Buffer): boolean {
    let ok = false,
      done = false;
    const offset = this.res.getWriteOffset();
    this.res.cork(() => {
      if (!this.headWritten) {
        this.writeHead();
        this.headWritten = true;
      }
      [ok, done] = this.res.tryEnd(chunk, this.length);
    });
    if (done) {
      this.sent = this.length;
      this.finish(undefined);
      return true;
    }
    if (ok) {
      this.sent = this.res.getWriteOffset();
      this.readNext();
      return true;
    }
    this.pending = chunk;
    this.pendingOffset = offset;
    return false;
  }

  private onWritable(offset: number): boolean {
    const p = this.pending;
    if (p === null || this.finished) return true;
    this.pending = null;
    return this.send(p.subarray(offset - this.pendingOffset));
  }

  private finish(error: Error | undefined): void {
    if (this.finished) return;
    this.finished = true;
    // Closing while a read runs could let the fd number be reused under it: onRead closes then.
    if (!this.inFlight) this.closeFd();
    this.onDone?.({
      status: this.status,
      bytes: this.sent,
      aborted: this.aborted,
      ...(error !== undefined ? { error } : {}),
    });
  }

  private closeFd(): void {
    if (this.fd >= 0) {
      close(this.fd, noop);
      this.fd = -1;
    }
  }
}

/**
 * Ends a bodiless response that announces `length` (HEAD, or an empty file). Measured on this
 * build: end(body) sends the body even for HEAD, and endWithoutBody(n > 0) leaves the response
 * pending forever (the connection hangs); our own Content-Length + endWithoutBody() is exact.
 */
function endHead(res: HttpResponse, length: number): void {
  res.writeHeader('Content-Length', String(length)).endWithoutBody();
}

function noop(): void {
  /* close errors on a read-only fd carry no information */
}
