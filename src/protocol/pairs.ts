// FastCGI name-value pairs (spec §3.4): lengths of 1 byte (0..127) or 4 bytes
// (top bit set, 31 bits), then name and value bytes. Strings are written as UTF-8.
// Measuring and writing are separate passes so callers allocate exactly once.
import { MAX_PAIR_LENGTH } from './constants.js';
import { ProtocolError, ProtocolErrorCode } from './errors.js';

/** A name or value length takes 1 byte up to 127, otherwise 4 with the top bit set. */
export const lengthSize = (n: number): number => (n > 127 ? 4 : 1);

/** UTF-8 byte length of a JS string, without allocating (lone surrogates count 3, as Buffer writes them). */
export function utf8Length(s: string): number {
  const len = s.length;
  let n = len;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      n += 1;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < len && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2;
      i++; // a surrogate pair: 2 units, 4 bytes
      continue;
    }
    n += 2;
  }
  return n;
}

/** Writes a pair length at `at`; returns the offset after it. */
export function writeLength(out: Uint8Array, at: number, n: number): number {
  if (n <= 127) {
    out[at] = n;
    return at + 1;
  }
  out[at] = ((n >>> 24) & 0x7f) | 0x80;
  out[at + 1] = (n >>> 16) & 0xff;
  out[at + 2] = (n >>> 8) & 0xff;
  out[at + 3] = n & 0xff;
  return at + 4;
}

/**
 * Writes `s`, whose UTF-8 length the caller measured as `byteLength`, at `at`.
 * ASCII goes through a JS loop (about twice as fast as a native write for the short
 * strings of a CGI environment); anything else through Buffer's UTF-8 encoder.
 */
export function writeString(out: Buffer, at: number, s: string, byteLength: number): number {
  const len = s.length;
  if (byteLength === len) {
    for (let i = 0; i < len; i++) out[at + i] = s.charCodeAt(i);
  } else {
    out.write(s, at, byteLength, 'utf8');
  }
  return at + byteLength;
}

/** Bytes one pair takes, given the UTF-8 lengths of its name and value. */
export const pairSize = (nameLength: number, valueLength: number): number =>
  lengthSize(nameLength) + lengthSize(valueLength) + nameLength + valueLength;

/**
 * Encodes a flat pair list [name0, value0, name1, value1, …] into one Buffer of
 * pair bytes (no record framing). Used for GET_VALUES and by tests; the request
 * writer frames pairs into PARAMS records itself.
 */
export function encodePairs(flat: readonly string[]): Buffer {
  if ((flat.length & 1) !== 0) throw new RangeError('encodePairs: odd number of strings');
  let total = 0;
  const lens = new Array<number>(flat.length);
  for (let i = 0; i < flat.length; i++) {
    const n = utf8Length(flat[i]!);
    if (n > MAX_PAIR_LENGTH) throw new RangeError(`pair ${i >> 1}: ${n} bytes exceeds 2^31-1`);
    lens[i] = n;
    total += lengthSize(n) + n;
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < flat.length; i += 2) {
    at = writeLength(out, at, lens[i]!);
    at = writeLength(out, at, lens[i + 1]!);
    at = writeString(out, at, flat[i]!, lens[i]!);
    at = writeString(out, at, flat[i + 1]!, lens[i + 1]!);
  }
  if (at !== total) throw new Error(`encodePairs: wrote ${at} bytes, measured ${total}`);
  return out;
}

/**
 * Decodes complete pair bytes into a flat [name, value, …] list (UTF-8).
 * Throws a ProtocolError on truncated input or when the bytes exceed `maxBytes`.
 */
export function decodePairs(src: Uint8Array, maxBytes = 1 << 20): string[] {
  if (src.length > maxBytes) {
    throw new ProtocolError(ProtocolErrorCode.PairsTooLong, `${src.length} bytes of pairs exceed ${maxBytes}`);
  }
  const buf = Buffer.isBuffer(src) ? src : Buffer.from(src.buffer, src.byteOffset, src.byteLength);
  const out: string[] = [];
  let at = 0;
  const end = buf.length;
  while (at < end) {
    const nl = readLengthAt(buf, at, end);
    at += lengthSize(nl);
    const vl = readLengthAt(buf, at, end);
    at += lengthSize(vl);
    if (at + nl + vl > end) {
      throw new ProtocolError(ProtocolErrorCode.BadPairs, `pair needs ${nl + vl} bytes, ${end - at} left`);
    }
    out.push(buf.toString('utf8', at, at + nl), buf.toString('utf8', at + nl, at + nl + vl));
    at += nl + vl;
  }
  return out;
}

function readLengthAt(buf: Uint8Array, at: number, end: number): number {
  if (at >= end) throw new ProtocolError(ProtocolErrorCode.BadPairs, 'truncated pair length');
  const b = buf[at]!;
  if (b < 0x80) return b;
  if (at + 4 > end) throw new ProtocolError(ProtocolErrorCode.BadPairs, 'truncated 4-byte pair length');
  return (b & 0x7f) * 0x1000000 + (buf[at + 1]! << 16) + (buf[at + 2]! << 8) + buf[at + 3]!;
}

/**
 * Incremental pair decoder for a PARAMS stream that arrives in pieces (app side):
 * collects bytes up to `maxBytes`, then decodes once at the end of the stream.
 */
export class PairCollector {
  private parts: Buffer[] = [];
  private size = 0;
  constructor(private readonly maxBytes: number) {}

  /** Adds a piece (copied: the reader's views are valid only during the call). */
  push(piece: Uint8Array): void {
    this.size += piece.length;
    if (this.size > this.maxBytes) {
      throw new ProtocolError(ProtocolErrorCode.PairsTooLong, `params exceed ${this.maxBytes} bytes`);
    }
    this.parts.push(Buffer.from(piece));
  }

  /** Decodes everything collected; the collector is empty afterwards. */
  finish(): string[] {
    const all = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    return decodePairs(all, this.maxBytes);
  }
}
