// The connection caps shared by all serving threads: main assigns each backend (worker
// name) a cell in a SharedArrayBuffer; every thread builds SharedBudgets over the same
// cells. On reload, names already known keep their cells (old and new pools of one backend
// count against one cap); new names get cells in a new table. When a thread dies, its
// share (the connections it held) is given back before a replacement takes its slot.
// The counting itself is SharedBudget (src/upstream/budget.ts).
import { SharedBudget, type ConnectionBudget } from '../upstream/budget.js';
import type { BudgetEntry, BudgetSpec } from './messages.js';

export interface BudgetUsage {
  cap: number;
  used: number;
  waiting: number;
}

/** Main thread side: owns the tables. */
export class BudgetTable {
  private readonly entries = new Map<string, BudgetEntry>();
  private readonly tables: SharedArrayBuffer[] = [];

  constructor(readonly threads: number) {}

  /** The cap already assigned to `name`, if any. */
  capOf(name: string): number | undefined {
    return this.entries.get(name)?.cap;
  }

  /**
   * Sets the caps: a known name keeps its cell (its cap may change), new names get cells in
   * one new table. Returns the spec to hand to threads.
   */
  assign(caps: Map<string, number>): BudgetSpec {
    const fresh: string[] = [];
    for (const [name, cap] of caps) {
      const e = this.entries.get(name);
      if (e !== undefined) e.cap = cap;
      else fresh.push(name);
    }
    if (fresh.length > 0) {
      const table = this.tables.length;
      this.tables.push(new SharedArrayBuffer(SharedBudget.bytes(fresh.length, this.threads)));
      for (const [index, name] of fresh.entries()) this.entries.set(name, { name, cap: caps.get(name)!, table, index });
    }
    return this.spec();
  }

  spec(): BudgetSpec {
    return {
      threads: this.threads,
      tables: [...this.tables],
      entries: [...this.entries.values()].map((e) => ({ ...e })),
    };
  }

  /** Turns reuse off for `name` in every thread (see ConnectionBudget.reuseOff). */
  turnReuseOff(name: string): void {
    const e = this.entries.get(name);
    if (e !== undefined) new SharedBudget(this.tables[e.table]!, e.index, e.cap, 0, this.threads).turnReuseOff();
  }

  /** Sets requests per connection for `name` in every thread, 0 = no multiplexing (ConnectionBudget.muxRequests). */
  setMuxRequests(name: string, n: number): void {
    const e = this.entries.get(name);
    if (e !== undefined) new SharedBudget(this.tables[e.table]!, e.index, e.cap, 0, this.threads).setMuxRequests(n);
  }

  /** Gives back everything thread `slot` held; call only while no thread runs in that slot. */
  reclaim(slot: number): void {
    for (const e of this.entries.values()) SharedBudget.reclaim(this.tables[e.table]!, e.index, slot, this.threads);
  }

  /** Current totals per backend (for the metrics). */
  usage(): Record<string, BudgetUsage> {
    const out: Record<string, BudgetUsage> = {};
    for (const e of this.entries.values()) {
      const b = new SharedBudget(this.tables[e.table]!, e.index, e.cap, 0, this.threads);
      out[e.name] = { cap: e.cap, used: b.used, waiting: b.waiting };
    }
    return out;
  }
}

/** Thread side: the budgets of thread `slot`, by worker name. */
export function budgetsForThread(spec: BudgetSpec, slot: number): Map<string, ConnectionBudget> {
  const out = new Map<string, ConnectionBudget>();
  for (const e of spec.entries) {
    out.set(e.name, new SharedBudget(spec.tables[e.table]!, e.index, e.cap, slot, spec.threads));
  }
  return out;
}
