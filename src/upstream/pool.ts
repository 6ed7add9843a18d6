// One backend's connections in one serving thread: idle connections reused most
// recently used first (so surplus ones idle out after `ttl`), a cap shared with the
// other threads (ConnectionBudget), and a bounded FIFO of requests waiting for a
// connection, each with the `acquire` deadline (wait-queue.ts, shared with MuxPool).
// Nothing here waits forever.
// Across threads: queued requests are counted in the budget's `waiting`; while others
// wait, a released connection is closed instead of parked idle (its slot goes to them),
// idle ones are closed when a watcher sees `waiting` grow, and a pool with a queue polls
// the budget for slots other threads gave back (WaitQueue).
// Apps with one worker per connection (PHP-FPM, fcgiwrap) announce no limit, and a kept
// idle connection pins a worker: a request on a new connection then waits in the app's
// listen backlog behind our own idle connections (issue 8 §4). So a request that gets no
// first byte within STALL_MS on a new connection counts as waiting too: every pool of the
// backend lets its idle connections go and closes released ones until it is answered.
// Over 400 lines on purpose: one backend's connections with the cross-thread rules (queue, reuse
// checklist, stall watch) that must be read together.
import type { WorkerSettings } from '../config/model.js';
import { GatewayError } from '../errors.js';
import type { ConnectionBudget } from './budget.js';
import { openConnection, type Channel, type UpstreamConnection } from './connection.js';
import { WaitQueue } from './wait-queue.js';

/** A request that wants a connection. Fixed methods, called exactly once unless cancelled. */
export interface Waiter {
  onAcquired(conn: Channel): void;
  onAcquireFailed(err: GatewayError): void;
  /** Set by the pool while queued. */
  queuedAt: number;
  /** Set by Pool.cancel (the client went away); never by the waiter itself. */
  cancelled: boolean;
}

export interface PoolLimits {
  /** Requests that may wait for a connection (FCGATE_QUEUE_LIMIT). */
  queueLimit: number;
  /** Error log: idle connections let go for a stalled request, reuse turned off. */
  log?: (line: string) => void;
  /** Requests per connection before it is retired (FCGATE_CONN_MAX_REQUESTS; 0 = no cap). */
  maxRequestsPerConnection: number;
  /** Seconds suggested in Retry-After for 503 answers. */
  retryAfterSeconds: number;
  /** FCGATE_MUX_HOLD: response bytes held per request on a multiplexed connection (MuxPool). */
  muxHold?: number;
}

/** Who hears of connects and refusals (the metrics: observe/thread-observer.ts). */
export interface PoolObserver {
  connected(pool: ConnectionPool, ok: boolean, timedOut: boolean): void;
  /** A request refused: the queue was full (false) or its acquire deadline passed (true). */
  rejected(pool: ConnectionPool, acquireTimeout: boolean): void;
}

/** No first byte for this long on a new connection: the request may wait behind our idle connections. */
export const STALL_MS = 100;

/** A request sent on a connection the app had not served before (Exchange). */
export interface FreshRequest {
  /** When it was sent (Date.now()); set by the exchange. */
  freshSince: number;
  /** Counted as waiting (set by the pool). */
  stalled: boolean;
  readonly tag: string;
}

/**
 * What an exchange and the registry use of a backend's pool: Pool (one request per
 * connection) or MuxPool (mux-pool.ts: several per connection when the app multiplexes).
 */
export interface ConnectionPool {
  readonly worker: WorkerSettings;
  readonly name: string;
  /** Connections are kept (FCGI_KEEP_CONN is asked). */
  readonly keeps: boolean;
  acquire(w: Waiter): void;
  /** Takes back what acquire handed out; `reusable` is the request's verdict (see Pool.release). */
  release(conn: Channel, reusable: boolean): void;
  cancel(w: Waiter): void;
  watchFresh(r: FreshRequest): void;
  unwatchFresh(r: FreshRequest): void;
  reuseAnswered(): void;
  reuseNeverAnswered(tag: string): void;
  windDown(): void;
  close(): void;
  stats(): PoolStats;
}

export interface PoolStats {
  size: number;
  idle: number;
  busy: number;
  pending: number;
  opened: number;
  reused: number;
  failedConnects: number;
}

