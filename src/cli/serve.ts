// `fcgate serve`: configuration, tuning, backend probes, claiming the port, the serving
// threads (src/threads), and the stop / reload / stats paths the signals call.
import { availableParallelism } from 'node:os';
import { HealthChecker } from '../balancer/health-check.js';
import { BalancerBoard } from '../balancer/shared-state.js';
import { createInterface } from 'node:readline';
import { configFromFlags, loadConfig } from '../config/load.js';
import type { GatewayConfig, ListenAddress, WorkerSettings } from '../config/model.js';
import { assertPortOwned, claimPort, pickFreePort } from '../front/listen.js';
import { startBalancerControl } from '../front/manager.js';
import { describeUws, loadUws } from '../front/uws.js';
import { BudgetTable } from '../threads/budget-table.js';
import { configFromSource, readConfigSource } from '../threads/config-source.js';
import { ServingThreads, type ServingStats } from '../threads/supervisor.js';
import type { Tuning } from '../tuning.js';
import { LocalBudget, type ConnectionBudget } from '../upstream/budget.js';
import { probeBackend } from '../upstream/probe.js';

export interface ServeSettings {
  config?: string;
  listen: string[];
  pass: string[];
  documentRoot?: string;
  tuning: Tuning;
  /** Lines to stdout (the URL, the build); default process.stdout. */
  say?: (line: string) => void;
  log?: (line: string) => void;
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
}

export function loadGatewayConfig(s: Pick<ServeSettings, 'config' | 'listen' | 'pass' | 'documentRoot'>): GatewayConfig {
  if (s.config !== undefined) return loadConfig(s.config);
  const flags = { listen: s.listen.length > 0 ? s.listen : ['127.0.0.1:8080'], pass: s.pass,
    ...(s.documentRoot !== undefined ? { documentRoot: s.documentRoot } : {}) };
  return configFromFlags(flags);
}

/** Every worker the configuration can send to: plain workers and balancer members. */
export function allWorkers(cfg: GatewayConfig): WorkerSettings[] {
  const out = [...cfg.workers.values()];
  for (const b of cfg.balancers.values()) for (const m of b.members) out.push(m.worker);
  return out;
}

/**
 * Asks each backend with FCGI_GET_VALUES and decides its connection cap: `max` when given,
 * else the app's FCGI_MAX_CONNS, else FCGATE_DEFAULT_MAX_CONNS. One log line per backend.
 */
export async function probeCaps(workers: WorkerSettings[], tuning: Tuning, log: (l: string) => void):
    Promise<Map<string, number>> {
  const caps = new Map<string, number>();
  await Promise.all(workers.map(async (w) => {
    const r = await probeBackend(w.address, w.name, tuning.FCGATE_PROBE_TIMEOUT);
    const cap = w.max ?? r.maxConns ?? tuning.FCGATE_DEFAULT_MAX_CONNS;
    caps.set(w.name, cap);
    const said = r.error !== null ? `no answer (${r.error})`
      : Object.entries(r.raw).map(([k, v]) => `${k}=${v}`).join(' ') || 'nothing';
    log(`FCGATE_PROBE backend=${w.name} get_values="${said}" max_conns=${cap}${w.max !== null ? ' (max=)' : r.maxConns !== null ? ' (FCGI_MAX_CONNS)' : ' (default)'}`);
  }));
  return caps;
}

/** probeCaps as one-thread budgets (the in-process gateway of the tests). */
export async function probeAndBudget(cfg: GatewayConfig, tuning: Tuning, log: (l: string) => void):
    Promise<Map<string, ConnectionBudget>> {
  const budgets = new Map<string, ConnectionBudget>();
  for (const [name, cap] of await probeCaps(allWorkers(cfg), tuning, log)) budgets.set(name, new LocalBudget(cap));
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
    out.push({ host: l.host, port });
  }
  return out;
}

const sameListen = (a: ListenAddress[], b: ListenAddress[]): boolean =>
  a.length === b.length && a.every((l, i) => l.host === b[i]!.host && l.port === b[i]!.port);

