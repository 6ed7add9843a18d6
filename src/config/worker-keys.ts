// key=value parameters of ProxyPass, BalancerMember and ProxySet: defaults, units,
// validation. Applies them to WorkerSettings or BalancerSettings; parses nothing else.

import { didYouMean } from '../closest-name.js';
import type { BackendAddress, BalancerSettings, HealthCheckSettings, WorkerSettings } from './model.js';

/** Apache's Timeout default (60 s), which ProxyTimeout and the worker `timeout` inherit. */
const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Defaults. Where fcgate differs from Apache it says why:
 * - reuse on (Apache 2.4.11+: off unless enablereuse=on), as the seed's manual page says;
 * - connectTimeoutMs 5000: Apache uses Timeout (60 s), but a local FastCGI app that does
 *   not accept within 5 s is down, and 60 s of hanging clients helps nobody;
 * - acquireMs 5000: Apache waits for a free connection without a deadline unless
 *   `acquire` is set; we never wait forever (DESIGN §5);
 * - flushPackets 'auto' (docs/apache-differences.md, "Streaming the app's output");
 * - ttlMs 2000: Apache keeps idle connections until `ttl` (none by default), nginx for 60 s,
 *   but neither keeps any unless told to. A kept idle connection pins a PHP-FPM worker (and
 *   all of fcgiwrap), so other clients of the same pool (another gateway, Apache during a
 *   migration) wait until we let go: 2 s after a burst, and at once when one of our own
 *   requests waits (upstream/pool.ts STALL_MS). Steady traffic reuses connections long
 *   before 2 s; `ttl=60` for apps that multiplex or don't pin workers (issue 8 §4).
 */
export function defaultWorker(name: string, address: BackendAddress, timeoutMs = DEFAULT_TIMEOUT_MS): WorkerSettings {
  return {
    name,
    address,
    reuse: true,
    max: null,
    timeoutMs,
    connectTimeoutMs: 5_000,
    acquireMs: 5_000,
    ttlMs: 2_000,
    flushPackets: 'auto',
    flushWaitMs: 10,
    requestBuffering: true,
    loadFactor: 1,
    lbSet: 0,
    route: '',
    retryMs: 60_000,
    status: '',
  };
}

export function defaultBalancer(): BalancerSettings {
  return {
    lbMethod: 'byrequests',
    stickySession: null,
    maxAttempts: null,
    noFailover: false,
    failOnStatus: [],
    failOnTimeout: false,
    forceRecovery: true,
    timeoutMs: null,
  };
}

/** Keys that belong to the balancer rather than to a worker. */
export const BALANCER_KEYS = new Set([
  'lbmethod',
  'stickysession',
  'maxattempts',
  'nofailover',
  'failonstatus',
  'failontimeout',
  'forcerecovery',
  'timeout',
]);

/** Every key applyWorkerKey takes (and hctemplate, which BuildState expands): for "did you mean". */
export const WORKER_KEYS: readonly string[] = [
  'enablereuse',
  'disablereuse',
  'multiplex',
  'max',
  'timeout',
  'connectiontimeout',
  'acquire',
  'ttl',
  'retry',
  'flushwait',
  'flushpackets',
  'loadfactor',
  'lbset',
  'route',
  'status',
  'hcmethod',
  'hcinterval',
  'hcpasses',
  'hcfails',
  'hcuri',
  'hcexpr',
  'hctemplate',
];

const onOff = (key: string, v: string): boolean => {
  const l = v.toLowerCase();
  if (l === 'on') return true;
  if (l === 'off') return false;
  throw new Error(`${key}: expected On or Off, got "${v}"`);
};

const integer = (key: string, v: string, min: number, max = Number.MAX_SAFE_INTEGER): number => {
  if (!/^\d+$/.test(v) || +v < min || +v > max) {
    throw new Error(
      `${key}: expected a whole `
        + `number${max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : ` >= ${min}`}, got "${v}"`,
    );
  }
  return +v;
};

/**
 * A duration: a whole number in `unit` (Apache: seconds for timeout, connectiontimeout,
 * ttl, retry; milliseconds for acquire and flushwait), or with a suffix ms, s, mi, h
 * (Apache's ap_timeout_parameter_parse). Returns milliseconds.
 */
