// Error codes, the one table from code to HTTP status, and GatewayError.
// Only front/ turns a code into a response; every other layer reports what broke.

export const statusFor = {
  FCGATE_BAD_REQUEST: 400,
  FCGATE_FORBIDDEN: 403,               // Require, a symbolic link Options do not allow, .ht* files
  FCGATE_NOT_FOUND: 404,
  FCGATE_NO_ROUTE: 404,
  FCGATE_METHOD_NOT_ALLOWED: 405,
  FCGATE_LENGTH_REQUIRED: 411,
  FCGATE_BODY_TOO_LARGE: 413,
  FCGATE_CLIENT_ABORTED: 499,          // logged; nobody to answer
  FCGATE_INTERNAL: 500,
  FCGATE_PROTOCOL: 502,                // the app broke the FastCGI protocol
  FCGATE_BAD_CGI_HEADER: 502,          // invalid CGI header block from the app
  FCGATE_APP_CLOSED: 502,              // the app closed before a complete response
  FCGATE_REDIRECT_LOOP: 502,           // too many local redirects
  FCGATE_CONNECT_FAILED: 503,          // nothing listening
  FCGATE_QUEUE_FULL: 503,              // pool wait queue full (Retry-After)
  FCGATE_BACKEND_OVERLOADED: 503,      // acquire deadline passed / FCGI_OVERLOADED (Retry-After)
  FCGATE_NO_MEMBER: 503,               // every balancer member unusable
  FCGATE_SHUTTING_DOWN: 503,
  FCGATE_CONNECT_TIMEOUT: 504,
  FCGATE_HEADER_TIMEOUT: 504,          // read timeout before the head
  FCGATE_READ_TIMEOUT: 504,            // read timeout after the head
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof statusFor;

export class GatewayError extends Error {
  constructor(readonly code: ErrorCode, readonly backend: string | null,
              detail: string, options?: ErrorOptions) {
    super(detail, options);
    this.name = 'GatewayError';
  }
  get status(): number { return statusFor[this.code]; }
}

/** The one log line for a failure: code first, then backend, then the cause. */
export function formatFailure(err: GatewayError, extra = ''): string {
  const backend = err.backend === null ? '' : ` backend=${err.backend}`;
  return `${err.code}${backend}${extra ? ' ' + extra : ''} cause="${err.message.replace(/"/g, "'")}"`;
}
