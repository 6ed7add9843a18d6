// One load thread's run: its connections and lanes, the closed or open loop that drives
// them, its latency histograms and counters, the per-second ticks to the main thread, and
// the result at the end. Connections do the bytes (http-connection.ts, fcgi-connection.ts).
//
// Timeline (thread clock, ms): t0 ── warm-up ── measureStart ── window ── windowEnd ── drain ──▶
//   Closed loop: a request started before measureStart is warm-up, after it measured; at
//   windowEnd (or when its share of -n is spent) no lane starts another; those in flight
//   finish or time out, and count.
//   Open loop: request g of the schedule is due at t0 + schedule.dueMs(g) and goes to lane
//   g mod L. Latency is counted from the due time when the lane was still busy then (the
//   target held it up: coordinated omission corrected, as wrk2 does), and from the send
//   when the lane was free but this thread's timer fired late (a 1 ms timer tick is the
//   tool's lag, reported as such, not the target's latency).
// Over 400 lines on purpose: a load thread's connection loop, open and closed loop, in one place.
import { performance } from 'node:perf_hooks';
import type { MessagePort } from 'node:worker_threads';
import { DueHeap } from './due-heap.js';
import { FcgiConnection, FcgiRequests } from './fcgi-connection.js';
import { bucketsOf, encodeHistogram, newLatencyHistogram, type Histogram } from './histogram.js';
import { HttpConnection } from './http-connection.js';
import { ERROR_KIND_NAMES, Lane, type ErrorKind, type LaneHost, type LoadConnection } from './lane.js';
import {
  emptyCounts,
  type Counts,
  type FromThread,
  type ThreadPlan,
  type ThreadResult,
  type TickMessage,
  type ToThread,
} from './messages.js';
import { Schedule } from './schedule.js';

const KINDS = ERROR_KIND_NAMES.length;

export class LoadThread implements LaneHost {
  private readonly lanes: Lane[] = [];
  private readonly conns: LoadConnection[] = [];
  private readonly totalLanes: number;
  private readonly schedule: Schedule | null;
  private readonly heap = new DueHeap();
  private readonly hist: Histogram = newLatencyHistogram();
  private readonly tickHist: Histogram = newLatencyHistogram();
  private readonly counts: Counts = emptyCounts(KINDS);
  private readonly warmup: Counts = emptyCounts(KINDS);
  private tickCounts: Counts = emptyCounts(KINDS);
  private readonly status = new Float64Array(1000);
  private readonly firstErrors: string[] = new Array<string>(KINDS).fill('');
  private stderrRequests = 0;
  private lagMaxUs = 0;
  private lagSumUs = 0;
  private lateBusy = 0;
  private sentOnSchedule = 0;
  // Timeline (thread clock).
  private t0 = 0;
  private measureStart = 0;
  private windowEnd = Infinity;
  private closedAt = Infinity;
  private lastMeasuredMs = 0;
  private measuring = false;
  private stopping = false;
  private inFlight = 0;
  /** Closed loop with -n: measured requests this thread may still start. */
  private budget: number;
  private tickSecond = 0;
  private nextTickAt = Infinity;
  private timers: NodeJS.Timeout[] = [];
  private tickTimerHandle: NodeJS.Timeout | null = null;
  private dueTimer: NodeJS.Timeout | null = null;
  private dueTimerAt = Infinity;
  private finished: (() => void) | null = null;