export function durationMs(key: string, v: string, unit: 's' | 'ms'): number {
  const m = /^(\d+)(ms|s|mi|h)?$/i.exec(v);
  if (m === null)
    throw new Error(`${key}: expected a duration (a whole number, optionally with ms, s, mi or h), got "${v}"`);
  const n = +m[1]!;
  const u = (m[2] ?? unit).toLowerCase();
  return u === 'ms' ? n : u === 's' ? n * 1000 : u === 'mi' ? n * 60_000 : n * 3_600_000;
}

/**
 * Applies one worker key. Throws an Error whose message says what is wrong (the
 * caller adds file and line). Keys: enablereuse, disablereuse, multiplex, max, timeout,
 * connectiontimeout, acquire, ttl, flushpackets, flushwait, and the member keys
 * loadfactor, lbset, route, retry, status.
 */
export function applyWorkerKey(w: WorkerSettings, key: string, v: string): void {
  switch (key) {
    case 'enablereuse':
      w.reuse = onOff(key, v);
      w.reuseSet = true;
      return;
    case 'disablereuse':
      w.reuse = !onOff(key, v);
      w.reuseSet = true;
      return;
    case 'multiplex': {
      const l = v.toLowerCase();
      if (l !== 'auto' && l !== 'on' && l !== 'off') throw new Error(`${key}: expected auto, on or off, got "${v}"`);
      w.multiplex = l;
      return;
    }
    case 'requestbuffering':
      w.requestBuffering = onOff(key, v);
      return;
    case 'max':
      w.max = integer(key, v, 1);
      return;
    case 'timeout':
      w.timeoutMs = durationMs(key, v, 's');
      return;
    case 'connectiontimeout':
      w.connectTimeoutMs = durationMs(key, v, 's');
      return;
    case 'acquire':
      w.acquireMs = durationMs(key, v, 'ms');
      return;
    case 'ttl':
      w.ttlMs = durationMs(key, v, 's');
      return;
    case 'retry':
      w.retryMs = durationMs(key, v, 's');
      return;
    case 'flushwait':
      w.flushWaitMs = durationMs(key, v, 'ms');
      return;
    case 'flushpackets': {
      const l = v.toLowerCase();
      if (l !== 'on' && l !== 'off' && l !== 'auto')
        throw new Error(`flushpackets: expected on, off or auto, got "${v}"`);
      w.flushPackets = l;
      return;
    }
    case 'loadfactor': {
      // Apache 2.4: 1..100, up to two decimals.
      if (!/^\d+(\.\d{1,2})?$/.test(v) || +v < 1 || +v > 100)
        throw new Error(`loadfactor: expected a number from 1 to 100, got "${v}"`);
      w.loadFactor = +v;
      return;
    }
    case 'lbset':
      w.lbSet = integer(key, v, 0, 99);
      return;
    case 'route':
      if (!/^[\w.~-]*$/.test(v)) throw new Error(`route: bad route "${v}"`);
      w.route = v;
      return;
    case 'status':
      w.status = applyStatus(w.status, v);
      return;
    case 'hcmethod':
    case 'hcinterval':
    case 'hcpasses':
    case 'hcfails':
    case 'hcuri':
    case 'hcexpr':
      applyHealthKey((w.healthCheck ??= defaultHealthCheck()), key, v);
      return;
    default:
      throw new Error(`unknown worker key "${key}"${didYouMean(key, WORKER_KEYS)}`);
  }
}

/** mod_proxy_hcheck's defaults: no check until hcmethod says, every 30 s, 1 pass, 1 fail. */
const defaultHealthCheck = (): HealthCheckSettings => ({
  method: 'none',
  intervalMs: 30_000,
  passes: 1,
  fails: 1,
  uri: '',
  expr: null,
});

/** Keys of mod_proxy_hcheck (balancer members, ProxySet, ProxyHCTemplate). */
export const HEALTH_KEYS = new Set(['hcmethod', 'hcinterval', 'hcpasses', 'hcfails', 'hcuri', 'hcexpr']);

