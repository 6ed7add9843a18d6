// The CGI header block at the start of a FastCGI app's STDOUT (RFC 3875 §6): a resumable,
// line-at-a-time parser that yields the status, the header fields to send and where the
// body starts. It does not redirect, frame or write anything: front/ does, from CgiHead.
//
// Rules (Apache's, except where docs/apache-differences.md says why fcgate does better):
// - Lines end with CRLF or a bare LF; the head ends at the first empty line. All bytes of
//   the head, line ends and the closing empty line included, count against `maxHead`;
//   one line (its line end included) against `maxLine`, 8192 by default: Apache reads
//   script header lines into an 8 KiB buffer, so its 10 000-byte header fails (AH01070).
//   A head in one chunk is parsed in place (one latin1 decode of its lines, names and
//   values sliced from it); only a line split across pushes is copied, into a carry
//   buffer bounded by maxLine and kept across reset().
// - Invalid input is one FCGATE_BAD_CGI_HEADER error (502): a line without colon, an
//   obs-fold line, a name with anything but token characters (a space before the colon
//   included), an empty name, a control character other than HTAB in a value (CR and NUL
//   would let the app split the response), a bad Status or Content-Length, an empty head
//   (RFC 3875 §6.2: a response has at least one CGI field), no output or an unterminated
//   head (finish()).
// - Status: 3 digits, 200..599, then optionally SP/HTAB and a reason kept as written; the
//   last Status wins (Apache). A code of 600 or more is an error (issue 9: Apache passes
//   `999` on; RFC 9110 §15 defines 100..599 and clients treat anything else as broken).
//   Content-Length: digits (or a list of equal ones); repeats that disagree are an error,
//   since the gateway cuts or closes on it.
// - X-Sendfile, X-Sendfile2, X-LIGHTTPD-send-file and every X-Accel-* field are dropped:
//   they are instructions to a front server (nginx, lighttpd, mod_xsendfile) that fcgate does
//   not carry out, and passed on they hand the client internal paths (issue 9; nginx hides
//   X-Accel-* from FastCGI responses by default too). docs/security.md says so.
// - Values are trimmed of OWS and kept as 'latin1' strings: one char per byte, lossless.
//   uWS writes JS strings as UTF-8, so a value with bytes >= 0x80 must be written as
//   Buffer.from(value, 'latin1'); CgiHead.nonAscii says whether any value needs that.
// Over 400 lines on purpose: the byte-level CGI head parser with its rules and field tables.
import { reasonFor } from './status-reasons.js';
import type { ErrorCode } from '../errors.js';

export interface CgiHead {
  /** 200 by default, 302 for a Location without Status, else the app's Status code. */
  status: number;
  /** The app's reason phrase, else the standard one; '' for an unknown code without one. */
  reason: string;
  /**
   * What to hand to uWS writeStatus: `${status} ${reason}`. For an unknown code without a
   * reason it is e.g. "599 " (RFC 9112 status-line: the SP before an empty reason stays).
   */
  statusLine: string;
  /**
   * Flat [name, value, ...] in the app's order, names as written. Without Status,
   * Content-Length and the hop-by-hop fields (Connection, Keep-Alive, Proxy-Connection,
   * TE, Trailer, Transfer-Encoding, Upgrade, and any field Connection names): the gateway
   * frames the response itself. Without the front-server instructions either (X-Sendfile,
   * X-Sendfile2, X-LIGHTTPD-send-file, X-Accel-*). Repeated fields stay separate entries in order (several
   * Set-Cookie must; for the others several lines are equivalent to one joined line,
   * RFC 9110 §5.3). Content-Type and Location appear once: a repeat replaces the value
   * in place (the last one wins, as Apache).
   */
  headers: string[];
  /** The Location value, or null. Empty Location lines are dropped. */
  location: string | null;
  /**
   * Location starts with one '/' and there is no Status: the gateway serves that path
   * internally (RFC 3875 §6.2.2); status is then the 302 placeholder. A Location starting
   * with '//' is a network-path reference, so it is a client redirect (302) instead.
   */
  localRedirect: boolean;
  /** The app's Content-Length, -1 when absent. Identical repeats are fine. */
  contentLength: number;
  hasStatus: boolean;
  /** Some value (or the reason) holds a byte >= 0x80: write those as latin1 bytes. */
  nonAscii: boolean;
}

