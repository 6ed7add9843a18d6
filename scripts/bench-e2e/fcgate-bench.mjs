// Load generation for the end-to-end bench through `fcgate bench` itself (src/loadgen, the
// tool users run): one run of a proxy with --pid (a cell's figures: req/s, latency, errors,
// the proxy's CPU per request and peak RSS) or --compare of two proxies in interleaved
// rounds (the ratio B/A with its spread). Each run is a child process in its own group,
// pinned like wrk, killed if it overruns; its --json report is parsed. wrk.mjs stays for
// the cross-check column.
// @ts-check
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAIN } from './servers.mjs';
import { logTail, startGroup, stopGroup } from './procs.mjs';

/** @typedef {import('./plan.mjs').Scenario} Scenario */

/**
 * The bench's request options for a scenario (the 64 KiB POST body as wrk-post.lua sends it).
 * @param {string} dir
 * @param {Scenario} scenario
 * @returns {string[]}
 */
function requestArgs(dir, scenario) {
  if (scenario.method !== 'POST') return [];
  const file = join(dir, 'post-body.bin');
  writeFileSync(file, '0123456789abcdef'.repeat(4096));
  return ['-m', 'POST', '--body-file', file, '-H', 'Content-Type: application/octet-stream'];
}

/**
 * Runs `fcgate bench --json ARGS` as child process `name` (own group, pinned to `cpus`,
 * killed after `limitS`); resolves with the parsed report.
 * @param {string} name
 * @param {readonly string[]} args
 * @param {{ cpus: string | null, dir: string, limitS: number }} options
 * @returns {Promise<any>} the --json report (docs/bench.md schema)
 */
export async function runFcgateBench(name, args, { cpus, dir, limitS }) {
  const out = join(dir, `${name}.json`);
  const logFile = join(dir, `${name}.log`);
  writeFileSync(logFile, '');
  // stdout and stderr both go to the log; the report is its one line starting {"format":"fcgate-bench".
  const proc = startGroup(name, process.execPath, [MAIN, 'bench', '--json', ...args], { cpus, logFile });
  const limit = new Promise((r) => setTimeout(() => r('late'), limitS * 1000));
  if ((await Promise.race([proc.exited.then(() => 'ok'), limit])) === 'late') {
    await stopGroup(proc, { signal: 'SIGKILL' });
    throw new Error(`fcgate bench ran past ${limitS} s: ${logTail(logFile)}`);
  }
  const text = readFileSync(logFile, 'utf8');
  const line = text.split('\n').find((l) => l.startsWith('{"format":"fcgate-bench"'));
  if (line === undefined) throw new Error(`fcgate bench printed no report: ${text.slice(-1500)}`);
  writeFileSync(out, line);
  return JSON.parse(line);
}

/**
 * One measured run of `url` after its warm-up (in the same process, so the tool's own JIT
 * is warm when the window opens), `--pid` the proxy: the report's `result` (docs/bench.md
 * schema).
 * @param {{ url: string, scenario: Scenario, seconds: number, warmup: number, pid: number,
 *   cpus: string | null, dir: string, timeoutS?: number }} run
 */
export async function benchOnce({ url, scenario, seconds, warmup, pid, cpus, dir, timeoutS = 5 }) {
  const args = [
    '-t',
    '1',
    '-c',
    String(scenario.connections),
    '--timeout',
    `${timeoutS}s`,
    ...requestArgs(dir, scenario),
    '-d',
    `${seconds}s`,
    '--warmup',
    `${warmup}s`,
    '--pid',
    String(pid),
    url,
  ];
  const doc = await runFcgateBench('bench', args, { cpus, dir, limitS: seconds + warmup + timeoutS + 20 });
  return doc.result;
}

/**
 * `fcgate bench --compare` of A and B (`rounds` rounds, each with its warm-up): the report's `compare`.
 * @param {{ urlA: string, urlB: string, pidA: number, pidB: number, scenario: Scenario, seconds: number,
 *   warmup: number, rounds: number, cpus: string | null, dir: string, timeoutS?: number }} run
 */
export async function benchCompare({
  urlA,
  urlB,
  pidA,
  pidB,
  scenario,
  seconds,
  warmup,
  rounds,
  cpus,
  dir,
  timeoutS = 5,
}) {
  const args = [
    '-t',
    '1',
    '-c',
    String(scenario.connections),
    '--timeout',
    `${timeoutS}s`,
    ...requestArgs(dir, scenario),
    '--compare',
    '--rounds',
    String(rounds),
    '-d',
    `${seconds}s`,
    '--warmup',
    `${warmup}s`,
    '--pid-a',
    String(pidA),
    '--pid-b',
    String(pidB),
    urlA,
    urlB,
  ];
  const doc = await runFcgateBench('bench-compare', args, {
    cpus,
    dir,
    limitS: rounds * 2 * (seconds + warmup + 3) + timeoutS + 20,
  });
  return doc.compare;
}
