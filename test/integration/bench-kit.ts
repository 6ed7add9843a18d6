// Shared pieces of the bench-*.test.ts files: the built-in demo app with a request counter
// (the server's own count to compare with fcgate bench's), runs of `fcgate bench` in this
// process (the arguments go through the real parser; the report comes back as an object),
// and runs of the CLI as a child process. No assertions here.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createDemoHandler } from '../../src/app/demo.js';
import { createFcgiServer, type FcgiServer } from '../../src/app/responder-server.js';
import { parseBenchArgs, type BenchCliArgs } from '../../src/cli/bench-args.js';
import { runCompare, type CompareReport } from '../../src/loadgen/compare.js';
import { ERROR_KIND_NAMES } from '../../src/loadgen/lane.js';
import { LoadThreads } from '../../src/loadgen/load-threads.js';
import { threadsFor } from '../../src/loadgen/options.js';
import { runSet, type RunReport } from '../../src/loadgen/run.js';

export const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface CountingApp {
  server: FcgiServer;
  port: number;
  /** Requests whose handler ran (the app's own count). */
  readonly count: number;
  stop(): Promise<void>;
}

/** The demo app (test routes on) on a free loopback port, counting the requests it handles. */
export async function startCountingApp(opts: { mpxsConns?: boolean } = {}): Promise<CountingApp> {
  const demo = createDemoHandler({ testRoutes: true });
  let count = 0;
  const server = createFcgiServer(
    (req, res) => {
      count++;
      return demo(req, res);
    },
    { mpxsConns: opts.mpxsConns ?? true, log: () => undefined },
  );
  const bound = await server.listen({ host: '127.0.0.1', port: 0 });
  return {
    server,
    port: (bound as { port: number }).port,
    get count() {
      return count;
    },
    stop: () => server.destroyAll(),
  };
}

function parsed(argv: string[]): BenchCliArgs {
  const a = parseBenchArgs(argv);
  if (typeof a !== 'object') throw new Error(`not a run: ${argv.join(' ')}`);
  return a;
}

/** `fcgate bench ARGV` in this process: the report of the run. */
export async function bench(...argv: string[]): Promise<RunReport> {
  const { options } = parsed(argv);
  const threads = new LoadThreads(threadsFor(options));
  try {
    return await runSet(threads, options.sets[0]!, options, null);
  } finally {
    await threads.close();
  }
}

/** `fcgate bench --compare ARGV` in this process. */
export async function benchCompare(...argv: string[]): Promise<CompareReport> {
  const { options } = parsed(['--compare', ...argv]);
  const threads = new LoadThreads(threadsFor(options));
  try {
    return await runCompare(threads, options);
  } finally {
    await threads.close();
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `node dist/src/cli/main.js bench ARGV` with pipes for stdout and stderr; killed after `timeoutMs`. */
export function runCli(argv: string[], timeoutMs = 30_000): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'bench', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fcgate bench ${argv.join(' ')}: still running after ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Errors of a report by kind name, leaving out the zeros (for assertion messages). */
export function errorsOf(r: RunReport): Record<string, number> {
  const out: Record<string, number> = {};
  r.run.counts.errors.forEach((n, i) => {
    if (n > 0) out[ERROR_KIND_NAMES[i]!] = n;
  });
  return out;
}