/**
 * hcmethod: TCP, GET, HEAD, OPTIONS (a FastCGI request for hcuri; Apache's OPTIONS11 /
 * HEAD11 / GET11 mean the same here), CPING or GETVALUES (FCGI_GET_VALUES, the FastCGI
 * counterpart of AJP's CPING), None. hcinterval in seconds (or with a unit), at least 100 ms.
 */
function applyHealthKey(h: HealthCheckSettings, key: string, v: string): void {
  switch (key) {
    case 'hcmethod': {
      const l = v.toLowerCase().replace(/11$/, '');
      const m = l === 'cping' ? 'getvalues' : l;
      if (m !== 'none' && m !== 'tcp' && m !== 'getvalues' && m !== 'get' && m !== 'head' && m !== 'options') {
        throw new Error(`hcmethod: expected TCP, GET, HEAD, OPTIONS, GETVALUES (CPING) or None, got "${v}"`);
      }
      h.method = m;
      return;
    }
    case 'hcinterval': {
      const ms = durationMs(key, v, 's');
      if (ms < 100) throw new Error(`hcinterval: at least 100 ms, got "${v}"`);
      h.intervalMs = ms;
      return;
    }
    case 'hcpasses':
      h.passes = integer(key, v, 1, 1000);
      return;
    case 'hcfails':
      h.fails = integer(key, v, 1, 1000);
      return;
    case 'hcuri':
      if (!v.startsWith('/') || /[\s#]/.test(v))
        throw new Error(`hcuri: expected a path starting with '/', got "${v}"`);
      h.uri = v;
      return;
    case 'hcexpr':
      if (!/^[\w.-]+$/.test(v)) throw new Error(`hcexpr: expected the name of a ProxyHCExpr, got "${v}"`);
      h.expr = v;
      return;
  }
}

/**
 * `status=+H`, `status=-D`, `status=D`, `status=+H-D`: adds or removes Apache's status
 * letters (D disabled, S stopped, I ignore errors, H hot standby, E error, N drain,
 * R hot spare, C cleared/recovering).
 */
function applyStatus(current: string, v: string): string {
  if (!/^([+-]?[DSIHENRC])+$/i.test(v))
    throw new Error(`status: expected flags such as +H or -D (letters D S I H E N R C), got "${v}"`);
  let set = current;
  let add = true;
  for (const ch of v.toUpperCase()) {
    if (ch === '+') {
      add = true;
      continue;
    }
    if (ch === '-') {
      add = false;
      continue;
    }
    set = set.replace(ch, '');
    if (add) set += ch;
  }
  return set;
}

/** Applies one balancer key (lbmethod, stickysession, maxattempts, nofailover, …). */
export function applyBalancerKey(b: BalancerSettings, key: string, v: string): void {
  switch (key) {
    case 'lbmethod': {
      const l = v.toLowerCase();
      if (l !== 'byrequests' && l !== 'bytraffic' && l !== 'bybusyness' && l !== 'heartbeat') {
        throw new Error(`lbmethod: expected byrequests, bytraffic, bybusyness or heartbeat, got "${v}"`);
      }
      b.lbMethod = l;
      return;
    }
    case 'stickysession':
      if (v === '') throw new Error('stickysession: empty name');
      b.stickySession = v;
      return;
    case 'maxattempts':
      b.maxAttempts = integer(key, v, 0);
      return;
    case 'nofailover':
      b.noFailover = onOff(key, v);
      return;
    case 'failontimeout':
      b.failOnTimeout = onOff(key, v);
      return;
    case 'forcerecovery':
      b.forceRecovery = onOff(key, v);
      return;
    case 'timeout':
      b.timeoutMs = durationMs(key, v, 's');
      return;
    case 'failonstatus': {
      const codes = v.split(',').map((s) => s.trim());
      for (const c of codes) integer('failonstatus', c, 100, 599);
      b.failOnStatus = codes.map(Number);
      return;
    }
    default:
      throw new Error(`unknown balancer key "${key}"${didYouMean(key, BALANCER_KEYS)}`);
  }
}
