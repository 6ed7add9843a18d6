// The connection cap of one backend over all serving threads together. A pool takes
// a slot before opening a connection and gives it back when the connection closes.
// LocalBudget serves one thread; SharedBudget counts in a SharedArrayBuffer so every
// thread's pool draws from the same `max` (the app's workers are the scarce thing:
// PHP-FPM serves one connection per worker process).
// Beside the slots, a budget counts the requests queued for the backend in every thread
// (`waiting`): a pool never parks a connection idle while another thread's requests wait
// for a slot, and a pool holding idle connections is woken (watchWaiting) to close them.
// Pools use these; who allocates the shared memory is src/threads/budget-table.ts.

export interface ConnectionBudget {
  /** Takes a slot; false when the cap is reached. */
  tryTake(): boolean;
  /** Returns a slot taken earlier. */
  give(): void;
  readonly cap: number;
  readonly used: number;
  /** Requests of every pool on this budget queued for a connection (approximate). */
  readonly waiting: number;
  /** Adds `delta` (either sign) to `waiting`; growth wakes the watchers. */
  addWaiting(delta: number): void;
  /**
   * Calls `cb` once, soon after `waiting` grows past `seen` (at once if it already
   * differs). One call per arming; a pool arms again if it still cares.
   */
  watchWaiting(seen: number, cb: () => void): void;
  /**
   * Connections to this backend are not kept, whatever `enablereuse` says by default: it did
   * not answer FCGI_GET_VALUES at startup (fcgiwrap and plain libfcgi apps serve one
   * connection at a time), or a kept connection never answered its next request (issue 8 §4).
   * One verdict for all threads.
   */
  readonly reuseOff: boolean;
  /** Sets reuseOff; true for the one caller that changed it (who logs it, once). */
  turnReuseOff(): boolean;
  /** A request on a reused connection was answered: the app takes kept connections. */
  readonly reuseVerified: boolean;
  markReuseVerified(): void;
  /**
   * Requests in flight allowed on one connection when this backend multiplexes (issue 15 §1):
   * 0 = it does not (the worker's `multiplex` key and the startup FCGI_GET_VALUES decide,
   * multiplexRequests in cli/serve.ts). One verdict for all threads.
   */
  readonly muxRequests: number;
  setMuxRequests(n: number): void;
}

/** Largest muxRequests a budget holds (it shares the flags cell: bits 8–30). */
export const MUX_REQUESTS_MAX = (1 << 23) - 1;

/** Bits of a budget's flags. */
const REUSE_OFF = 1;
const REUSE_VERIFIED = 2;

export class LocalBudget implements ConnectionBudget {
  used = 0;
  constructor(readonly cap: number) {}
  tryTake(): boolean {
    if (this.used >= this.cap) return false;
    this.used++;
    return true;
  }
  give(): void {
    if (this.used > 0) this.used--;
  }

  waiting = 0;
  private watchers: Array<() => void> = [];
  addWaiting(delta: number): void {
    this.waiting = Math.max(0, this.waiting + delta);
    if (delta > 0 && this.watchers.length > 0) {
      const due = this.watchers;
      this.watchers = [];
      queueMicrotask(() => {
        for (const cb of due) cb();
      });
    }
  }
  watchWaiting(seen: number, cb: () => void): void {
    if (this.waiting !== seen) queueMicrotask(cb);
    else this.watchers.push(cb);
  }

  private flags = 0;
  get reuseOff(): boolean {
    return (this.flags & REUSE_OFF) !== 0;
  }
  turnReuseOff(): boolean {
    if (this.reuseOff) return false;
    this.flags |= REUSE_OFF;
    return true;
  }
  get reuseVerified(): boolean {
    return (this.flags & REUSE_VERIFIED) !== 0;
  }
  markReuseVerified(): void {
    this.flags |= REUSE_VERIFIED;
  }
  muxRequests = 0;
  setMuxRequests(n: number): void {
    this.muxRequests = Math.max(0, Math.min(n, MUX_REQUESTS_MAX));
  }
}

/** Int32 cells per backend: `used`, `waiting`, flags, then `used` and `waiting` of each thread's own share. */
const cellsPer = (threads: number): number => 3 + 2 * threads;
const FLAGS = 2;