export type CgiHeadErrorKind =
  | 'too-large'
  | 'line-too-long'
  | 'no-colon'
  | 'obs-fold'
  | 'bad-name'
  | 'empty-name'
  | 'bad-value'
  | 'bad-status'
  | 'informational-status'
  | 'bad-content-length'
  | 'empty-head'
  | 'unterminated'
  | 'no-output';

export interface CgiHeadError {
  readonly code: ErrorCode & 'FCGATE_BAD_CGI_HEADER';
  readonly kind: CgiHeadErrorKind;
  /** For the error log: the line number and a short escaped excerpt of the line. */
  readonly detail: string;
}

/** Apache's limit on one script header line (HUGE_STRING_LEN). */
const DEFAULT_MAX_LINE = 8192;

/** push() results besides a body offset. */
export const HEAD_INCOMPLETE = -1;
export const HEAD_ERROR = -2;

const LF = 0x0a,
  CR = 0x0d,
  SP = 0x20,
  HT = 0x09,
  COLON = 0x3a;

/** Status lines by code (200..599), built once: "404 Not Found", "599 ". */
const STATUS_LINES: string[] = [];
for (let c = 200; c <= 599; c++) STATUS_LINES[c] = `${c} ${reasonFor(c)}`;

/** RFC 9110 tchar: ! # $ % & ' * + - . ^ _ ` | ~ DIGIT ALPHA. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) {
  TCHAR[c] = 1;
  TCHAR[c + 0x20] = 1;
}

/** Value bytes: 0 fine, 1 a control character (HTAB is fine), 2 obs-text (>= 0x80). */
const VALUE_BYTE = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) VALUE_BYTE[c] = c === HT ? 0 : 1;
VALUE_BYTE[0x7f] = 1;
for (let c = 0x80; c < 0x100; c++) VALUE_BYTE[c] = 2;

/** What a field name means to the parser. */
const Field = { Other: 0, Status: 1, Location: 2, ContentType: 3, ContentLength: 4, Connection: 5, Drop: 6 } as const;

const bytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const N_STATUS = bytes('status'),
  N_LOCATION = bytes('location'),
  N_CTYPE = bytes('content-type');
const N_CLENGTH = bytes('content-length'),
  N_CONNECTION = bytes('connection'),
  N_TE = bytes('te');
const N_KEEPALIVE = bytes('keep-alive'),
  N_UPGRADE = bytes('upgrade'),
  N_TRAILER = bytes('trailer');
const N_PCONNECTION = bytes('proxy-connection'),
  N_TENCODING = bytes('transfer-encoding');
const N_XSENDFILE = bytes('x-sendfile'),
  N_XSENDFILE2 = bytes('x-sendfile2');
const N_XLIGHTTPD = bytes('x-lighttpd-send-file'),
  N_XACCEL = bytes('x-accel-');

/** Case-insensitive compare of buf[at..] with a lower-case name of the same length. */
function nameIs(buf: Buffer, at: number, lower: Uint8Array): boolean {
  for (let i = 0; i < lower.length; i++) if ((buf[at + i]! | 0x20) !== lower[i]) return false;
  return true; // names are tchar-only, so `| 0x20` folds letters and nothing else matches
}