export async function startGateway(s: ServeSettings): Promise<RunningGateway> {
  const say = s.say ?? ((l: string) => process.stdout.write(l + '\n'));
  const log = s.log ?? ((l: string) => process.stderr.write(`${new Date().toISOString()} ${l}\n`));
  loadUws({ log });                // before any thread: the addon reads its settings once per process; logs the build and its limits
  const threads = s.tuning.FCGATE_THREADS > 0 ? s.tuning.FCGATE_THREADS : availableParallelism();
  const source = readConfigSource(s);
  let config = configFromSource(source);
  for (const w of config.warnings) log(`FCGATE_CONFIG_WARNING ${w}`);   // one line each, as \`fcgate check\` lists them
  const table = new BudgetTable(threads);
  table.assign(await probeCaps(allWorkers(config), s.tuning, log));
  const listen = await claimListen(config.listen);
  const testHooks = process.env['FCGATE_TEST_HOOKS'] === '1';
  // Balancer member state shared by all threads; the health checks run here, once.
  let board = new BalancerBoard(config);
  let health: HealthChecker | null = null;
  const checkHealth = (cfg: GatewayConfig): void => {
    health?.stop();
    health = HealthChecker.wanted(cfg) ? new HealthChecker(cfg, board, { log }) : null;
    health?.start();
  };
  const serving = new ServingThreads({ threads, source, listen, tuning: s.tuning, budgets: table,
    balancerState: board.buffer, log, testHooks });
  await serving.start();
  try {
    for (const l of listen) assertPortOwned(l.port);
  } catch (err) {
    await serving.drain(0);
    throw err;
  }
  checkHealth(config);
  // The balancer manager (BalancerManager), once, here: it reads the threads' summed
  // counters and writes the shared board (whichever configuration is in force).
  const control = await startBalancerControl(config.balancerManager, {
    stats: async () => (await serving.stats()).balancers,
    get board() { return board; },
    health: () => health?.snapshot() ?? [],
  }, log).catch(async (err: unknown) => { health?.stop(); await serving.drain(0); throw err; });
  const urls = listen.map((b) => {
    const host = b.host ?? '0.0.0.0';
    return `http://${host === '0.0.0.0' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host}:${b.port}/`;
  });
  say(`fcgate listening on ${urls.join(' ')} (${describeUws()}; config ${config.source}; ${threads} serving thread${threads === 1 ? '' : 's'})`);

  const reloadOnce = async (): Promise<boolean> => {
    let next, cfg: GatewayConfig;
    try {
      next = readConfigSource(s);
      cfg = configFromSource(next);
    } catch (err) {
      log(`FCGATE_RELOAD_FAILED ${(err as Error).message}; the old configuration stays`);
      return false;
    }
    for (const w of cfg.warnings) log(`FCGATE_CONFIG_WARNING ${w}`);
    const manager = (c: GatewayConfig): string => c.balancerManager ? `${c.balancerManager.host}:${c.balancerManager.port}` : 'off';
    if (manager(cfg) !== manager(config)) {
      log(`FCGATE_RELOAD_LISTEN BalancerManager changed in ${cfg.source}: it stays ${manager(config)} until a restart`);
    }
    if (!sameListen(cfg.listen, config.listen)) {
      log(`FCGATE_RELOAD_LISTEN Listen changed in ${cfg.source}: the listening sockets stay as they are until a restart`);
    }
    const caps = new Map<string, number>();
    const fresh: WorkerSettings[] = [];
    for (const w of allWorkers(cfg)) {
      const known = table.capOf(w.name);
      if (known === undefined) fresh.push(w);
      else caps.set(w.name, w.max ?? known);
    }
    for (const [name, cap] of await probeCaps(fresh, s.tuning, log)) caps.set(name, cap);
    board = new BalancerBoard(cfg);
    const problems = await serving.reload(next, table.assign(caps), board.buffer);
    config = cfg;
    checkHealth(cfg);
    if (problems.length > 0) {
      log(`FCGATE_RELOAD_FAILED ${problems.join('; ')}`);
      return false;
    }
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
    urls, drainMs: s.tuning.FCGATE_DRAIN_MS, threads,
    stop: async () => {
      health?.stop();
      await control?.close();
      await serving.drain(s.tuning.FCGATE_DRAIN_MS);
    },
    reload,
    stats: () => serving.stats(),
  };
}
