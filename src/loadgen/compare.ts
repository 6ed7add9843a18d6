// --compare A B: the two targets take turns (A B A B …, --rounds times) under the same
// settings and load threads, so a burst of noise on a shared machine hits both; then per
// target the median of each figure over its rounds, and the ratio B/A taken round by
// round (B's round i over A's round i) as median with its spread (min–max).
import type { LoadThreads, RunHooks } from './load-threads.js';
import type { BenchOptions } from './options.js';
import { runSet, type RunReport } from './run.js';

/** A figure of one run that the comparison tabulates. */
export interface Figure {
  key: string;
  label: string;
  /** Lower is better (latency, CPU, memory) or higher (req/s). */
  better: 'lower' | 'higher';
  value(r: RunReport): number | null;
}

export const FIGURES: Figure[] = [
  { key: 'rps', label: 'req/s', better: 'higher', value: (r) => r.rps },
  { key: 'p50Us', label: 'p50', better: 'lower', value: (r) => r.latency.percentiles['p50']! },
  { key: 'p99Us', label: 'p99', better: 'lower', value: (r) => r.latency.percentiles['p99']! },
  { key: 'errors', label: 'errors', better: 'lower', value: (r) => r.errors },
  {
    key: 'targetCpuUsPerRequest',
    label: 'target CPU µs/req',
    better: 'lower',
    value: (r) => (r.target === null ? null : r.target.userUsPerRequest + r.target.systemUsPerRequest),
  },
  {
    key: 'targetPeakRssBytes',
    label: 'target peak RSS',
    better: 'lower',
    value: (r) => r.target?.peakRssBytes ?? null,
  },
];

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface CompareReport {
  rounds: number;
  /** runs[0] are A's rounds, runs[1] B's, in order. */
  runs: [RunReport[], RunReport[]];
  /** Per target, figure key → median over rounds (null when not measured). */
  medians: [Record<string, number | null>, Record<string, number | null>];
  /** Figure key → ratio B/A over rounds (null when not measured or A is 0). */
  ratios: Record<string, Spread | null>;
}

function spreadOf(xs: number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { median: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, min: s[0]!, max: s[s.length - 1]! };
}

/** Runs the rounds; `hooks(label, round)` gives the hooks of each run (progress). */
export async function runCompare(
  threads: LoadThreads,
  o: BenchOptions,
  hooks: (label: string, round: number) => RunHooks = () => ({}),
  stopped: () => boolean = () => false,
): Promise<CompareReport> {
  const runs: [RunReport[], RunReport[]] = [[], []];
  for (let round = 1; round <= o.rounds; round++) {
    for (let i = 0; i < 2; i++) {
      const set = o.sets[i]!;
      runs[i as 0 | 1].push(await runSet(threads, set, o, round, hooks(set.label!, round)));
      if (stopped()) break;
    }
    if (stopped()) break;
  }
  return summarizeCompare(runs);
}

/** Medians and round-by-round ratios of runs already made (rounds A and B paired by index). */
function summarizeCompare(runs: [RunReport[], RunReport[]]): CompareReport {
  const paired = Math.min(runs[0].length, runs[1].length);
  const medians: CompareReport['medians'] = [{}, {}];
  const ratios: Record<string, Spread | null> = {};
  for (const f of FIGURES) {
    for (const side of [0, 1] as const) {
      const xs = runs[side].map((r) => f.value(r)).filter((x): x is number => x !== null);
      medians[side][f.key] = xs.length === 0 ? null : spreadOf(xs).median;
    }
    const rs: number[] = [];
    for (let k = 0; k < paired; k++) {
      const a = f.value(runs[0][k]!);
      const b = f.value(runs[1][k]!);
      if (a !== null && b !== null && a > 0) rs.push(b / a);
    }
    ratios[f.key] = rs.length === 0 ? null : spreadOf(rs);
  }
  return { rounds: paired, runs, medians, ratios };
}
