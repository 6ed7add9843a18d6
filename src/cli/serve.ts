// `fcgate serve`: configuration, tuning, backend probes, claiming the port, the serving
// threads (src/threads), observability (logs, metrics: src/observe; the admin listener:
// src/admin), and the stop / reload / stats / reopen-logs paths the signals call.
import { availableParallelism } from 'node:os';
import { HealthChecks } from '../proxy/health.js';
import { BalancerBoard } from '../balancer/shared-state.js';
import { createInterface } from 'node:readline';
import { loadConfig } from '../config/load.js';
import type { GatewayConfig, ListenAddress, WorkerSettings } from '../config/model.js';
import { assertPortOwned, claimPort, pickFreePort } from '../front/listen.js';
import { startAdmin } from '../admin/server.js';
import { SpoolAccount } from '../front/spool.js';
import { describeUws, loadUws, uwsBuild } from '../front/uws.js';
import { Telemetry } from '../observe/telemetry.js';
import { BudgetTable } from '../threads/budget-table.js';
import { configFromSource, readConfigSource, type SourceSettings } from '../threads/config-source.js';
import { ServingThreads, type ServingStats } from '../threads/supervisor.js';
import type { ConfigSource } from '../threads/messages.js';
import type { Tuning } from '../tuning.js';
import { LocalBudget, type ConnectionBudget } from '../upstream/budget.js';
import { multiplexRequests, probeBackend, type ProbeResult } from '../upstream/probe.js';
import { VERSION } from './version.js';

export interface ServeSettings extends SourceSettings {
  tuning: Tuning;
  /** Lines to stdout (the URL, the build); default process.stdout. */
  say?: (line: string) => void;
  /** Error-log lines of the main thread; default: the configured error log (ErrorLog, stderr). */
  log?: (line: string) => void;
  /** Runs once the configuration is read and valid, before anything is opened (a throw stops startup). */
  beforeBind?: (cfg: GatewayConfig) => void;
  /**
   * Runs once every listener is open and every thread listens, before serving is
   * announced and before the health checks start: the pid file and the privilege drop
   * (serve-command.ts). A throw stops everything that was started.
   */
  afterBind?: (cfg: GatewayConfig, log: (line: string) => void) => void | Promise<void>;
  /** false: no access log at all (the default one to stdout included). */
  accessLogs?: boolean;
}

export interface RunningGateway {
  urls: string[];
  drainMs: number;
  /** Serving threads (FCGATE_THREADS, 0 = one per core). */
  threads: number;
  /** SIGTERM: every thread stops accepting and finishes in-flight requests (up to drainMs). */
  stop(): Promise<void>;
  /**
   * SIGHUP: reads and checks the configuration again and hands it to every thread; an
   * invalid one is logged and the old one stays. Resolves true when every thread took it.
   */
  reload(): Promise<boolean>;
  /** Counters of all threads (SIGUSR2 prints them). */
  stats(): Promise<ServingStats>;
  /** SIGUSR1: every log file is opened again (logrotate). */
  reopenLogs(): void;
  /** Metrics, log outputs, the error log (tests read it). */
  telemetry: Telemetry;
}

/** The configuration text a source stands for (hashed for fcgate_config_info). */
const sourceText = (src: ConfigSource): string => (src.kind === 'text' ? src.text : JSON.stringify(src));

export function loadGatewayConfig(
  s: Pick<ServeSettings, 'config' | 'listen' | 'pass' | 'documentRoot' | 'user' | 'group' | 'pidFile'>,
): GatewayConfig {
  if (s.config !== undefined) return loadConfig(s.config);
  return configFromSource(readConfigSource(s));
}

/**
 * Loads uWebSockets.js with UWS_HTTP_MAX_HEADERS_SIZE as the tuning table read it: the
 * addon parses the variable itself (digits only), so `64KiB` is written back as bytes.
 */
export function loadUwsFor(tuning: Pick<Tuning, 'UWS_HTTP_MAX_HEADERS_SIZE'>, log?: (line: string) => void): void {
  process.env['UWS_HTTP_MAX_HEADERS_SIZE'] = String(tuning.UWS_HTTP_MAX_HEADERS_SIZE);
  loadUws(log === undefined ? {} : { log });
}

/** Every worker the configuration can send to: plain workers and balancer members. */
function allWorkers(cfg: GatewayConfig): WorkerSettings[] {
  const out = [...cfg.workers.values()];
  for (const b of cfg.balancers.values()) for (const m of b.members) out.push(m.worker);
  return out;
}

