// Child-process plumbing for integration tests: wait until a socket accepts, wait for an
// exit, stop a process group, and make sure nothing we started outlives the test process.
// It knows nothing about PHP-FPM or any other program; see php-fpm.ts for that.
import { connect, type NetConnectOpts } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readSync, fstatSync } from 'node:fs';

/** Where a server listens: TCP host/port or a unix socket path. */
export type ConnectTarget = { host: string; port: number } | { path: string };

/** Resolves once one connection to `target` succeeds (it is closed at once). */
export function connectOnce(target: ConnectTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = connect(target as NetConnectOpts);
    sock.once('connect', () => {
      sock.destroy();
      resolve();
    });
    sock.once('error', (err) => {
      sock.destroy();
      reject(err);
    });
  });
}

export interface WaitForConnectOptions {
  timeoutMs: number; // give up after this long
  intervalMs?: number; // pause between refused attempts (default 20)
  /** Checked before each attempt; a string stops the wait with that reason. */
  abandon?: () => string | null;
}

/**
 * Polls `target` until it accepts a connection. Bounded by `timeoutMs`; rejects with the
 * last connect error (or the abandon reason) so the caller can add a log tail.
 */
export async function waitForConnect(target: ConnectTarget, opts: WaitForConnectOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 20;
  let lastError: unknown = null;
  for (;;) {
    const reason = opts.abandon?.() ?? null;
    if (reason !== null) throw new Error(reason);
    try {
      await connectOnce(target);
      return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const what = 'path' in target ? target.path : `${target.host}:${target.port}`;
      throw new Error(
        `nothing accepted on ${what} within ${opts.timeoutMs} ms: `
          + `${(lastError as Error)?.message ?? 'no attempt made'}`,
      );
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Resolves true when `child` has exited (now or within `timeoutMs`), false otherwise. */
export function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/** Sends `signal` to the process group led by `pid`; ignores a group that is gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * Stops a child started with `detached: true` (so it leads its own process group):
 * `signal` to the group, SIGKILL to the group after `graceMs`, then waits for the exit.
 * A final SIGKILL to the group reaps any grandchild the leader left behind.
 */
export async function stopGroup(child: ChildProcess, signal: NodeJS.Signals, graceMs = 3000): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  if (child.exitCode === null && child.signalCode === null) {
    signalGroup(pid, signal);
    if (!(await waitExit(child, graceMs))) {
      signalGroup(pid, 'SIGKILL');
      await waitExit(child, graceMs);
    }
  }
  signalGroup(pid, 'SIGKILL');
  untrackGroup(pid);
}

// Process groups to SIGKILL (and their synchronous cleanups to run) if the test process
// ends without stopping them.
const tracked = new Map<number, (() => void) | undefined>();
let hooksInstalled = false;

function killTracked(): void {
  for (const [pid, cleanup] of tracked) {
    signalGroup(pid, 'SIGKILL');
    try {
      cleanup?.();
    } catch {
      /* exiting anyway: nothing to report to */
    }
  }
  tracked.clear();
}

function onFatalSignal(signal: NodeJS.Signals): void {
  killTracked();
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, onFatalSignal);
  process.kill(process.pid, signal); // default action now that our listener is gone
}

/**
 * Registers a detached child's group to be killed when this process exits or is signalled;
 * `cleanup` (synchronous, e.g. removing a temp dir) runs after the kill.
 */
export function trackGroup(pid: number, cleanup?: () => void): void {
  tracked.set(pid, cleanup);
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killTracked);
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onFatalSignal);
}

export function untrackGroup(pid: number): void {
  tracked.delete(pid);
}

/** The last `maxBytes` of a file as text, or a note saying why it could not be read. */
export function tailFile(path: string, maxBytes = 4096): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    return `(cannot read ${path}: ${(err as Error).message})`;
  }
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * A skip reason for a test that needs an external program, or false to run it.
 * Outside CI a missing program skips (loudly); under CI (`CI` set) it returns false so the
 * test runs and fails on the missing program instead of passing silently.
 */
export function skipUnlessFound(program: string, found: boolean): string | false {
  if (found) return false;
  if (process.env['CI']) return false;
  const reason = `${program} not found: integration test SKIPPED (run scripts/install-deps.sh)`;
  process.stderr.write(`\n*** ${reason} ***\n\n`);
  return reason;
}