/** Atomics.waitAsync (ES2024; Node 16+): declared here because lib is ES2022. */
type WaitAsync = (a: Int32Array, i: number, v: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;

/**
 * Slot and waiting counters in shared memory, updated with Atomics. Layout of a table for
 * B backends and T threads: backend i owns cells [i*(3+2T), (i+1)*(3+2T)): `used`,
 * `waiting` (all threads), the flags (reuse off / verified), then `used`, `waiting` of
 * thread 0, 1, … (written only by that thread), so the share of a thread that died can be
 * given back (reclaim).
 */
export class SharedBudget implements ConnectionBudget {
  private readonly cells: Int32Array;
  /** Index of this thread's `used` cell in `cells`. */
  private readonly own: number;

  /** Bytes of a table for `backends` backends and `threads` threads. */
  static bytes(backends: number, threads: number): number {
    return backends * cellsPer(threads) * 4;
  }

  /**
   * Gives back what thread `thread` held (its connections died with it): subtracts its share
   * from the totals and zeroes it. Call only when that thread runs no more.
   */
  static reclaim(buffer: SharedArrayBuffer, index: number, thread: number, threads: number): void {
    const cells = new Int32Array(buffer, index * cellsPer(threads) * 4, cellsPer(threads));
    const own = 3 + 2 * thread;
    for (let k = 0; k < 2; k++) {
      const share = Atomics.exchange(cells, own + k, 0);
      if (share !== 0) Atomics.sub(cells, k, share);
      if (Atomics.load(cells, k) < 0) Atomics.store(cells, k, 0);
    }
  }

  constructor(
    buffer: SharedArrayBuffer,
    index: number,
    readonly cap: number,
    thread = 0,
    threads = 1,
  ) {
    if (thread < 0 || thread >= threads) throw new RangeError(`SharedBudget thread ${thread} of ${threads}`);
    this.cells = new Int32Array(buffer, index * cellsPer(threads) * 4, cellsPer(threads));
    this.own = 3 + 2 * thread;
  }

  get used(): number {
    return Atomics.load(this.cells, 0);
  }
  tryTake(): boolean {
    const c = this.cells;
    for (;;) {
      const now = Atomics.load(c, 0);
      if (now >= this.cap) return false;
      if (Atomics.compareExchange(c, 0, now, now + 1) === now) {
        Atomics.add(c, this.own, 1);
        return true;
      }
    }
  }
  give(): void {
    const c = this.cells;
    for (;;) {
      const now = Atomics.load(c, 0);
      if (now <= 0) return;
      if (Atomics.compareExchange(c, 0, now, now - 1) === now) {
        Atomics.sub(c, this.own, 1);
        return;
      }
    }
  }

  get waiting(): number {
    return Math.max(0, Atomics.load(this.cells, 1));
  }
  addWaiting(delta: number): void {
    if (delta === 0) return;
    Atomics.add(this.cells, 1, delta);
    Atomics.add(this.cells, this.own + 1, delta);
    if (delta > 0) Atomics.notify(this.cells, 1);
  }
  watchWaiting(seen: number, cb: () => void): void {
    if (waitAsync === undefined) return; // no waking: the pool's sweep still trims
    const r = waitAsync(this.cells, 1, seen);
    if (typeof r.value === 'string')
      queueMicrotask(cb); // 'not-equal': changed already
    else void r.value.then(cb);
  }

  get reuseOff(): boolean {
    return (Atomics.load(this.cells, FLAGS) & REUSE_OFF) !== 0;
  }
  turnReuseOff(): boolean {
    return (Atomics.or(this.cells, FLAGS, REUSE_OFF) & REUSE_OFF) === 0;
  }
  get reuseVerified(): boolean {
    return (Atomics.load(this.cells, FLAGS) & REUSE_VERIFIED) !== 0;
  }
  markReuseVerified(): void {
    Atomics.or(this.cells, FLAGS, REUSE_VERIFIED);
  }
  get muxRequests(): number {
    return Atomics.load(this.cells, FLAGS) >>> 8;
  }
  setMuxRequests(n: number): void {
    const bits = Math.max(0, Math.min(n, MUX_REQUESTS_MAX)) << 8;
    for (;;) {
      const now = Atomics.load(this.cells, FLAGS);
      if (Atomics.compareExchange(this.cells, FLAGS, now, (now & 0xff) | bits) === now) return;
    }
  }
}
