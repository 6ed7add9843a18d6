// The last minute, for /server-status: once a second, each thread's request count and its
// request-duration histogram (all routes together) are copied out of the slabs; the
// difference between now and a minute ago gives requests per second and latency
// percentiles over that minute, per thread and in all. Runs only while an admin listener
// is up (a few microseconds a second).
import {
  HISTOGRAM_CELLS,
  histogramDelta,
  nativeQuantile,
  readHistogram,
  type HistogramValue,
} from '../metrics/histogram.js';
import { Header } from '../metrics/layout.js';
import type { Telemetry } from './telemetry.js';

interface Sample {
  at: number;
  /** Per slot: requests served and the summed duration histogram. */
  threads: Array<{ served: number; hist: HistogramValue } | null>;
  bytesOut: number;
}

export interface Window {
  seconds: number;
  requests: number;
  perSecond: number;
  bytesPerSecond: number;
  /** Seconds; NaN when nothing was answered. */
  p50: number;
  p90: number;
  p99: number;
  threads: Array<{ slot: number; perSecond: number; p50: number; p99: number }>;
}

const KEEP = 61;

export class StatusWindow {
  private readonly ring: Sample[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly t: Telemetry) {}

  start(): void {
    if (this.timer !== null) return;
    this.take();
    this.timer = setInterval(() => this.take(), 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Copies the counters now into the ring. */
  take(now = Date.now()): void {
    this.ring.push(this.sample(now));
    if (this.ring.length > KEEP) this.ring.shift();
  }

  private sample(now: number): Sample {
    const L = this.t.layout;
    const slots = this.t.options.slots;
    const threads: Sample['threads'] = [];
    let bytesOut = 0;
    const sum = new Float64Array(HISTOGRAM_CELLS);
    for (let s = 0; s < slots; s++) {
      const c = this.t.slotCells(s);
      if (c === null) {
        threads.push(null);
        continue;
      }
      sum.fill(0);
      for (let r = 0; r < L.cap.routes; r++) {
        const at = L.durationAt(r);
        for (let i = 0; i < HISTOGRAM_CELLS; i++) sum[i] += c[at + i]!;
        bytesOut += c[L.bytesOut + r]!;
      }
      threads.push({ served: c[Header.Served]!, hist: readHistogram(sum, 0) });
    }
    return { at: now, threads, bytesOut };
  }

  /**
   * The last minute (or since the start, when younger): rates and percentiles, up to this
   * moment — the counters are read now, so a page shows requests answered a moment ago.
   */
  minute(now = Date.now()): Window {
    const first = this.ring[0];
    const last = first === undefined ? undefined : this.sample(now);
    const empty: Window = {
      seconds: 0,
      requests: 0,
      perSecond: 0,
      bytesPerSecond: 0,
      p50: NaN,
      p90: NaN,
      p99: NaN,
      threads: [],
    };
    if (last === undefined || first === undefined) return empty;
    const seconds = Math.max(1, (last.at - first.at) / 1000);
    let requests = 0;
    let all: HistogramValue | null = null;
    const threads: Window['threads'] = [];
    last.threads.forEach((now, slot) => {
      if (now === null) return;
      const then = first.threads[slot] ?? null;
      // A slab a new thread took over keeps counting: differences stay valid.
      const d = histogramDelta(now.hist, then === null ? null : then.hist);
      const served = now.served - (then?.served ?? 0);
      requests += served;
      all = all === null ? d : mergeHistograms(all, d);
      threads.push({ slot, perSecond: served / seconds, p50: nativeQuantile(d, 0.5), p99: nativeQuantile(d, 0.99) });
    });
    const h = all as HistogramValue | null;
    return {
      seconds,
      requests,
      perSecond: requests / seconds,
      bytesPerSecond: (last.bytesOut - first.bytesOut) / seconds,
      p50: h === null ? NaN : nativeQuantile(h, 0.5),
      p90: h === null ? NaN : nativeQuantile(h, 0.9),
      p99: h === null ? NaN : nativeQuantile(h, 0.99),
      threads,
    };
  }
}

function mergeHistograms(a: HistogramValue, b: HistogramValue): HistogramValue {
  const m = new Map(a.native);
  for (const [i, c] of b.native) m.set(i, (m.get(i) ?? 0) + c);
  return {
    count: a.count + b.count,
    sum: a.sum + b.sum,
    zeroCount: a.zeroCount + b.zeroCount,
    native: [...m].sort((x, y) => x[0] - y[0]),
    classic: a.classic.map((c, k) => c + (b.classic[k] ?? 0)),
  };
}
