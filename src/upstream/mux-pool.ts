// One multiplexing backend's connections in one serving thread (issue 15 §1): each
// connection carries up to `perConnection` requests at once (FCGI_MAX_REQS, the startup
// verdict in ConnectionBudget.muxRequests). A request goes to the oldest connection with
// room, so load packs onto few connections (their records share sends) and surplus ones
// idle out after `ttl`; then to a connection being opened, if it has room; then a new
// connection within the budget (shared with the other threads, one slot per connection);
// then the bounded FIFO queue with the `acquire` deadline (wait-queue.ts, shared with Pool).
//
//   conns (oldest first):  [A: 64/64]  [B: 17/64]  [C: 0/64, idle since t]
//   acquire → B (the first with room); C closes at t + ttl unless B fills up.
import type { WorkerSettings } from '../config/model.js';
import { GatewayError } from '../errors.js';
import type { ConnectionBudget } from './budget.js';
import { openSocket } from './connection.js';
import { MuxConnection, type MuxStream } from './mux-connection.js';
import type { ConnectionPool, FreshRequest, PoolLimits, PoolObserver, PoolStats, Waiter } from './pool.js';
import { WaitQueue } from './wait-queue.js';

/** FCGATE_MUX_HOLD's default, for pools made without the knob (tests). */
const MUX_HOLD_DEFAULT = 1024 * 1024;

/** A connection being opened, and the requests promised a place on it. */
interface Opening {
  waiters: Waiter[];
}

export class MuxPool implements ConnectionPool {
  /** Open connections, oldest first. */
  private readonly conns: MuxConnection[] = [];
  private readonly opening = new Set<Opening>();
  private readonly queue: WaitQueue;
  private busyCount = 0;
  private closing = false;
  private windingDown = false;
  /** A budget.watchWaiting call is armed for this pool. */
  private watching = false;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly counts: PoolStats = {
    size: 0,
    idle: 0,
    busy: 0,
    pending: 0,
    opened: 0,
    reused: 0,
    failedConnects: 0,
  };
  private readonly onFree = (conn: MuxConnection): void => this.freed(conn);
  private readonly onHeld = (conn: MuxConnection, held: number): void => {
    this.limits.log?.(
      `FCGATE_MUX_HELD backend=${this.name} requests=${conn.streams.size} held_bytes=${held} cause="a client reads slower than the app writes and FCGATE_MUX_HOLD=${this.limits.muxHold ?? MUX_HOLD_DEFAULT} bytes are held for it: the connection stops reading until it takes them (FastCGI has no flow control per request); its other requests wait, new ones go to other connections"`,
    );
  };

  constructor(
    readonly worker: WorkerSettings,
    private readonly budget: ConnectionBudget,
    private readonly limits: PoolLimits,
    /** Requests in flight per connection (> 0). */
    readonly perConnection: number,
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
    this.sweepTimer = setInterval(() => this.sweep(), every);
    this.sweepTimer.unref();
  }

  get name(): string {
    return this.worker.name;
  }
  /** Multiplexing needs FCGI_KEEP_CONN: always asked. */
  get keeps(): boolean {
    return true;
  }

  // A multiplexing app is not one worker per connection: a kept connection pins nothing,
  // and the reuse verdict (Pool's) does not apply.
  watchFresh(r: FreshRequest): void {
    void r;
  }
  unwatchFresh(r: FreshRequest): void {
    void r;
  }
  reuseAnswered(): void {
    /* see watchFresh */
  }
  reuseNeverAnswered(tag: string): void {
    void tag;
  }

