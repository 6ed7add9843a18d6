// The main thread's side of the load threads: Piscina hosts them (atomics 'disabled': an
// idle worker parked in Atomics.wait would freeze its sockets and timers, DESIGN §1), each
// run hands every thread its plan and a control port, starts them together once all are
// connected, gathers their per-second ticks into the run's timeline, and merges their
// results exactly (counters summed, HdrHistograms added). The main thread only coordinates.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import { addBuckets, addEncoded, newLatencyHistogram, type Histogram } from './histogram.js';
import { ERROR_KIND_NAMES } from './lane.js';
import {
  addCounts,
  emptyCounts,
  errorTotal,
  type Counts,
  type FromThread,
  type ThreadPlan,
  type ThreadResult,
  type ThreadTask,
  type TickMessage,
  type ToThread,
} from './messages.js';

const KINDS = ERROR_KIND_NAMES.length;
/** Time between "all threads ready" and the common start (the go message must arrive first). */
const START_DELAY_MS = 30;

/** One second of the measured window, all threads together. */
export interface SecondPoint {
  second: number;
  responses: number;
  errors: number;
  bytesIn: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
  /** This process's RSS when the second was complete (bytes); 0 when not sampled. */
  rssBytes: number;
}

/** Live figures after each complete second (for the progress line). */
export interface Progress {
  second: number;
  /** Responses and errors of that second, and of the window so far. */
  last: Counts;
  total: Counts;
  /** Latency of the window so far. */
  soFar: Histogram;
}

export interface RunHooks {
  /** The measured window opens (main thread clock): start sampling. */
  onMeasureStart?(): void;
  onSecond?(p: Progress): void;
  /** The run starts (after all threads connected): epoch ms of t0. */
  onStart?(startAt: number): void;
}

/** All threads' results of one run, merged. */
export interface MergedRun {
  /** Epoch ms. */
  startAt: number;
  measureStart: number;
  measureEnd: number;
  counts: Counts;
  warmup: Counts;
  status: Record<string, number>;
  firstErrors: string[];
  histogram: Histogram;
  timeline: SecondPoint[];
  stderrRequests: number;
  lagMaxUs: number;
  lagSumUs: number;
  lateBusy: number;
  sentOnSchedule: number;
  /** Connections open before the start, and those that failed then (keep-alive only). */
  preconnected: number;
  preconnectFailed: number;
}

interface PendingSecond {
  counts: Counts;
  hist: Histogram;
  seen: number;
}

export class LoadThreads {
  private readonly piscina: Piscina<ThreadTask, null>;
  private ports: MessagePort[] = [];