export class Pool implements ConnectionPool {
  private readonly idle: UpstreamConnection[] = [];
  private readonly queue: WaitQueue;
  /** Connections open or opening in this thread. */
  private open = 0;
  private busyCount = 0;
  private closing = false;
  /** After windDown(): no connection is parked idle any more. */
  private windingDown = false;
  /** A budget.watchWaiting call is armed for this pool. */
  private watching = false;
  private readonly sweepTimer: NodeJS.Timeout;
  /** Running totals (connections opened, reused, failed); the gauges are filled in by stats(). */
  private readonly counts: PoolStats = {
    size: 0,
    idle: 0,
    busy: 0,
    pending: 0,
    opened: 0,
    reused: 0,
    failedConnects: 0,
  };
  private readonly onIdleLost = (conn: UpstreamConnection, detail: string): void => this.dropIdle(conn, detail);
  /** Requests on new connections waiting for their first byte (watchFresh). */
  private readonly fresh = new Set<FreshRequest>();
  private freshTimer: NodeJS.Timeout | null = null;
  /** Of those, the ones counted in budget.waiting. */
  private stalled = 0;
  private verified = false;

  constructor(
    readonly worker: WorkerSettings,
    private readonly budget: ConnectionBudget,
    private readonly limits: PoolLimits,
    private readonly observer: PoolObserver | null = null,
  ) {
    this.queue = new WaitQueue(
      limits.queueLimit,
      budget,
      worker.acquireMs,
      () => this.serveQueue(),
      (w) => this.expired(w),
    );
    const every = Math.max(250, Math.min(worker.ttlMs / 2, 5000));
    this.sweepTimer = setInterval(() => this.sweepIdle(), every);
    this.sweepTimer.unref();
  }

  get name(): string {
    return this.worker.name;
  }
  get pending(): number {
    return this.queue.size;
  }
  get size(): number {
    return this.open;
  }
  get busy(): number {
    return this.busyCount;
  }
  get idleCount(): number {
    return this.idle.length;
  }
  /** Connections are kept for reuse: the worker says so and the app was not found unable. */
  get keeps(): boolean {
    return this.worker.reuse && !this.budget.reuseOff;
  }

  /** A request was sent on a connection the app had not served yet: watch for its first byte. */
  watchFresh(r: FreshRequest): void {
    if (!this.keeps) return; // no connection is kept anywhere: none can pin a worker
    r.stalled = false;
    this.fresh.add(r);
    if (this.freshTimer === null) {
      this.freshTimer = setInterval(() => this.checkFresh(), STALL_MS / 2);
      this.freshTimer.unref();
    }
  }

  /** Its first byte came (or it ended): no longer watched. */
  unwatchFresh(r: FreshRequest): void {
    if (!this.fresh.delete(r)) return;
    if (r.stalled) {
      r.stalled = false;
      this.stalled--;
      this.budget.addWaiting(-1);
    }
    if (this.fresh.size === 0 && this.freshTimer !== null) {
      clearInterval(this.freshTimer);
      this.freshTimer = null;
    }
  }

  private checkFresh(): void {
    const now = Date.now();
    let stalledNow: FreshRequest | null = null;
    for (const r of this.fresh) {
      if (r.stalled || now - r.freshSince < STALL_MS) continue;
      r.stalled = true;
      this.stalled++;
      stalledNow = r;
      this.budget.addWaiting(1); // wakes the pools of other threads that hold idle connections
    }
    if (stalledNow === null) return;
    // All of this pool's idle connections go (any of them may pin the worker the request
    // waits for); other threads' pools trim theirs when they see `waiting` grow.
    const idle = this.idle.length;
    for (const c of this.idle.splice(0)) this.retire(c);
    if (idle > 0) {
      this.limits.log?.(
        `FCGATE_IDLE_RELEASED backend=${this.name} ${stalledNow.tag} released=${idle} cause="a request on a new connection got no answer for ${STALL_MS} ms: idle kept connections may pin the app's workers (pm.max_children below max=)"`,
      );
    }
  }

  /** A request on a reused connection was answered: the app takes kept connections. */
  reuseAnswered(): void {
    if (this.verified) return;
    this.verified = true;
    this.budget.markReuseVerified();
  }

