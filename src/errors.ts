// Error codes, the one table from code to HTTP status, and GatewayError.
// Only front/ turns a code into a response; every other layer reports what broke.

export const statusFor = {
  FCGATE_BAD_REQUEST: 400,
  FCGATE_FORBIDDEN: 403, // Require, a symbolic link Options do not allow, .ht* files
  FCGATE_NOT_FOUND: 404,
  FCGATE_NO_ROUTE: 404,
  FCGATE_METHOD_NOT_ALLOWED: 405,
  FCGATE_LENGTH_REQUIRED: 411,
  FCGATE_BAD_FRAMING: 400, // a request whose framing can't be trusted (Content-Length, Transfer-Encoding, Host): answered, then closed
  FCGATE_BODY_TIMEOUT: 408, // the client stopped sending its body (FCGATE_BODY_TIMEOUT)
  FCGATE_SEND_TIMEOUT: 499, // the client took nothing of the response for FCGATE_SEND_TIMEOUT: closed
  FCGATE_BODY_TOO_LARGE: 413,
  FCGATE_EXPECTATION_FAILED: 417, // an Expect other than 100-continue
  FCGATE_URI_TOO_LONG: 414, // a request line over LimitRequestLine
  FCGATE_HEADER_LIMIT: 400, // a header field over LimitRequestFieldSize, or more fields than LimitRequestFields
  FCGATE_UNKNOWN_CODING: 501, // a Transfer-Encoding other than chunked
  FCGATE_SPOOL_FULL: 507, // no room left to buffer the body (FCGATE_SPOOL_DISK_TOTAL or a full disk)
  FCGATE_CLIENT_ABORTED: 499, // logged; nobody to answer
  FCGATE_INTERNAL: 500,
  FCGATE_PROTOCOL: 502, // the app broke the FastCGI protocol
  FCGATE_BAD_CGI_HEADER: 502, // invalid CGI header block from the app
  FCGATE_APP_CLOSED: 502, // the app closed before a complete response
  FCGATE_REDIRECT_LOOP: 502, // too many local redirects
  FCGATE_CONNECT_FAILED: 503, // nothing listening
  FCGATE_QUEUE_FULL: 503, // pool wait queue full (Retry-After)
  FCGATE_BACKEND_OVERLOADED: 503, // acquire deadline passed / FCGI_OVERLOADED (Retry-After)
  FCGATE_NO_MEMBER: 503, // every balancer member unusable
  FCGATE_SHUTTING_DOWN: 503,
  FCGATE_CONNECT_TIMEOUT: 504,
  FCGATE_HEADER_TIMEOUT: 504, // read timeout before the head
  FCGATE_READ_TIMEOUT: 504, // read timeout after the head
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof statusFor;

/** The 503s that say "try again soon": the answer carries Retry-After (FCGATE_RETRY_AFTER). */
const RETRY_LATER: ReadonlySet<ErrorCode> = new Set([
  'FCGATE_QUEUE_FULL',
  'FCGATE_BACKEND_OVERLOADED',
  'FCGATE_CONNECT_FAILED',
  'FCGATE_NO_MEMBER',
  'FCGATE_SHUTTING_DOWN',
]);

/** Whether the answer for `code` carries Retry-After. */
export const retryAfterFor = (code: ErrorCode): boolean => RETRY_LATER.has(code);

export class GatewayError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly backend: string | null,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(detail, options);
    this.name = 'GatewayError';
  }
  get status(): number {
    return statusFor[this.code];
  }
}

/** The one log line for a failure: code first, then backend, then the cause. */
export function formatFailure(err: GatewayError, extra = ''): string {
  const backend = err.backend === null ? '' : ` backend=${err.backend}`;
  return `${err.code}${backend}${extra ? ' ' + extra : ''} cause="${quoteLogText(err.message.replace(/"/g, "'"))}"`;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE_LOG_TEXT = /["\\\x00-\x1f\x7f]/;

/**
 * Text from outside (an app's STDERR, an error message) made safe inside `key="…"` of one log
 * line: `"` and `\` escaped, control characters as \n, \r, \t or \xhh — so no text can end
 * its field, start a forged line or send a terminal escape (issue 9).
 */
export function quoteLogText(s: string): string {
  if (!UNSAFE_LOG_TEXT.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += s[i]!;
  }
  return out;
}
