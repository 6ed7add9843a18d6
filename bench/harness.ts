// Shared bench machinery: FCGATE_BENCH_* knobs, the environment banner, a same-bytes
// check, and runSuite(), which times candidates against one naive baseline in
// interleaved rounds, prints tinybench's table and the ratios, and ends with one
// machine-readable `BENCH-RESULT {json}` line for scripts/run-bench.mjs.
// It holds no FastCGI knowledge: the suites under bench/protocol/ bring the inputs.
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Bench, type Task } from 'tinybench';

export interface Knobs {
  /** Milliseconds each task runs per round (FCGATE_BENCH_TIME). */
  timeMs: number;
  /** Interleaved rounds; the guard looks at their median ratio (FCGATE_BENCH_ROUNDS). */
  rounds: number;
  /** Warmup milliseconds per task, before the first round only (FCGATE_BENCH_WARMUP). */
  warmupMs: number;
  /** Calls timed together as one sample; 0 picks ~1 ms worth per contender (FCGATE_BENCH_BATCH). */
  batch: number;
  /**
   * What a sample measures (FCGATE_BENCH_CLOCK): `cpu`, this process's CPU time, or
   * `wall`, elapsed time. CPU time by default: on a shared 2-core VM the bench is
   * descheduled for whole milliseconds, which wall time charges to whichever task
   * was running. CPU time includes GC and V8's helper threads.
   */
  clock: 'cpu' | 'wall';
}

const KNOB_DEFAULTS = {
  FCGATE_BENCH_TIME: 100,
  FCGATE_BENCH_ROUNDS: 10,
  FCGATE_BENCH_WARMUP: 200,
  FCGATE_BENCH_BATCH: 0,
} as const;

function knob(name: keyof typeof KNOB_DEFAULTS, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return KNOB_DEFAULTS[name];
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new RangeError(`${name} must be an integer >= ${min} (got ${JSON.stringify(raw)})`);
  return n;
}

function clockKnob(): 'cpu' | 'wall' {
  const raw = process.env['FCGATE_BENCH_CLOCK'];
  if (raw === undefined || raw === '' || raw === 'cpu') return 'cpu';
  if (raw === 'wall') return 'wall';
  throw new RangeError(`FCGATE_BENCH_CLOCK must be cpu or wall (got ${JSON.stringify(raw)})`);
}

/** Reads the FCGATE_BENCH_* knobs; a bad value throws, naming the knob. */
export function readKnobs(): Knobs {
  return {
    timeMs: knob('FCGATE_BENCH_TIME', 1),
    rounds: knob('FCGATE_BENCH_ROUNDS', 1),
    warmupMs: knob('FCGATE_BENCH_WARMUP', 0),
    batch: knob('FCGATE_BENCH_BATCH', 0),
    clock: clockKnob(),
  };
}

export interface Machine {
  node: string;
  cpu: string;
  cores: number;
}

export function describeMachine(): Machine {
  const list = cpus();
  return { node: process.version, cpu: list[0]?.model.trim() ?? 'unknown', cores: list.length };
}

/** Throws unless `a` and `b` hold the same bytes, naming the first difference. */
export function assertSameBytes(what: string, a: Uint8Array, b: Uint8Array): void {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      throw new Error(`${what}: bytes differ at offset ${i} (${a[i]} vs ${b[i]}); lengths ${a.length} and ${b.length}`);
    }
  }
  if (a.length !== b.length) throw new Error(`${what}: lengths differ (${a.length} vs ${b.length})`);
}

/** A timed function. It returns a number (a length, a count) that the harness sums, so the work stays observable. */
export type Work = () => number;

export interface Contender {
  name: string;
  fn: Work;
}

export interface SuiteSpec {
  /** File stem: `request-writer` for bench/protocol/request-writer.bench.ts. */
  suite: string;
  /** One line on the fixed input (printed, and kept in the result). */
  input: string;
  /** Each candidate is compared with the baseline; its name labels the ratio line. */
  candidates: readonly Contender[];
  baseline: Contender;
}

export interface RatioResult {
  candidate: string;
  baseline: string;
  candidateHz: number;
  baselineHz: number;
  /** Candidate ops/s over baseline ops/s, one per round. */
  ratios: number[];
  median: number;
  /** Half the spread of the round ratios relative to their median (see judge). */
  noise: number;
  pass: boolean;
}

