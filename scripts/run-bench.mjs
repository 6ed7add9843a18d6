#!/usr/bin/env node
// Runs every compiled bench suite (dist/bench/**/*.bench.js), each in its own node
// process, collects the `BENCH-RESULT {json}` line each prints last, and prints a
// summary of candidate/baseline ratios. Exits 1 when a suite fails its guard (a
// candidate slower than its baseline beyond the noise), errors, or prints no result.
// Usage: node scripts/run-bench.mjs [--write] [filter-substring ...]
//   --write   also write bench/RESULTS.md (the ratios, date, Node, CPU, command), keeping
//             its end-to-end and bench-accuracy sections (between their <!-- …:start/end -->) as is
// Knobs (FCGATE_BENCH_TIME, _ROUNDS, _WARMUP, _BATCH) pass through to the suites.
// @ts-check
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const benchRoot = join(root, 'dist', 'bench');
const args = process.argv.slice(2);
const write = args.includes('--write');
const unknown = args.filter((a) => a.startsWith('--') && a !== '--write');
if (unknown.length) {
  console.error(`run-bench: unknown option ${unknown.join(' ')} (usage: run-bench.mjs [--write] [filter ...])`);
  process.exit(2);
}
const filters = args.filter((a) => !a.startsWith('--'));
/** A suite that runs longer than this is killed and counted as failed. */
const SUITE_TIMEOUT_MS = 180_000;
const MARK = 'BENCH-RESULT ';
/** Markers of the end-to-end section, which --write carries over unchanged. */
const E2E_START = '<!-- e2e:start -->';
const E2E_END = '<!-- e2e:end -->';

/** @param {string} dir @returns {string[]} */
function walk(dir) {
  /** @type {string[]} */
  const out = [];
  let names;
  try {
    names = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.bench.js')) out.push(p);
  }
  return out;
}

let files = walk(benchRoot).map((f) => relative(root, f));
if (filters.length) files = files.filter((f) => filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error(`run-bench: no bench files matched under ${relative(root, benchRoot)}/ (run npm run build first?)`);
  process.exit(1);
}

/**
 * @typedef {{ candidate: string, baseline: string, median: number, ratios: number[], noise: number,
 *   candidateHz: number, baselineHz: number, pass: boolean }} SuiteRow
 * @typedef {{ suite: string, input: string, pass: boolean, results: SuiteRow[],
 *   machine: { node: string, cpu: string, cores: number },
 *   knobs: { timeMs: number, rounds: number, warmupMs: number, batch: number, clock: string } }} SuiteResult
 * @typedef {{ file: string, code: number, result: SuiteResult | null, error: string | null }} SuiteRun
 */

/**
 * Runs one suite, echoing its output; resolves with its exit status and parsed result.
 * @param {string} file
 * @returns {Promise<SuiteRun>}
 */
function runSuite(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', '--enable-source-maps', file], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s) => {
      text += s;
      process.stdout.write(s);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), SUITE_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = text
        .split('\n')
        .reverse()
        .find((l) => l.startsWith(MARK));
      let result = null;
      let error = null;
      if (line) {
        try {
          result = JSON.parse(line.slice(MARK.length));
        } catch (e) {
          error = `unreadable result line: ${/** @type {Error} */ (e).message}`;
        }
      } else {
        error = signal ? `killed by ${signal}` : `exited ${code} without a ${MARK.trim()} line`;
      }
      resolve({ file, code: code ?? 1, result, error });
    });
  });
}

const fmtHz = (/** @type {number} */ hz) => Math.round(hz).toLocaleString('en-US');
const started = Date.now();
/** Other processes on the machine widen the noise; the 1-minute load average says how busy it was. */
const loadAtStart = loadavg()[0].toFixed(2);
const runs = [];
for (const file of files) {
  console.log(`\n=== ${file}`);
  runs.push(await runSuite(file));
}

const rows = [];
let ok = true;
for (const run of runs) {
  if (!run.result) {
    ok = false;
    rows.push({
      suite: run.file,
      candidate: '-',
      baseline: '-',
      ratio: '-',
      rounds: '-',
      noise: '-',
      verdict: `ERROR: ${run.error}`,
    });
    continue;
  }
  if (run.code !== 0 || !run.result.pass) ok = false;
  for (const r of run.result.results) {
    rows.push({
      suite: run.result.suite,
      candidate: r.candidate,
      baseline: r.baseline,
      ratio: `${r.median.toFixed(2)}x`,
      rounds: `${Math.min(...r.ratios).toFixed(2)}–${Math.max(...r.ratios).toFixed(2)}`,
      noise: `±${(r.noise * 100).toFixed(1)}%`,
      verdict: r.pass ? 'pass' : 'FAIL',
    });
  }
}
const machine = runs.find((r) => r.result)?.result?.machine;
console.log(
  `\n=== summary (${((Date.now() - started) / 1000).toFixed(1)} s): candidate ops/s over baseline ops/s, `
    + `median of interleaved rounds`,
);
if (machine)
  console.log(
    `node ${machine.node} | cpu ${machine.cpu} (${machine.cores} cores) | load average at start ${loadAtStart}`,
  );
