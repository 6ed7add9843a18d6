// Incremental HTTP/1.1 response parser for the load generator: bytes in by push(), any
// split of the stream gives the same result. It reads the status, the framing fields
// (Content-Length, Transfer-Encoding, Connection) and counts body bytes; header values
// and body bytes are not kept. Framing follows RFC 9112 §6.3:
//   1xx interim responses are skipped; no body after HEAD, 204, 304;
//   Transfer-Encoding ending in chunked → chunked (Content-Length ignored);
//   other Transfer-Encoding, or neither field → the body runs until the server closes;
//   else Content-Length.
// Lines may end with CRLF or a bare LF. A line split across pushes is gathered in a carry
// buffer bounded by maxHead; nothing else is copied.

const LF = 0x0a,
  CR = 0x0d,
  SP = 0x20,
  HT = 0x09,
  COLON = 0x3a,
  SEMI = 0x3b,
  COMMA = 0x2c;

const State = {
  StatusLine: 0,
  Headers: 1,
  Body: 2,
  ChunkSize: 3,
  ChunkData: 4,
  ChunkEnd: 5,
  Trailers: 6,
  UntilClose: 7,
  Done: 8,
  Failed: 9,
} as const;

/** Largest chunk size accepted (2^48 bytes: far past anything a bench sees, exact in a double). */
const MAX_CHUNK = 2 ** 48;

const lower = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const N_CONTENT_LENGTH = lower('content-length');
const N_TRANSFER_ENCODING = lower('transfer-encoding');
const N_CONNECTION = lower('connection');
const N_CLOSE = lower('close');
const N_KEEP_ALIVE = lower('keep-alive');

const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[0x41 + c] = 10 + c;
  HEX[0x61 + c] = 10 + c;
}

/** Case-insensitive compare of src[at, at+name.length) with a lower-case ASCII name. */
function nameIs(src: Uint8Array, at: number, len: number, name: Uint8Array): boolean {
  if (len !== name.length) return false;
  for (let i = 0; i < len; i++) if ((src[at + i]! | 0x20) !== name[i]) return false;
  return true;
}

// Over 400 lines on purpose: the load generator's strict HTTP/1.1 response parser: one resumable
// state machine.
export class HttpResponseParser {
  /** Status code of the final (non-1xx) response; 0 until its status line is read. */
  status = 0;
  /** Whether the connection may carry the next request after this response. */
  keepAlive = true;
  /** Head bytes (status line and fields, interim responses and trailers included). */
  headBytes = 0;
  /** Body bytes: payload only (chunk framing not counted). */
  bodyBytes = 0;
  /** Why the response is invalid (state Failed), else null. */
  error: string | null = null;
  private state: number = State.StatusLine;
  private headRequest = false;
  private left = 0;
  private contentLength = -1;
  private chunked = false;
  private otherCoding = false;
  private http10 = false;
  private carry: Buffer;
  private carryLen = 0;

  /** maxHead: bytes allowed for a head (or for trailers), line ends included. */
  constructor(readonly maxHead = 64 * 1024) {
    this.carry = Buffer.allocUnsafe(Math.min(maxHead, 1024));
  }

  get complete(): boolean {
    return this.state === State.Done;
  }
  get failed(): boolean {
    return this.state === State.Failed;
  }
  /** True while the body is delimited by the close of the connection. */
  get untilClose(): boolean {
    return this.state === State.UntilClose;
  }
  /** Nothing of a response read yet (a close now is a clean end, not a cut response). */
  get idle(): boolean {
    return this.state === State.StatusLine && this.headBytes === 0 && this.carryLen === 0;
  }

  /** Readies the parser for the response to the next request (HEAD: no body follows). */
  begin(headRequest: boolean): void {
    this.status = 0;
    this.keepAlive = true;
    this.headBytes = 0;
    this.bodyBytes = 0;
    this.error = null;
    this.state = State.StatusLine;
    this.headRequest = headRequest;
    this.left = 0;
    this.contentLength = -1;
    this.chunked = false;
    this.otherCoding = false;
    this.http10 = false;
    this.carryLen = 0;
  }