export interface SuiteResult {
  suite: string;
  input: string;
  machine: Machine;
  knobs: Knobs;
  /** Calls per sample, by contender. */
  batches: Record<string, number>;
  results: RatioResult[];
  pass: boolean;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * The guard. Sort the round ratios r1 ≤ … ≤ rN; M is their median and the noise is
 * half their spread relative to M once the lowest and highest fifth are dropped:
 * (rN-t - r1+t) / (2M) with t = floor(N / 5), so that a stalled round or two (a shared
 * 2-core VM has them) do not widen the band by themselves. The candidate fails when
 * M < 1 - noise: it is slower than its baseline by more than the rounds disagree.
 * Example: 0.97, 0.99, 1.00, 1.02, 1.05 → M = 1.00 → pass;
 *          0.90, 0.91, 0.92, 0.93, 0.94 → M = 0.92, noise = (0.93 - 0.91) / 1.84 ≈ 1.1% → fail.
 */
export function judge(ratios: readonly number[]): { median: number; noise: number; pass: boolean } {
  const s = [...ratios].sort((a, b) => a - b);
  const m = median(s);
  const trim = Math.floor(s.length / 5);
  const noise = m > 0 ? (s[s.length - 1 - trim]! - s[trim]!) / (2 * m) : 0;
  return { median: m, noise, pass: m >= 1 - noise };
}

/** Keeps the benched work observable to the optimiser; printed once at the end. */
let checksum = 0;

/**
 * Wraps `fn` so one tinybench sample is `batch` calls: a single call of the fast
 * functions here is within a few timer costs of nothing, so per-call samples would
 * squeeze every ratio towards 1. The sample reports the mean time of one call, and
 * the whole batch's time counts against the time budget.
 */
function batched(
  fn: Work,
  batch: number,
  clock: () => number,
): () => { overriddenDuration: number; overriddenIterationCost: number } {
  return () => {
    let sum = 0;
    const w0 = performance.now();
    const c0 = clock();
    for (let i = 0; i < batch; i++) sum += fn();
    const spent = clock() - c0;
    const elapsed = performance.now() - w0;
    checksum += sum;
    return { overriddenDuration: spent / batch, overriddenIterationCost: elapsed }; // the time budget stays wall time
  };
}

/** Milliseconds of CPU this process has used (user + system, all its threads). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const wallMs = (): number => performance.now();

/** Runs `fn` for about `ms` milliseconds of `clock`; returns its mean milliseconds per call. */
function timeCalls(fn: Work, ms: number, clock: () => number): number {
  let calls = 0;
  let elapsed = 0;
  const t0 = clock();
  const deadline = performance.now() + 20 * ms; // bounded even if the clock stalls
  while (elapsed < ms && calls < 10_000_000 && performance.now() < deadline) {
    checksum += fn();
    calls++;
    elapsed = clock() - t0;
  }
  return Math.max(elapsed, 0.001) / calls;
}

/** Calls per sample for each contender, so that once warm a sample takes about 1 ms of the clock. */
function pickBatches(contenders: readonly Contender[], clock: () => number): Map<string, number> {
  for (const c of contenders) timeCalls(c.fn, 20, clock); // let the JIT settle first
  return new Map(
    contenders.map((c) => {
      const perCall = Math.min(timeCalls(c.fn, 10, clock), timeCalls(c.fn, 10, clock), timeCalls(c.fn, 10, clock));
      return [c.name, Math.max(1, Math.min(100_000, Math.round(1 / perCall)))];
    }),
  );
}

/**
 * With node --expose-gc (scripts/run-bench.mjs passes it), each task starts on a clean heap
 * rather than its predecessor's garbage.
 */
const collectGarbage = (): void => {
  (globalThis as { gc?: () => void }).gc?.();
};

/**
 * Calls per second from a finished task. On the CPU clock, the mean time per call
 * (tinybench's period): descheduling is already out of it, and the mean charges each
 * contender all the GC its garbage causes (a median of batches hides it whenever
 * fewer than half the batches hit a collection, which made the 64 KiB suites flip
 * between rounds). On the wall clock, the median batch, which drops stalls.
 */
function opsPerSecond(task: Task, clock: Knobs['clock']): number {
  const r = task.result;
  if (r.state === 'errored') throw r.error;
  if (r.state !== 'completed') throw new Error(`task ${task.name} ended ${r.state}`);
  const ms = clock === 'cpu' ? r.period : r.latency.p50;
  return ms > 0 ? 1000 / ms : Infinity;
}

const fmtHz = (hz: number): string => Math.round(hz).toLocaleString('en-US');
const fmtPct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/**
 * Runs the suite: warm up, then `rounds` benches alternating which contender goes
 * first, so drift (thermal, other processes) hits both sides alike. Prints the
 * banner, the last round's tinybench table, a per-round table and one line per
 * candidate, then `BENCH-RESULT {json}`. Sets process.exitCode = 1 when a
 * candidate fails the guard. The caller checks same-bytes before calling this.
 */
export function runSuite(spec: SuiteSpec): SuiteResult {
  const knobs = readKnobs();
  const machine = describeMachine();
  console.log(`# bench ${spec.suite}: ${spec.input}`);
  console.log(`node ${machine.node} | cpu ${machine.cpu} (${machine.cores} cores)`);
  const contenders = [...spec.candidates, spec.baseline];
  if (new Set(contenders.map((c) => c.name)).size !== contenders.length)
    throw new Error(`${spec.suite}: contender names must differ`);
  const clock = knobs.clock === 'cpu' ? cpuMs : wallMs;
  const batches =
    knobs.batch > 0 ? new Map(contenders.map((c) => [c.name, knobs.batch])) : pickBatches(contenders, clock);
  const batchText = [...batches].map(([name, n]) => `${name} ${n}`).join(', ');
  console.log(
    `FCGATE_BENCH_TIME=${knobs.timeMs} FCGATE_BENCH_ROUNDS=${knobs.rounds} `
      + (`FCGATE_BENCH_WARMUP=${knobs.warmupMs} `
        + `FCGATE_BENCH_BATCH=${knobs.batch}${knobs.batch > 0 ? '' : ` (auto: ${batchText})`} `)
      + `FCGATE_BENCH_CLOCK=${knobs.clock}`,
  );

  const hz = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  let lastTable: ReturnType<Bench['table']> = [];
  for (let round = 0; round < knobs.rounds; round++) {
    const first = round === 0;
    const bench = new Bench({
      name: `${spec.suite} round ${round + 1}`,
      time: knobs.timeMs,
      iterations: 16,
      warmup: first && knobs.warmupMs > 0,
      warmupTime: knobs.warmupMs,
      warmupIterations: 4,
      throws: true,
      setup: collectGarbage,
    });
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const c of order) bench.add(c.name, batched(c.fn, batches.get(c.name)!, clock), { async: false });
    bench.runSync();
    for (const task of bench.tasks) hz.get(task.name)!.push(opsPerSecond(task, knobs.clock));
    lastTable = bench.table();
  }