  constructor(
    private readonly thread: number,
    private readonly plan: ThreadPlan,
    private readonly port: MessagePort,
  ) {
    const depth = plan.depth;
    this.totalLanes = plan.totalConnections * depth;
    this.schedule = plan.rate === null ? null : new Schedule(plan.rate, plan.warmupMs);
    this.budget = plan.rate === null && plan.requests !== null ? plan.requests : Infinity;
    const httpRequests = plan.httpRequests.map((u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength));
    const fcgiRequests = plan.kind === 'fcgi' ? new FcgiRequests(plan.fcgiParams, plan.fcgiBody, plan.keepAlive) : null;
    for (const c of plan.connections) {
      const lanes: Lane[] = [];
      for (let slot = 0; slot < depth; slot++) {
        const index = c * depth + slot;
        // Spread the lanes over the weighted URL cycle so they do not ask in lockstep.
        lanes.push(
          new Lane(index, slot, Math.floor((index * plan.order.length) / this.totalLanes) % plan.order.length),
        );
      }
      const conn: LoadConnection =
        plan.kind === 'http'
          ? new HttpConnection(this, plan.address, lanes[0]!, httpRequests, plan.headRequest, plan.keepAlive)
          : new FcgiConnection(this, plan.address, lanes, fcgiRequests!, plan.keepAlive);
      this.conns.push(conn);
      for (const l of lanes) {
        l.conn = conn;
        this.lanes.push(l);
      }
    }
  }

  /** Connects (keep-alive), reports ready, waits for go, runs, reports done. */
  async run(): Promise<void> {
    let connected = 0;
    if (this.plan.keepAlive) {
      const results = await Promise.all(this.conns.map((c) => withTimeout(c.preconnect(), this.plan.timeoutMs)));
      connected = results.filter(Boolean).length;
    }
    const go = new Promise<number>((resolve) => {
      this.port.on('message', (m: ToThread) => {
        if (m.type === 'go') resolve(m.startAt);
        else if (m.type === 'stop') this.stop();
      });
    });
    this.post({
      type: 'ready',
      thread: this.thread,
      connected,
      failed: this.plan.keepAlive ? this.conns.length - connected : 0,
    });
    const startAt = await go;
    const done = new Promise<void>((resolve) => {
      this.finished = resolve;
    });
    const t0 = startAt - performance.timeOrigin;
    const wait = t0 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    // Timers may fire up to 1 ms early against performance.now(): start no earlier than now.
    this.begin(Math.min(t0, performance.now()));
    await done;
    this.post({ type: 'done', result: this.result() });
  }

  // LaneHost

  now(): number {
    return performance.now();
  }

  complete(lane: Lane, status: number): void {
    const now = performance.now();
    this.inFlight--;
    if (lane.measured) {
      if (now >= this.nextTickAt) this.flushTicks(now);
      // Recorded once, in this second's histogram; each tick adds it to the whole run's.
      this.tickHist.recordValue(Math.max(1, Math.round((now - lane.baseMs) * 1000)));
      this.counts.responses++;
      this.tickCounts.responses++;
      this.status[status < 1000 ? status : 999]!++;
      this.lastMeasuredMs = now;
    } else {
      this.warmup.responses++;
    }
    lane.freeSinceMs = now;
    this.next(lane, now);
  }

  fail(lane: Lane, kind: ErrorKind, detail: string): void {
    const now = performance.now();
    this.inFlight--;
    if (lane.measured) {
      if (now >= this.nextTickAt) this.flushTicks(now);
      this.counts.errors[kind]!++;
      this.tickCounts.errors[kind]!++;
      if (this.firstErrors[kind] === '') this.firstErrors[kind] = detail;
      this.lastMeasuredMs = now;
    } else {
      this.warmup.errors[kind]!++;
    }
    lane.freeSinceMs = now;
    this.next(lane, now);
  }

  bytesRead(n: number): void {
    if (this.measuring) {
      this.counts.bytesIn += n;
      this.tickCounts.bytesIn += n;
    } else this.warmup.bytesIn += n;
  }

  bytesWritten(n: number): void {
    if (this.measuring) {
      this.counts.bytesOut += n;
      this.tickCounts.bytesOut += n;
    } else this.warmup.bytesOut += n;
  }

  stderr(lane: Lane): void {
    if (lane.measured) this.stderrRequests++;
  }

  // The loops.

