// Records outside the byte streams: END_REQUEST, ABORT_REQUEST, GET_VALUES /
// GET_VALUES_RESULT, UNKNOWN_TYPE, and BEGIN_REQUEST on its own (app-side tests).
import { HEADER_LEN, NULL_REQUEST_ID, RecordType, Role } from './constants.js';
import { paddingFor, writeHeader } from './header.js';
import { encodePairs } from './pairs.js';

/** FCGI_END_REQUEST: appStatus (32-bit) and protocolStatus. */
export function encodeEndRequest(id: number, appStatus: number, protocolStatus: number): Buffer {
  const out = Buffer.allocUnsafe(16);
  writeHeader(out, 0, RecordType.EndRequest, id, 8, 0);
  out.writeUInt32BE(appStatus >>> 0, 8);
  out[12] = protocolStatus;
  out[13] = 0;
  out[14] = 0;
  out[15] = 0;
  return out;
}

/** FCGI_ABORT_REQUEST for `id` (no content). */
export function encodeAbortRequest(id: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_LEN);
  writeHeader(out, 0, RecordType.AbortRequest, id, 0, 0);
  return out;
}

/** FCGI_BEGIN_REQUEST on its own. */
export function encodeBeginRequest(id: number, role: number = Role.Responder, flags = 0): Buffer {
  const out = Buffer.alloc(16);
  writeHeader(out, 0, RecordType.BeginRequest, id, 8, 0);
  out[8] = role >>> 8;
  out[9] = role & 0xff;
  out[10] = flags;
  return out;
}

/** FCGI_UNKNOWN_TYPE answering a management record of `type` we don't know. */
export function encodeUnknownType(type: number): Buffer {
  const out = Buffer.alloc(16);
  writeHeader(out, 0, RecordType.UnknownType, NULL_REQUEST_ID, 8, 0);
  out[8] = type;
  return out;
}

function managementRecord(type: number, pairs: Buffer): Buffer {
  if (pairs.length > 0xffff) throw new RangeError('management record content exceeds 65535 bytes');
  const pad = paddingFor(pairs.length);
  const out = Buffer.alloc(HEADER_LEN + pairs.length + pad);
  writeHeader(out, 0, type, NULL_REQUEST_ID, pairs.length, pad);
  pairs.copy(out, HEADER_LEN);
  return out;
}

/** FCGI_GET_VALUES asking for `names` (empty values, as the spec says). */
export function encodeGetValues(names: readonly string[]): Buffer {
  const flat: string[] = [];
  for (const n of names) flat.push(n, '');
  return managementRecord(RecordType.GetValues, encodePairs(flat));
}

/** FCGI_GET_VALUES_RESULT with the given [name, value] answers. */
export function encodeGetValuesResult(values: ReadonlyArray<readonly [string, string]>): Buffer {
  const flat: string[] = [];
  for (const [n, v] of values) flat.push(n, v);
  return managementRecord(RecordType.GetValuesResult, encodePairs(flat));
}
