// Main thread side of the serving threads: Piscina hosts N threads, each running one
// long-lived `serve` task (serve-thread.ts) with its own control port. This starts them,
// replaces one that dies (after giving back the connections it held and logging each request
// it had in flight, from its in-flight board), and carries the control requests: stats
// (merged over threads), reload and drain broadcasts.
// Signals, configuration reading and probing are the CLI's (src/cli/serve.ts).
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { sumBalancerStats, type BalancerStats } from '../balancer/stats.js';
import { clearBoard, InFlightBoard, readBoard, type LostRequest } from '../front/in-flight.js';
import type { ListenAddress } from '../config/model.js';
import type { Telemetry } from '../observe/telemetry.js';
import type { Tuning } from '../tuning.js';
import type { PoolStats } from '../upstream/pool.js';
import type { BudgetTable, BudgetUsage } from './budget-table.js';
import type { BudgetSpec, ConfigSource, FromThread, ServeResult, ServeTask, ToThread } from './messages.js';

export interface ServingThreadsOptions {
  threads: number;
  source: ConfigSource;
  listen: ListenAddress[];
  tuning: Tuning;
  budgets: BudgetTable;
  /** The balancer members' shared state for `source` (BalancerBoard buffer). */
  balancerState: SharedArrayBuffer;
  /** Memory and disk of buffered request bodies, counted for all threads (SpoolAccount.buffer). */
  spoolAccount: SharedArrayBuffer;
  log: (line: string) => void;
  /** FCGATE_TEST_HOOKS=1: threads honour crash(). */
  testHooks: boolean;
  /** Metrics slabs and the log outputs the threads' batches go to. */
  telemetry: Telemetry;
  /** false: no access log at all. */
  accessLogs: boolean;
  /** The one serving loop runs in the main thread (threads must be 1): one V8 isolate less, no crash isolation. */
  inProcess?: boolean;
}

export interface ThreadStats {
  thread: number;
  ready: boolean;
  restarts: number;
  /** Requests served by the thread now in the slot (a replacement starts from 0). */
  served: number;
  inFlight: number;
}

/** All threads together: what SIGUSR2 prints and the status pages read. */
export interface ServingStats {
  threads: ThreadStats[];
  served: number;
  inFlight: number;
  /** Pool counters summed over threads, by backend. */
  pools: Record<string, PoolStats>;
  /** Connection caps over all threads, by backend. */
  budgets: Record<string, BudgetUsage>;
  /** Balancer counters summed over threads (flags and health are shared anyway). */
  balancers: BalancerStats[];
}

/** A thread that reported nothing within this long counts as not answering. */
const ASK_TIMEOUT_MS = 5000;
/** A thread that fails before it listens is restarted after 0.5 s, 1 s, 2 s, … up to this. */
const MAX_BACKOFF_MS = 30_000;

interface Slot {
  slot: number;
  port: MessagePort | null;
  ready: boolean;
  restarts: number;
  /** Failures in a row before listening (backoff). */
  failures: number;
  replies: Map<number, (m: FromThread | null) => void>;
  /** Settles when the slot's current serve task ends. */
  done: Promise<void>;
  /** The configuration the current thread was started with. */
  source: ConfigSource | null;
  /** The slot's in-flight board (front/in-flight.ts): the thread writes it, main reads it once the thread is gone. */
  inFlight: SharedArrayBuffer;
}

export class ServingThreads {
  /** null: the one serving loop runs in this thread (inProcess). */
  private readonly piscina: Piscina<ServeTask, ServeResult> | null;
  private readonly slots: Slot[] = [];
  private source: ConfigSource;
  private budgetSpec: BudgetSpec;
  private balancerState: SharedArrayBuffer;
  private stopping = false;
  private nextId = 1;

  constructor(private readonly o: ServingThreadsOptions) {
    this.source = o.source;
    this.budgetSpec = o.budgets.spec();
    this.balancerState = o.balancerState;
    this.piscina =
      o.inProcess === true
        ? null
        : new Piscina<ServeTask, ServeResult>({
            filename: new URL('./serve-thread.js', import.meta.url).href,
            minThreads: o.threads,
            maxThreads: o.threads,
            concurrentTasksPerWorker: 1,
            // 'sync' parks idle workers in Atomics.wait, freezing their sockets (DESIGN §1).
            atomics: 'disabled',
            idleTimeout: Infinity,
          });
    this.piscina?.on('error', (err: Error) => o.log(`FCGATE_THREAD_ERROR ${err.message}`));
    for (let i = 0; i < o.threads; i++) {
      this.slots.push({
        slot: i,
        port: null,
        ready: false,
        restarts: 0,
        failures: 0,
        replies: new Map(),
        done: Promise.resolve(),
        source: null,
        inFlight: InFlightBoard.allocate(),
      });
    }
  }

  get threads(): number {
    return this.o.threads;
  }

