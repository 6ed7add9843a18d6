// The checks a request passes before it is routed: its body framing (Content-Length,
// Transfer-Encoding), its Host, its target and its Expect. A request that fails one is
// answered with the status below and its connection closed, because whatever follows it on
// that connection cannot be trusted to start where uWS thinks (request smuggling, issue 9).
// Pure: a snapshot in, a verdict out. What uWS refuses itself (Content-Length together with
// Transfer-Encoding, no Host with other headers) never reaches this file (native-notes/uws.md).
import type { ErrorCode } from '../errors.js';
import { DEFAULT_REQUEST_LIMITS, type RequestLimits } from '../config/model.js';
import type { RequestSnapshot } from '../request.js';

export interface Refusal {
  code: ErrorCode;
  /** For the log line. */
  detail: string;
}

/** How the body is framed, once the checks passed. */
export interface BodyFraming {
  /** Content-Length, or -1 when there is none. */
  length: number;
  chunked: boolean;
}

/**
 * A Host header value (RFC 9112 §3.2, RFC 3986 §3.2.2): a name of letters, digits, `-`, `.`
 * and `_` (Apache's fix_hostname accepts no more), an IPv4 address, or an IPv6 literal in
 * brackets; then an optional `:port`. `Host: evil.com/../x"><script>`, `a@b:80 x` fail.
 */
const HOST = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9._-]*)|\[[0-9A-Fa-f:.]+\])(?::\d{0,5})?$/;

export function validHost(value: string): boolean {
  // Empty is valid: a target without an authority (RFC 9112 §3.2); SERVER_NAME is ServerName then.
  return value === '' || (value.length <= 255 && HOST.test(value));
}

/**
 * Checks the request; returns a Refusal, or the body framing. Repeated headers reach here
 * joined with ", " (snapshot.ts), so a duplicate shows as a list.
 */
export function checkRequest(
  snap: RequestSnapshot,
  limits: RequestLimits = DEFAULT_REQUEST_LIMITS,
  /** The fields the client sent (the gateway adds X-Request-Id before the checks run). */
  fields = snap.headers.length,
): Refusal | BodyFraming {
  // Apache's limits on the head, first, as Apache reads them (the request line as sent:
  // "GET /target?query HTTP/1.1", without its CRLF; a field line as "Name: value").
  const line = snap.method.length + snap.path.length + (snap.query === '' ? 0 : snap.query.length + 1) + 10;
  if (line > limits.line) {
    return {
      code: 'FCGATE_URI_TOO_LONG',
      detail: `request line of ${line} bytes, over LimitRequestLine ${limits.line}`,
    };
  }
  if (fields > limits.fields) {
    return { code: 'FCGATE_HEADER_LIMIT', detail: `${fields} header fields, over LimitRequestFields ${limits.fields}` };
  }
  let cl: string | undefined;
  let te: string | undefined;
  let host: string | undefined;
  let expect: string | undefined;
  const h = snap.headers;
  for (let i = 0; i < h.length; i++) {
    const name = h[i]![0];
    if (name.length + 2 + h[i]![1].length > limits.fieldSize) {
      return {
        code: 'FCGATE_HEADER_LIMIT',
        detail: `header field ${name.slice(0, 40)} of ${name.length + 2 + h[i]![1].length} bytes, over LimitRequestFieldSize ${limits.fieldSize}`,
      };
    }
    if (name === 'content-length') cl = h[i]![1];
    else if (name === 'transfer-encoding') te = h[i]![1];
    else if (name === 'host') host = h[i]![1];
    else if (name === 'expect') expect = h[i]![1];
  }
  if (host === undefined) return { code: 'FCGATE_BAD_FRAMING', detail: 'no Host header (HTTP/1.1 requires one)' };
  if (!validHost(host)) {
    return {
      code: 'FCGATE_BAD_FRAMING',
      detail: host.includes(', ') ? 'more than one Host header' : `invalid Host ${JSON.stringify(host.slice(0, 100))}`,
    };
  }
  if (snap.path.includes('#')) return { code: 'FCGATE_BAD_FRAMING', detail: "'#' in the request target" };
  if (expect !== undefined && expect.toLowerCase() !== '100-continue') {
    return { code: 'FCGATE_EXPECTATION_FAILED', detail: `unsupported Expect ${JSON.stringify(expect.slice(0, 100))}` };
  }
  if (te !== undefined) {
    // RFC 9112 §6.1/§6.3: chunked must be the final coding (else 400); we decode no other (501).
    const codings = te.split(',').map((c) => c.trim().toLowerCase());
    if (codings[codings.length - 1] !== 'chunked' || codings.indexOf('chunked') !== codings.length - 1) {
      return {
        code: 'FCGATE_BAD_FRAMING',
        detail: `Transfer-Encoding ${JSON.stringify(te.slice(0, 100))}: chunked must be the last coding, once`,
      };
    }
    if (codings.length > 1)
      return {
        code: 'FCGATE_UNKNOWN_CODING',
        detail: `Transfer-Encoding ${JSON.stringify(te.slice(0, 100))}: only chunked is supported`,
      };
    return { length: -1, chunked: true };
  }
  if (cl !== undefined) {
    if (!/^\d{1,15}$/.test(cl)) {
      return {
        code: 'FCGATE_BAD_FRAMING',
        detail: cl.includes(',')
          ? `more than one Content-Length (${cl.slice(0, 100)})`
          : `invalid Content-Length ${JSON.stringify(cl.slice(0, 100))}`,
      };
    }
    return { length: Number(cl), chunked: false };
  }
  return { length: -1, chunked: false };
}