  private begin(t0: number): void {
    const plan = this.plan;
    this.t0 = t0;
    this.measureStart = t0 + plan.warmupMs;
    this.windowEnd = plan.durationMs === null ? Infinity : this.measureStart + plan.durationMs;
    this.nextTickAt = this.measureStart + 1000;
    const now = performance.now();
    this.measuring = now >= this.measureStart;
    if (!this.measuring)
      this.at(this.measureStart, () => {
        this.measuring = true;
      });
    this.armTickTimer();
    // Open loop: requests due before the window end are still sent (late ones too); lanes
    // retire on their own. Closed loop: the window end stops every lane.
    if (this.windowEnd !== Infinity && this.schedule === null)
      this.at(this.windowEnd, () => this.endWindow(this.windowEnd));
    const sweepMs = Math.min(250, Math.max(10, plan.timeoutMs / 4));
    this.timers.push(setInterval(() => this.sweep(), sweepMs));
    for (const lane of this.lanes) {
      lane.freeSinceMs = -Infinity; // free since before the run: a late first send is our lag
      this.next(lane, now);
    }
    this.checkDone();
  }

  /** What a lane does once free: start the next request, wait for its due time, or rest. */
  private next(lane: Lane, now: number): void {
    if (this.stopping) {
      this.closeWindow(now);
      return;
    }
    if (this.schedule === null) {
      if (now >= this.windowEnd) {
        this.closeWindow(now);
        return;
      }
      const measured = now >= this.measureStart;
      if (measured) {
        if (this.budget <= 0) {
          this.closeWindow(now);
          return;
        }
        this.budget--;
      }
      this.start(lane, now, now, measured);
      return;
    }
    if (lane.retired) {
      this.checkDone();
      return;
    }
    const g = lane.round * this.totalLanes + lane.index;
    const limit = this.plan.requests;
    const due = this.t0 + this.schedule.dueMs(g);
    if ((limit !== null && g >= this.schedule.warmupRequests + limit) || due >= this.windowEnd) {
      lane.retired = true;
      this.checkDone();
      return;
    }
    lane.dueMs = due;
    if (due <= now) this.sendDue(lane, now);
    else {
      this.heap.push(lane);
      this.armDueTimer(now);
    }
  }

  private sendDue(lane: Lane, now: number): void {
    const g = lane.round * this.totalLanes + lane.index;
    lane.round++;
    const measured = g >= this.schedule!.warmupRequests;
    let base = lane.dueMs;
    if (lane.freeSinceMs <= lane.dueMs) {
      base = now; // free at its due time: any delay is this thread's
      if (measured) {
        const lag = (now - lane.dueMs) * 1000;
        this.lagSumUs += lag;
        if (lag > this.lagMaxUs) this.lagMaxUs = lag;
      }
    } else if (measured) {
      this.lateBusy++;
    }
    if (measured) this.sentOnSchedule++;
    this.start(lane, base, now, measured);
  }

  private start(lane: Lane, baseMs: number, now: number, measured: boolean): void {
    lane.baseMs = baseMs;
    lane.startMs = now;
    lane.measured = measured;
    const order = this.plan.order;
    const url = order[lane.orderAt]!;
    lane.orderAt = lane.orderAt + 1 === order.length ? 0 : lane.orderAt + 1;
    this.inFlight++;
    lane.conn!.send(lane, url);
  }

  private armDueTimer(now: number): void {
    const top = this.heap.peek();
    if (top === undefined || top.dueMs >= this.dueTimerAt) return;
    if (this.dueTimer !== null) clearTimeout(this.dueTimer);
    this.dueTimerAt = top.dueMs;
    this.dueTimer = setTimeout(() => this.onDueTimer(), Math.max(0, top.dueMs - now));
  }

  private onDueTimer(): void {
    this.dueTimer = null;
    this.dueTimerAt = Infinity;
    const now = performance.now();
    for (let top = this.heap.peek(); top !== undefined && top.dueMs <= now; top = this.heap.peek()) {
      this.heap.pop();
      if (this.stopping) break;
      this.sendDue(top, now);
    }
    if (!this.stopping) this.armDueTimer(performance.now());
  }

  /** No new requests from now on (window end, -n spent, stop); those in flight finish. */
  private closeWindow(now: number): void {
    if (!this.stopping) {
      this.stopping = true;
      this.closedAt = Math.min(now, this.windowEnd);
      this.heap.clear();
      if (this.dueTimer !== null) {
        clearTimeout(this.dueTimer);
        this.dueTimer = null;
      }
    }
    this.checkDone();
  }