  /** Each slot's state, without asking the threads (metrics, /healthz). */
  threadInfo(): Array<{ slot: number; ready: boolean; restarts: number }> {
    return this.slots.map((s) => ({ slot: s.slot, ready: s.ready, restarts: s.restarts }));
  }

  /** Starts every thread; resolves when all listen; rejects with the first startup failure. */
  async start(): Promise<void> {
    try {
      await Promise.all(this.slots.map((s) => this.run(s, true)));
    } catch (err) {
      await this.drain(0);
      throw err;
    }
  }

  /** Counters of every thread, merged. */
  async stats(): Promise<ServingStats> {
    const answers = await Promise.all(this.slots.map((s) => this.ask(s, (id) => ({ type: 'stats', id }))));
    const out: ServingStats = {
      threads: [],
      served: 0,
      inFlight: 0,
      pools: {},
      budgets: this.o.budgets.usage(),
      balancers: [],
    };
    const balancers: BalancerStats[][] = [];
    this.slots.forEach((s, i) => {
      const a = answers[i];
      const st = a !== null && a !== undefined && a.type === 'stats' ? a.stats : null;
      out.threads.push({
        thread: s.slot,
        ready: s.ready,
        restarts: s.restarts,
        served: st?.served ?? 0,
        inFlight: st?.inFlight ?? 0,
      });
      if (st === null) return;
      balancers.push(st.balancers);
      out.served += st.served;
      out.inFlight += st.inFlight;
      for (const [name, p] of Object.entries(st.pools)) {
        const sum = out.pools[name];
        if (sum === undefined) {
          out.pools[name] = { ...p };
          continue;
        }
        for (const k of Object.keys(p) as Array<keyof PoolStats>) sum[k] += p[k];
      }
    });
    out.balancers = sumBalancerStats(balancers);
    return out;
  }

  /**
   * Sends a new configuration (validated by the caller) to every thread; threads started
   * from now on get it too. Resolves with one line per thread that refused or did not answer.
   */
  async reload(source: ConfigSource, budgets: BudgetSpec, balancerState: SharedArrayBuffer): Promise<string[]> {
    this.source = source;
    this.budgetSpec = budgets;
    this.balancerState = balancerState;
    const answers = await Promise.all(
      this.slots.map((s) => {
        if (s.ready) s.source = source;
        return this.ask(s, (id) => ({
          type: 'reload',
          id,
          source,
          budgets,
          balancerState,
          telemetry: this.o.telemetry.spec(s.slot),
        }));
      }),
    );
    const problems: string[] = [];
    this.slots.forEach((s, i) => {
      const a = answers[i];
      if (a === undefined) return; // not running now: its replacement starts with the new one
      if (a === null) problems.push(`thread ${s.slot}: no answer`);
      else if (a.type === 'reloaded' && a.error !== null) problems.push(`thread ${s.slot}: ${a.error}`);
    });
    return problems;
  }

  /**
   * Every thread stops accepting at once, finishes its in-flight requests up to deadlineMs
   * and closes; then the threads end. Nothing is restarted from now on.
   */
  async drain(deadlineMs: number): Promise<void> {
    this.stopping = true;
    for (const s of this.slots) s.port?.postMessage({ type: 'drain', deadlineMs } satisfies ToThread);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((r) => {
      timer = setTimeout(r, deadlineMs + 3000);
    });
    await Promise.race([Promise.all(this.slots.map((s) => s.done)), late]);
    clearTimeout(timer);
    await this.piscina?.destroy();
  }

  /** Test hook: makes thread `slot` throw an uncaught exception (FCGATE_TEST_HOOKS=1 only). */
  crash(slot: number): void {
    this.slots[slot]?.port?.postMessage({ type: 'crash' } satisfies ToThread);
  }

