// `fcgate serve`: configuration, tuning, backend probes, listening, and the stop path.
import { configFromFlags, loadConfig } from '../config/load.js';
import type { GatewayConfig, WorkerSettings } from '../config/model.js';
import { Gateway } from '../front/server.js';
import { claimPort } from '../front/listen.js';
import { describeUws, loadUws } from '../front/uws.js';
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
  gateway: Gateway;
  urls: string[];
  drainMs: number;
  stop(): Promise<void>;
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
 * Asks each backend with FCGI_GET_VALUES and sets its connection cap: `max` when given,
 * else the app's FCGI_MAX_CONNS, else FCGATE_DEFAULT_MAX_CONNS.
 */
export async function probeAndBudget(cfg: GatewayConfig, tuning: Tuning, log: (l: string) => void):
    Promise<Map<string, ConnectionBudget>> {
  const budgets = new Map<string, ConnectionBudget>();
  await Promise.all(allWorkers(cfg).map(async (w) => {
    const r = await probeBackend(w.address, w.name, tuning.FCGATE_PROBE_TIMEOUT);
    const cap = w.max ?? r.maxConns ?? tuning.FCGATE_DEFAULT_MAX_CONNS;
    budgets.set(w.name, new LocalBudget(cap));
    const said = r.error !== null ? `no answer (${r.error})`
      : Object.entries(r.raw).map(([k, v]) => `${k}=${v}`).join(' ') || 'nothing';
    log(`FCGATE_PROBE backend=${w.name} get_values="${said}" max_conns=${cap}${w.max !== null ? ' (max=)' : r.maxConns !== null ? ' (FCGI_MAX_CONNS)' : ' (default)'}`);
  }));
  return budgets;
}

export async function startGateway(s: ServeSettings): Promise<RunningGateway> {
  const say = s.say ?? ((l: string) => process.stdout.write(l + '\n'));
  const log = s.log ?? ((l: string) => process.stderr.write(`${new Date().toISOString()} ${l}\n`));
  loadUws();
  const config = loadGatewayConfig(s);
  const budgets = await probeAndBudget(config, s.tuning, log);
  for (const l of config.listen) if (l.port !== 0) await claimPort(l.host ?? '0.0.0.0', l.port);
  const gateway = new Gateway({ config, tuning: s.tuning, budgets, log });
  const bound = await gateway.listen();
  const urls = bound.map((b) => `http://${b.address === '0.0.0.0' ? '127.0.0.1' : b.address.includes(':') ? `[${b.address}]` : b.address}:${b.port}/`);
  say(`fcgate listening on ${urls.join(' ')} (${describeUws()}; config ${config.source})`);
  return {
    gateway, urls, drainMs: s.tuning.FCGATE_DRAIN_MS,
    stop: () => gateway.drain(s.tuning.FCGATE_DRAIN_MS),
  };
}
