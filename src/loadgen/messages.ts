// What the main thread and the load threads say to each other: the task a thread gets
// (its share of the connections and everything needed to build requests), the messages
// on its control port (ready → go → ticks → done; stop), and what it hands back. Plain
// structured-clone data; nothing else in loadgen/ knows postMessage.
import type { MessagePort } from 'node:worker_threads';
import type { RateSpec } from './schedule.js';
import type { ConnectAddress, TargetKind } from './target.js';

export interface ThreadPlan {
  kind: TargetKind;
  address: ConnectAddress;
  /** HTTP: the request bytes of each URL. */
  httpRequests: Uint8Array[];
  /** FastCGI: the CGI params of each URL (flat name/value lists) and the body. */
  fcgiParams: string[][];
  fcgiBody: Uint8Array | null;
  /** URL indexes in weighted order (one cycle). */
  order: Uint32Array;
  /** -m HEAD: responses have no body. */
  headRequest: boolean;
  keepAlive: boolean;
  /** Global indexes of this thread's connections (connection i → thread i % threads). */
  connections: number[];
  totalConnections: number;
  /** Requests in flight per connection (FastCGI multiplexing; 1 otherwise). */
  depth: number;
  timeoutMs: number;
  warmupMs: number;
  /** Measured window; null when -n bounds the run. */
  durationMs: number | null;
  /** Closed loop: this thread's share of -n. Open loop: -n for the whole run. null: none. */
  requests: number | null;
  /** Open loop; null for closed loop. */
  rate: RateSpec | null;
}

export interface ThreadTask {
  thread: number;
  plan: ThreadPlan;
  port: MessagePort;
}

/** Counters of a stretch of time (one second, or the whole run). */
export interface Counts {
  /** Complete responses (any status). */
  responses: number;
  /** Failed requests, by ErrorKind. */
  errors: number[];
  bytesIn: number;
  bytesOut: number;
}

export interface TickMessage {
  type: 'tick';
  thread: number;
  /** Second of the measured window (0 = its first). */
  second: number;
  counts: Counts;
  /** Latency histogram of the responses of this second: histogram.ts bucketsOf() (transferred). */
  buckets: Float64Array;
}

export interface ThreadResult {
  thread: number;
  /** Measured window: epoch ms when it opened, and when the last measured request ended. */
  measureStart: number;
  measureEnd: number;
  counts: Counts;
  warmup: Counts;
  /** status code → responses. */
  status: Record<string, number>;
  /** The first error text of each kind (by ErrorKind), '' for none. */
  firstErrors: string[];
  /** Whole-run latency histogram (encoded). */
  histogram: string;
  /** The last, partial second (its tick never went out). */
  lastTick: TickMessage | null;
  /** Requests that wrote to FastCGI STDERR. */
  stderrRequests: number;
  /** Open loop: sends after their due time while the lane was free (µs, the thread's own lag). */
  lagMaxUs: number;
  lagSumUs: number;
  /** Open loop: requests sent late because their lane was still busy (the target's lag). */
  lateBusy: number;
  /** Open loop: requests due in the measured window that were sent. */
  sentOnSchedule: number;
}

export type FromThread =
  | { type: 'ready'; thread: number; connected: number; failed: number }
  | TickMessage
  | { type: 'done'; result: ThreadResult };

export type ToThread = { type: 'go'; startAt: number } | { type: 'stop' };

export function emptyCounts(kinds: number): Counts {
  return { responses: 0, errors: new Array<number>(kinds).fill(0), bytesIn: 0, bytesOut: 0 };
}

export function addCounts(into: Counts, c: Counts): void {
  into.responses += c.responses;
  for (let i = 0; i < c.errors.length; i++) into.errors[i] = (into.errors[i] ?? 0) + c.errors[i]!;
  into.bytesIn += c.bytesIn;
  into.bytesOut += c.bytesOut;
}

export const errorTotal = (c: Counts): number => c.errors.reduce((a, b) => a + b, 0);
