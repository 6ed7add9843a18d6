// Where each counter, gauge and histogram sits in a serving thread's slab: a
// SharedArrayBuffer of Float64 cells that only that thread writes (plain stores, no
// Atomics: one writer, and an aligned 8-byte store is not torn on the platforms Node
// runs on) and the main thread sums at scrape time. Labels are indices into registries
// that only grow (routes, backends, balancer members), so the same index means the same
// series in every thread and in every older slab; capacities fix a slab's size, and a
// configuration that outgrows them gets a new, larger slab generation (see observe/).
//
// Regions, in order (R routes, B backends, M members, E error codes):
//   header    HEADER_CELLS                     thread gauges (heartbeat, in flight, lag, heap, …)
//   requests  R × STATUS_SLOTS                 by route and status 100..599
//   bytesIn   R, bytesOut R
//   duration  R × HISTOGRAM_CELLS
//   ttfb      B × HISTOGRAM_CELLS              time to the app's first byte
//   wait      B × HISTOGRAM_CELLS              time to get a backend connection
//   connects  B, connectFail B × 2 (failed, timeout), rejected B × 2 (queue full, acquire timeout)
//   pool      B × POOL_GAUGES                  idle, busy, open, queued (gauges)
//   errors    E × (B + 1)                      by FCGATE_* code and backend (0 = none)
//   picks     M, memberErrorUntil M (gauge)
import { statusFor, type ErrorCode } from '../errors.js';
import { HISTOGRAM_CELLS } from './histogram.js';

export const Header = {
  Heartbeat: 0,
  StartedAt: 1,
  InFlight: 2,
  ConnectionsOpen: 3,
  LagP99: 4,
  LagMax: 5,
  HeapUsed: 6,
  HeapTotal: 7,
  Served: 8,
} as const;
/** Header cells 0..HEADER_GAUGES-1 are gauges (zeroed when a thread takes a slab over); the rest are counters. */
const HEADER_GAUGES = 8;
export const HEADER_CELLS = 16;

/**
 * Status codes 100..599 each have a cell; anything else is counted as 599+1 = "other"
 * (never happens: statuses are checked).
 */
export const STATUS_MIN = 100;
export const STATUS_SLOTS = 500;

export const PoolGauge = { Idle: 0, Busy: 1, Open: 2, Queued: 3 } as const;
export const POOL_GAUGES = 4;

export const ERROR_CODES = Object.keys(statusFor) as ErrorCode[];
export const ERROR_INDEX: ReadonlyMap<string, number> = new Map(ERROR_CODES.map((c, i) => [c, i]));

export interface Capacity {
  routes: number;
  backends: number;
  members: number;
}

export class SlabLayout {
  readonly requests: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly duration: number;
  readonly ttfb: number;
  readonly wait: number;
  readonly connects: number;
  readonly connectFail: number;
  readonly rejected: number;
  readonly pool: number;
  readonly errors: number;
  readonly picks: number;
  readonly memberErrorUntil: number;
  /** Cells in all. */
  readonly size: number;
  /** [start, end) ranges of gauge cells. */
  readonly gaugeRanges: ReadonlyArray<readonly [number, number]>;

  constructor(readonly cap: Capacity) {
    const { routes: R, backends: B, members: M } = cap;
    let at = HEADER_CELLS;
    const take = (n: number): number => {
      const s = at;
      at += n;
      return s;
    };
    this.requests = take(R * STATUS_SLOTS);
    this.bytesIn = take(R);
    this.bytesOut = take(R);
    this.duration = take(R * HISTOGRAM_CELLS);
    this.ttfb = take(B * HISTOGRAM_CELLS);
    this.wait = take(B * HISTOGRAM_CELLS);
    this.connects = take(B);
    this.connectFail = take(B * 2);
    this.rejected = take(B * 2);
    this.pool = take(B * POOL_GAUGES);
    this.errors = take(ERROR_CODES.length * (B + 1));
    this.picks = take(M);
    this.memberErrorUntil = take(M);
    this.size = at;
    this.gaugeRanges = [
      [0, HEADER_GAUGES],
      [this.pool, this.pool + B * POOL_GAUGES],
      [this.memberErrorUntil, this.memberErrorUntil + M],
    ];
  }

  get bytes(): number {
    return this.size * 8;
  }

  requestCell(route: number, status: number): number {
    const s = status >= STATUS_MIN && status < STATUS_MIN + STATUS_SLOTS ? status - STATUS_MIN : STATUS_SLOTS - 1;
    return this.requests + route * STATUS_SLOTS + s;
  }
  durationAt(route: number): number {
    return this.duration + route * HISTOGRAM_CELLS;
  }
  ttfbAt(backend: number): number {
    return this.ttfb + backend * HISTOGRAM_CELLS;
  }
  waitAt(backend: number): number {
    return this.wait + backend * HISTOGRAM_CELLS;
  }
  poolCell(backend: number, gauge: number): number {
    return this.pool + backend * POOL_GAUGES + gauge;
  }
  /** `backend` -1 = no backend. */
  errorCell(code: number, backend: number): number {
    return this.errors + code * (this.cap.backends + 1) + backend + 1;
  }

  /** Zeroes the gauges of `cells` (a thread starting on a slab its predecessor left, or leaving one). */
  clearGauges(cells: Float64Array): void {
    for (const [a, b] of this.gaugeRanges) cells.fill(0, a, b);
  }
}

/** Labels of one kind (routes, backends, members): indices that only grow, never reused. */
export class LabelRegistry {
  readonly names: string[] = [];
  private readonly index = new Map<string, number>();

  constructor(initial: readonly string[] = []) {
    for (const n of initial) this.add(n);
  }

  add(name: string): number {
    let i = this.index.get(name);
    if (i === undefined) {
      i = this.names.length;
      this.names.push(name);
      this.index.set(name, i);
    }
    return i;
  }

  get(name: string): number | undefined {
    return this.index.get(name);
  }
  get size(): number {
    return this.names.length;
  }
}

/** Capacity for `need` labels of each kind, with room to grow before a new slab generation. */
export function capacityFor(need: Capacity): Capacity {
  const room = (n: number): number => Math.max(8, n * 2);
  return { routes: room(need.routes), backends: room(need.backends), members: room(need.members) };
}

export const fits = (need: Capacity, cap: Capacity): boolean =>
  need.routes <= cap.routes && need.backends <= cap.backends && need.members <= cap.members;
