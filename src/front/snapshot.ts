// Copies what the gateway needs out of a uWS HttpRequest into a RequestSnapshot, synchronously
// (HttpRequest is stack-allocated: it is dead once the handler returns or awaits).
// Routing, CGI building and body handling live elsewhere; this file only copies.

import type { RequestSnapshot } from '../request.js';
import type { HttpRequest, HttpResponse } from './uws.js';

/** The listening side of the connection, as listen.ts reports it. */
export interface LocalEndpoint {
  address: string;
  port: number;
  /** 'https' on a TLS listener; absent: http. */
  scheme?: 'https';
}

/**
 * uWS hands methods lower-case (getCaseSensitiveMethod too, measured: native-notes/uws.md);
 * REQUEST_METHOD is upper-case. Known methods map to a constant string, so the common case
 * allocates nothing.
 */
const UPPER_METHODS: Record<string, string> = Object.assign(Object.create(null) as Record<string, string>, {
  get: 'GET',
  head: 'HEAD',
  post: 'POST',
  put: 'PUT',
  delete: 'DELETE',
  options: 'OPTIONS',
  patch: 'PATCH',
  trace: 'TRACE',
  connect: 'CONNECT',
  propfind: 'PROPFIND',
  proppatch: 'PROPPATCH',
  mkcol: 'MKCOL',
  copy: 'COPY',
  move: 'MOVE',
  lock: 'LOCK',
  unlock: 'UNLOCK',
  report: 'REPORT',
  search: 'SEARCH',
});

export function upperMethod(lower: string): string {
  return UPPER_METHODS[lower] ?? lower.toUpperCase();
}

// req.forEach needs a callback; one module-level callback writing into a module-level
// target avoids a closure per request (forEach runs synchronously, so this is safe).
let target: Array<[string, string]> = [];

function collectHeader(name: string, value: string): void {
  const h = target;
  // Repeated header: join onto the first occurrence, keeping arrival order of first
  // appearance. Cookie joins with "; " (RFC 6265 §5.4; Apache's ", " makes PHP misparse),
  // everything else with ", " (RFC 9110 §5.3). A linear scan beats a Map at ~10-20 headers.
  for (let i = 0; i < h.length; i++) {
    const e = h[i]!;
    if (e[0] === name) {
      e[1] = e[1] + (name === 'cookie' ? '; ' : ', ') + value;
      return;
    }
  }
  h.push([name, value]);
}

/** Copies request headers (names lower-case, repeated ones joined). */
export function copyHeaders(req: HttpRequest): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  target = out;
  req.forEach(collectHeader);
  target = [];
  return out;
}

// IPv4 texts by address: the same few clients send most requests, and the text of one is
// four number-to-string conversions and a concatenation per request otherwise. Bounded.
const QUADS_MAX = 4096;
const quads = new Map<number, string>();

function dottedQuad(b: Uint8Array, at: number): string {
  const key = ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  let text = quads.get(key);
  if (text === undefined) {
    text = `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
    if (quads.size >= QUADS_MAX) quads.clear();
    quads.set(key, text);
  }
  return text;
}

/**
 * Formats the binary address from res.getRemoteAddress(): 4 bytes → dotted quad;
 * 16 bytes → RFC 5952 text, except IPv4-mapped (::ffff:a.b.c.d) → the dotted quad, which
 * is what a dual-stack listener sees for IPv4 clients. getRemoteAddressAsText() would give
 * "0000:0000:0000:0000:0000:ffff:7f00:0001" there: uncompressed hex, no mapping.
 */
export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return dottedQuad(bytes, 0);
  if (bytes.length !== 16) return '';
  let mapped = bytes[10] === 0xff && bytes[11] === 0xff;
  for (let i = 0; mapped && i < 10; i++) if (bytes[i] !== 0) mapped = false;
  if (mapped) return dottedQuad(bytes, 12);
  // RFC 5952: lower-case hex, no leading zeros, the longest run (≥ 2) of zero groups → "::".
  const groups = new Array<number>(8);
  for (let g = 0; g < 8; g++) groups[g] = (bytes[2 * g]! << 8) | bytes[2 * g + 1]!;
  let bestStart = -1,
    bestLen = 1;
  for (let g = 0; g < 8; ) {
    if (groups[g] !== 0) {
      g++;
      continue;
    }
    let end = g;
    while (end < 8 && groups[end] === 0) end++;
    if (end - g > bestLen) {
      bestStart = g;
      bestLen = end - g;
    }
    g = end;
  }
  let out = '';
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      out += g === 0 ? '::' : ':';
      g += bestLen - 1;
      continue;
    }
    out += groups[g]!.toString(16);
    if (g < 7) out += ':';
  }
  return out;
}

/**
 * Everything the gateway keeps of one request, copied synchronously. Call it first thing in
 * the handler (before any await or callback). getRemoteAddress() is a getpeername syscall:
 * it is called exactly once here.
 */
export function takeSnapshot(
  req: HttpRequest,
  res: HttpResponse,
  local: LocalEndpoint,
  scheme: string,
): RequestSnapshot {
  const query = req.getQuery();
  return {
    method: upperMethod(req.getMethod()),
    path: req.getUrl(),
    // undefined without '?', '' for a target ending in '?' (measured): both mean ''.
    query: query === undefined ? '' : query,
    headers: copyHeaders(req),
    remoteAddress: formatAddress(new Uint8Array(res.getRemoteAddress())),
    remotePort: '',
    localAddress: local.address,
    localPort: local.port,
    scheme,
    protocol: 'HTTP/1.1',
  };
}
