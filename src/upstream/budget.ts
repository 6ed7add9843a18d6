// The connection cap of one backend over all serving threads together. A pool takes
// a slot before opening a connection and gives it back when the connection closes.
// LocalBudget serves one thread; SharedBudget counts in a SharedArrayBuffer so every
// thread's pool draws from the same `max` (the app's workers are the scarce thing:
// PHP-FPM serves one connection per worker process).

export interface ConnectionBudget {
  /** Takes a slot; false when the cap is reached. */
  tryTake(): boolean;
  /** Returns a slot taken earlier. */
  give(): void;
  readonly cap: number;
  readonly used: number;
}

export class LocalBudget implements ConnectionBudget {
  used = 0;
  constructor(readonly cap: number) {}
  tryTake(): boolean {
    if (this.used >= this.cap) return false;
    this.used++;
    return true;
  }
  give(): void { if (this.used > 0) this.used--; }
}

/** A slot counter in shared memory: one Int32 per backend, updated with Atomics. */
export class SharedBudget implements ConnectionBudget {
  private readonly cell: Int32Array;
  constructor(buffer: SharedArrayBuffer, index: number, readonly cap: number) {
    this.cell = new Int32Array(buffer, index * 4, 1);
  }
  get used(): number { return Atomics.load(this.cell, 0); }
  tryTake(): boolean {
    for (;;) {
      const now = Atomics.load(this.cell, 0);
      if (now >= this.cap) return false;
      if (Atomics.compareExchange(this.cell, 0, now, now + 1) === now) return true;
    }
  }
  give(): void {
    for (;;) {
      const now = Atomics.load(this.cell, 0);
      if (now <= 0) return;
      if (Atomics.compareExchange(this.cell, 0, now, now - 1) === now) return;
    }
  }
}
