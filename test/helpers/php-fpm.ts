// Finds a PHP-FPM binary and runs a private PHP-FPM master for one test file: its own
// php-fpm.conf, pool, log and pid file in a temp dir, listening on a free loopback port or
// a unix socket. It is not a FastCGI client; tests speak to it with src/protocol.
import { spawn, execFileSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';
import { skipUnlessFound, stopGroup, tailFile, trackGroup, waitForConnect, type ConnectTarget } from './process.js';

/** test/fixtures/php in the source tree (the compiled helper lives in dist/test/helpers). */
export const PHP_FIXTURES = fileURLToPath(new URL('../../../test/fixtures/php/', import.meta.url));

const NAME = /^php-fpm(\d+)?(?:\.(\d+))?$/;

/** All php-fpm binaries on PATH, /usr/sbin and /usr/local/sbin, highest version first. */
export function listPhpFpm(): string[] {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  const found = new Map<string, number>(); // name → rank (major*1000 + minor; -1 unversioned)
  const paths = new Map<string, string>();
  for (const dir of dirs) {
    if (dir === '') continue;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const m = NAME.exec(name);
      if (m === null || paths.has(name)) continue;
      const file = join(dir, name);
      try {
        accessSync(file, constants.X_OK);
      } catch {
        continue;
      }
      found.set(name, m[1] === undefined ? -1 : Number(m[1]) * 1000 + Number(m[2] ?? 0));
      paths.set(name, file);
    }
  }
  return [...found.entries()].sort((a, b) => b[1] - a[1]).map(([name]) => paths.get(name)!);
}

/** The PHP-FPM to test against: `FCGATE_PHP_FPM` if set, else the highest version found. */
export function findPhpFpm(): string {
  const forced = process.env['FCGATE_PHP_FPM'];
  if (forced) return forced;
  const all = listPhpFpm();
  if (all.length === 0) {
    throw new Error(
      'php-fpm not found on PATH or in /usr/sbin: run scripts/install-deps.sh '
        + '(apt-get install php-fpm libfcgi-bin)',
    );
  }
  return all[0]!;
}

/** For `describe(name, { skip: skipUnlessPhpFpm() }, …)`: skips outside CI only. */
export function skipUnlessPhpFpm(): string | false {
  return skipUnlessFound('php-fpm', process.env['FCGATE_PHP_FPM'] !== undefined || listPhpFpm().length > 0);
}

export interface PhpFpmOptions {
  docroot: string;
  listen?: 'tcp' | 'unix'; // default 'tcp' (127.0.0.1, free port)
  pm?: 'static' | 'dynamic'; // default 'static'
  maxChildren?: number; // default 4
  pingPath?: string; // e.g. '/fpm-ping' (answers "pong")
  statusPath?: string; // e.g. '/fpm-status'
  requestTerminateTimeoutS?: number; // default 30
  /** php_admin_value[name] = value lines, after the defaults (so they win). */
  extraIni?: Record<string, string>;
  /** Raw pool lines, e.g. 'pm.max_requests = 100'. */
  poolLines?: string[];
  startTimeoutMs?: number; // default 10000
  /**
   * Pool sections to run instead of the generated one (e.g. an example pool file with its
   * ports and paths rewritten); the options above but startTimeoutMs then do not apply.
   * `targets`: every address they listen on; the start waits for all of them.
   */
  pools?: { text: string; targets: ConnectTarget[] };
}

export interface PhpFpm {
  binary: string;
  version: string; // e.g. '8.2.36'
  port?: number;
  socketPath?: string;
  /** `127.0.0.1:PORT` or the unix socket path. */
  address: string;
  /** For net.connect(). */
  target: ConnectTarget;
  docroot: string;
  pid: number;
  dir: string; // temp dir holding conf, log, pid (and socket)
  logPath: string; // master log; workers' own stderr lands here too
  logTail(maxBytes?: number): string;
  stop(): Promise<void>;
}

const versionCache = new Map<string, string>();
function versionOf(binary: string): string {
  let v = versionCache.get(binary);
  if (v === undefined) {
    const out = execFileSync(binary, ['-v'], { encoding: 'utf8' });
    v = /^PHP (\S+)/.exec(out)?.[1] ?? 'unknown';
    versionCache.set(binary, v);
  }
  return v;
}

/** The [global] section: pid and log in `dir`, in the foreground. */
function globalSection(dir: string): string[] {
  return [
    '[global]',
    `pid = ${join(dir, 'php-fpm.pid')}`,
    `error_log = ${join(dir, 'php-fpm.log')}`,
    'log_level = notice',
    'daemonize = no',
    'process_control_timeout = 2s',
  ];
}

