// The request preamble: BEGIN_REQUEST + PARAMS records + the empty PARAMS record
// (+ optionally the empty STDIN record of a request without a body), written in two
// passes into exactly one Buffer: measure, allocate once, write, check the end offset.
import { FLAG_KEEP_CONN, HEADER_LEN, MAX_CONTENT, MAX_PAIR_LENGTH, RecordType, Role } from './constants.js';
import { paddingFor, writeHeader } from './header.js';
import { lengthSize, utf8Length, writeLength, writeString } from './pairs.js';

export interface PreambleOptions {
  role?: Role;
  keepConn?: boolean;
  /** Append the empty STDIN record (a request without a body goes out in one write). */
  endStdin?: boolean;
  /** Content bytes per PARAMS record, 8..65535 (tests use small values to force splits). */
  maxRecord?: number;
}

// Per-call scratch for the measured UTF-8 lengths. It never leaves this module and
// is fully rewritten before each read, so sharing it across calls is safe.
let scratch = new Int32Array(128);

/**
 * Writes the request preamble for `params`, a flat [name0, value0, name1, value1, …]
 * list. Pairs longer than one record continue in the next PARAMS record: nothing is
 * ever truncated. Returns one Buffer ready for socket.write.
 */
export function writePreamble(id: number, params: readonly string[],
                              options: PreambleOptions = {}): Buffer {
  const n = params.length;
  if ((n & 1) !== 0) throw new RangeError('writePreamble: params must hold name/value pairs');
  if (!Number.isInteger(id) || id < 1 || id > 0xffff) throw new RangeError(`writePreamble: request id ${id} out of 1..65535`);
  const maxRecord = options.maxRecord ?? MAX_CONTENT;
  if (maxRecord < 8 || maxRecord > MAX_CONTENT) throw new RangeError(`maxRecord ${maxRecord} out of 8..65535`);
  if (scratch.length < n) scratch = new Int32Array(n * 2);

  // Pass 1: measure.
  let pairBytes = 0;
  for (let i = 0; i < n; i++) {
    const len = utf8Length(params[i]!);
    if (len > MAX_PAIR_LENGTH) throw new RangeError(`param ${params[i & ~1]!.slice(0, 40)}: ${len} bytes exceeds 2^31-1`);
    scratch[i] = len;
    pairBytes += lengthSize(len) + len;
  }
  const records = pairBytes === 0 ? 0 : Math.ceil(pairBytes / maxRecord);
  const fullPad = paddingFor(maxRecord);
  const lastContent = pairBytes - (records - 1) * maxRecord;
  const paramsBytes = records === 0 ? 0
    : (records - 1) * (HEADER_LEN + maxRecord + fullPad) + HEADER_LEN + lastContent + paddingFor(lastContent);
  const total = 16 + paramsBytes + HEADER_LEN + (options.endStdin ? HEADER_LEN : 0);
  const out = Buffer.allocUnsafe(total);

  // Pass 2: BEGIN_REQUEST.
  let at = writeHeader(out, 0, RecordType.BeginRequest, id, 8, 0);
  const role = options.role ?? Role.Responder;
  out[at] = role >>> 8;
  out[at + 1] = role & 0xff;
  out[at + 2] = options.keepConn ? FLAG_KEEP_CONN : 0;
  out.fill(0, at + 3, at + 8);        // reserved
  at += 8;

  if (records > 0) {
    // Write the pairs contiguously after the first header…
    const pairsStart = at + HEADER_LEN;
    let p = pairsStart;
    for (let i = 0; i < n; i += 2) {
      p = writeLength(out, p, scratch[i]!);
      p = writeLength(out, p, scratch[i + 1]!);
      p = writeString(out, p, params[i]!, scratch[i]!);
      p = writeString(out, p, params[i + 1]!, scratch[i + 1]!);
    }
    // …then, when they need several records, move each record's slice to its place,
    // last first so no slice overwrites one not yet moved.
    const stride = HEADER_LEN + maxRecord + fullPad;
    for (let k = records - 1; k >= 0; k--) {
      const content = k === records - 1 ? lastContent : maxRecord;
      const dest = at + k * stride;
      if (k > 0) out.copyWithin(dest + HEADER_LEN, pairsStart + k * maxRecord, pairsStart + k * maxRecord + content);
      const pad = paddingFor(content);
      writeHeader(out, dest, RecordType.Params, id, content, pad);
      out.fill(0, dest + HEADER_LEN + content, dest + HEADER_LEN + content + pad);
    }
    at += paramsBytes;
  }
  at = writeHeader(out, at, RecordType.Params, id, 0, 0);
  if (options.endStdin) at = writeHeader(out, at, RecordType.Stdin, id, 0, 0);
  if (at !== total) throw new Error(`writePreamble: wrote ${at} bytes, measured ${total}`);
  return out;
}

/** Size the preamble of `params` will take (for tests and buffer planning). */
export function measurePreamble(params: readonly string[], maxRecord = MAX_CONTENT): number {
  let pairBytes = 0;
  for (let i = 0; i < params.length; i++) {
    const len = utf8Length(params[i]!);
    pairBytes += lengthSize(len) + len;
  }
  if (pairBytes === 0) return 16 + HEADER_LEN;
  const records = Math.ceil(pairBytes / maxRecord);
  const last = pairBytes - (records - 1) * maxRecord;
  return 16 + (records - 1) * (HEADER_LEN + maxRecord + paddingFor(maxRecord))
    + HEADER_LEN + last + paddingFor(last) + HEADER_LEN;
}
