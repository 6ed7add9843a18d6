// Stream framing (STDIN, STDOUT, STDERR, DATA): content cut at 65535 bytes per
// record, padded to 8, closed by the empty record. Two forms:
// - frameCopy: copies bytes that must be copied anyway (uWS onData ArrayBuffers die
//   when the callback returns) straight into the Buffer that goes on the wire;
// - frameViews: Buffers we may keep get header Buffers around views of the payload,
//   for a corked write / writev: the payload is never copied.
import { HEADER_LEN, MAX_CONTENT } from './constants.js';
import { paddingFor, writeHeader } from './header.js';

/** Eight zero bytes for padding; shared and never written to. */
const ZERO_PAD = Buffer.alloc(8);

/** Wire bytes `length` content bytes take when framed in records of `maxRecord`. */
export function framedSize(length: number, maxRecord = MAX_CONTENT): number {
  if (length === 0) return 0;
  const full = Math.floor(length / maxRecord);
  const rest = length - full * maxRecord;
  return (
    full * (HEADER_LEN + maxRecord + paddingFor(maxRecord)) + (rest > 0 ? HEADER_LEN + rest + paddingFor(rest) : 0)
  );
}

/**
 * Frames `src[start, start+length)` as records of `type` for request `id`, writing
 * headers, content and padding at `out[at]`. Returns the offset after the last record.
 * The caller sized `out` with framedSize (plus whatever else it puts there).
 */
export function writeFramed(
  out: Buffer,
  at: number,
  type: number,
  id: number,
  src: Uint8Array,
  start: number,
  length: number,
  maxRecord = MAX_CONTENT,
): number {
  let left = length;
  let from = start;
  while (left > 0) {
    const n = Math.min(left, maxRecord);
    const pad = paddingFor(n);
    at = writeHeader(out, at, type, id, n, pad);
    out.set(src.subarray(from, from + n), at);
    at += n;
    for (let i = 0; i < pad; i++) out[at + i] = 0;
    at += pad;
    from += n;
    left -= n;
  }
  return at;
}

/**
 * One Buffer holding `data` framed as records (and the empty end record when `end`).
 * This is the one copy of a uWS body chunk: copying it is also framing it.
 */
export function frameCopy(type: number, id: number, data: Uint8Array, end = false, maxRecord = MAX_CONTENT): Buffer {
  const size = framedSize(data.length, maxRecord) + (end ? HEADER_LEN : 0);
  const out = Buffer.allocUnsafe(size);
  let at = writeFramed(out, 0, type, id, data, 0, data.length, maxRecord);
  if (end) at = writeHeader(out, at, type, id, 0, 0);
  if (at !== size) throw new Error(`frameCopy: wrote ${at}, measured ${size}`);
  return out;
}

/**
 * Frames a Buffer without copying it: returns [header, view, padding?, header, view, …]
 * for a corked write or writev. All headers share one small allocation.
 * The caller must not modify `data` until the write completes.
 */
export function frameViews(type: number, id: number, data: Buffer, end = false, maxRecord = MAX_CONTENT): Buffer[] {
  const records = Math.ceil(data.length / maxRecord);
  const headers = Buffer.allocUnsafe((records + (end ? 1 : 0)) * HEADER_LEN);
  const parts: Buffer[] = [];
  let from = 0;
  for (let k = 0; k < records; k++) {
    const n = Math.min(maxRecord, data.length - from);
    const pad = paddingFor(n);
    writeHeader(headers, k * HEADER_LEN, type, id, n, pad);
    parts.push(headers.subarray(k * HEADER_LEN, (k + 1) * HEADER_LEN), data.subarray(from, from + n));
    if (pad > 0) parts.push(ZERO_PAD.subarray(0, pad));
    from += n;
  }
  if (end) {
    writeHeader(headers, records * HEADER_LEN, type, id, 0, 0);
    parts.push(headers.subarray(records * HEADER_LEN));
  }
  return parts;
}

/** The empty record that closes a stream (8 bytes). */
export function streamEnd(type: number, id: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_LEN);
  writeHeader(out, 0, type, id, 0, 0);
  return out;
}

/**
 * Rewrites the request id of every record in `records` (whole records back to back, as
 * writePreamble and frameCopy make them) to `id`: a request whose records were framed before
 * its connection was known gets that connection's id (upstream/connection.ts nextRequestId).
 * Only for Buffers no socket holds yet. Throws on bytes that are not whole records.
 */
export function setRecordIds(records: Buffer, id: number): void {
  let at = 0;
  while (at < records.length) {
    if (at + HEADER_LEN > records.length)
      throw new RangeError(`setRecordIds: a record header cut at ${at} of ${records.length}`);
    records[at + 2] = id >>> 8;
    records[at + 3] = id & 0xff;
    at += HEADER_LEN + ((records[at + 4]! << 8) | records[at + 5]!) + records[at + 6]!;
  }
  if (at !== records.length)
    throw new RangeError(`setRecordIds: records overrun the buffer (${at} of ${records.length})`);
}
