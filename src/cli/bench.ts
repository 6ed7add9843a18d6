// `fcgate bench`: the load generator's command. Arguments (bench-args.ts), the run or the
// A/B rounds (src/loadgen/), the live line on a terminal, Ctrl-C (stop and report what was
// measured; twice: quit), the outputs (summary or --json on stdout, --html, --percentiles)
// and the exit status: 0; 1 with --fail-on-errors when anything failed, or when the target
// cannot be reached; 2 for bad arguments.
import { readFileSync, writeFileSync } from 'node:fs';
import { runCompare, type CompareReport } from '../loadgen/compare.js';
import { percentileDistribution } from '../loadgen/histogram.js';
import { LoadThreads } from '../loadgen/load-threads.js';
import { threadsFor } from '../loadgen/options.js';
import { ProgressLine } from '../loadgen/progress.js';
import { mergedHistogram, renderCompareHtml, renderHtml } from '../loadgen/report-html.js';
import { formatJson, JSON_SCHEMA, reportJson } from '../loadgen/report-json.js';
import { renderCompare, renderSummary } from '../loadgen/report-text.js';
import { RunError, runSet, type RunReport } from '../loadgen/run.js';
import { BENCH_USAGE, BenchArgError, parseBenchArgs } from './bench-args.js';

export { BENCH_USAGE } from './bench-args.js';

export interface BenchIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WritableStream;
}

const VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** `FILE` with `-A` / `-B` before its extension (report.hgrm → report-A.hgrm). */
function sideFile(file: string, side: string): string {
  const dot = file.lastIndexOf('.');
  return dot > file.lastIndexOf('/') + 1 ? `${file.slice(0, dot)}-${side}${file.slice(dot)}` : `${file}-${side}`;
}

/** Runs `fcgate bench ARGS`; resolves to the exit status. */
export async function runBenchCli(
  argv: string[],
  io: BenchIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  let args: ReturnType<typeof parseBenchArgs>;
  try {
    args = parseBenchArgs(argv);
  } catch (err) {
    if (!(err instanceof BenchArgError)) throw err;
    io.stderr.write(`fcgate bench: ${err.message}\n(see fcgate bench --help)\n`);
    return 2;
  }
  if (args === 'help') {
    io.stdout.write(BENCH_USAGE);
    return 0;
  }
  if (args === 'schema') {
    io.stdout.write(`${formatJson(JSON_SCHEMA)}\n`);
    return 0;
  }
  const o = args.options;

  const threads = new LoadThreads(threadsFor(o));
  const progress = args.progress && io.stdout.isTTY === true ? new ProgressLine(io.stdout) : null;
  let stopped = false;
  const onSigint = (): void => {
    if (stopped) process.exit(130);
    stopped = true;
    progress?.clear();
    io.stderr.write('fcgate bench: stopping (Ctrl-C again to quit now)\n');
    threads.stop();
  };
  process.on('SIGINT', onSigint);
  let single: RunReport | null = null;
  let compare: CompareReport | null = null;
  try {
    if (args.compare) {
      compare = await runCompare(
        threads,
        o,
        (label, round) => progress?.hooks(`${label} ${round}/${o.rounds} | `, o.warmupMs) ?? {},
        () => stopped,
      );
    } else {
      single = await runSet(threads, o.sets[0]!, o, null, progress?.hooks('', o.warmupMs) ?? {});
    }
  } catch (err) {
    progress?.clear();
    if (!(err instanceof RunError)) throw err;
    io.stderr.write(`fcgate bench: ${err.message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
    progress?.clear();
    await threads.close();
  }

  const tool = { name: 'fcgate bench', version: VERSION, node: process.version };
  if (compare !== null && compare.rounds === 0) {
    // Stopped (Ctrl-C) before both targets had a round: no ratio; each run that exists.
    io.stderr.write('fcgate bench: stopped before A and B both ran a round: no comparison\n');
    for (const r of [...compare.runs[0], ...compare.runs[1]])
      io.stdout.write(args.json ? `${JSON.stringify(reportJson(tool, r, null))}\n` : renderSummary(r));
    return 1;
  }
  if (args.json) io.stdout.write(`${JSON.stringify(reportJson(tool, single, compare))}\n`);
  else io.stdout.write(single !== null ? renderSummary(single) : renderCompare(compare!));
  try {
    if (args.html !== null)
      writeFileSync(args.html, single !== null ? renderHtml(single) : renderCompareHtml(compare!));
    if (args.percentiles !== null) {
      if (single !== null) writeFileSync(args.percentiles, percentileDistribution(single.run.histogram));
      else {
        writeFileSync(sideFile(args.percentiles, 'A'), percentileDistribution(mergedHistogram(compare!.runs[0])));
        writeFileSync(sideFile(args.percentiles, 'B'), percentileDistribution(mergedHistogram(compare!.runs[1])));
      }
    }
  } catch (err) {
    io.stderr.write(`fcgate bench: cannot write a report: ${(err as Error).message}\n`);
    return 1;
  }
  const runs = single !== null ? [single] : [...compare!.runs[0], ...compare!.runs[1]];
  const failed = runs.some((r) => r.errors > 0 || r.non2xx3xx > 0);
  return o.failOnErrors && failed ? 1 : 0;
}