/**
 * Asks each backend with FCGI_GET_VALUES and decides its connection cap: `max` when given,
 * else the app's FCGI_MAX_CONNS, else FCGATE_DEFAULT_MAX_CONNS. One log line per backend.
 */
/**
 * Asks each backend FCGI_GET_VALUES: its connection cap (`max`, else FCGI_MAX_CONNS, else
 * the default). A backend that accepts the connection and answers nothing gets its name in
 * `silent` (unless enablereuse/disablereuse was written for it): fcgiwrap and plain libfcgi
 * apps serve one connection at a time, so a connection kept idle would lock out every other
 * request (issue 8 §4); callers turn reuse off for them (budget.turnReuseOff).
 */
async function probeCaps(
  workers: WorkerSettings[],
  tuning: Tuning,
  log: (l: string) => void,
  silent?: Set<string>,
  mux?: Map<string, number>,
  answers?: Map<string, ProbeResult>,
): Promise<Map<string, number>> {
  const caps = new Map<string, number>();
  await Promise.all(
    workers.map(async (w) => {
      const r = await probeBackend(w.address, w.name, tuning.FCGATE_PROBE_TIMEOUT);
      answers?.set(w.name, r);
      const cap = w.max ?? r.maxConns ?? tuning.FCGATE_DEFAULT_MAX_CONNS;
      caps.set(w.name, cap);
      const perConn = muxVerdict(w, r, cap);
      mux?.set(w.name, perConn);
      const said =
        r.error !== null
          ? `no answer (${r.error})`
          : Object.entries(r.raw)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ') || 'nothing';
      log(
        `FCGATE_PROBE backend=${w.name} get_values="${said}" `
          + `max_conns=${cap}${w.max !== null ? ' (max=)' : r.maxConns !== null ? ' (FCGI_MAX_CONNS)' : ' (default)'}`
          + ` multiplex=${perConn === 0 ? 'off' : `${perConn} requests/connection`}`,
      );
      if (r.silent && w.reuse && w.reuseSet !== true) {
        silent?.add(w.name);
        log(
          `FCGATE_REUSE_OFF backend=${w.name} cause="the app did not answer FCGI_GET_VALUES (fcgiwrap and `
            + `libfcgi apps serve one connection at a time): connections are not kept (enablereuse=on `
            + `overrides)"`,
        );
      }
    }),
  );
  return caps;
}

/**
 * Requests per connection for `w` (0: one at a time) from what its app answered at startup:
 * never when the probe turns reuse off (an app silent to FCGI_GET_VALUES, unless enablereuse
 * was written), else multiplexRequests.
 */
function muxVerdict(w: WorkerSettings, r: ProbeResult, cap: number): number {
  const reuse = w.reuse && !(r.silent && w.reuseSet !== true);
  return multiplexRequests(w.multiplex, reuse, r, cap);
}

/** probeCaps as one-thread budgets (the in-process gateway of the tests). */
export async function probeAndBudget(
  cfg: GatewayConfig,
  tuning: Tuning,
  log: (l: string) => void,
): Promise<Map<string, ConnectionBudget>> {
  const budgets = new Map<string, ConnectionBudget>();
  const silent = new Set<string>();
  const mux = new Map<string, number>();
  for (const [name, cap] of await probeCaps(allWorkers(cfg), tuning, log, silent, mux)) {
    const b = new LocalBudget(cap);
    if (silent.has(name)) b.turnReuseOff();
    b.setMuxRequests(mux.get(name) ?? 0);
    budgets.set(name, b);
  }
  return budgets;
}

/**
 * The ports the threads will share: port 0 becomes a free port (a port-0 socket cannot be
 * shared), and each port is claimed (a second fcgate on it stops here with a clear message).
 */
async function claimListen(listen: ListenAddress[]): Promise<ListenAddress[]> {
  const out: ListenAddress[] = [];
  for (const l of listen) {
    const host = l.host ?? '0.0.0.0';
    const port = l.port !== 0 ? l.port : await pickFreePort(host);
    await claimPort(host, port);
    out.push(l.protocol === 'https' ? { host: l.host, port, protocol: 'https' } : { host: l.host, port });
  }
  return out;
}

const sameListen = (a: ListenAddress[], b: ListenAddress[]): boolean =>
  a.length === b.length && a.every((l, i) => l.host === b[i]!.host && l.port === b[i]!.port);