  acquire(w: Waiter): void {
    if (this.closing) {
      w.onAcquireFailed(new GatewayError('FCGATE_SHUTTING_DOWN', this.name, 'the gateway is shutting down'));
      return;
    }
    w.cancelled = false;
    const conn = this.withRoom();
    if (conn !== null) {
      this.hand(w, conn);
      return;
    }
    for (const o of this.opening) {
      if (o.waiters.length < this.openingRoom()) {
        o.waiters.push(w);
        return;
      }
    }
    if (this.budget.tryTake()) {
      this.connect(w);
      return;
    }
    if (!this.queue.push(w)) {
      this.observer?.rejected(this, false);
      w.onAcquireFailed(
        new GatewayError(
          'FCGATE_QUEUE_FULL',
          this.name,
          `all ${this.budget.cap} connections carry ${this.perConnection} requests and ${this.queue.capacity} requests already waiting`,
        ),
      );
      return;
    }
  }

  /** The request is over: its id goes back to its connection (mux-connection.ts release). */
  release(stream: MuxStream, reusable: boolean): void {
    void reusable; // the connection judges itself (healthy): one request's end never closes it
    this.busyCount--;
    stream.conn.release(stream);
  }

  cancel(w: Waiter): void {
    if (w.cancelled) return;
    w.cancelled = true;
    this.queue.remove(w);
  }

  windDown(): void {
    this.windingDown = true;
    clearInterval(this.sweepTimer);
    for (const c of [...this.conns]) if (c.streams.size === 0) c.destroy();
  }

  close(): void {
    this.closing = true;
    clearInterval(this.sweepTimer);
    for (const c of [...this.conns]) if (c.streams.size === 0) c.destroy();
    this.queue.close((w) =>
      w.onAcquireFailed(new GatewayError('FCGATE_SHUTTING_DOWN', this.name, 'the gateway is shutting down')),
    );
  }

  stats(): PoolStats {
    const s = this.counts;
    let idle = 0;
    for (const c of this.conns) if (c.streams.size === 0) idle++;
    s.size = this.conns.length + this.opening.size;
    s.idle = idle;
    s.busy = this.busyCount;
    s.pending = this.queue.size;
    return { ...s };
  }

  /** The oldest connection with room for one more request. */
  private withRoom(): MuxConnection | null {
    for (let i = 0; i < this.conns.length; i++) {
      const c = this.conns[i]!;
      if (c.hasRoom && !this.wornOut(c)) return c;
    }
    return null;
  }

  private hand(w: Waiter, conn: MuxConnection): void {
    this.busyCount++;
    if (conn.served > 0 || conn.streams.size > 0) this.counts.reused++;
    w.onAcquired(conn.open());
  }

  private connect(first: Waiter): void {
    const o: Opening = { waiters: [first] };
    this.opening.add(o);
    const worker = this.worker;
    openSocket(
      worker.address,
      worker.connectTimeoutMs,
      (socket) =>
        new MuxConnection(socket, worker.name, this.perConnection, this.limits.muxHold ?? MUX_HOLD_DEFAULT, true),
      (err, conn, timedOut) => {
        this.opening.delete(o);
        if (conn === null) {
          this.budget.give();
          this.counts.failedConnects++;
          this.observer?.connected(this, false, timedOut);
          const code = timedOut ? 'FCGATE_CONNECT_TIMEOUT' : 'FCGATE_CONNECT_FAILED';
          for (const w of o.waiters)
            if (!w.cancelled) w.onAcquireFailed(new GatewayError(code, this.name, err!.message));
          this.serveQueue();
          return;
        }
        this.counts.opened++;
        this.observer?.connected(this, true, false);
        conn.onFree = this.onFree;
        conn.onHeld = this.onHeld;
        conn.socket.once('close', () => this.onClosed(conn));
        this.conns.push(conn);
        for (const w of o.waiters) {
          if (w.cancelled) continue;
          if (this.closing) {
            w.onAcquireFailed(new GatewayError('FCGATE_SHUTTING_DOWN', this.name, 'the gateway is shutting down'));
          } else if (conn.hasRoom && !this.wornOut(conn)) this.hand(w, conn);
          else this.acquire(w);
        }
        this.freed(conn);
      },
      true,
    );
  }

