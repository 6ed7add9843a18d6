// @ts-check
// The servers of the end-to-end bench, each started on loopback with its own temp dir,
// config and free port: the demo FastCGI app and PHP-FPM (the backends), and the proxies
// in front of them: fcgate, nginx (N workers) and Apache 2.4 (event MPM, mod_proxy_fcgi).
// Config templates live in bench/e2e/. Measuring and load generation are elsewhere.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startGroup, stopGroup, waitForPort } from './procs.mjs';

/**
 * A started server (`note`: how it was started differs from what was asked, e.g. a build without a key).
 * @typedef {{ name: string, proc: import('./procs.mjs').Proc, port: number, pid: number,
 *   stop: () => Promise<void>, note?: string }} Server
 * @typedef {{ demo: Server, php: Server }} Backends
 * @typedef {{ nginx: string, apache: string, phpFpm: string, wrk: string }} Binaries
 */

export const ROOT = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');
export const E2E = join(ROOT, 'bench', 'e2e');
export const PHP_ROOT = join(E2E, 'php');
/** The fcgate under test: this checkout's build, or FCGATE_E2E_MAIN (another build's dist/src/cli/main.js). */
export const MAIN = process.env.FCGATE_E2E_MAIN || join(ROOT, 'dist', 'src', 'cli', 'main.js');

/**
 * Fills `{{NAME}}` in bench/e2e/<file>; a name without a value is an error.
 * @param {string} file
 * @param {Record<string, string | number>} values
 */
export function renderTemplate(file, values) {
  return readFileSync(join(E2E, file), 'utf8').replace(/\{\{(\w+)\}\}/g, (_, /** @type {string} */ k) => {
    if (!(k in values)) throw new Error(`bench/e2e/${file}: no value for {{${k}}}`);
    return String(values[k]);
  });
}

/** @param {string} p */
function executable(p) {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The first executable of `names` in PATH, /usr/sbin, /usr/local/sbin; null if none.
 * @param {...string} names
 * @returns {string | null}
 */
export function findBinary(...names) {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/local/sbin'];
  for (const name of names) for (const d of dirs) if (executable(join(d, name))) return join(d, name);
  return null;
}

/** php-fpm or php-fpmX.Y, highest version first. */
export function findPhpFpm() {
  const plain = findBinary('php-fpm');
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/local/sbin'];
  /** @type {Array<{ p: string, rank: number }>} */
  const found = [];
  for (const d of dirs) {
    /** @type {string[]} */
    let names = [];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) {
      const m = /^php-fpm(\d+)\.(\d+)$/.exec(n);
      if (m && executable(join(d, n))) found.push({ p: join(d, n), rank: Number(m[1]) * 1000 + Number(m[2]) });
    }
  }
  found.sort((a, b) => b.rank - a.rank);
  return found[0]?.p ?? plain;
}

const firstLine = (/** @type {string} */ s) =>
  s
    .split('\n')
    .find((l) => l.trim() !== '')
    ?.trim() ?? '';
/** @param {string} cmd @param {string[]} args */
function versionOf(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  return firstLine(`${r.stdout ?? ''}\n${r.stderr ?? ''}`) || 'unknown';
}

/**
 * Version lines of everything the bench runs (nginx -v and wrk -v print to stderr / exit 1).
 * @param {Binaries} bins
 */
export function versions(bins) {
  return {
    node: process.version,
    nginx: versionOf(bins.nginx, ['-v']).replace(/^nginx version: /, ''),
    apache: versionOf(bins.apache, ['-v']).replace(/^Server version: /, ''),
    phpFpm: versionOf(bins.phpFpm, ['-v']),
    wrk: versionOf(bins.wrk, ['-v']).replace(/ Copyright.*$/, ''),
  };
}

/**
 * A started server: { name, proc, port, pid (root of its tree), stop() }.
 * @param {string} name
 * @param {import('./procs.mjs').Proc} proc
 * @param {number} port
 * @returns {Server}
 */
function server(name, proc, port, extra = {}) {
  return { name, proc, port, pid: proc.pid, stop: () => stopGroup(proc), ...extra };
}

/**
 * The built-in demo FastCGI app in its own node process (multiplexing on, 4096 connections).
 * @param {string} dir
 * @param {string | null} cpus
 */
export async function startDemoApp(dir, cpus) {
  const port = await freePort();
  const proc = startGroup(
    'demo-app',
    process.execPath,
    [MAIN, 'demo-app', '--listen', `127.0.0.1:${port}`, '--max-conns', '4096'],
    { cpus, logFile: join(dir, 'demo-app.log') },
  );
  await waitForPort(proc, port);
  return server('demo-app', proc, port);
}

