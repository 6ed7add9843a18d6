// What the request path leaves behind for the access log and the metrics once a request
// is over: the one record observe/ reads (front/reply.ts's UwsReply carries these fields,
// so no object is made for it). Timestamps are performance.now() milliseconds.
// No uWS or pool types here: the upstream side is reduced to the timing it reports.
import type { RequestSnapshot } from './request.js';

/** The upstream exchange as the record sees it (upstream/exchange.ts's Exchange). */
export interface ExchangeTiming {
  /** The backend worker's name (for a balanced request: the member that served it). */
  readonly backend: string;
  /** When the exchange asked the pool for a connection; 0 = never started. */
  readonly startedAt: number;
  /** When a connection was handed to it; 0 = never. */
  readonly acquiredAt: number;
}

export interface RequestRecord {
  /** The request as received (after a local redirect: the last one served). */
  readonly snapshot: RequestSnapshot | null;
  readonly requestId: string;
  /** Arrival time. */
  readonly startedAt: number;
  /** Status sent to the client; 0 when nothing was sent (the client went away first). */
  readonly status: number;
  /** Request body bytes read from the client. */
  readonly bytesIn: number;
  /** Response body bytes handed to the client connection. */
  readonly bytesOut: number;
  /** When the app's response head arrived; 0 = none. */
  readonly firstByteAt: number;
  /** The route's label index (observe/labels.ts): the config mapping that served it. */
  readonly routeIndex: number;
  /** The FCGATE_* code of the failure that decided the answer, if any. */
  readonly errorCode: string | null;
  /** The client went away before the response was complete. */
  readonly aborted: boolean;
  readonly exchange: ExchangeTiming | null;
  /** `balancer://name` when a balancer chose the backend. */
  readonly balancer: string | null;
  /** SetEnv / SetEnvIf variables of the request (null when none applied or not routed). */
  readonly env: ReadonlyMap<string, string> | null;
  /** The app's response head (flat [name, value, …]), when it sent one. */
  readonly head: { readonly headers: readonly string[] } | null;
  /** Headers fcgate added to the response (Vary, X-Request-Id), flat. */
  readonly extraHeaders: readonly string[];
  /** The connection's peer when a trusted proxy supplied the client address (%{c}a); absent otherwise. */
  readonly peerAddress?: string | undefined;
}
