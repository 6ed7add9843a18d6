// The part of every balancer member's state that must be the same in all serving
// threads at once: what an operator sets (disabled, draining, stopped, hot standby,
// ignore errors, load factor) and what the health checker decides. It lives in a small
// SharedArrayBuffer that each thread reads with Atomics.load on every pick; counters
// (requests, bytes, busy, errors seen) stay per thread and are summed for display.
//
// Layout (Int32 words):
//   [0] magic 0x46434742 ("FCGB"), [1] member count, [2] generation (bumped on each change)
//   then per member, in config order (balancers in the order declared, members in order):
//   [HEADER + 2i]     operator word: bits 0-7 Flag, bits 8-23 load factor × 100 (100..10000)
//   [HEADER + 2i + 1] health word:   0 = passing or unchecked, 1 = failing (Apache's 'C')
import type { GatewayConfig, WorkerSettings } from '../config/model.js';

export const Flag = {
  Disabled: 1,
  Stopped: 2,
  Drain: 4,
  Standby: 8,
  IgnoreErrors: 16,
} as const;

const MAGIC = 0x46434742;
const HEADER = 3;
const WORDS = 2;

/** Apache's status letters → flags (R, hot spare, counts as standby). */
export function flagsFromStatus(status: string): number {
  let f = 0;
  if (status.includes('D')) f |= Flag.Disabled;
  if (status.includes('S')) f |= Flag.Stopped;
  if (status.includes('N')) f |= Flag.Drain;
  if (status.includes('H') || status.includes('R')) f |= Flag.Standby;
  if (status.includes('I')) f |= Flag.IgnoreErrors;
  return f;
}

/** Flags as Apache's letters, in Apache's order (D S I H N). */
export function statusLetters(flags: number): string {
  return (
    (flags & Flag.Disabled ? 'D' : '')
    + (flags & Flag.Stopped ? 'S' : '')
    + (flags & Flag.IgnoreErrors ? 'I' : '')
    + (flags & Flag.Standby ? 'H' : '')
    + (flags & Flag.Drain ? 'N' : '')
  );
}

/** Every member's settings in slot order; a balancer's first slot is `firstSlot.get(name)`. */
export interface MemberLayout {
  workers: WorkerSettings[];
  firstSlot: Map<string, number>;
}

export function memberLayout(config: GatewayConfig): MemberLayout {
  const workers: WorkerSettings[] = [];
  const firstSlot = new Map<string, number>();
  for (const b of config.balancers.values()) {
    firstSlot.set(b.name, workers.length);
    for (const m of b.members) workers.push(m.worker);
  }
  return { workers, firstSlot };
}

export class BalancerBoard {
  readonly buffer: SharedArrayBuffer;
  readonly size: number;
  private readonly words: Int32Array;

  /** Bytes a board for `members` members takes. */
  static bytesFor(members: number): number {
    return (HEADER + WORDS * members) * 4;
  }

  /**
   * A board for the configuration's members: a fresh one set from the config's
   * `status` and `loadfactor`, or `buffer` as another thread created it (checked).
   */
  constructor(config: GatewayConfig, buffer?: SharedArrayBuffer) {
    const layout = memberLayout(config);
    this.size = layout.workers.length;
    if (buffer === undefined) {
      this.buffer = new SharedArrayBuffer(BalancerBoard.bytesFor(this.size));
      this.words = new Int32Array(this.buffer);
      this.words[0] = MAGIC;
      this.words[1] = this.size;
      layout.workers.forEach((w, i) => {
        this.words[HEADER + WORDS * i] = flagsFromStatus(w.status) | (Math.round(w.loadFactor * 100) << 8);
        this.words[HEADER + WORDS * i + 1] = w.status.includes('C') ? 1 : 0;
      });
    } else {
      this.buffer = buffer;
      this.words = new Int32Array(buffer);
      if (
        buffer.byteLength !== BalancerBoard.bytesFor(this.size)
        || this.words[0] !== MAGIC
        || this.words[1] !== this.size
      ) {
        throw new Error(`balancer state buffer does not match the configuration (${this.size} members)`);
      }
    }
  }

  /** The operator word of slot `i` (flags | lf100 << 8). */
  word(i: number): number {
    return Atomics.load(this.words, HEADER + WORDS * i);
  }
  flags(i: number): number {
    return this.word(i) & 0xff;
  }
  /** Load factor × 100, Apache's lbfactor (100 for loadfactor=1). */
  lbFactor(i: number): number {
    return (this.word(i) >>> 8) & 0xffff;
  }
  healthFailed(i: number): boolean {
    return Atomics.load(this.words, HEADER + WORDS * i + 1) !== 0;
  }
  get generation(): number {
    return Atomics.load(this.words, 2);
  }

  /** Sets and clears flags of slot `i` (compare-and-swap, so concurrent writers don't lose updates). */
  setFlags(i: number, set: number, clear: number): void {
    const at = HEADER + WORDS * i;
    for (;;) {
      const old = Atomics.load(this.words, at);
      const next = (old & ~clear) | set;
      if (Atomics.compareExchange(this.words, at, old, next) === old) break;
    }
    Atomics.add(this.words, 2, 1);
  }

  /** Sets the load factor (1..100, two decimals) of slot `i`. */
  setLoadFactor(i: number, loadFactor: number): void {
    const lf = Math.round(loadFactor * 100);
    if (!(lf >= 100 && lf <= 10000)) throw new RangeError(`loadfactor must be from 1 to 100, got ${loadFactor}`);
    const at = HEADER + WORDS * i;
    for (;;) {
      const old = Atomics.load(this.words, at);
      const next = (old & 0xff) | (lf << 8);
      if (Atomics.compareExchange(this.words, at, old, next) === old) break;
    }
    Atomics.add(this.words, 2, 1);
  }

  setHealthFailed(i: number, failed: boolean): void {
    const at = HEADER + WORDS * i + 1;
    if (Atomics.exchange(this.words, at, failed ? 1 : 0) !== (failed ? 1 : 0)) Atomics.add(this.words, 2, 1);
  }
}