  /** An id came free on `conn` (or it broke): the queue first, then close it if it has no use. */
  private freed(conn: MuxConnection): void {
    if (conn.isClosed) return;
    while (this.queue.size > 0 && conn.hasRoom && !this.wornOut(conn)) {
      const w = this.queue.next();
      if (w === null) break;
      this.hand(w, conn);
    }
    this.queue.sync();
    if (conn.streams.size > 0) return;
    if (this.closing || this.windingDown || !conn.healthy) {
      this.retire(conn);
      return;
    }
    // Worn out (FCGATE_CONN_MAX_REQUESTS), or other threads' requests wait for a connection
    // slot: an idle connection here gives its slot up.
    if (this.wornOut(conn) || this.queue.othersWaiting > 0) this.retire(conn);
    else this.watchOthers();
  }

  /** While a connection sits idle here, wake up when requests start waiting in other threads (as Pool's). */
  private watchOthers(): void {
    if (this.watching || this.closing) return;
    this.watching = true;
    this.budget.watchWaiting(this.budget.waiting, () => {
      this.watching = false;
      if (this.closing) return;
      this.trimForOthers();
      if (this.conns.some((c) => c.streams.size === 0)) this.watchOthers();
    });
  }

  /** Closes up to as many idle connections as other pools have requests waiting. */
  private trimForOthers(): void {
    let want = this.queue.othersWaiting;
    for (const c of [...this.conns]) {
      if (want <= 0) return;
      if (c.streams.size > 0) continue;
      want--;
      this.retire(c);
    }
  }

  /** Requests a connection being opened may be promised: its room, within FCGATE_CONN_MAX_REQUESTS. */
  private openingRoom(): number {
    const cap = this.limits.maxRequestsPerConnection;
    return cap > 0 ? Math.min(cap, this.perConnection) : this.perConnection;
  }

  /** The connection took FCGATE_CONN_MAX_REQUESTS requests: no more go to it. */
  private wornOut(conn: MuxConnection): boolean {
    const cap = this.limits.maxRequestsPerConnection;
    return cap > 0 && conn.served + conn.streams.size >= cap;
  }

  private retire(conn: MuxConnection): void {
    if (conn.strayBytes > 0) {
      this.limits.log?.(
        `FCGATE_APP_AFTER_END backend=${this.name} stray_bytes=${conn.strayBytes} cause="records for requests already ended on a multiplexed connection: dropped, the connection took no new request and is closed"`,
      );
    }
    conn.destroy(); // 'close' gives the slot back (onClosed)
  }

  private onClosed(conn: MuxConnection): void {
    const i = this.conns.indexOf(conn);
    if (i >= 0) this.conns.splice(i, 1);
    this.budget.give();
    this.serveQueue();
  }

  /** Slots or room came free: queued requests first to connections with room, then new connections. */
  private serveQueue(): void {
    while (this.queue.size > 0 && !this.closing) {
      const conn = this.withRoom();
      if (conn !== null) {
        const w = this.queue.next();
        if (w === null) break;
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
      // Those behind it share the connection being opened, up to its room.
      const o = [...this.opening].at(-1)!;
      while (o.waiters.length < this.openingRoom() && this.queue.size > 0) {
        const next = this.queue.next();
        if (next === null) break;
        o.waiters.push(next);
      }
    }
    this.queue.sync();
  }

  /** A queued request's `acquire` deadline passed (WaitQueue took it out). */
  private expired(w: Waiter): void {
    this.observer?.rejected(this, true);
    w.onAcquireFailed(
      new GatewayError(
        'FCGATE_BACKEND_OVERLOADED',
        this.name,
        `no room on any connection within acquire=${this.worker.acquireMs} ms (${this.busyCount} requests in flight)`,
      ),
    );
  }

  /** Closes connections idle for `ttl`, and idle ones other threads' queued requests need the slot of. */
  private sweep(): void {
    const cutoff = Date.now() - this.worker.ttlMs;
    for (const c of [...this.conns]) if (c.streams.size === 0 && c.lastUsed <= cutoff) this.retire(c);
    this.trimForOthers();
  }
}