export async function startGateway(s: ServeSettings): Promise<RunningGateway> {
  const say = s.say ?? ((l: string) => process.stdout.write(l + '\n'));
  const threads = s.tuning.FCGATE_THREADS > 0 ? s.tuning.FCGATE_THREADS : availableParallelism();
  if (s.tuning.FCGATE_IN_PROCESS === 1 && threads !== 1) {
    throw new Error(
      `FCGATE_IN_PROCESS=1 serves in the main thread and needs FCGATE_THREADS=1 (${threads} serving threads asked${s.tuning.FCGATE_THREADS === 0 ? ': 0 means one per CPU core' : ''})`,
    );
  }
  const source = readConfigSource(s);
  let config = configFromSource(source);
  s.beforeBind?.(config);
  // The log outputs open first (an unwritable log file stops startup, as in Apache); from
  // here on the main thread's lines go to the configured error log.
  const telemetry = new Telemetry(config, { slots: threads, logBuffer: s.tuning.FCGATE_LOG_BUFFER, version: VERSION });
  telemetry.applyLogs(config, s.accessLogs ?? true);
  telemetry.setConfig(sourceText(source), config.source);
  const log = s.log ?? telemetry.log;
  // Before any thread: the addon reads its settings once per process. Logs the build and its limits.
  loadUwsFor(s.tuning, log);
  for (const w of config.warnings) log(`FCGATE_CONFIG_WARNING ${w}`); // one line each, as `fcgate check` lists them
  const table = new BudgetTable(threads);
  const silent = new Set<string>();
  const mux = new Map<string, number>();
  // What each app answered at startup: a reload recomputes the multiplexing verdict from it
  // when the worker keys (multiplex, max, reuse) change.
  const answers = new Map<string, ProbeResult>();
  const caps = await probeCaps(allWorkers(config), s.tuning, log, silent, mux, answers);
  table.assign(caps);
  for (const name of silent) table.turnReuseOff(name);
  for (const [name, n] of mux) table.setMuxRequests(name, n);
  for (const [name, n] of mux) {
    // A multiplexed connection belongs to one serving thread: with fewer connections than
    // threads, a thread's requests wait while another thread's connection has room.
    const cap = caps.get(name) ?? 0;
    if (n > 0 && cap < threads) {
      log(
        `FCGATE_CONFIG_WARNING backend=${name} is multiplexed over at most ${cap} connection${cap === 1 ? '' : 's'} but ${threads} serving threads each need one: raise max= to ${threads} or more (or multiplex=off)`,
      );
    }
  }
  const listen = await claimListen(config.listen).catch(async (err: unknown) => {
    await telemetry.close();
    throw err;
  });
  const testHooks = s.tuning.FCGATE_TEST_HOOKS;
  // Balancer member state shared by all threads; the health checks run here, once.
  let board = new BalancerBoard(config);
  const health = new HealthChecks(telemetry.healthOptions(log));
  let draining = false;
  const checkHealth = (cfg: GatewayConfig): void => health.apply(cfg, board);
  const serving = new ServingThreads({
    threads,
    source,
    listen,
    tuning: s.tuning,
    budgets: table,
    balancerState: board.buffer,
    log,
    testHooks,
    telemetry,
    accessLogs: s.accessLogs ?? true,
    spoolAccount: new SpoolAccount(s.tuning.FCGATE_SPOOL_MEMORY_TOTAL, s.tuning.FCGATE_SPOOL_DISK_TOTAL).buffer,
    inProcess: threads === 1 && s.tuning.FCGATE_IN_PROCESS === 1,
  });
  telemetry.context = {
    config: () => config,
    board: () => board,
    health: () => health.snapshot(),
    cap: (name) => table.capOf(name),
    threads: () => serving.threadInfo(),
    draining: () => draining,
  };
  const fail = async (err: unknown): Promise<never> => {
    health.stop();
    await serving.drain(0);
    await telemetry.close();
    throw err;
  };
  await serving.start().catch(async (err: unknown) => {
    await telemetry.close();
    throw err;
  });
  try {
    for (const l of listen) assertPortOwned(l.port);
  } catch (err) {
    await fail(err);
  }
  // The admin listener (AdminListen / BalancerManager), once, here: the balancer manager
  // reads the threads' summed counters and writes the shared board; /metrics,
  // /server-status, /healthz and /readyz read the telemetry.
  const b = uwsBuild();
  const control = await startAdmin(
    config.balancerManager,
    {
      stats: async () => (await serving.stats()).balancers,
      get board() {
        return board;
      },
      health: () => health.snapshot(),
      telemetry,
      build: { version: VERSION, uws: `${b.packageName}@${b.packageVersion}`, node: process.version },
    },
    log,
  ).catch(fail);
  // Every socket is open: the pid file and the privilege drop (afterBind), then the health
  // checks, which then connect as the serving user.
  try {
    await s.afterBind?.(config, log);
  } catch (err) {
    await control?.close();
    await fail(err);
  }
  checkHealth(config);
  const urls = listen.map((b) => {
    const host = b.host ?? '0.0.0.0';
    const scheme = b.protocol === 'https' ? 'https' : 'http';
    return `${scheme}://${host === '0.0.0.0' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host}:${b.port}/`;
  });
  say(
    `fcgate listening on ${urls.join(' ')} (${describeUws()}; config ${config.source}; ${threads} serving `
      + `thread${threads === 1 ? '' : 's'})`,
  );

  const reloadOnce = async (): Promise<boolean> => {
    let next: ReturnType<typeof readConfigSource>;
    let cfg: GatewayConfig;
    try {
      next = readConfigSource(s);
      cfg = configFromSource(next);
      telemetry.applyLogs(cfg, s.accessLogs ?? true); // changed log directives; a log that cannot open fails the reload
    } catch (err) {
      log(`FCGATE_RELOAD_FAILED ${(err as Error).message}; the old configuration stays`);
      telemetry.reloaded(false);
      return false;
    }
    for (const w of cfg.warnings) log(`FCGATE_CONFIG_WARNING ${w}`);
    const manager = (c: GatewayConfig): string =>
      c.balancerManager ? `${c.balancerManager.host}:${c.balancerManager.port}` : 'off';
    if (manager(cfg) !== manager(config)) {
      log(`FCGATE_RELOAD_LISTEN BalancerManager changed in ${cfg.source}: it stays ${manager(config)} until a restart`);
    }
    if (!sameListen(cfg.listen, config.listen)) {
      log(
        `FCGATE_RELOAD_LISTEN Listen changed in ${cfg.source}: the listening sockets stay as they are until a restart`,
      );
    }
    for (const [name, key] of [
      ['User', 'user'],
      ['Group', 'group'],
      ['PidFile', 'pidFile'],
    ] as const) {
      if (cfg[key] !== config[key])
        log(
          `FCGATE_RELOAD_LISTEN ${name} changed in ${cfg.source}: it stays ${config[key] ?? '(none)'} until a restart`,
        );
    }
    const caps = new Map<string, number>();
    const fresh: WorkerSettings[] = [];
    const mux = new Map<string, number>();
    for (const w of allWorkers(cfg)) {
      const known = table.capOf(w.name);
      if (known === undefined) {
        fresh.push(w);
        continue;
      }
      caps.set(w.name, w.max ?? known);
      const r = answers.get(w.name);
      if (r !== undefined) mux.set(w.name, muxVerdict(w, r, w.max ?? known));
    }
    const silent = new Set<string>();
    for (const [name, cap] of await probeCaps(fresh, s.tuning, log, silent, mux, answers)) caps.set(name, cap);
    board = new BalancerBoard(cfg);
    telemetry.register(cfg);
    const spec = table.assign(caps);
    for (const name of silent) table.turnReuseOff(name);
    for (const [name, n] of mux) table.setMuxRequests(name, n);
    const problems = await serving.reload(next, spec, board.buffer);
    config = cfg;
    checkHealth(cfg);
    if (problems.length > 0) {
      log(`FCGATE_RELOAD_FAILED ${problems.join('; ')}`);
      telemetry.reloaded(false);
      return false;
    }
    telemetry.reloaded(true, sourceText(next), cfg.source);
    log(`FCGATE_RELOADED config=${cfg.source} threads=${threads}`);
    return true;
  };
  let reloading: Promise<boolean> = Promise.resolve(true);
  const reload = (): Promise<boolean> => (reloading = reloading.then(reloadOnce, reloadOnce));

  if (testHooks) {
    // FCGATE_TEST_HOOKS=1: "crash N" on stdin makes serving thread N throw (tests only).
    createInterface({ input: process.stdin }).on('line', (line) => {
      const m = /^crash (\d+)$/.exec(line.trim());
      if (m !== null) serving.crash(Number(m[1]));
    });
  }
  return {
    urls,
    drainMs: s.tuning.FCGATE_DRAIN_MS,
    threads,
    stop: async () => {
      draining = true;
      health.stop();
      await serving.drain(s.tuning.FCGATE_DRAIN_MS);
      await control?.close();
      await telemetry.close();
    },
    reload,
    stats: () => serving.stats(),
    reopenLogs: () => {
      telemetry.hub.reopen();
      log('FCGATE_LOG_REOPENED SIGUSR1: log files opened again');
    },
    telemetry,
  };
}