  /**
   * A request on a kept connection got no byte before its read timeout, and no kept
   * connection of this backend was ever answered: the app serves one request per connection
   * without closing it. Reuse goes off for all threads (logged once).
   */
  reuseNeverAnswered(tag: string): void {
    if (this.budget.reuseVerified || !this.budget.turnReuseOff()) return;
    for (const c of this.idle.splice(0)) this.retire(c);
    this.limits.log?.(
      `FCGATE_REUSE_OFF backend=${this.name} ${tag} cause="a kept connection never answered its next request: connections are not kept from now on (disablereuse=on says so in the configuration)"`,
    );
  }

  /** Gives `w` a connection now, opens one, or queues it. */
  acquire(w: Waiter): void {
    if (this.closing) {
      w.onAcquireFailed(new GatewayError('FCGATE_SHUTTING_DOWN', this.name, 'the gateway is shutting down'));
      return;
    }
    const conn = this.takeIdle();
    if (conn !== null) {
      this.counts.reused++;
      this.hand(w, conn);
      return;
    }
    if (this.budget.tryTake()) {
      this.connect(w);
      return;
    }
    w.cancelled = false;
    if (!this.queue.push(w)) {
      this.observer?.rejected(this, false);
      w.onAcquireFailed(
        new GatewayError(
          'FCGATE_QUEUE_FULL',
          this.name,
          `all ${this.budget.cap} connections busy and ${this.queue.capacity} requests already waiting`,
        ),
      );
      return;
    }
  }

  /**
   * Takes back a connection after a request. `reusable` is the request's verdict
   * (END_REQUEST complete, keep-conn asked, STDIN fully sent, no error or timeout).
   */
  release(conn: UpstreamConnection, reusable: boolean): void {
    this.busyCount--;
    conn.detach();
    const cap = this.limits.maxRequestsPerConnection;
    const keep = reusable && this.keeps && !this.closing && conn.clean && (cap === 0 || conn.served < cap);
    if (!keep) {
      this.retire(conn);
      return;
    }
    const w = this.queue.next();
    if (w !== null) {
      this.counts.reused++;
      this.hand(w, conn);
      this.queue.sync();
      return;
    }
    this.queue.sync();
    // Requests of other pools (threads) wait for a slot: free ours rather than idle it.
    if (this.windingDown || this.budget.waiting > 0) {
      this.retire(conn);
      return;
    }
    conn.onIdleLost = this.onIdleLost;
    this.idle.push(conn);
    this.watchOthers();
  }

  /**
   * Configuration reload: this pool gets no new requests. Idle connections close now;
   * busy ones serve the requests still queued here, then close. Timers stop once empty.
   */
  windDown(): void {
    this.windingDown = true;
    clearInterval(this.sweepTimer);
    for (const c of this.idle.splice(0)) this.retire(c);
  }

  /**
   * The waiter's client went away. A queued waiter leaves the queue now (it no longer counts
   * against FCGATE_QUEUE_LIMIT, nor in other threads' `waiting`); one whose connection is
   * being opened gives that connection to the pool once it is up.
   */
  cancel(w: Waiter): void {
    if (w.cancelled) return;
    w.cancelled = true;
    this.queue.remove(w);
  }

  /** Stops taking work; closes idle connections; queued requests fail. */
  close(): void {
    this.closing = true;
    clearInterval(this.sweepTimer);
    if (this.freshTimer !== null) {
      clearInterval(this.freshTimer);
      this.freshTimer = null;
    }
    for (const c of this.idle.splice(0)) this.retire(c);
    this.queue.close((w) =>
      w.onAcquireFailed(new GatewayError('FCGATE_SHUTTING_DOWN', this.name, 'the gateway is shutting down')),
    );
  }

  /** The gauges and totals now (a copy). */
  stats(): PoolStats {
    const s = this.counts;
    s.size = this.open;
    s.idle = this.idle.length;
    s.busy = this.busyCount;
    s.pending = this.queue.size;
    return { ...s };
  }

  private hand(w: Waiter, conn: UpstreamConnection): void {
    this.busyCount++;
    conn.onIdleLost = null;
    w.onAcquired(conn);
  }

