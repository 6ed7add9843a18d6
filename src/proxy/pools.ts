// This thread's connection pools, one per backend worker (keyed by the worker's canonical
// name), each with its connection cap (a ConnectionBudget shared by every thread when the
// caller gives one, else a local one). A reload swaps in fresh pools and winds the old ones
// down; nothing else here knows about requests.
import type { WorkerSettings } from '../config/model.js';
import type { Tuning } from '../tuning.js';
import { LocalBudget, type ConnectionBudget } from '../upstream/budget.js';
import { MuxPool } from '../upstream/mux-pool.js';
import { type ConnectionPool, Pool, type PoolLimits, type PoolObserver, type PoolStats } from '../upstream/pool.js';

export interface PoolRegistryOptions {
  tuning: Pick<
    Tuning,
    | 'FCGATE_QUEUE_LIMIT'
    | 'FCGATE_CONN_MAX_REQUESTS'
    | 'FCGATE_RETRY_AFTER'
    | 'FCGATE_DEFAULT_MAX_CONNS'
    | 'FCGATE_MUX_HOLD'
  >;
  /** Caps by worker name (shared across threads by the caller); missing ones are made local. */
  budgets?: Map<string, ConnectionBudget>;
  log: (line: string) => void;
  observer?: PoolObserver | null;
}

export class PoolRegistry {
  private readonly pools = new Map<string, ConnectionPool>();
  private readonly budgets: Map<string, ConnectionBudget>;

  constructor(private readonly options: PoolRegistryOptions) {
    this.budgets = options.budgets ?? new Map();
  }

  /**
   * The pool of `worker`, made on first use: a MuxPool when the startup verdict says the
   * app multiplexes (ConnectionBudget.muxRequests), else a Pool.
   */
  poolFor(worker: WorkerSettings): ConnectionPool {
    let pool = this.pools.get(worker.name);
    if (pool === undefined) {
      const t = this.options.tuning;
      let budget = this.budgets.get(worker.name);
      if (budget === undefined) {
        budget = new LocalBudget(worker.max ?? t.FCGATE_DEFAULT_MAX_CONNS);
        this.budgets.set(worker.name, budget);
      }
      const limits: PoolLimits = {
        queueLimit: t.FCGATE_QUEUE_LIMIT,
        log: this.options.log,
        maxRequestsPerConnection: t.FCGATE_CONN_MAX_REQUESTS,
        retryAfterSeconds: t.FCGATE_RETRY_AFTER,
        muxHold: t.FCGATE_MUX_HOLD,
      };
      const observer = this.options.observer ?? null;
      pool =
        budget.muxRequests > 0
          ? new MuxPool(worker, budget, limits, budget.muxRequests, observer)
          : new Pool(worker, budget, limits, observer);
      this.pools.set(worker.name, pool);
    }
    return pool;
  }

  /** A backend's connection cap (the metrics' fcgate_upstream_connections_max). */
  capOf(name: string): number | undefined {
    return this.budgets.get(name)?.cap;
  }

  /**
   * A new configuration: requests from now on get new pools; the old ones serve what they
   * have queued and close (idle connections at once). `budgets` adds or replaces caps by
   * name (a name already there keeps its counter, so old and new pools share the cap).
   */
  reload(budgets?: Map<string, ConnectionBudget>): void {
    const old = [...this.pools.values()];
    this.pools.clear();
    if (budgets !== undefined) for (const [name, b] of budgets) this.budgets.set(name, b);
    for (const p of old) p.windDown();
  }

  /** Closes every pool (idle connections now; queued requests fail). */
  close(): void {
    for (const p of this.pools.values()) p.close();
  }

  /** Every pool's gauges and totals, by backend name. */
  stats(): Record<string, PoolStats> {
    const out: Record<string, PoolStats> = {};
    for (const [name, p] of this.pools) out[name] = p.stats();
    return out;
  }

  /** The pools in use (the metrics read their gauges). */
  get all(): Iterable<ConnectionPool> {
    return this.pools.values();
  }
}