function renderConf(dir: string, listenLine: string, opts: PhpFpmOptions): string {
  const pm = opts.pm ?? 'static';
  const max = opts.maxChildren ?? 4;
  const ini: Record<string, string> = {
    post_max_size: '2G', // 10 MiB bodies and more
    upload_max_filesize: '2G',
    memory_limit: '256M',
    log_errors: 'on', // error_log() → FCGI_STDERR records (no error_log file set)
    display_errors: 'off',
    ...opts.extraIni,
  };
  const lines = [
    ...globalSection(dir),
    '',
    '[fcgate]',
    listenLine,
    'listen.backlog = 511',
    `pm = ${pm}`,
    `pm.max_children = ${max}`,
  ];
  if (pm === 'dynamic') {
    lines.push(
      'pm.start_servers = 1',
      'pm.min_spare_servers = 1',
      `pm.max_spare_servers = ${Math.max(1, Math.min(max, 2))}`,
    );
  }
  lines.push(
    `request_terminate_timeout = ${opts.requestTerminateTimeoutS ?? 30}s`,
    'catch_workers_output = yes',
    'decorate_workers_output = no',
    'security.limit_extensions = .php',
    `chdir = ${opts.docroot}`,
  );
  if (opts.pingPath) lines.push(`ping.path = ${opts.pingPath}`, 'ping.response = pong');
  if (opts.statusPath) lines.push(`pm.status_path = ${opts.statusPath}`);
  for (const [k, v] of Object.entries(ini)) lines.push(`php_admin_value[${k}] = ${v}`);
  lines.push(...(opts.poolLines ?? []), '');
  return lines.join('\n');
}

/** Starts one attempt; rejects with the log tail if it dies or never accepts. */
async function startOnce(binary: string, opts: PhpFpmOptions): Promise<PhpFpm> {
  const dir = mkdtempSync(join(tmpdir(), 'fcgate-fpm-'));
  const listen = opts.listen ?? 'tcp';
  let port: number | undefined;
  let socketPath: string | undefined;
  let target: ConnectTarget;
  let listenLine: string;
  if (listen === 'unix') {
    socketPath = join(dir, 'php-fpm.sock');
    target = { path: socketPath };
    listenLine = `listen = ${socketPath}\nlisten.mode = 0666`;
  } else {
    port = await freePort();
    target = { host: '127.0.0.1', port };
    listenLine = `listen = 127.0.0.1:${port}\nlisten.allowed_clients = 127.0.0.1`;
  }
  const confPath = join(dir, 'php-fpm.conf');
  const logPath = join(dir, 'php-fpm.log');
  writeFileSync(
    confPath,
    opts.pools === undefined
      ? renderConf(dir, listenLine, opts)
      : [...globalSection(dir), '', opts.pools.text].join('\n'),
  );

  const args = ['-y', confPath, '-F']; // foreground; the log goes to logPath
  if (process.getuid?.() === 0) args.push('-R'); // CI runs as root
  const child = spawn(binary, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) {
    const err = await new Promise<Error>((r) => child.once('error', r));
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot spawn ${binary}: ${err.message}`);
  }
  const pid = child.pid;
  const removeDir = (): void => {
    if (!process.env['FCGATE_TEST_KEEP']) rmSync(dir, { recursive: true, force: true });
  };
  trackGroup(pid, removeDir);
  // Early failures (a bad conf) are printed before the log file opens: keep a bounded tail.
  let early = '';
  const keep = (chunk: Buffer): void => {
    early = (early + chunk.toString('utf8')).slice(-4096);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let spawnError: Error | null = null;
  child.once('error', (err) => {
    spawnError = err;
  });

  const stop = async (): Promise<void> => {
    await stopGroup(child, 'SIGTERM', 3000); // SIGTERM = fast shutdown; SIGKILL after 3 s
    child.stdout!.destroy();
    child.stderr!.destroy();
    removeDir();
  };
  const logTail = (maxBytes = 4096): string => tailFile(logPath, maxBytes);

  try {
    for (const t of opts.pools?.targets ?? [target]) {
      await waitForConnect(t, {
        timeoutMs: opts.startTimeoutMs ?? 10_000,
        abandon: () => {
          if (spawnError !== null) return `spawn failed: ${(spawnError as Error).message}`;
          if (child.exitCode !== null || child.signalCode !== null) {
            return `php-fpm exited early (code ${child.exitCode}, signal ${child.signalCode})`;
          }
          return null;
        },
      });
    }
  } catch (err) {
    const detail = `${(err as Error).message}\n--- php-fpm output ---\n${early}` + `\n--- ${logPath} ---\n${logTail()}`;
    await stop();
    throw new Error(`startPhpFpm(${binary}): ${detail}`);
  }
  const address = socketPath ?? `127.0.0.1:${port}`;
  const fpm: PhpFpm = {
    binary,
    version: versionOf(binary),
    address,
    target,
    docroot: opts.docroot,
    pid,
    dir,
    logPath,
    logTail,
    stop,
  };
  if (port !== undefined) fpm.port = port;
  if (socketPath !== undefined) fpm.socketPath = socketPath;
  return fpm;
}

/**
 * Starts a private PHP-FPM and resolves once it accepts connections (bounded by
 * `startTimeoutMs`). A port taken between freePort() and php-fpm's bind is retried twice.
 * Call stop() when done; it also dies with the test process.
 */
export async function startPhpFpm(opts: PhpFpmOptions): Promise<PhpFpm> {
  const binary = findPhpFpm();
  let lastError: Error | null = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(binary, opts);
    } catch (err) {
      lastError = err as Error;
      if (!/Address already in use|EADDRINUSE/i.test(lastError.message)) break;
    }
  }
  throw lastError!;
}