  constructor(readonly threads: number) {
    this.piscina = new Piscina<ThreadTask, null>({
      filename: new URL('./worker.js', import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      concurrentTasksPerWorker: 1,
      atomics: 'disabled',
      idleTimeout: Infinity,
    });
  }

  /** Asks every thread of the current run to stop starting requests (Ctrl-C). */
  stop(): void {
    for (const p of this.ports) p.postMessage({ type: 'stop' } satisfies ToThread);
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }

  /** Runs `plans` (one per thread, at most `threads`) to the end and merges the results. */
  async run(plans: ThreadPlan[], warmupMs: number, hooks: RunHooks = {}): Promise<MergedRun> {
    if (plans.length > this.threads)
      throw new Error(`LoadThreads.run: ${plans.length} plans for ${this.threads} threads`);
    const n = plans.length;
    const channels = plans.map(() => new MessageChannel());
    this.ports = channels.map((c) => c.port1);
    const results: Array<ThreadResult | null> = new Array<ThreadResult | null>(n).fill(null);
    const pending = new Map<number, PendingSecond>();
    const timeline: SecondPoint[] = [];
    const total = emptyCounts(KINDS);
    const soFar = newLatencyHistogram();
    let ready = 0;
    let preconnected = 0;
    let preconnectFailed = 0;
    let startAt = 0;
    let measureTimer: NodeJS.Timeout | null = null;

    // Per-second histograms are reset and reused: nothing is allocated per second.
    const spare: Histogram[] = [];
    const completeSecond = (second: number, p: PendingSecond): void => {
      pending.delete(second);
      const h = p.hist;
      const empty = h.totalCount === 0;
      timeline.push({
        second,
        responses: p.counts.responses,
        errors: errorTotal(p.counts),
        bytesIn: p.counts.bytesIn,
        p50Us: empty ? 0 : h.getValueAtPercentile(50),
        p90Us: empty ? 0 : h.getValueAtPercentile(90),
        p99Us: empty ? 0 : h.getValueAtPercentile(99),
        maxUs: empty ? 0 : h.maxValue,
        rssBytes: process.memoryUsage.rss(),
      });
      addCounts(total, p.counts);
      soFar.add(p.hist);
      hooks.onSecond?.({ second, last: p.counts, total, soFar });
      p.hist.reset();
      spare.push(p.hist);
    };
    const takeTick = (t: TickMessage, final: boolean): void => {
      let p = pending.get(t.second);
      if (p === undefined)
        pending.set(
          t.second,
          (p = { counts: emptyCounts(KINDS), hist: spare.pop() ?? newLatencyHistogram(), seen: 0 }),
        );
      addCounts(p.counts, t.counts);
      addBuckets(p.hist, t.buckets);
      p.seen++;
      if (!final && p.seen === n) completeSecond(t.second, p);
    };

    const allDone = new Promise<void>((resolve, reject) => {
      let done = 0;
      channels.forEach((ch, i) => {
        ch.port1.on('message', (m: FromThread) => {
          if (m.type === 'ready') {
            preconnected += m.connected;
            preconnectFailed += m.failed;
            if (++ready === n) {
              startAt = performance.timeOrigin + performance.now() + START_DELAY_MS;
              hooks.onStart?.(startAt);
              measureTimer = setTimeout(
                () => hooks.onMeasureStart?.(),
                Math.max(0, startAt + warmupMs - (performance.timeOrigin + performance.now())),
              );
              for (const c of channels) c.port1.postMessage({ type: 'go', startAt } satisfies ToThread);
            }
          } else if (m.type === 'tick') {
            takeTick(m, false);
          } else {
            results[i] = m.result;
            ch.port1.close();
            if (++done === n) resolve();
          }
        });
      });
      const tasks = plans.map((plan, i) =>
        this.piscina.run({ thread: i, plan, port: channels[i]!.port2 }, { transferList: [channels[i]!.port2] }),
      );
      Promise.all(tasks).catch((err: Error) => {
        for (const c of channels) c.port1.close();
        reject(err);
      });
    });
    try {
      await allDone;
    } finally {
      if (measureTimer !== null) clearTimeout(measureTimer);
      this.ports = [];
    }

    // The partial last second of each thread, and seconds some thread never ticked.
    for (const r of results) if (r!.lastTick !== null) takeTick(r!.lastTick, true);
    for (const second of [...pending.keys()].sort((a, b) => a - b)) completeSecond(second, pending.get(second)!);
    timeline.sort((a, b) => a.second - b.second);

    const merged: MergedRun = {
      startAt,
      measureStart: Infinity,
      measureEnd: 0,
      counts: emptyCounts(KINDS),
      warmup: emptyCounts(KINDS),
      status: {},
      firstErrors: new Array<string>(KINDS).fill(''),
      histogram: newLatencyHistogram(),
      timeline,
      stderrRequests: 0,
      lagMaxUs: 0,
      lagSumUs: 0,
      lateBusy: 0,
      sentOnSchedule: 0,
      preconnected,
      preconnectFailed,
    };
    for (const r of results as ThreadResult[]) {
      merged.measureStart = Math.min(merged.measureStart, r.measureStart);
      merged.measureEnd = Math.max(merged.measureEnd, r.measureEnd);
      addCounts(merged.counts, r.counts);
      addCounts(merged.warmup, r.warmup);
      for (const [s, c] of Object.entries(r.status)) merged.status[s] = (merged.status[s] ?? 0) + c;
      r.firstErrors.forEach((e, k) => {
        if (merged.firstErrors[k] === '' && e !== '') merged.firstErrors[k] = e;
      });
      addEncoded(merged.histogram, r.histogram);
      merged.stderrRequests += r.stderrRequests;
      merged.lagMaxUs = Math.max(merged.lagMaxUs, r.lagMaxUs);
      merged.lagSumUs += r.lagSumUs;
      merged.lateBusy += r.lateBusy;
      merged.sentOnSchedule += r.sentOnSchedule;
    }
    return merged;
  }
}
