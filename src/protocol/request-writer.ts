// The request preamble: BEGIN_REQUEST + PARAMS records + the empty PARAMS record
// (+ optionally the empty STDIN record of a request without a body), written in two
// passes into exactly one Buffer: measure and lay out, allocate once, write, check the
// end offset.
//
// PARAMS layout. The spec lets pairs run across records, but PHP-FPM (8.2, measured:
// test/integration/php-fpm-codec.test.ts) parses each PARAMS record on its own and resets
// the connection when a pair is cut, or when content + padding exceeds 65535. So whole
// pairs are packed into records of at most 65528 content bytes (65528 + 7 padding ≤
// 65535), as Apache does; only a single pair larger than a record is cut across records
// (nothing is ever truncated).
//
//   pairs (bytes): 30000 30000 30000 70000 100   maxRecord 65528
//   records:       [60000] [30000] [65528] [4472+100]
import { FLAG_KEEP_CONN, HEADER_LEN, MAX_CONTENT, MAX_PAIR_LENGTH, RecordType, Role } from './constants.js';
import { paddingFor, writeHeader } from './header.js';
import { lengthSize, utf8Length, writeLength, writeString } from './pairs.js';

// Measured (bench-e2e profile, native-notes/performance.md): a JS loop costs a few ns per
// character, Buffer's native byteLength / latin1 write a flat ~60–150 ns per call. So short
// strings (most CGI names and values) stay in JS, longer ones (User-Agent, Accept, Cookie,
// SCRIPT_FILENAME) go native. An all-ASCII string (UTF-8 length = UTF-16 length) has the
// same bytes in latin1, so the latin1 write is exact.
const NATIVE_MEASURE_FROM = 16;
const NATIVE_WRITE_FROM = 32;

/** UTF-8 length of `s`, as utf8Length() (lone surrogates count 3, as Buffer writes them). */
function measureString(s: string): number {
  return s.length > NATIVE_MEASURE_FROM ? Buffer.byteLength(s, 'utf8') : utf8Length(s);
}

/** writeString(), with long ASCII strings written natively. */
function putString(out: Buffer, at: number, s: string, byteLength: number): number {
  if (byteLength > NATIVE_WRITE_FROM && byteLength === s.length) return at + out.write(s, at, byteLength, 'latin1');
  return writeString(out, at, s, byteLength);
}

/** Largest PARAMS content whose record, padded to 8, still fits 65535 bytes (PHP-FPM needs that). */
const PARAMS_MAX_RECORD = 65528;

export interface PreambleOptions {
  role?: Role;
  keepConn?: boolean;
  /** Append the empty STDIN record (a request without a body goes out in one write). */
  endStdin?: boolean;
  /** Content bytes per PARAMS record, 8..65535 (tests use small values to force splits). */
  maxRecord?: number;
}

// Per-call scratch: measured UTF-8 lengths and record sizes. Never leaves this module and
// is fully rewritten before each read, so sharing it across calls is safe.
let lens = new Int32Array(128);
let records = new Int32Array(16);

/** Appends a record size to the layout scratch. */
function pushRecord(count: number, size: number): number {
  if (count === records.length) {
    const bigger = new Int32Array(records.length * 2);
    bigger.set(records);
    records = bigger;
  }
  records[count] = size;
  return count + 1;
}

/** Lays out the pairs of `params` (lengths in `lens`) into records; returns the record count. */
function layout(n: number, maxRecord: number): number {
  let count = 0;
  let cur = 0;
  for (let i = 0; i < n; i += 2) {
    const s = lengthSize(lens[i]!) + lengthSize(lens[i + 1]!) + lens[i]! + lens[i + 1]!;
    if (s <= maxRecord) {
      if (cur + s > maxRecord) {
        count = pushRecord(count, cur);
        cur = 0;
      }
      cur += s;
      continue;
    }
    // A pair larger than a record: start it in a fresh record and cut it.
    if (cur > 0) {
      count = pushRecord(count, cur);
      cur = 0;
    }
    let left = s;
    while (left > maxRecord) {
      count = pushRecord(count, maxRecord);
      left -= maxRecord;
    }
    cur = left;
  }
  if (cur > 0) count = pushRecord(count, cur);
  return count;
}

