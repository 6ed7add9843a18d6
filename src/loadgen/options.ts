// The settings of a bench run as the CLI hands them over (already checked), and the
// per-thread plans made from them: request bytes built once, the URL order, and the
// split of connections (connection i → thread i mod T) and of -n over the threads.
import { buildCgiParams } from './fcgi-request.js';
import { buildHttpRequest } from './http-request.js';
import type { ThreadPlan } from './messages.js';
import type { RequestSpec } from './request-spec.js';
import type { RateSpec } from './schedule.js';
import type { WeightedTarget } from './url-list.js';
import { weightedOrder } from './url-list.js';

/** What one run loads: a URL, or a --urls list; `label` is A or B with --compare. */
export interface TargetSet {
  label: string | null;
  entries: WeightedTarget[];
  /** --pid (or --pid-a / --pid-b): processes whose cost is measured. */
  pids: number[];
}

export interface BenchOptions {
  sets: TargetSet[];
  connections: number;
  threads: number;
  durationMs: number | null;
  requests: number | null;
  warmupMs: number;
  rate: RateSpec | null;
  timeoutMs: number;
  request: RequestSpec;
  /** FastCGI --multiplex: requests in flight per connection asked for (1: off). */
  multiplex: number;
  rounds: number;
  failOnErrors: boolean;
}

/** Load threads used for a set: never more than connections. */
export const threadsFor = (o: BenchOptions): number => Math.max(1, Math.min(o.threads, o.connections));

/** One plan per thread for `set`, each connection carrying `depth` requests at once. */
export function buildThreadPlans(set: TargetSet, o: BenchOptions, depth: number): ThreadPlan[] {
  const first = set.entries[0]!.target;
  const threads = threadsFor(o);
  const httpRequests =
    first.kind === 'http' ? set.entries.map((e) => new Uint8Array(buildHttpRequest(e.target, o.request))) : [];
  const fcgiParams = first.kind === 'fcgi' ? set.entries.map((e) => buildCgiParams(e.target, o.request)) : [];
  const order = weightedOrder(set.entries.map((e) => e.weight));
  const plans: ThreadPlan[] = [];
  for (let t = 0; t < threads; t++) {
    const connections: number[] = [];
    for (let i = t; i < o.connections; i += threads) connections.push(i);
    let requests: number | null = null;
    if (o.requests !== null) {
      requests = o.rate !== null ? o.requests : Math.floor(o.requests / threads) + (t < o.requests % threads ? 1 : 0);
    }
    plans.push({
      kind: first.kind,
      address: first.address,
      httpRequests,
      fcgiParams,
      fcgiBody: first.kind === 'fcgi' ? o.request.body : null,
      order,
      headRequest: o.request.method === 'HEAD',
      keepAlive: o.request.keepAlive,
      connections,
      totalConnections: o.connections,
      depth,
      timeoutMs: o.timeoutMs,
      warmupMs: o.warmupMs,
      durationMs: o.durationMs,
      requests,
      rate: o.rate,
    });
  }
  return plans;
}