function classify(buf: Buffer, at: number, len: number): number {
  // X-…: only the front-server instructions matter (one byte compare for every other name).
  if (len > 8 && buf[at + 1] === 0x2d && (buf[at]! | 0x20) === 0x78 && nameIs(buf, at, N_XACCEL)) return Field.Drop;
  switch (len) {
    case 2:
      return nameIs(buf, at, N_TE) ? Field.Drop : Field.Other;
    case 6:
      return nameIs(buf, at, N_STATUS) ? Field.Status : Field.Other;
    case 7:
      return nameIs(buf, at, N_UPGRADE) || nameIs(buf, at, N_TRAILER) ? Field.Drop : Field.Other;
    case 8:
      return nameIs(buf, at, N_LOCATION) ? Field.Location : Field.Other;
    case 10:
      if (nameIs(buf, at, N_CONNECTION)) return Field.Connection;
      return nameIs(buf, at, N_KEEPALIVE) || nameIs(buf, at, N_XSENDFILE) ? Field.Drop : Field.Other;
    case 11:
      return nameIs(buf, at, N_XSENDFILE2) ? Field.Drop : Field.Other;
    case 20:
      return nameIs(buf, at, N_XLIGHTTPD) ? Field.Drop : Field.Other;
    case 12:
      return nameIs(buf, at, N_CTYPE) ? Field.ContentType : Field.Other;
    case 14:
      return nameIs(buf, at, N_CLENGTH) ? Field.ContentLength : Field.Other;
    case 16:
      return nameIs(buf, at, N_PCONNECTION) ? Field.Drop : Field.Other;
    case 17:
      return nameIs(buf, at, N_TENCODING) ? Field.Drop : Field.Other;
    default:
      return Field.Other;
  }
}

// LF offsets of the complete lines found by one push(): used only within that call (no
// callback runs meanwhile), so every parser of the thread shares it. One per parser was an
// off-heap typed array (a calloc) per request.
let lineEnds = new Int32Array(32);

/** A short printable excerpt of a line for the error log. */
function excerpt(buf: Buffer, start: number, end: number): string {
  const stop = Math.min(end, start + 48);
  let s = '';
  for (let i = start; i < stop; i++) {
    const c = buf[i]!;
    s +=
      c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c
        ? String.fromCharCode(c)
        : '\\x' + c.toString(16).padStart(2, '0');
  }
  return `"${s}${end > stop ? '…' : ''}"`;
}

export class CgiHeadParser {
  readonly maxLine: number;
  private err: CgiHeadError | null = null;
  private done = false;
  /** Head bytes taken so far (complete lines only). */
  private taken = 0;
  private lineNo = 0;
  /** A line split across pushes gathers here; grows up to maxLine. */
  private carry: Buffer | null = null;
  private carryLen = 0;
  /** The line being parsed, decoded, starting at buffer offset `base` (see str()). */
  private text = '';
  private base = 0;
  // The head being built.
  private headers: string[] = [];
  private fields = 0;
  private status = 200;
  private reason = 'OK';
  private statusLine = '200 OK';
  private hasStatus = false;
  private location: string | null = null;
  private locationAt = -1;
  private contentTypeAt = -1;
  private contentLength = -1;
  private nonAscii = false;
  private connection: string[] | null = null;

  /**
   * maxHead: bytes of the whole head (FCGATE_MAX_HEAD); maxLine: bytes of one line, line
   * end included (capped at maxHead). Both count CR and LF.
   */
  constructor(
    readonly maxHead: number,
    maxLine = DEFAULT_MAX_LINE,
  ) {
    if (!Number.isInteger(maxHead) || maxHead < 1) throw new RangeError('maxHead must be a positive integer');
    if (!Number.isInteger(maxLine) || maxLine < 1) throw new RangeError('maxLine must be a positive integer');
    this.maxLine = Math.min(maxLine, maxHead);
  }

  get error(): CgiHeadError | null {
    return this.err;
  }
  /** True once the empty line that ends the head was read. */
  get complete(): boolean {
    return this.done;
  }

  /** Forgets the last response; keeps the carry buffer for the next one. */
  reset(): void {
    this.err = null;
    this.done = false;
    this.taken = 0;
    this.lineNo = 0;
    this.carryLen = 0;
    this.headers = [];
    this.fields = 0;
    this.status = 200;
    this.reason = 'OK';
    this.statusLine = '200 OK';
    this.hasStatus = false;
    this.location = null;
    this.locationAt = -1;
    this.contentTypeAt = -1;
    this.contentLength = -1;
    this.nonAscii = false;
    this.connection = null;
    this.text = '';
  }