  /**
   * Parses src[at, end). Returns the offset after what it consumed: `end`, or earlier when
   * the response completed (the bytes after it belong to no request) or failed.
   */
  push(src: Uint8Array, at: number, end: number): number {
    while (at < end) {
      switch (this.state) {
        case State.Body: {
          const n = Math.min(this.left, end - at);
          this.left -= n;
          this.bodyBytes += n;
          at += n;
          if (this.left === 0) this.state = State.Done;
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.left, end - at);
          this.left -= n;
          this.bodyBytes += n;
          at += n;
          if (this.left === 0) this.state = State.ChunkEnd;
          break;
        }
        case State.UntilClose:
          this.bodyBytes += end - at;
          return end;
        case State.Done:
        case State.Failed:
          return at;
        default: {
          // A line: status line, field, chunk size, chunk end or trailer.
          let lf = -1;
          for (let i = at; i < end; i++)
            if (src[i] === LF) {
              lf = i;
              break;
            }
          const room = this.maxHead - this.headBytes;
          if (lf < 0) {
            if (!this.gather(src, at, end, room)) return at;
            return end;
          }
          if (this.carryLen > 0) {
            if (!this.gather(src, at, lf, room)) return at;
            const len = this.carryLen;
            this.carryLen = 0;
            this.headBytes += lf + 1 - at;
            at = lf + 1;
            this.line(this.carry, 0, len);
          } else {
            if (lf + 1 - at > room) {
              this.fail(`head longer than ${this.maxHead} bytes`);
              return at;
            }
            this.headBytes += lf + 1 - at;
            const start = at;
            at = lf + 1;
            this.line(src, start, lf);
          }
        }
      }
    }
    return at;
  }

  /** The connection closed: true when that completes the response (a close-delimited body). */
  finishAtEof(): boolean {
    if (this.state === State.UntilClose) {
      this.state = State.Done;
      this.keepAlive = false;
      return true;
    }
    return this.state === State.Done;
  }

  /** What was read when the connection ended early (for error details). */
  describeCut(): string {
    switch (this.state) {
      case State.StatusLine:
        return this.headBytes === 0 && this.carryLen === 0 ? 'no response' : 'inside the status line';
      case State.Headers:
      case State.Trailers:
        return 'inside the head';
      default:
        return `inside the body after ${this.bodyBytes} bytes`;
    }
  }

  /** Appends src[from, to) to the carry; false (and failed) past the head limit. */
  private gather(src: Uint8Array, from: number, to: number, room: number): boolean {
    const n = to - from;
    if (this.carryLen + n > room) {
      this.fail(`head longer than ${this.maxHead} bytes`);
      return false;
    }
    if (this.carryLen + n > this.carry.length) {
      const bigger = Buffer.allocUnsafe(Math.min(this.maxHead, Math.max(this.carry.length * 2, this.carryLen + n)));
      this.carry.copy(bigger, 0, 0, this.carryLen);
      this.carry = bigger;
    }
    this.carry.set(src.subarray(from, to), this.carryLen);
    this.carryLen += n;
    return true;
  }

  /** One line src[start, lf) without its LF (a CR before it is dropped here). */
  private line(src: Uint8Array, start: number, lf: number): void {
    const stop = lf > start && src[lf - 1] === CR ? lf - 1 : lf;
    switch (this.state) {
      case State.StatusLine:
        this.statusLine(src, start, stop);
        return;
      case State.Headers:
        this.field(src, start, stop);
        return;
      case State.ChunkSize:
        this.chunkSize(src, start, stop);
        return;
      case State.ChunkEnd:
        if (stop !== start) {
          this.fail('chunk data longer than its size');
          return;
        }
        this.state = State.ChunkSize;
        return;
      default: // Trailers: skipped up to the empty line
        if (stop === start) this.state = State.Done;
    }
  }

  private statusLine(src: Uint8Array, start: number, stop: number): void {
    // HTTP/1.x SP 3DIGIT [SP reason]
    if (
      stop - start < 12
      || src[start] !== 0x48
      || src[start + 1] !== 0x54
      || src[start + 2] !== 0x54
      || src[start + 3] !== 0x50
      || src[start + 4] !== 0x2f
      || src[start + 5] !== 0x31
      || src[start + 6] !== 0x2e
      || (src[start + 7] !== 0x31 && src[start + 7] !== 0x30)
      || src[start + 8] !== SP
    ) {
      this.fail(`bad status line ${excerpt(src, start, stop)}`);
      return;
    }
    const d0 = src[start + 9]! - 0x30,
      d1 = src[start + 10]! - 0x30,
      d2 = src[start + 11]! - 0x30;
    if (d0 < 1 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9 || (stop > start + 12 && src[start + 12] !== SP)) {
      this.fail(`bad status code in ${excerpt(src, start, stop)}`);
      return;
    }
    this.status = d0 * 100 + d1 * 10 + d2;
    this.http10 = src[start + 7] === 0x30;
    if (this.status === 101) {
      this.fail('101 Switching Protocols: nothing was asked to upgrade');
      return;
    }
    this.keepAlive = !this.http10;
    this.state = State.Headers;
  }

  private field(src: Uint8Array, start: number, stop: number): void {
    if (stop === start) {
      this.endOfHead();
      return;
    }
    let colon = -1;
    for (let i = start; i < stop; i++)
      if (src[i] === COLON) {
        colon = i;
        break;
      }
    if (colon <= start) {
      this.fail(`bad header line ${excerpt(src, start, stop)}`);
      return;
    }
    const c0 = src[start]! | 0x20;
    if (c0 !== 0x63 && c0 !== 0x74) return; // only c… and t… names matter here
    const nameLen = colon - start;
    let vs = colon + 1;
    let ve = stop;
    while (vs < ve && (src[vs] === SP || src[vs] === HT)) vs++;
    while (ve > vs && (src[ve - 1] === SP || src[ve - 1] === HT)) ve--;
    if (nameIs(src, start, nameLen, N_CONTENT_LENGTH)) {
      const n = parseLength(src, vs, ve);
      if (n < 0 || (this.contentLength >= 0 && n !== this.contentLength)) {
        this.fail(`bad Content-Length ${excerpt(src, start, stop)}`);
        return;
      }
      this.contentLength = n;
    } else if (nameIs(src, start, nameLen, N_TRANSFER_ENCODING)) {
      // The last coding decides; a later field continues the list.
      const value = Buffer.from(src.buffer, src.byteOffset + vs, ve - vs)
        .toString('latin1')
        .toLowerCase();
      const codings = value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      if (codings.length === 0) return;
      const last = codings[codings.length - 1]!;
      this.chunked = last === 'chunked';
      this.otherCoding = !this.chunked;
    } else if (nameIs(src, start, nameLen, N_CONNECTION)) {
      // Comma-separated tokens, compared in place (this field is in most responses).
      for (let ts = vs; ts < ve; ) {
        let te = ts;
        while (te < ve && src[te] !== COMMA) te++;
        let a = ts,
          z = te;
        while (a < z && (src[a] === SP || src[a] === HT)) a++;
        while (z > a && (src[z - 1] === SP || src[z - 1] === HT)) z--;
        if (nameIs(src, a, z - a, N_CLOSE)) this.keepAlive = false;
        else if (this.http10 && nameIs(src, a, z - a, N_KEEP_ALIVE)) this.keepAlive = true;
        ts = te + 1;
      }
    }
  }

  private endOfHead(): void {
    const s = this.status;
    if (s < 200) {
      // interim (100 Continue, 103 Early Hints): the real one follows
      this.state = State.StatusLine;
      this.contentLength = -1;
      this.chunked = false;
      this.otherCoding = false;
      return;
    }
    if (this.headRequest || s === 204 || s === 304) {
      this.state = State.Done;
      return;
    }
    if (this.chunked) {
      this.state = State.ChunkSize;
      return;
    }
    if (this.otherCoding || this.contentLength < 0) {
      this.state = State.UntilClose;
      this.keepAlive = false;
      return;
    }
    this.left = this.contentLength;
    this.state = this.left === 0 ? State.Done : State.Body;
  }

  private chunkSize(src: Uint8Array, start: number, stop: number): void {
    let size = 0;
    let i = start;
    for (; i < stop; i++) {
      const h = HEX[src[i]!]!;
      if (h < 0) break;
      size = size * 16 + h;
      if (size > MAX_CHUNK) {
        this.fail('chunk size too large');
        return;
      }
    }
    if (i === start) {
      this.fail(`bad chunk size line ${excerpt(src, start, stop)}`);
      return;
    }
    while (i < stop && (src[i] === SP || src[i] === HT)) i++;
    if (i < stop && src[i] !== SEMI) {
      this.fail(`bad chunk size line ${excerpt(src, start, stop)}`);
      return;
    }
    if (size === 0) {
      this.state = State.Trailers;
      return;
    }
    this.left = size;
    this.state = State.ChunkData;
  }

  private fail(why: string): void {
    this.error = why;
    this.state = State.Failed;
  }
}