// The one-character strings of the 1-byte pair lengths 0..127 (latin1: one byte each).
const LENGTH_CHAR: string[] = [];
for (let i = 0; i < 128; i++) LENGTH_CHAR.push(String.fromCharCode(i));

/**
 * The common case in one native write: every param ASCII and all pairs in one PARAMS
 * record. The pairs' bytes, lengths included, are laid out as one string of latin1
 * characters (each 0..255 = one byte), checked and written by two native calls (one
 * UTF-8 measure, one latin1 write) instead of a JS store per character. Measured
 * (native-notes/performance.md): 20–30 CGI params ≈ 3–4× faster than the per-string
 * path below. Returns null when it does not apply (a non-ASCII string, more than one
 * record): the caller takes the general path, which gives the same bytes.
 */
function writeAsciiPreamble(
  id: number,
  params: readonly string[],
  options: PreambleOptions,
  maxRecord: number,
): Buffer | null {
  const n = params.length;
  let c = '';
  // Length characters ≥ 0x80 (4-byte lengths): each is 2 bytes in UTF-8, 1 in latin1.
  let high = 0;
  for (let i = 0; i < n; i += 2) {
    const name = params[i]!,
      value = params[i + 1]!;
    const nl = name.length,
      vl = value.length;
    if (nl > 127 || vl > 127) {
      c += lengthChars(nl) + lengthChars(vl) + name + value;
      high += highCount(nl) + highCount(vl);
    } else {
      c += LENGTH_CHAR[nl]! + LENGTH_CHAR[vl]! + name + value;
    }
  }
  const content = c.length;
  if (content > maxRecord) return null;
  // UTF-8 length = latin1 length + one per length character ≥ 0x80 exactly when every
  // param character is ASCII (any other character takes ≥ 2 UTF-8 bytes per UTF-16 unit).
  if (content > 0 && Buffer.byteLength(c, 'utf8') !== content + high) return null;
  const padding = paddingFor(content);
  const params0 = 16 + HEADER_LEN;
  const total = params0 + (content > 0 ? content + padding + HEADER_LEN : 0) + (options.endStdin ? HEADER_LEN : 0);
  const out = Buffer.allocUnsafe(total);
  let at = writeBegin(out, id, options);
  if (content > 0) {
    at = writeHeader(out, at, RecordType.Params, id, content, padding);
    at += out.write(c, at, content, 'latin1');
    at = pad(out, at, content);
  }
  at = writeHeader(out, at, RecordType.Params, id, 0, 0);
  if (options.endStdin) at = writeHeader(out, at, RecordType.Stdin, id, 0, 0);
  if (at !== total) throw new Error(`writePreamble: wrote ${at} bytes, measured ${total}`);
  return out;
}