  private connect(w: Waiter): void {
    this.open++;
    const worker = this.worker;
    openConnection(
      worker.address,
      worker.name,
      worker.connectTimeoutMs,
      (err, conn, timedOut) => {
        if (conn === null) {
          this.open--;
          this.budget.give();
          this.counts.failedConnects++;
          this.observer?.connected(this, false, timedOut);
          const code = timedOut ? 'FCGATE_CONNECT_TIMEOUT' : 'FCGATE_CONNECT_FAILED';
          if (!w.cancelled) w.onAcquireFailed(new GatewayError(code, this.name, err!.message));
          this.serveQueue();
          return;
        }
        this.counts.opened++;
        this.observer?.connected(this, true, false);
        conn.socket.once('close', () => this.onClosed());
        if (w.cancelled || this.closing) {
          this.busyCount++;
          this.release(conn, !this.closing);
          if (!w.cancelled)
            w.onAcquireFailed(new GatewayError('FCGATE_SHUTTING_DOWN', this.name, 'the gateway is shutting down'));
          return;
        }
        this.hand(w, conn);
      },
      true,
    );
  }

  private onClosed(): void {
    this.open--;
    this.budget.give();
    this.serveQueue();
  }

  /** A slot freed up: let the oldest waiter open a connection. */
  private serveQueue(): void {
    while (this.queue.size > 0) {
      const conn = this.takeIdle();
      if (conn !== null) {
        const w = this.queue.next();
        if (w === null) {
          conn.onIdleLost = this.onIdleLost;
          this.idle.push(conn);
          break;
        }
        this.counts.reused++;
        this.hand(w, conn);
        continue;
      }
      if (!this.budget.tryTake()) break;
      const w = this.queue.next();
      if (w === null) {
        this.budget.give();
        break;
      }
      this.connect(w);
    }
    this.queue.sync();
  }

  /** While connections sit idle here, wake up when requests start waiting anywhere. */
  private watchOthers(): void {
    if (this.watching || this.closing) return;
    this.watching = true;
    this.budget.watchWaiting(this.budget.waiting, () => {
      this.watching = false;
      if (this.closing || this.idle.length === 0) return;
      this.trimForOthers();
      if (this.idle.length > 0) this.watchOthers();
    });
  }

  /** Closes up to `waiting` idle connections (the least recently used) for other pools' requests. */
  private trimForOthers(): void {
    const want = this.queue.othersWaiting;
    if (want <= 0) return;
    for (const c of this.idle.splice(0, Math.min(want, this.idle.length))) this.retire(c);
  }

  private retire(conn: UpstreamConnection): void {
    conn.onIdleLost = null;
    conn.destroy(); // 'close' gives the slot back and serves the queue
  }

  private takeIdle(): UpstreamConnection | null {
    while (this.idle.length > 0) {
      const c = this.idle.pop()!;
      if (c.clean) return c;
      this.retire(c);
    }
    return null;
  }

  private dropIdle(conn: UpstreamConnection, detail: string): void {
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    this.retire(conn);
    // The app closing an idle connection is ordinary (its own idle timeout); bytes are not.
    if (!detail.startsWith('the application closed') && detail !== 'connection closed') {
      this.limits.log?.(`FCGATE_IDLE_LOST backend=${this.name} cause="${detail.replace(/"/g, "'")}"`);
    }
  }

  /** A queued request's `acquire` deadline passed (WaitQueue took it out). */
  private expired(w: Waiter): void {
    this.observer?.rejected(this, true);
    w.onAcquireFailed(
      new GatewayError(
        'FCGATE_BACKEND_OVERLOADED',
        this.name,
        `no connection free within acquire=${this.worker.acquireMs} ms (${this.busyCount} busy)`,
      ),
    );
  }

  /** Closes idle connections unused for `ttl`; the oldest sit at the bottom of the stack. */
  private sweepIdle(): void {
    const cutoff = Date.now() - this.worker.ttlMs;
    let n = 0;
    while (n < this.idle.length && this.idle[n]!.lastUsed <= cutoff) n++;
    if (n > 0) for (const c of this.idle.splice(0, n)) this.retire(c);
    this.trimForOthers();
  }
}