/**
 * A private PHP-FPM master (pm static, `children` workers) serving bench/e2e/php.
 * @param {string} dir
 * @param {string | null} cpus
 * @param {string} binary
 * @param {number} children
 */
export async function startPhpFpm(dir, cpus, binary, children) {
  const port = await freePort();
  const d = join(dir, 'php-fpm');
  mkdirSync(d, { recursive: true });
  const conf = join(d, 'php-fpm.conf');
  writeFileSync(conf, renderTemplate('php-fpm.conf', { DIR: d, PORT: port, CHILDREN: children, PHP_ROOT }));
  const args = ['-y', conf, '-F'];
  if (process.getuid?.() === 0) args.push('-R');
  const proc = startGroup('php-fpm', binary, args, { cpus, logFile: join(d, 'stdout.log') });
  await waitForPort(proc, port);
  return server('php-fpm', proc, port);
}

/**
 * fcgate: `serve --listen … --pass /php/=… --pass /=…`, FCGATE_THREADS=`threads` (null:
 * the default), extra node flags (e.g. --cpu-prof, --trace-gc) before the script.
 */
/** @type {Map<string, boolean>} */
const logAware = new Map();
/**
 * Whether the build at `main` has access logs (its --help lists FCGATE_LOG_BUFFER): then it
 * gets `CustomLog off` like nginx's `access_log off`.
 * @param {string} main
 * @returns {boolean}
 */
function knowsLogs(main) {
  if (!logAware.has(main))
    logAware.set(
      main,
      spawnSync(process.execPath, [main, '--help'], { encoding: 'utf8' }).stdout.includes('FCGATE_LOG_BUFFER'),
    );
  return logAware.get(main) ?? false;
}

/** @type {Map<string, boolean>} */
const keyAware = new Map();
/**
 * Whether the build at `main` takes `keys` on a ProxyPass line (`fcgate check` of a
 * two-line config in `dir`): an older build (FCGATE_E2E_ALT) may not know `multiplex`.
 * @param {string} main
 * @param {string} dir
 * @param {string} keys
 * @returns {boolean}
 */
function takesKeys(main, dir, keys) {
  const k = `${main}\n${keys}`;
  if (!keyAware.has(k)) {
    const conf = join(dir, 'keys-check.conf');
    writeFileSync(conf, `Listen 127.0.0.1:1\nProxyPass / fcgi://127.0.0.1:1/ ${keys}\n`);
    const r = spawnSync(process.execPath, [main, 'check', '-c', conf], {
      encoding: 'utf8',
      env: { ...process.env, FCGATE_ALLOW_ROOT: '1' },
      timeout: 20_000,
    });
    keyAware.set(k, r.status === 0);
  }
  return keyAware.get(k) ?? false;
}

/**
 * fcgate in front of both backends. `observe` (issue 12's cost rows): 'off' (default) no
 * access log, as nginx and Apache run here; 'log' the combined access log to a file in the
 * temp dir; 'nometrics' no access log and FCGATE_METRICS=0. A build without access logs
 * (older, through FCGATE_E2E_ALT/MAIN) runs from flags, as before. `demoKeys`: worker keys
 * on the ProxyPass to the demo app (the multiplexing rows: `multiplex=on max=4`); a build
 * that refuses them runs with the `max=` among them only, or none, and says so in `note`.
 * @param {string} dir
 * @param {string | null} cpus
 * @param {Backends} backends
 * @param {{ threads?: number | null, nodeFlags?: string[], tag?: string, main?: string,
 *   observe?: 'off' | 'log' | 'nometrics', demoKeys?: string }} [options]
 */
