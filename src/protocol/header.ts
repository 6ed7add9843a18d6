// The 8-byte FastCGI record header: write at an offset, read from an offset.
// No I/O, no allocation.
import { HEADER_LEN, VERSION_1 } from './constants.js';

/** Writes one record header at `at`; returns the offset after it. */
export function writeHeader(
  out: Uint8Array,
  at: number,
  type: number,
  id: number,
  contentLength: number,
  paddingLength: number,
): number {
  out[at] = VERSION_1;
  out[at + 1] = type;
  out[at + 2] = id >>> 8;
  out[at + 3] = id & 0xff;
  out[at + 4] = contentLength >>> 8;
  out[at + 5] = contentLength & 0xff;
  out[at + 6] = paddingLength;
  out[at + 7] = 0; // reserved
  return at + HEADER_LEN;
}

/** Padding that brings a record to a multiple of 8 bytes (0..7). */
export const paddingFor = (contentLength: number): number => (8 - (contentLength & 7)) & 7;

/** Bytes on the wire for one record with this much content (header + content + padding). */
export const recordSize = (contentLength: number): number => HEADER_LEN + contentLength + paddingFor(contentLength);

export interface RecordHeader {
  version: number;
  type: number;
  requestId: number;
  contentLength: number;
  paddingLength: number;
}

/** Reads a header at `at` (the caller checked that 8 bytes are there). */
export function readHeader(src: Uint8Array, at: number): RecordHeader {
  return {
    version: src[at]!,
    type: src[at + 1]!,
    requestId: (src[at + 2]! << 8) | src[at + 3]!,
    contentLength: (src[at + 4]! << 8) | src[at + 5]!,
    paddingLength: src[at + 6]!,
  };
}