  /**
   * Feeds STDOUT content; `chunk` is only read during the call. Returns HEAD_INCOMPLETE
   * (-1) while the head goes on, HEAD_ERROR (-2) once it is invalid (see `error`), else
   * the offset in `chunk` where the body starts. After completion every chunk is body (0).
   */
  push(chunk: Buffer): number {
    if (this.done) return 0;
    if (this.err !== null) return HEAD_ERROR;
    let pos = 0;
    const end = chunk.length;
    if (this.carryLen > 0) {
      // The common case (the whole head in one chunk) never gets here.
      const lf = chunk.indexOf(LF);
      const upto = lf < 0 ? end : lf + 1;
      if (this.carryLen + upto > this.room(this.taken)) return this.tooLarge(this.taken);
      this.append(chunk, upto);
      if (lf < 0) return HEAD_INCOMPLETE;
      const carry = this.carry!;
      const len = this.carryLen;
      this.carryLen = 0;
      this.taken += len;
      if (!this.line(carry, 0, len - 1, carry.toString('latin1', 0, len - 1), 0)) return HEAD_ERROR;
      if (this.done) return upto;
      pos = upto;
    }
    // Find the complete lines first, then decode them to one string and cut names and
    // values out of it: one C++ call instead of one per name and value.
    let lines = lineEnds;
    let n = 0;
    let over = false;
    let taken = this.taken;
    for (let ls = pos; ls < end; ) {
      const lf = chunk.indexOf(LF, ls);
      if (lf < 0) break;
      if (lf + 1 - ls > this.room(taken)) {
        over = true;
        break;
      }
      taken += lf + 1 - ls;
      if (n === lines.length) {
        const grown = new Int32Array(n * 2);
        grown.set(lines);
        lineEnds = lines = grown;
      }
      lines[n++] = lf;
      if (lf === ls || (lf === ls + 1 && chunk[ls] === CR)) break; // the empty line: body follows
      ls = lf + 1;
    }
    if (n > 0) {
      const base = pos;
      const text = chunk.toString('latin1', base, lines[n - 1]);
      for (let i = 0; i < n; i++) {
        const lf = lines[i]!;
        this.taken += lf + 1 - pos;
        if (!this.line(chunk, pos, lf, text, base)) return HEAD_ERROR;
        if (this.done) return lf + 1;
        pos = lf + 1;
      }
    }
    if (over || end - pos > this.room(this.taken)) return this.tooLarge(this.taken);
    if (pos < end) this.append(chunk.subarray(pos), end - pos);
    return HEAD_INCOMPLETE;
  }

  /** Ends STDOUT: returns the error if the head did not complete (and records it). */
  finish(): CgiHeadError | null {
    if (this.done || this.err !== null) return this.err;
    if (this.taken === 0 && this.carryLen === 0) return this.fail('no-output', 'no STDOUT from the app');
    return this.fail(
      'unterminated',
      `STDOUT ended inside the CGI header block after ${this.taken + this.carryLen} bytes`,
    );
  }

  /** The parsed head; only valid once push() returned an offset. The caller owns it. */
  result(): CgiHead {
    if (!this.done) throw new Error('CgiHeadParser.result() before the head completed');
    return {
      status: this.status,
      reason: this.reason,
      statusLine: this.statusLine,
      headers: this.headers,
      location: this.location,
      localRedirect: !this.hasStatus && this.location !== null && this.isLocalPath(this.location),
      contentLength: this.contentLength,
      hasStatus: this.hasStatus,
      nonAscii: this.nonAscii,
    };
  }

  private isLocalPath(loc: string): boolean {
    return loc.charCodeAt(0) === 0x2f && loc.charCodeAt(1) !== 0x2f;
  }

  private append(src: Buffer, len: number): void {
    const need = this.carryLen + len;
    let carry = this.carry;
    if (carry === null || carry.length < need) {
      const grown = Buffer.allocUnsafe(Math.min(this.maxLine, Math.max(256, need * 2)));
      if (carry !== null && this.carryLen > 0) carry.copy(grown, 0, 0, this.carryLen);
      this.carry = carry = grown;
    }
    src.copy(carry, this.carryLen, 0, len);
    this.carryLen = need;
  }

  private fail(kind: CgiHeadErrorKind, detail: string): CgiHeadError {
    return (this.err = { code: 'FCGATE_BAD_CGI_HEADER', kind, detail });
  }

  /**
   * How long the next line may be once `taken` head bytes are in: the tighter of the two
   * limits. Checking both on every partial and complete line with the same bound gives
   * the same error for any split.
   */
  private room(taken: number): number {
    return Math.min(this.maxLine, this.maxHead - taken);
  }