export async function startFcgate(
  dir,
  cpus,
  backends,
  { threads = null, nodeFlags = [], tag = 'fcgate', main = MAIN, observe = 'off', demoKeys = '' } = {},
) {
  const port = await freePort();
  /** @type {string | undefined} */
  let note;
  let keys = demoKeys;
  if (keys !== '' && !(knowsLogs(main) && takesKeys(main, dir, keys))) {
    const max = keys.split(/\s+/).filter((k) => k.startsWith('max='));
    keys = knowsLogs(main) && max.length > 0 && takesKeys(main, dir, max.join(' ')) ? max.join(' ') : '';
    note = `${tag} (${main}) does not take \`${demoKeys}\`: ran with ${keys === '' ? 'no keys' : `\`${keys}\``}`;
  }
  // FCGATE_ALLOW_ROOT: the e2e runs as root; `serve` refuses root without User since issue 13.
  /** @type {NodeJS.ProcessEnv} */
  const env = { ...process.env, FCGATE_ALLOW_ROOT: '1' };
  if (threads === null) delete env.FCGATE_THREADS;
  else env.FCGATE_THREADS = String(threads);
  let args;
  if (knowsLogs(main)) {
    const conf = join(dir, `${tag}.conf`);
    writeFileSync(
      conf,
      [
        `Listen 127.0.0.1:${port}`,
        `ProxyPass /php/ fcgi://127.0.0.1:${backends.php.port}${PHP_ROOT}/`,
        `ProxyPass / fcgi://127.0.0.1:${backends.demo.port}/${keys === '' ? '' : ` ${keys}`}`,
        observe === 'log' ? `CustomLog ${join(dir, `${tag}-access.log`)} combined` : 'CustomLog off',
      ].join('\n') + '\n',
    );
    if (observe === 'nometrics') env.FCGATE_METRICS = '0';
    else delete env.FCGATE_METRICS;
    args = ['serve', '-c', conf];
  } else {
    if (observe !== 'off')
      throw new Error(`${main}: this build has no access log or metrics switch (observe=${observe})`);
    args = [
      'serve',
      '--listen',
      `127.0.0.1:${port}`,
      '--pass',
      `/php/=fcgi://127.0.0.1:${backends.php.port}${PHP_ROOT}/`,
      '--pass',
      `/=fcgi://127.0.0.1:${backends.demo.port}/`,
    ];
  }
  const proc = startGroup(tag, process.execPath, [...nodeFlags, main, ...args], {
    cpus,
    env,
    cwd: dir,
    logFile: join(dir, `${tag}.log`),
  });
  await waitForPort(proc, port, 20_000);
  return server(tag, proc, port, note === undefined ? {} : { note });
}

/**
 * nginx with `workers` worker processes (master in the foreground, daemon off);
 * `demoKeepalive`: idle connections it keeps to the demo app (its upstream's `keepalive`).
 * @param {string} dir
 * @param {string | null} cpus
 * @param {Backends} backends
 * @param {string} binary
 * @param {number} workers
 * @param {{ demoKeepalive?: number }} [options]
 */
export async function startNginx(dir, cpus, backends, binary, workers, { demoKeepalive = 32 } = {}) {
  const port = await freePort();
  const d = join(dir, `nginx-${workers}w`);
  mkdirSync(d, { recursive: true });
  const conf = join(d, 'nginx.conf');
  writeFileSync(
    conf,
    renderTemplate('nginx.conf', {
      DIR: d,
      PORT: port,
      WORKERS: workers,
      DEMO_PORT: backends.demo.port,
      DEMO_KEEPALIVE: demoKeepalive,
      PHP_PORT: backends.php.port,
      PHP_ROOT,
    }),
  );
  const proc = startGroup(`nginx-${workers}w`, binary, ['-p', d, '-c', conf, '-e', join(d, 'nginx-error.log')], {
    cpus,
    logFile: join(d, 'stdout.log'),
  });
  await waitForPort(proc, port);
  return server(`nginx-${workers}w`, proc, port);
}

function userAndGroup() {
  try {
    execFileSync('id', ['www-data'], { stdio: 'ignore' });
    return ['www-data', 'www-data'];
  } catch {
    return ['nobody', 'nogroup'];
  }
}

/**
 * Apache 2.4, event MPM, mod_proxy_fcgi with enablereuse=on, `apache2 -f conf -DFOREGROUND`.
 * @param {string} dir
 * @param {string | null} cpus
 * @param {Backends} backends
 * @param {string} binary
 * @param {string} modules  LoadModule lines
 */
export async function startApache(dir, cpus, backends, binary, modules) {
  const port = await freePort();
  const d = join(dir, 'apache');
  mkdirSync(d, { recursive: true });
  const [user, group] = userAndGroup();
  const conf = join(d, 'apache.conf');
  writeFileSync(
    conf,
    renderTemplate('apache.conf', {
      DIR: d,
      PORT: port,
      MODULES: modules,
      USER: user,
      GROUP: group,
      DEMO_PORT: backends.demo.port,
      PHP_PORT: backends.php.port,
      PHP_ROOT,
    }),
  );
  // Debian's apache2 reads its run/log/lock dirs from APACHE_* only through envvars and
  // the stock config; ours names every path itself, these only keep stray lookups in `d`.
  const env = {
    ...process.env,
    APACHE_RUN_DIR: d,
    APACHE_PID_FILE: join(d, 'apache.pid'),
    APACHE_LOCK_DIR: d,
    APACHE_LOG_DIR: d,
    APACHE_RUN_USER: user,
    APACHE_RUN_GROUP: group,
  };
  const proc = startGroup('apache', binary, ['-f', conf, '-DFOREGROUND'], {
    cpus,
    env,
    logFile: join(d, 'stdout.log'),
  });
  await waitForPort(proc, port);
  return server('apache', proc, port);
}