/** Content-Length: digits, or a list of equal ones (RFC 9110 §8.6); -1 when invalid. */
function parseLength(src: Uint8Array, vs: number, ve: number): number {
  if (vs === ve || ve - vs > 15) return ve - vs > 15 ? parseLengthList(src, vs, ve) : -1;
  let n = 0;
  for (let i = vs; i < ve; i++) {
    const c = src[i]!;
    if (c < 0x30 || c > 0x39) return parseLengthList(src, vs, ve);
    n = n * 10 + (c - 0x30);
  }
  return n;
}

function parseLengthList(src: Uint8Array, vs: number, ve: number): number {
  const text = Buffer.from(src.buffer, src.byteOffset + vs, ve - vs).toString('latin1');
  let value = -1;
  for (const part of text.split(',')) {
    const t = part.trim();
    if (!/^\d{1,15}$/.test(t)) return -1;
    const n = Number(t);
    if (value >= 0 && n !== value) return -1;
    value = n;
  }
  return value;
}

/** A short printable excerpt of a line for error messages. */
function excerpt(src: Uint8Array, start: number, stop: number): string {
  const end = Math.min(stop, start + 60);
  let s = '';
  for (let i = start; i < end; i++) {
    const c = src[i]!;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return JSON.stringify(s + (stop > end ? '…' : ''));
}