console.table(rows);

if (write) {
  const knobNames = [
    'FCGATE_BENCH_TIME',
    'FCGATE_BENCH_ROUNDS',
    'FCGATE_BENCH_WARMUP',
    'FCGATE_BENCH_BATCH',
    'FCGATE_BENCH_CLOCK',
  ];
  let tinybench = 'unknown';
  try {
    tinybench = JSON.parse(readFileSync(join(root, 'node_modules', 'tinybench', 'package.json'), 'utf8')).version;
  } catch {
    /* reported as unknown */
  }
  const setKnobs = knobNames.filter((k) => process.env[k]).map((k) => `${k}=${process.env[k]}`);
  const command = [...setKnobs, 'npm run bench --', ...args].join(' ');
  const knobs = runs.find((r) => r.result)?.result?.knobs;
  const lines = [
    '# Bench results',
    '',
    'Written by `scripts/run-bench.mjs --write`; regenerate rather than edit. Each ratio is the',
    "candidate's ops/s over its naive baseline's, timed in the same process in interleaved",
    'rounds (the order alternates each round); ops/s come from CPU time per call, GC included',
    '(FCGATE_BENCH_CLOCK=cpu). The figure is the median round, the noise half',
    'the spread of the rounds (the lowest and highest fifth dropped). A suite fails when',
    'the median is below 1 - noise. The ops/s columns (median rounds) are for context only: on a',
    'shared VM they move far more than the ratios, and they compare only within one machine.',
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Node: ${machine?.node ?? process.version}`,
    `- CPU: ${machine?.cpu ?? 'unknown'} (${machine?.cores ?? '?'} cores); 1-minute load average at start: `
      + `${loadAtStart}`,
    `- tinybench: ${tinybench}`,
    `- Command: \`${command}\``,
    knobs
      ? `- Knobs: FCGATE_BENCH_TIME=${knobs.timeMs} FCGATE_BENCH_ROUNDS=${knobs.rounds} `
        + `FCGATE_BENCH_WARMUP=${knobs.warmupMs} FCGATE_BENCH_BATCH=${knobs.batch} `
        + `FCGATE_BENCH_CLOCK=${knobs.clock}`
      : '- Knobs: unknown',
    `- Verdict: ${ok ? 'pass (no candidate behind its baseline beyond the noise)' : 'FAILED (see table)'}`,
    '',
    '| suite | input | candidate | baseline | ratio (median) | rounds (min–max) | noise | candidate ops/s | '
      + 'baseline ops/s | verdict |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const run of runs) {
    if (!run.result) {
      lines.push(`| ${run.file} | | | | | | | | | ERROR: ${run.error} |`);
      continue;
    }
    for (const r of run.result.results) {
      lines.push(
        `| ${run.result.suite} | ${run.result.input} | ${r.candidate} | ${r.baseline} | ${r.median.toFixed(2)}x `
          + (`| ${Math.min(...r.ratios).toFixed(2)}–${Math.max(...r.ratios).toFixed(2)} | `
            + `±${(r.noise * 100).toFixed(1)}% `)
          + `| ${fmtHz(r.candidateHz)} | ${fmtHz(r.baselineHz)} | ${r.pass ? 'pass' : 'FAIL'} |`,
      );
    }
  }
  lines.push('');
  const out = join(root, 'bench', 'RESULTS.md');
  // The sections other scripts write (scripts/bench-e2e.mjs, scripts/bench-accuracy.mjs)
  // live in the same file: keep them as they were.
  let prev = '';
  try {
    prev = readFileSync(out, 'utf8');
  } catch {
    /* no previous file */
  }
  for (const [start, end] of [
    [E2E_START, E2E_END],
    ['<!-- bench-accuracy:start -->', '<!-- bench-accuracy:end -->'],
  ]) {
    const a = prev.indexOf(start);
    const b = prev.indexOf(end, a);
    if (a >= 0 && b > a) lines.push(prev.slice(a, b + end.length), '');
  }
  writeFileSync(out, lines.join('\n'));
  console.log(`wrote ${relative(root, out)}`);
}

if (!ok) console.error('run-bench: FAILED (a candidate lost its lead beyond the noise, or a suite errored)');
process.exit(ok ? 0 : 1);