  /** Runs a serve task in `s`; resolves when the thread listens. */
  private run(s: Slot, initial: boolean): Promise<void> {
    const { port1, port2 } = new MessageChannel();
    s.port = port1;
    s.ready = false;
    let listened = false;
    return new Promise<void>((ready, failed) => {
      port1.on('message', (m: FromThread) => {
        switch (m.type) {
          case 'log':
            this.o.telemetry.deliver(m.key, m.data, m.lines);
            return;
          case 'ready':
            listened = true;
            s.ready = true;
            s.failures = 0;
            // A reload while this thread was starting: it has the older configuration.
            if (s.source !== this.source) {
              const source = this.source,
                budgets = this.budgetSpec,
                balancerState = this.balancerState;
              s.source = source;
              void this.ask(s, (id) => ({
                type: 'reload',
                id,
                source,
                budgets,
                balancerState,
                telemetry: this.o.telemetry.spec(s.slot),
              }));
            }
            if (!initial) this.o.log(`FCGATE_THREAD_READY thread=${s.slot} restarts=${s.restarts}: listening again`);
            ready();
            return;
          case 'crashed':
            s.ready = false;
            this.o.log(`FCGATE_THREAD_CRASH thread=${s.slot} error=${JSON.stringify(m.error)}`);
            if (this.piscina === null) {
              // In process: the process ends (serve-thread.ts); say what was lost while it can.
              this.logLost(s);
              this.o.log(
                `FCGATE_THREAD_CRASH thread=${s.slot} cause="FCGATE_IN_PROCESS=1: the serving code runs in the main thread, so the process exits (status 1) for its service manager to restart it"`,
              );
            }
            return;
          default: {
            const r = s.replies.get(m.id);
            if (r !== undefined) {
              s.replies.delete(m.id);
              r(m);
            }
          }
        }
      });
      const task: ServeTask = {
        slot: s.slot,
        control: port2,
        source: this.source,
        listen: this.o.listen,
        tuning: this.o.tuning,
        budgets: this.budgetSpec,
        balancerState: this.balancerState,
        spoolAccount: this.o.spoolAccount,
        testHooks: this.o.testHooks,
        inFlight: s.inFlight,
        telemetry: this.o.telemetry.spec(s.slot),
        accessLogs: this.o.accessLogs,
      };
      s.source = this.source;
      const ran =
        this.piscina !== null
          ? this.piscina.run(task, { transferList: [port2] })
          : import('./serve-thread.js').then((m) => m.default(task));
      s.done = ran.then(
        () => {
          this.ended(s, port1);
        },
        (err: Error) => {
          this.ended(s, port1);
          this.logLost(s);
          if (this.stopping) return;
          if (initial && !listened) {
            failed(err);
            return;
          }
          // The thread is gone and its sockets with it: give back its share of the caps.
          this.o.budgets.reclaim(s.slot);
          s.restarts++;
          const delay = listened ? 0 : Math.min(MAX_BACKOFF_MS, 500 * 2 ** s.failures++);
          this.o.log(`FCGATE_THREAD_RESTART thread=${s.slot} cause=${JSON.stringify(err.message)} delay_ms=${delay}`);
          setTimeout(() => {
            if (!this.stopping) void this.run(s, false);
          }, delay);
        },
      );
    });
  }

  /**
   * A thread died: one line for each request it had in flight (issue 9 item 12), from its
   * board, which is then cleared for the replacement. The clients' connections closed with
   * the thread; these lines are all that is left of those requests.
   */
  private logLost(s: Slot): void {
    const { lost, unlisted } = readBoard(s.inFlight);
    const now = Date.now();
    for (const r of lost) this.o.log(lostLine(s.slot, r, now));
    if (unlisted > 0) {
      this.o.log(
        `FCGATE_THREAD_CRASH_LOST thread=${s.slot} unlisted=${unlisted} cause="${unlisted} more requests were in flight beyond the board's ${new InFlightBoard(s.inFlight).slots} slots"`,
      );
    }
    clearBoard(s.inFlight);
  }

  private ended(s: Slot, port: MessagePort): void {
    s.ready = false;
    // Log batches the thread posted just before it ended (drain, crash) may still be queued.
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
      const msg = m.message as FromThread;
      if (msg.type === 'log') this.o.telemetry.deliver(msg.key, msg.data, msg.lines);
    }
    if (s.port === port) s.port = null;
    port.close();
    for (const r of s.replies.values()) r(null);
    s.replies.clear();
  }

  /** One request to one thread: its answer, null when none came, undefined when the slot has no thread. */
  private ask(s: Slot, make: (id: number) => ToThread): Promise<FromThread | null | undefined> {
    const port = s.port;
    if (port === null || !s.ready) return Promise.resolve(undefined);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        s.replies.delete(id);
        resolve(null);
      }, ASK_TIMEOUT_MS);
      s.replies.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      port.postMessage(make(id));
    });
  }
}

/** Control characters, quotes and backslashes as \xNN: a request target cannot forge a log line. */
const escapeLog = (t: string): string =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
  t.replace(/[\x00-\x1f\x7f"\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/**
 * `FCGATE_THREAD_CRASH_LOST thread=0 req=17 GET /slow?ms=1000 backend=fcgi://127.0.0.1:9000 age_s=3 cause="…"`:
 * req=… is the id the thread's own log lines gave the request.
 */
function lostLine(thread: number, r: LostRequest, now: number): string {
  const backend = r.backend === '' ? '' : ` backend=${escapeLog(r.backend)}`;
  return (
    `FCGATE_THREAD_CRASH_LOST thread=${thread} req=${escapeLog(r.id)}${r.idCut ? '…' : ''} ${escapeLog(r.method.toUpperCase())} ${escapeLog(r.target)}${r.cut ? '…' : ''}`
    + `${backend} age_s=${Math.max(0, Math.round(now / 1000 - r.startedAt))} cause="the serving thread died with this request in flight; its client connection closed without an answer"`
  );
}