  /**
   * The duration is over (or the user stopped): requests on the wire finish; those still
   * waiting for a connection (a dead target's backoff) are dropped, never sent, not counted.
   */
  private endWindow(at: number): void {
    for (const c of this.conns) this.inFlight -= c.abandonUnsent();
    // A timer may fire up to 1 ms early: the window still lasted its whole duration.
    this.closeWindow(Math.max(at, performance.now()));
  }

  private stop(): void {
    this.endWindow(performance.now());
  }

  private checkDone(): void {
    if (this.finished === null || this.inFlight > 0) return;
    if (!this.stopping) {
      // Open loop: every lane retired and none waits in the heap.
      if (this.schedule === null || this.heap.size > 0) return;
      for (const l of this.lanes) if (!l.retired) return;
      this.stopping = true;
      this.closedAt = Math.min(performance.now(), this.windowEnd);
    }
    const done = this.finished;
    this.finished = null;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    if (this.tickTimerHandle !== null) {
      clearTimeout(this.tickTimerHandle);
      this.tickTimerHandle = null;
    }
    for (const c of this.conns) c.destroy();
    done();
  }

  private sweep(): void {
    const now = performance.now();
    if (now >= this.nextTickAt) this.flushTicks(now);
    const olderThan = now - this.plan.timeoutMs;
    for (const c of this.conns) if (c.busy > 0) c.expire(olderThan);
  }

  private armTickTimer(): void {
    this.tickTimerHandle = setTimeout(
      () => {
        this.flushTicks(performance.now());
        if (this.finished !== null) this.armTickTimer();
      },
      Math.max(0, this.nextTickAt - performance.now()),
    );
  }

  /** Sends the tick of every second that ended by `now`. */
  private flushTicks(now: number): void {
    while (now >= this.nextTickAt) {
      this.post(this.takeTick());
      this.nextTickAt += 1000;
    }
  }

  private takeTick(): TickMessage {
    this.hist.add(this.tickHist);
    const tick: TickMessage = {
      type: 'tick',
      thread: this.thread,
      second: this.tickSecond++,
      counts: this.tickCounts,
      buckets: bucketsOf(this.tickHist),
    };
    this.tickCounts = emptyCounts(KINDS);
    this.tickHist.reset();
    return tick;
  }

  private at(ms: number, fn: () => void): void {
    this.timers.push(setTimeout(fn, Math.max(0, ms - performance.now())));
  }

  private post(m: FromThread): void {
    if (m.type === 'tick') this.port.postMessage(m, [m.buckets.buffer as ArrayBuffer]);
    else this.port.postMessage(m);
  }

  private result(): ThreadResult {
    const status: Record<string, number> = {};
    for (let s = 0; s < this.status.length; s++) if (this.status[s]! > 0) status[String(s)] = this.status[s]!;
    const hasTail = this.tickCounts.responses > 0 || this.tickCounts.errors.some((e) => e > 0);
    const origin = performance.timeOrigin;
    const end = Math.max(this.closedAt === Infinity ? this.measureStart : this.closedAt, this.lastMeasuredMs);
    const lastTick = hasTail ? this.takeTick() : null; // adds the last second into hist
    return {
      thread: this.thread,
      measureStart: origin + this.measureStart,
      measureEnd: origin + Math.max(end, this.measureStart),
      counts: this.counts,
      warmup: this.warmup,
      status,
      firstErrors: this.firstErrors,
      histogram: encodeHistogram(this.hist),
      lastTick,
      stderrRequests: this.stderrRequests,
      lagMaxUs: this.lagMaxUs,
      lagSumUs: this.lagSumUs,
      lateBusy: this.lateBusy,
      sentOnSchedule: this.sentOnSchedule,
    };
  }
}

function withTimeout(p: Promise<boolean>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    p.then(
      (ok) => {
        clearTimeout(t);
        resolve(ok);
      },
      () => {
        clearTimeout(t);
        resolve(false);
      },
    );
  });
}
