// @ts-check
// Child processes of the end-to-end bench: each server runs in its own process group
// (spawned detached, optionally under `taskset`), its output goes to a log file, and
// every group still alive is killed when the bench exits: normally, on Ctrl-C/SIGTERM,
// or on an uncaught error. Also: free loopback ports and waiting until a port accepts.
// It knows nothing about nginx, Apache or fcgate; servers.mjs does.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/**
 * A process group we started.
 * @typedef {object} Proc
 * @property {number} pid  the group leader's pid (the group id)
 * @property {import('node:child_process').ChildProcess} child
 * @property {string} name
 * @property {string} logFile
 * @property {Promise<{ code: number | null, signal: NodeJS.Signals | null, error?: Error }>} exited
 * @property {boolean} done  true once the leader exited
 */

/** pid → { name } of every process group we started and have not seen exit. */
/** @type {Map<number, { name: string }>} */
const live = new Map();

/** SIGKILL to every group still alive; synchronous, so it works in an 'exit' handler. */
export function killAllNow() {
  for (const pid of live.keys()) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  live.clear();
}

let hooked = false;
/** Installs the exit/signal/error hooks once: nothing we started outlives the bench. */
export function killOnExit() {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      process.stderr.write(`\nbench-e2e: ${sig}: stopping ${live.size} process group(s)\n`);
      killAllNow();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`bench-e2e: ${err.stack ?? err}\n`);
    killAllNow();
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`bench-e2e: unhandled rejection: ${/** @type {Error | undefined} */ (err)?.stack ?? err}\n`);
    killAllNow();
    process.exit(1);
  });
}

/**
 * Starts `cmd args` in a new process group; with `cpus` ('0', '1', '0-1') under
 * `taskset -c` (which execs, so the pid is the program's). stdout+stderr → `logFile`.
 * @param {string} name
 * @param {string} cmd
 * @param {readonly string[]} args
 * @param {{ cpus?: string | null, env?: NodeJS.ProcessEnv, cwd?: string, logFile: string }} options
 * @returns {Proc}
 */
export function startGroup(name, cmd, args, { cpus = null, env = process.env, cwd, logFile }) {
  const argv = cpus === null ? [cmd, ...args] : ['taskset', '-c', cpus, cmd, ...args];
  const fd = openSync(logFile, 'a');
  const child = spawn(argv[0] ?? cmd, argv.slice(1), { detached: true, stdio: ['ignore', fd, fd], env, cwd });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${name}: cannot spawn ${argv[0]}`);
  const pid = child.pid;
  live.set(pid, { name });
  /** @type {Proc['exited']} */
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(pid);
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      live.delete(pid);
      resolve({ code: null, signal: null, error: err });
    });
  });
  /** @type {Proc} */
  const proc = { pid, child, name, logFile, exited, done: false };
  exited.then(() => {
    proc.done = true;
  });
  return proc;
}

/**
 * SIGTERM (or `signal`) to the group, SIGKILL after `graceMs`; resolves once the leader exited.
 * @param {Proc} proc
 * @param {{ signal?: NodeJS.Signals, graceMs?: number }} [options]
 */
export async function stopGroup(proc, { signal = 'SIGTERM', graceMs = 3000 } = {}) {
  if (proc.done) return;
  try {
    process.kill(-proc.pid, signal);
  } catch {
    /* gone */
  }
  const timer = new Promise((r) => setTimeout(() => r('late'), graceMs));
  if ((await Promise.race([proc.exited.then(() => 'ok'), timer])) === 'late') {
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 2000))]);
  }
  // Workers of a master that died first may linger in the group.
  try {
    process.kill(-proc.pid, 'SIGKILL');
  } catch {
    /* all gone */
  }
  live.delete(proc.pid);
}

/**
 * The last `max` bytes of a log file ('' when unreadable).
 * @param {string} file
 */
export function logTail(file, max = 2000) {
  try {
    const t = readFileSync(file, 'utf8');
    return t.slice(-max);
  } catch {
    return '';
  }
}

/**
 * A loopback port free right now (the kernel picks; closed before returning).
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/** @param {number} port @returns {Promise<boolean>} */
function connectOnce(port) {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      s.destroy();
      resolve(false);
    });
  });
}

/**
 * Waits until 127.0.0.1:port accepts, at most `timeoutMs`; throws with the log tail if the process died.
 * @param {Proc} proc
 * @param {number} port
 */
export async function waitForPort(proc, port, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.done) throw new Error(`${proc.name} exited before listening on ${port}:\n${logTail(proc.logFile)}`);
    if (await connectOnce(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `${proc.name}: nothing accepted on 127.0.0.1:${port} within ${timeoutMs} ms:\n${logTail(proc.logFile)}`,
  );
}
