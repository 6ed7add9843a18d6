// Child processes for the serving-thread tests: the real CLI (`fcgate serve`) and the demo
// FastCGI app, each in its own process group (killed if the test process dies), with their
// output collected line by line, a wait for a line, SIGUSR2 stats, and a small HTTP client.
import { spawn, type ChildProcess } from 'node:child_process';
import { request, type Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { ServingStats } from '../../src/threads/supervisor.js';
import { freePort } from '../helpers/free-port.js';
import { stopGroup, trackGroup, waitExit, waitForConnect } from '../helpers/process.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface Proc {
  child: ChildProcess;
  /** stdout and stderr lines so far, in arrival order. */
  lines: string[];
  /** Resolves with the first line (already seen or coming) matching `re`; rejects after timeoutMs. */
  waitLine(re: RegExp, timeoutMs?: number, from?: number): Promise<string>;
  exited(): Promise<number | null>;
  stop(): Promise<void>;
}

/**
 * Runs the CLI. FCGATE_ALLOW_ROOT=1 unless `env` says otherwise: CI runs as root, and
 * `serve` refuses root without User (issue 13; test/cli/privileges.test.ts tests that).
 */
export function startCli(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, FCGATE_ALLOW_ROOT: '1', ...env },
  });
  trackGroup(child.pid!);
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  for (const stream of [child.stdout!, child.stderr!]) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      rest += chunk;
      let nl: number;
      while ((nl = rest.indexOf('\n')) >= 0) {
        lines.push(rest.slice(0, nl));
        rest = rest.slice(nl + 1);
      }
      for (const l of [...listeners]) l();
    });
  }
  const exit = new Promise<number | null>((r) =>
    child.once('exit', (code) => {
      for (const l of [...listeners]) l();
      r(code);
    }),
  );
  return {
    child,
    lines,
    waitLine(re, timeoutMs = 10_000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = lines.slice(from).find((l) => re.test(l));
          if (hit !== undefined) {
            done();
            resolve(hit);
            return;
          }
          if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`exited (${child.exitCode ?? child.signalCode}) before ${re}:\n${lines.join('\n')}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no line ${re} within ${timeoutMs} ms:\n${lines.join('\n')}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    exited: () => exit,
    stop: () => stopGroup(child, 'SIGKILL', 2000),
  };
}

/** The demo FastCGI app (with the test routes) on a free port. */
export async function startApp(): Promise<{ proc: Proc; port: number }> {
  const port = await freePort();
  const proc = startCli(['demo-app', '--listen', `127.0.0.1:${port}`, '--test-routes']);
  await waitForConnect(
    { host: '127.0.0.1', port },
    { timeoutMs: 10_000, abandon: () => (proc.child.exitCode !== null ? 'demo-app exited' : null) },
  );
  return { proc, port };
}

/** `fcgate serve` with FCGATE_THREADS=threads; resolves once it says it listens. */
export async function startServe(args: string[], threads: number, env: Record<string, string> = {}): Promise<Proc> {
  const proc = startCli(['serve', ...args], { FCGATE_THREADS: String(threads), ...env });
  await proc.waitLine(/^fcgate listening on /, 15_000);
  return proc;
}

/** Sends SIGUSR2 and parses the FCGATE_STATS line that follows. */
export async function statsOf(proc: Proc): Promise<ServingStats> {
  const from = proc.lines.length;
  proc.child.kill('SIGUSR2');
  const line = await proc.waitLine(/^FCGATE_STATS /, 10_000, from);
  return JSON.parse(line.slice('FCGATE_STATS '.length)) as ServingStats;
}

export interface Answer {
  status: number;
  body: string;
}

/** One GET; `agent` false = a new connection for this request. */
export function get(port: number, path: string, agent: Agent | false = false, timeoutMs = 10_000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export { freePort, waitExit };
