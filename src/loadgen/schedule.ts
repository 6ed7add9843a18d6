// The open-loop schedule (--rate): when request number g of the whole run is meant to be
// sent, counted in seconds from the start of the warm-up. A constant rate R, or a ramp
// R1:R2:DUR (linear from R1 to R2 over DUR, then R2); the warm-up runs at R1 before it.
//
// Requests are spread evenly: N(t) = requests due by time t, and request g is due at
// N⁻¹(g). During the ramp N(t) = R1·t + (R2−R1)·t²/(2·DUR), whose inverse is taken in the
// form that stays exact when R1 = R2:  t = 2g / (R1 + sqrt(R1² + 2g(R2−R1)/DUR)).
//
//   --rate 1000:3000:2s   g:    0     1000   2000   4000   (the ramp ends at g = 4000)
//                         t/s:  0     0.73   1.24   2      then 1/3000 s apart
//
// Which lane sends g, and measuring from the due time, is the load thread's business.
import { parseDuration } from './units.js';

export interface RateSpec {
  /** Requests/s at the start (and during the warm-up). */
  from: number;
  /** Requests/s at the end of the ramp (= from for a constant rate). */
  to: number;
  /** Length of the ramp in ms (0 for a constant rate). */
  rampMs: number;
}

/** Parses `R` or `R1:R2:DUR`; throws a RangeError saying what is expected. */
export function parseRate(text: string): RateSpec {
  const parts = text.split(':');
  const rate = (s: string, allowZero: boolean): number => {
    const n = Number(s);
    if (s.trim() === '' || !Number.isFinite(n) || n < 0 || (!allowZero && n === 0) || n > 10_000_000) {
      throw new RangeError(`--rate: "${s}" is not a rate in requests/s (${allowZero ? '0' : '> 0'} .. 10000000)`);
    }
    return n;
  };
  if (parts.length === 1) {
    const r = rate(parts[0]!, false);
    return { from: r, to: r, rampMs: 0 };
  }
  if (parts.length !== 3)
    throw new RangeError(`--rate: "${text}" is neither R nor R1:R2:DURATION (e.g. 1000:10000:30s)`);
  const rampMs = parseDuration(parts[2]!, '--rate ramp');
  if (rampMs <= 0) throw new RangeError('--rate: the ramp needs a duration > 0');
  return { from: rate(parts[0]!, true), to: rate(parts[1]!, false), rampMs };
}

export class Schedule {
  /** Requests due during the warm-up (they run at `from`). */
  readonly warmupRequests: number;
  private readonly rampS: number;
  private readonly rampRequests: number;
  private readonly slope: number;

  constructor(
    readonly rate: RateSpec,
    readonly warmupMs: number,
  ) {
    this.warmupRequests = Math.ceil((rate.from * warmupMs) / 1000);
    this.rampS = rate.rampMs / 1000;
    this.rampRequests = ((rate.from + rate.to) * this.rampS) / 2;
    this.slope = this.rampS > 0 ? (rate.to - rate.from) / this.rampS : 0;
  }

  /** Due time of request g in ms from the start of the warm-up. */
  dueMs(g: number): number {
    const w = this.warmupRequests;
    if (g < w) return (g * 1000) / this.rate.from;
    const m = g - w;
    let t: number;
    if (m <= this.rampRequests && this.rampS > 0) {
      const r0 = this.rate.from;
      t = m === 0 ? 0 : (2 * m) / (r0 + Math.sqrt(Math.max(0, r0 * r0 + 2 * m * this.slope)));
    } else {
      t = this.rampS + (m - this.rampRequests) / this.rate.to;
    }
    return this.warmupMs + t * 1000;
  }

  /** The rate asked for at `ms` after the measured window opened. */
  rateAt(ms: number): number {
    const t = ms / 1000;
    if (this.rampS === 0 || t >= this.rampS) return this.rate.to;
    return this.rate.from + this.slope * Math.max(0, t);
  }

  /** Requests due in the first `ms` of the measured window. */
  requestsIn(ms: number): number {
    const t = ms / 1000;
    if (t <= this.rampS) return this.rate.from * t + (this.slope * t * t) / 2;
    return this.rampRequests + (t - this.rampS) * this.rate.to;
  }
}