/** A 4-byte pair length as four latin1 characters (a 1-byte one as one). */
function lengthChars(n: number): string {
  if (n <= 127) return LENGTH_CHAR[n]!;
  return String.fromCharCode(((n >>> 24) & 0x7f) | 0x80, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** How many of the bytes of `n`'s pair length are ≥ 0x80. */
function highCount(n: number): number {
  if (n <= 127) return 0;
  return (
    1 + (((n >>> 16) & 0xff) >= 0x80 ? 1 : 0) + (((n >>> 8) & 0xff) >= 0x80 ? 1 : 0) + ((n & 0xff) >= 0x80 ? 1 : 0)
  );
}

/** BEGIN_REQUEST (header + body) at 0; returns 16. */
function writeBegin(out: Buffer, id: number, options: PreambleOptions): number {
  const at = writeHeader(out, 0, RecordType.BeginRequest, id, 8, 0);
  const role = options.role ?? Role.Responder;
  out[at] = role >>> 8;
  out[at + 1] = role & 0xff;
  out[at + 2] = options.keepConn ? FLAG_KEEP_CONN : 0;
  out.fill(0, at + 3, at + 8); // reserved
  return at + 8;
}

/**
 * Writes the request preamble for `params`, a flat [name0, value0, name1, value1, …]
 * list. Returns one Buffer ready for socket.write.
 */
export function writePreamble(id: number, params: readonly string[], options: PreambleOptions = {}): Buffer {
  const n = params.length;
  if ((n & 1) !== 0) throw new RangeError('writePreamble: params must hold name/value pairs');
  if (!Number.isInteger(id) || id < 1 || id > 0xffff)
    throw new RangeError(`writePreamble: request id ${id} out of 1..65535`);
  const maxRecord = options.maxRecord ?? PARAMS_MAX_RECORD;
  if (maxRecord < 8 || maxRecord > MAX_CONTENT) throw new RangeError(`maxRecord ${maxRecord} out of 8..65535`);
  const fast = writeAsciiPreamble(id, params, options, maxRecord);
  if (fast !== null) return fast;
  if (lens.length < n) lens = new Int32Array(n * 2);

  // Pass 1: measure and lay out.
  for (let i = 0; i < n; i++) {
    const len = measureString(params[i]!);
    if (len > MAX_PAIR_LENGTH)
      throw new RangeError(`param ${params[i & ~1]!.slice(0, 40)}: ${len} bytes exceeds 2^31-1`);
    lens[i] = len;
  }
  const count = layout(n, maxRecord);
  let paramsBytes = 0;
  for (let k = 0; k < count; k++) paramsBytes += HEADER_LEN + records[k]! + paddingFor(records[k]!);
  const total = 16 + paramsBytes + HEADER_LEN + (options.endStdin ? HEADER_LEN : 0);
  const out = Buffer.allocUnsafe(total);

  // Pass 2: BEGIN_REQUEST.
  let at = writeBegin(out, id, options);

  // PARAMS records, following the layout.
  let k = -1;
  let left = 0; // content bytes left in the open record
  for (let i = 0; i < n; i += 2) {
    const nl = lens[i]!,
      vl = lens[i + 1]!;
    const s = lengthSize(nl) + lengthSize(vl) + nl + vl;
    if (left === 0) {
      at = closeAndOpen(out, at, id, k, ++k);
      left = records[k]!;
    }
    if (s <= left) {
      at = writeLength(out, at, nl);
      at = writeLength(out, at, vl);
      at = putString(out, at, params[i]!, nl);
      at = putString(out, at, params[i + 1]!, vl);
      left -= s;
      continue;
    }
    // The rare cut pair: encode it apart, then copy it across records.
    const pair = Buffer.allocUnsafe(s);
    let p = writeLength(pair, 0, nl);
    p = writeLength(pair, p, vl);
    p = writeString(pair, p, params[i]!, nl);
    writeString(pair, p, params[i + 1]!, vl);
    let from = 0;
    while (from < s) {
      if (left === 0) {
        at = closeAndOpen(out, at, id, k, ++k);
        left = records[k]!;
      }
      const m = Math.min(left, s - from);
      pair.copy(out, at, from, from + m);
      at += m;
      from += m;
      left -= m;
    }
  }
  if (k >= 0) at = pad(out, at, records[k]!);
  at = writeHeader(out, at, RecordType.Params, id, 0, 0);
  if (options.endStdin) at = writeHeader(out, at, RecordType.Stdin, id, 0, 0);
  if (at !== total) throw new Error(`writePreamble: wrote ${at} bytes, measured ${total}`);
  return out;
}

/** Pads record `prev` (if any) and writes the header of record `next`. */
function closeAndOpen(out: Buffer, at: number, id: number, prev: number, next: number): number {
  if (prev >= 0) at = pad(out, at, records[prev]!);
  const size = records[next]!;
  return writeHeader(out, at, RecordType.Params, id, size, paddingFor(size));
}

function pad(out: Buffer, at: number, content: number): number {
  const p = paddingFor(content);
  for (let i = 0; i < p; i++) out[at + i] = 0;
  return at + p;
}

/** Size the preamble of `params` will take, without the optional empty STDIN record. */
export function measurePreamble(params: readonly string[], maxRecord = PARAMS_MAX_RECORD): number {
  const n = params.length;
  if (lens.length < n) lens = new Int32Array(n * 2);
  for (let i = 0; i < n; i++) lens[i] = measureString(params[i]!);
  const count = layout(n, maxRecord);
  let bytes = 16 + HEADER_LEN;
  for (let k = 0; k < count; k++) bytes += HEADER_LEN + records[k]! + paddingFor(records[k]!);
  return bytes;
}
