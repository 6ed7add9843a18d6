// Shared pieces of the fuzz tests: the knobs (FCGATE_FUZZ_COUNT, FCGATE_FUZZ_SEED,
// FCGATE_FUZZ_CONCURRENCY, FCGATE_FUZZ_BUDGET_MS), the real CLI as the gateway (so a
// thread crash shows as FCGATE_THREAD_CRASH), a bounded runner that interleaves a canary,
// the settle-and-measure step (in flight back to 0, RSS and fds against the baseline), and the
// failure report with the seed to replay. No assertions here: the tests decide.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCli, statsOf, type Proc } from '../threads/cli-process.js';
import type { ServingStats } from '../../src/threads/supervisor.js';
import { sampleProc, mib, type ProcSample } from '../helpers/proc-stats.js';

export interface FuzzSettings {
  count: number;
  /** Case i uses seed `seed + i`. */
  seed: number;
  concurrency: number;
  /** Stop starting new cases after this long (the count is then not reached; reported). */
  budgetMs: number;
}

const envInt = (name: string, dflt: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a whole number, got ${JSON.stringify(v)}`);
  return n;
};

/**
 * CI defaults: `count` cases from a fixed seed, so that a run can be repeated. `npm run fuzz`
 * sets FCGATE_FUZZ_COUNT higher and FCGATE_FUZZ_SEED=random (a new seed each run, printed).
 */
export function fuzzSettings(dflt: {
  count: number;
  seed: number;
  concurrency: number;
  budgetMs: number;
}): FuzzSettings {
  const seedText = process.env['FCGATE_FUZZ_SEED'];
  const seed = seedText === 'random' ? Math.floor(Math.random() * 2 ** 31) : envInt('FCGATE_FUZZ_SEED', dflt.seed);
  const count = envInt('FCGATE_FUZZ_COUNT', dflt.count);
  const concurrency = Math.max(1, envInt('FCGATE_FUZZ_CONCURRENCY', dflt.concurrency));
  // A longer run asked for by count gets time in proportion unless a budget is given.
  const budgetMs = envInt(
    'FCGATE_FUZZ_BUDGET_MS',
    Math.max(dflt.budgetMs, Math.ceil((dflt.budgetMs * count) / dflt.count)),
  );
  return { count, seed, concurrency, budgetMs };
}

export interface Gateway {
  proc: Proc;
  pid: number;
  dir: string;
  stop(): Promise<void>;
}

/** `fcgate serve -c FILE` with `threads` serving threads; `config(dir)` gives the file's text. */
export async function startGateway(
  config: (dir: string) => string,
  threads: number,
  env: Record<string, string> = {},
): Promise<Gateway> {
  const dir = mkdtempSync(join(tmpdir(), 'fcgate-fuzz-'));
  const file = join(dir, 'fcgate.conf');
  writeFileSync(file, config(dir));
  const proc = startCli(['serve', '-c', file], { FCGATE_THREADS: String(threads), ...env });
  try {
    await proc.waitLine(/^fcgate listening on /, 15_000);
  } catch (err) {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    proc,
    pid: proc.child.pid!,
    dir,
    stop: async () => {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface CaseFailure {
  seed: number;
  problem: string;
  what: string[];
}

export interface RunResult {
  done: number;
  failures: CaseFailure[];
  canaries: number;
  canaryFailures: string[];
  /** Outcome label → count (statuses, closes), for the report. */
  outcomes: Map<string, number>;
  ms: number;
  /** The budget ran out before `count` cases. */
  cutShort: boolean;
}

/**
 * Runs cases `seed .. seed+count-1`, `concurrency` at a time, within the time budget; after
 * every `canaryEvery` cases a canary request runs too (its failure text, or null). `one`
 * returns an outcome label and a problem (null when the case passed).
 */
export async function runCases(
  s: FuzzSettings,
  one: (seed: number) => Promise<{ outcome: string; problem: string | null; what: string[] }>,
  canary: () => Promise<string | null>,
  canaryEvery = 25,
): Promise<RunResult> {
  const t0 = Date.now();
  const res: RunResult = {
    done: 0,
    failures: [],
    canaries: 0,
    canaryFailures: [],
    outcomes: new Map(),
    ms: 0,
    cutShort: false,
  };
  let next = 0;
  let sinceCanary = 0;
  const worker = async (): Promise<void> => {
    while (next < s.count) {
      if (Date.now() - t0 > s.budgetMs) {
        res.cutShort = true;
        return;
      }
      const seed = s.seed + next++;
      let r: { outcome: string; problem: string | null; what: string[] };
      try {
        r = await one(seed);
      } catch (err) {
        r = { outcome: 'harness error', problem: `the case threw: ${(err as Error).stack ?? String(err)}`, what: [] };
      }
      res.done++;
      res.outcomes.set(r.outcome, (res.outcomes.get(r.outcome) ?? 0) + 1);
      if (r.problem !== null) res.failures.push({ seed, problem: r.problem, what: r.what });
      if (++sinceCanary >= canaryEvery) {
        sinceCanary = 0;
        res.canaries++;
        const c = await canary();
        if (c !== null) res.canaryFailures.push(`after case ${seed}: ${c}`);
      }
    }
  };
  await Promise.all(Array.from({ length: s.concurrency }, worker));
  res.ms = Date.now() - t0;
  return res;
}

/** Polls the stats until nothing is in flight (bounded); the last stats. */
export async function settle(g: Gateway, timeoutMs = 20_000): Promise<ServingStats> {
  const until = Date.now() + timeoutMs;
  let st = await statsOf(g.proc);
  while (st.inFlight > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    st = await statsOf(g.proc);
  }
  return st;
}

/** Idle backend connections over all pools (they hold fds that are not a leak). */
export const idleConnections = (st: ServingStats): number => Object.values(st.pools).reduce((n, p) => n + p.size, 0);

export interface Measure {
  sample: ProcSample;
  stats: ServingStats;
}

export async function measure(g: Gateway): Promise<Measure> {
  const stats = await settle(g);
  return { sample: sampleProc(g.pid), stats };
}

/** The checks at the end of a run: in flight 0, fds (less backend connections) and RSS near the baseline. */
export function compareToBaseline(
  before: Measure,
  after: Measure,
  limits: { fdSlack: number; rssSlack: number },
): string[] {
  const problems: string[] = [];
  if (after.stats.inFlight !== 0) problems.push(`${after.stats.inFlight} requests still in flight after the run`);
  const fdsBefore = before.sample.fds - idleConnections(before.stats);
  const fdsAfter = after.sample.fds - idleConnections(after.stats);
  if (fdsAfter > fdsBefore + limits.fdSlack) {
    problems.push(
      `open fds (less backend connections) grew from ${fdsBefore} to ${fdsAfter}: ${JSON.stringify(before.sample.kinds)} → ${JSON.stringify(after.sample.kinds)}`,
    );
  }
  if (after.sample.rss > before.sample.rss + limits.rssSlack) {
    problems.push(
      `RSS grew from ${mib(before.sample.rss)} to ${mib(after.sample.rss)} (allowed +${mib(limits.rssSlack)})`,
    );
  }
  return problems;
}

/** Log lines that mean a gateway bug whatever the input: a thread crash, an internal error. */
export const alarming = (lines: readonly string[]): string[] =>
  lines.filter(
    (l) =>
      /FCGATE_THREAD_CRASH|FCGATE_THREAD_ERROR|FCGATE_INTERNAL|uncaught|Segmentation|Assertion/i.test(l)
      && !l.includes('FCGATE_THREAD_CRASH_LOST'),
  );

/** The report of a run, failing seeds first (with the command to replay one). */
export function report(
  name: string,
  s: FuzzSettings,
  r: RunResult,
  before: Measure,
  after: Measure,
  testFile: string,
): string {
  const lines = [
    `${name}: ${r.done} cases (seeds ${s.seed}..${s.seed + r.done - 1}) in ${(r.ms / 1000).toFixed(1)} s, ${s.concurrency} at a time${r.cutShort ? ` (time budget ${s.budgetMs} ms reached before ${s.count})` : ''}`,
    `outcomes: ${[...r.outcomes]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ×${v}`)
      .join(', ')}`,
    `canary: ${r.canaries - r.canaryFailures.length}/${r.canaries} served`,
    `RSS ${mib(before.sample.rss)} → ${mib(after.sample.rss)}; fds ${before.sample.fds} → ${after.sample.fds} (backend connections ${idleConnections(before.stats)} → ${idleConnections(after.stats)}); in flight at the end ${after.stats.inFlight}`,
  ];
  for (const f of r.failures.slice(0, 10)) {
    lines.push(
      `FAILED seed ${f.seed}: ${f.problem}\n    input: ${f.what.join('; ')}\n    replay: FCGATE_FUZZ_SEED=${f.seed} FCGATE_FUZZ_COUNT=1 node scripts/run-tests.mjs ${testFile}`,
    );
  }
  if (r.failures.length > 10) lines.push(`… and ${r.failures.length - 10} more failing seeds`);
  for (const c of r.canaryFailures.slice(0, 5)) lines.push(`CANARY FAILED ${c}`);
  return lines.join('\n');
}