  console.log(`tinybench table, round ${knobs.rounds} (one sample = one batch; figures per call):`);
  console.table(lastTable);
  const baseHz = hz.get(spec.baseline.name)!;
  const perRound = baseHz.map((b, i) => {
    const row: Record<string, string> = { round: String(i + 1), [`${spec.baseline.name} ops/s`]: fmtHz(b) };
    for (const c of spec.candidates) row[`${c.name} ratio`] = `${(hz.get(c.name)![i]! / b).toFixed(2)}x`;
    return row;
  });
  console.table(perRound);

  const results: RatioResult[] = spec.candidates.map((c) => {
    const candHz = hz.get(c.name)!;
    const ratios = candHz.map((h, i) => h / baseHz[i]!);
    const verdict = judge(ratios);
    return {
      candidate: c.name,
      baseline: spec.baseline.name,
      candidateHz: median(candHz),
      baselineHz: median(baseHz),
      ratios,
      ...verdict,
    };
  });
  for (const r of results) {
    console.log(
      `${r.candidate}: candidate ${r.median.toFixed(2)}x baseline `
        + `(${r.baseline}; rounds ${Math.min(...r.ratios).toFixed(2)}–${Math.max(...r.ratios).toFixed(2)}, `
        + `noise ±${fmtPct(r.noise)}) ${r.pass ? 'PASS' : 'FAIL: slower than baseline beyond noise'}`,
    );
  }
  const pass = results.every((r) => r.pass);
  if (!pass) process.exitCode = 1;
  console.log(`(checksum ${checksum})`);
  const out: SuiteResult = {
    suite: spec.suite,
    input: spec.input,
    machine,
    knobs,
    batches: Object.fromEntries(batches),
    results,
    pass,
  };
  console.log(`BENCH-RESULT ${JSON.stringify(out)}`);
  return out;
}
