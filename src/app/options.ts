// Options of the FastCGI responder server, their defaults and their checks.
// No sockets here: responder-server.ts and responder-connection.ts read the resolved values.
import type { FcgiRequest, FcgiResponse } from './responder-exchange.js';

export type FcgiHandler = (req: FcgiRequest, res: FcgiResponse) => void | Promise<void>;

export interface FcgiServerOptions {
  /** Answer FCGI_MPXS_CONNS=1 and accept several requests per connection (default true). */
  mpxsConns?: boolean;
  /** Connections served at once (FCGI_MAX_CONNS); later ones wait unread in an accept queue (default 256). */
  maxConns?: number;
  /** Connections that may wait in the accept queue; beyond it new ones are closed (default 1024). */
  acceptQueue?: number;
  /** Requests in flight over all connections (FCGI_MAX_REQS); beyond it: END_REQUEST OVERLOADED (default 4096). */
  maxReqs?: number;
  /** Requests in flight on one connection when multiplexing; beyond it: OVERLOADED (default 128). */
  maxRequestsPerConnection?: number;
  /** Largest PARAMS stream of one request in bytes (default 1 MiB); more closes the connection. */
  maxParamsBytes?: number;
  /** STDIN bytes buffered for a handler that does not read, before the socket pauses (default 64 KiB). */
  stdinBufferBytes?: number;
  /**
   * On a connection with several requests in flight, pausing the socket stalls all of them,
   * so each request may buffer up to this much STDIN first (default 256 KiB).
   */
  stdinMpxBufferBytes?: number;
  /** Where protocol errors and handler failures are reported (default: one line on stderr). */
  log?: (line: string) => void;
}

export interface ResolvedServerOptions {
  mpxsConns: boolean;
  maxConns: number;
  acceptQueue: number;
  maxReqs: number;
  maxRequestsPerConnection: number;
  maxParamsBytes: number;
  stdinBufferBytes: number;
  stdinMpxBufferBytes: number;
  log: (line: string) => void;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`FcgiServerOptions.${name} must be a positive integer (got ${String(value)})`);
  }
  return value;
}

const logToStderr = (line: string): void => {
  process.stderr.write(`fcgate-app: ${line}\n`);
};

/** Fills in defaults; a bad value throws a RangeError naming the option. */
export function resolveServerOptions(o: FcgiServerOptions = {}): ResolvedServerOptions {
  const mpxsConns = o.mpxsConns ?? true;
  return {
    mpxsConns,
    maxConns: positive('maxConns', o.maxConns, 256),
    acceptQueue: positive('acceptQueue', o.acceptQueue, 1024),
    maxReqs: positive('maxReqs', o.maxReqs, 4096),
    maxRequestsPerConnection: mpxsConns ? positive('maxRequestsPerConnection', o.maxRequestsPerConnection, 128) : 1,
    maxParamsBytes: positive('maxParamsBytes', o.maxParamsBytes, 1 << 20),
    stdinBufferBytes: positive('stdinBufferBytes', o.stdinBufferBytes, 64 * 1024),
    stdinMpxBufferBytes: positive('stdinMpxBufferBytes', o.stdinMpxBufferBytes, 256 * 1024),
    log: o.log ?? logToStderr,
  };
}
