// The requests of one pool that wait for a connection (Pool) or for room on one (MuxPool):
// a bounded FIFO, one timer for the `acquire` deadline of all of them (FIFO order makes the
// head the first to expire), and the cross-thread part: the queue's length published in the
// budget's `waiting`, and a poll of the budget while it is not empty (a slot another thread
// gives back wakes nobody here). Cancelled waiters are skipped, never handed anything.
import type { ConnectionBudget } from './budget.js';
import type { Waiter } from './pool.js';
import { RingQueue } from './ring-queue.js';

/** How often a pool with queued requests looks for a slot freed by another thread. */
const BUDGET_POLL_MS = 5;

export class WaitQueue {
  private readonly queue: RingQueue<Waiter>;
  /** Entries counted in budget.waiting. */
  private reported = 0;
  private pollTimer: NodeJS.Timeout | null = null;
  private deadlineTimer: NodeJS.Timeout | null = null;
  private closed = false;

  /**
   * `poll`: the pool looks for a slot (every BUDGET_POLL_MS while requests wait);
   * `expired`: a waiter whose deadline passed, taken out of the queue (the pool answers it).
   */
  constructor(
    capacity: number,
    private readonly budget: ConnectionBudget,
    private readonly acquireMs: number,
    private readonly poll: () => void,
    private readonly expired: (w: Waiter) => void,
  ) {
    this.queue = new RingQueue<Waiter>(capacity);
  }

  get size(): number {
    return this.queue.size;
  }
  get capacity(): number {
    return this.queue.capacity;
  }
  /** Requests waiting in the other pools (threads) of this backend. */
  get othersWaiting(): number {
    return this.budget.waiting - this.reported;
  }

  /** Queues `w` from now on; false when the queue is full (nothing changed). */
  push(w: Waiter): boolean {
    w.queuedAt = Date.now();
    if (!this.queue.push(w)) return false;
    this.sync();
    this.armDeadline();
    return true;
  }

  /** The oldest waiter not cancelled, taken out; null when none. Call sync() after. */
  next(): Waiter | null {
    for (let w = this.queue.shift(); w !== undefined; w = this.queue.shift()) {
      if (!w.cancelled) return w;
    }
    return null;
  }

  /** Takes `w` out (its client went away). */
  remove(w: Waiter): void {
    if (this.queue.remove(w)) this.sync();
  }

  /** Stops the timers; every waiter not cancelled is handed to `fail`. */
  close(fail: (w: Waiter) => void): void {
    this.closed = true;
    if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer);
    for (let w = this.next(); w !== null; w = this.next()) fail(w);
    this.sync();
  }

  /** Publishes the queue's length in budget.waiting; polls while it is not empty. */
  sync(): void {
    const n = this.queue.size;
    if (n !== this.reported) {
      this.budget.addWaiting(n - this.reported);
      this.reported = n;
    }
    if (n > 0 && !this.closed) {
      if (this.pollTimer === null) this.pollTimer = setInterval(this.poll, BUDGET_POLL_MS);
    } else if (this.pollTimer !== null) {
      clearInterval(this.pollTimer);
      this.pollTimer = null;
    }
  }

  private armDeadline(): void {
    if (this.deadlineTimer !== null) return;
    const head = this.queue.peek();
    if (head === undefined) return;
    const wait = Math.max(0, head.queuedAt + this.acquireMs - Date.now());
    this.deadlineTimer = setTimeout(() => this.expire(), wait);
  }

  private expire(): void {
    this.deadlineTimer = null;
    const now = Date.now();
    for (let w = this.queue.peek(); w !== undefined; w = this.queue.peek()) {
      if (!w.cancelled && now - w.queuedAt < this.acquireMs) break;
      this.queue.shift();
      if (!w.cancelled) this.expired(w);
    }
    this.sync();
    this.armDeadline();
  }
}