  private tooLarge(taken: number): number {
    if (this.maxLine < this.maxHead - taken) {
      this.fail('line-too-long', `line ${this.lineNo + 1}: CGI header line longer than ${this.maxLine} bytes`);
    } else {
      this.fail('too-large', `CGI header block larger than ${this.maxHead} bytes (line ${this.lineNo + 1})`);
    }
    return HEAD_ERROR;
  }

  private bad(kind: CgiHeadErrorKind, what: string, buf: Buffer, start: number, end: number): false {
    this.fail(kind, `line ${this.lineNo}: ${what}: ${excerpt(buf, start, end)}`);
    return false;
  }

  /**
   * One complete line, buf[start..lf) with its LF at `lf`; `text` holds the same bytes
   * decoded as latin1 from buf offset `base` on. Returns false on error.
   */
  private line(buf: Buffer, start: number, lf: number, text: string, base: number): boolean {
    this.lineNo++;
    this.text = text;
    this.base = base;
    const end = lf > start && buf[lf - 1] === CR ? lf - 1 : lf;
    if (end === start) {
      if (this.fields === 0)
        return this.bad('empty-head', 'empty CGI header block (RFC 3875 §6.2 wants a field)', buf, start, lf);
      this.finishHead();
      return true;
    }
    const first = buf[start]!;
    if (first === SP || first === HT) return this.bad('obs-fold', 'folded header line', buf, start, end);
    let i = start;
    while (i < end && TCHAR[buf[i]!] === 1) i++;
    if (i === end || buf[i] !== COLON) {
      const colon = buf.indexOf(COLON, i);
      if (colon < 0 || colon >= end) return this.bad('no-colon', 'header line without colon', buf, start, end);
      if (i === start && buf[i] === COLON) return this.bad('empty-name', 'empty header name', buf, start, end);
      return this.bad('bad-name', 'invalid character in header name', buf, start, end);
    }
    if (i === start) return this.bad('empty-name', 'empty header name', buf, start, end);
    const nameEnd = i;
    // Value: trim OWS, refuse control characters (CR and NUL included) but HTAB.
    let vs = nameEnd + 1;
    while (vs < end && (buf[vs] === SP || buf[vs] === HT)) vs++;
    let ve = end;
    while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HT)) ve--;
    for (let j = vs; j < ve; j++) {
      const k = VALUE_BYTE[buf[j]!]!;
      if (k === 0) continue;
      if (k === 1) return this.bad('bad-value', 'control character in header value', buf, start, end);
      this.nonAscii = true;
    }
    this.fields++;
    switch (classify(buf, start, nameEnd - start)) {
      case Field.Other:
        this.headers.push(this.str(start, nameEnd), this.str(vs, ve));
        return true;
      case Field.Status:
        return this.statusField(buf, vs, ve, start, end);
      case Field.ContentLength:
        return this.lengthField(buf, vs, ve, start, end);
      case Field.ContentType:
        this.contentTypeAt = this.replaceOrPush(this.contentTypeAt, start, nameEnd, vs, ve);
        return true;
      case Field.Location:
        if (vs === ve) return true; // "Location:" with nothing: ignored
        this.locationAt = this.replaceOrPush(this.locationAt, start, nameEnd, vs, ve);
        this.location = this.headers[this.locationAt + 1]!;
        return true;
      case Field.Connection:
        (this.connection ??= []).push(this.str(vs, ve));
        return true;
      default: // hop-by-hop / framing / front-server instructions: dropped
        return true;
    }
  }

  /** The latin1 string of buf[from..to) of the line being parsed. */
  private str(from: number, to: number): string {
    return this.text.slice(from - this.base, to - this.base);
  }

  /** Appends name/value, or overwrites the entry at `at` (last one wins); returns its index. */
  private replaceOrPush(at: number, start: number, nameEnd: number, vs: number, ve: number): number {
    const name = this.str(start, nameEnd),
      value = this.str(vs, ve);
    if (at < 0) {
      at = this.headers.length;
      this.headers.push(name, value);
    } else {
      this.headers[at] = name;
      this.headers[at + 1] = value;
    }
    return at;
  }

  /** "Status: 404", "Status: 404 Not Found", "Status: 599 Custom Reason". Last one wins (Apache). */
  private statusField(buf: Buffer, vs: number, ve: number, start: number, end: number): boolean {
    const d0 = buf[vs]! - 0x30,
      d1 = buf[vs + 1]! - 0x30,
      d2 = buf[vs + 2]! - 0x30;
    const after = vs + 3 < ve ? buf[vs + 3]! : SP;
    if (
      ve - vs < 3
      || !(d0 >= 0 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9)
      || (after !== SP && after !== HT)
    ) {
      return this.bad('bad-status', 'Status is not a 3-digit code', buf, start, end);
    }
    const code = d0 * 100 + d1 * 10 + d2;
    if (code < 100) return this.bad('bad-status', 'Status below 100', buf, start, end);
    if (code < 200) return this.bad('informational-status', '1xx Status is not a final response', buf, start, end);
    if (code > 599) return this.bad('bad-status', `Status ${code} is outside 100-599`, buf, start, end);
    this.status = code;
    this.hasStatus = true;
    if (ve - vs <= 3) {
      this.reason = reasonFor(code);
      this.statusLine = STATUS_LINES[code]!;
      return true;
    }
    let rs = vs + 4;
    while (buf[rs] === SP || buf[rs] === HT) rs++; // the value is right-trimmed, so rs < ve
    this.reason = this.str(rs, ve);
    // Usually one SP separates code and reason: the value is then the status line as is.
    this.statusLine = rs === vs + 4 && buf[vs + 3] === SP ? this.str(vs, ve) : `${code} ${this.reason}`;
    return true;
  }

  /** Content-Length: digits, or a list of identical ones (RFC 9110 §8.6); repeats must agree. */
  private lengthField(buf: Buffer, vs: number, ve: number, start: number, end: number): boolean {
    let value = -1;
    let j = vs;
    for (;;) {
      while (j < ve && (buf[j] === SP || buf[j] === HT)) j++;
      let n = -1;
      for (let c = buf[j]!; j < ve && c >= 0x30 && c <= 0x39; c = buf[++j]!) {
        n = n < 0 ? c - 0x30 : n * 10 + (c - 0x30);
        if (n > Number.MAX_SAFE_INTEGER)
          return this.bad('bad-content-length', 'Content-Length too large', buf, start, end);
      }
      while (j < ve && (buf[j] === SP || buf[j] === HT)) j++;
      if (n < 0 || (j < ve && buf[j] !== 0x2c) || (value >= 0 && n !== value)) {
        return this.bad('bad-content-length', 'invalid Content-Length', buf, start, end);
      }
      value = n;
      if (j >= ve) break;
      j++; // the comma
    }
    if (this.contentLength >= 0 && this.contentLength !== value) {
      return this.bad(
        'bad-content-length',
        `Content-Length ${value} conflicts with ${this.contentLength}`,
        buf,
        start,
        end,
      );
    }
    this.contentLength = value;
    return true;
  }

  /** The empty line: settle the Location status and drop the fields Connection names. */
  private finishHead(): void {
    this.done = true;
    if (!this.hasStatus && this.location !== null) {
      this.status = 302;
      this.reason = 'Found';
      this.statusLine = '302 Found';
    }
    if (this.connection !== null) this.dropConnectionNamed(this.connection);
  }

  /**
   * RFC 9110 §7.6.1: fields named in Connection are hop-by-hop. Rare, so done with
   * strings at the end (Connection may come after the fields it names). Location is a
   * CGI field the redirect depends on, so it stays.
   */
  private dropConnectionNamed(values: string[]): void {
    const named = new Set<string>();
    for (const v of values)
      for (const t of v.split(',')) {
        const n = t.trim().toLowerCase();
        if (n !== '') named.add(n);
      }
    const h = this.headers;
    let w = 0;
    for (let r = 0; r < h.length; r += 2) {
      if (r === this.locationAt || !named.has(h[r]!.toLowerCase())) {
        h[w] = h[r]!;
        h[w + 1] = h[r + 1]!;
        w += 2;
      }
    }
    h.length = w;
  }
}
