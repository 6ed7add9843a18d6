// A lane is one request at a time on one connection: the unit both loops are made of.
// Closed loop: a lane sends its next request as soon as the last one ended. Open loop:
// lane j of L sends requests j, j+L, j+2L, … of the schedule. An HTTP connection has one
// lane; a multiplexed FastCGI connection has one per request id. This file holds the
// lane's fields, the error kinds, and the contract between connections and the thread.

/** Why a request failed. Each failed request counts under exactly one kind. */
export const ErrorKind = {
  /** No connection: refused, unreachable, or the connect did not finish in --timeout. */
  Connect: 0,
  /** The connection reset or closed before the response was complete. */
  Reset: 1,
  /** No complete response within --timeout (every request on that connection). */
  Timeout: 2,
  /** An invalid HTTP response. */
  HttpParse: 3,
  /** Invalid FastCGI records, or an invalid CGI response head in STDOUT. */
  FcgiProtocol: 4,
  /** END_REQUEST with protocolStatus ≠ REQUEST_COMPLETE (CANT_MPX_CONN, OVERLOADED, UNKNOWN_ROLE). */
  FcgiProtocolStatus: 5,
  /** END_REQUEST with appStatus ≠ 0. */
  FcgiAppStatus: 6,
} as const;
export type ErrorKind = (typeof ErrorKind)[keyof typeof ErrorKind];

/** Names in reports and JSON, indexed by ErrorKind. */
export const ERROR_KIND_NAMES = [
  'connect',
  'reset',
  'timeout',
  'http_parse',
  'fcgi_protocol',
  'fcgi_protocol_status',
  'fcgi_app_status',
] as const;

export class Lane {
  /** Busy from the start of a request (connect wait included) to its end. */
  busy = false;
  /** The request is on the wire (written), so the connection owes it an answer. */
  sent = false;
  /** The request started inside the measured window. */
  measured = false;
  /** Latency is counted from here (thread clock, ms). */
  baseMs = 0;
  /** When the request started (for --timeout). */
  startMs = 0;
  /** When the lane last became free (open loop: was it free at the due time?). */
  freeSinceMs = 0;
  /** Open loop: rounds sent so far (the next request is round * lanes + index). */
  round = 0;
  /** Open loop: due time of the next request (thread clock, ms). */
  dueMs = 0;
  /** Open loop: no more requests for this lane. */
  retired = false;
  /** Position in the weighted URL order; the URL of the request in flight. */
  orderAt: number;
  url = 0;
  /** Position in the open-loop wait heap, -1 when not in it. */
  heapAt = -1;
  /** The connection the lane's requests go on (set once, when it is made). */
  conn: LoadConnection | null = null;

  constructor(
    readonly index: number,
    readonly slot: number,
    orderAt: number,
  ) {
    this.orderAt = orderAt;
  }
}

/** What a connection tells the thread about its lanes' requests. */
export interface LaneHost {
  /** A complete response with this status (FastCGI: the CGI Status, 200 by default). */
  complete(lane: Lane, status: number): void;
  /** The request failed; the lane is free again. */
  fail(lane: Lane, kind: ErrorKind, detail: string): void;
  /** Raw bytes read from a socket (transfer figures). */
  bytesRead(n: number): void;
  /** Request bytes handed to a socket. */
  bytesWritten(n: number): void;
  /** A FastCGI request wrote to STDERR. */
  stderr(lane: Lane): void;
  /** Clock in ms (performance.now). */
  now(): number;
}

/** A client connection as the thread drives it (HTTP or FastCGI). */
export interface LoadConnection {
  readonly lanes: readonly Lane[];
  /** Starts `lane`'s request now: written at once when open, else after the connect. */
  send(lane: Lane, url: number): void;
  /** Opens the connection ahead of the run (keep-alive); resolves either way. */
  preconnect(): Promise<boolean>;
  /** Fails every busy lane whose request is older than `olderThanMs` (timeout), closing the connection. */
  expire(olderThanMs: number): void;
  /** Closes the connection; busy lanes are dropped without counting. */
  destroy(): void;
  /** Drops the requests still waiting for a connection (never written); returns how many. */
  abandonUnsent(): number;
  /** Lanes busy on it now. */
  readonly busy: number;
}
