// @ts-check
// What the end-to-end bench measures: the scenarios (path, method, connections, what a
// correct answer looks like), the proxies of each mode (pinned: proxy on core 0, backends
// and wrk on core 1; unpinned: the scheduler decides), and the targets fcgate is held to.
// Data only; running it is bench-e2e.mjs, judging rows against targets is report.mjs.

/**
 * @typedef {object} Scenario
 * @property {string} id
 * @property {string} label
 * @property {string} path
 * @property {string} [method]  default GET
 * @property {number} connections
 * @property {(bodyBytes: number, head: string) => string | null} expect  null when the answer is right
 * @property {string} [fcgateDemoKeys]  worker keys on fcgate's ProxyPass to the demo app (none by default)
 * @property {number} [nginxDemoKeepalive]  nginx's `keepalive` for the demo app's upstream (default 32)
 * @property {string[]} [modes]  the modes it runs in (default: every mode)
 * @property {string[]} [proxies]  the proxies it runs with ('fcgate' takes its variants along; default: the mode's)
 */

/**
 * @typedef {object} Mode
 * @property {string} id
 * @property {string | null} proxyCpus  taskset CPU list; null = unpinned
 * @property {string | null} loadCpus
 * @property {number | null} fcgateThreads  null = fcgate's default
 * @property {string[]} proxies
 * @property {string} describe
 */

/**
 * One measured cell (a proxy on a scenario in a mode).
 * @typedef {{ cpuUs: number, appUs: number, rps: number, p99Ms: number, rssMB: number, errors: number }} TargetRow
 */

/** fcgate's keys for the multiplexing rows: several requests per connection, on few connections. */
const MUX_KEYS = 'multiplex=on max=4';
/** The scenarios of issue 15 §1 (fcgate multiplexing against nginx, which never multiplexes). */
const MUX_IDS = ['mux', 'mux64'];
/**
 * The other demo-app rows measure the one-request-per-connection path (issue 15 §2) against
 * nginx's: the demo app says FCGI_MPXS_CONNS=1, which multiplex=auto would take.
 */
const ONE_PER_CONNECTION = 'multiplex=off';

/** @type {Scenario[]} */
export const SCENARIOS = [
  {
    id: 'hello',
    fcgateDemoKeys: ONE_PER_CONNECTION,
    label: 'tiny GET',
    path: '/hello',
    connections: 32,
    expect: (_n, head) => (head.startsWith('Hello') ? null : `unexpected body ${JSON.stringify(head.slice(0, 40))}`),
  },
  {
    id: 'get64k',
    fcgateDemoKeys: ONE_PER_CONNECTION,
    label: '64 KiB GET',
    path: '/bytes?n=65536',
    connections: 32,
    expect: (n) => (n === 65536 ? null : `body of ${n} bytes, not 65536`),
  },
  {
    id: 'get1m',
    fcgateDemoKeys: ONE_PER_CONNECTION,
    label: '1 MiB GET',
    path: '/bytes?n=1048576',
    connections: 32,
    expect: (n) => (n === 1048576 ? null : `body of ${n} bytes, not 1048576`),
  },
  {
    id: 'post64k',
    fcgateDemoKeys: ONE_PER_CONNECTION,
    label: '64 KiB POST',
    path: '/echo',
    method: 'POST',
    connections: 32,
    expect: (_n, head) => (head.includes('"length":65536') ? null : `echo says ${head.slice(0, 60)}`),
  },
  {
    id: 'c1000',
    fcgateDemoKeys: ONE_PER_CONNECTION,
    label: 'tiny GET, 1000 conns',
    path: '/hello',
    connections: 1000,
    expect: (_n, head) => (head.startsWith('Hello') ? null : `unexpected body ${JSON.stringify(head.slice(0, 40))}`),
  },
  // Issue 15 §1: the same app process behind fcgate multiplexing (`multiplex=on max=4`) and
  // behind nginx at its best (FastCGI keep-alive, an upstream keepalive as large as the
  // connections, so no connection is ever reopened; nginx never multiplexes). Pinned only
  // (fcgate on one serving thread), fcgate and nginx-1w only.
  ...[32, 64].map((connections) => ({
    id: connections === 32 ? 'mux' : `mux${connections}`,
    label: `tiny GET, multiplexing app${connections === 32 ? '' : `, ${connections} conns`}`,
    path: '/hello',
    connections,
    expect: (/** @type {number} */ _n, /** @type {string} */ head) =>
      head.startsWith('Hello') ? null : `unexpected body ${JSON.stringify(head.slice(0, 40))}`,
    fcgateDemoKeys: MUX_KEYS,
    nginxDemoKeepalive: Math.max(32, connections),
    modes: ['pinned'],
    proxies: ['fcgate', 'nginx-1w'],
  })),
  {
    id: 'php',
    label: 'tiny PHP (PHP-FPM)',
    path: '/php/hello.php',
    connections: 16,
    expect: (_n, head) =>
      head.startsWith('Hello from PHP') ? null : `unexpected body ${JSON.stringify(head.slice(0, 60))}`,
  },
];

/** The baseline every ratio is taken against, measured in the same mode of the same run. */
export const BASELINE = 'nginx-1w';

/**
 * Whether `scenario` runs in mode `modeId` (and with `proxy`, when given): its `modes` and
 * `proxies` lists, where 'fcgate' also stands for fcgate-alt, fcgate-log and fcgate-nometrics.
 * @param {Scenario} scenario
 * @param {string} modeId
 * @param {string} [proxy]
 */
export function runsIn(scenario, modeId, proxy) {
  if (scenario.modes && !scenario.modes.includes(modeId)) return false;
  if (proxy === undefined || !scenario.proxies) return true;
  const family = proxy.startsWith('fcgate-') ? 'fcgate' : proxy;
  return scenario.proxies.includes(proxy) || scenario.proxies.includes(family);
}

/**
 * Modes: where each side runs (taskset CPU lists; null = unpinned) and which proxies run.
 * fcgate runs with FCGATE_THREADS=1 when pinned to one core, with its default otherwise.
 * @param {number} cores
 * @returns {Mode[]}
 */
export function modes(cores) {
  /** @type {Mode} */
  const pinned = {
    id: 'pinned',
    proxyCpus: '0',
    loadCpus: '1',
    fcgateThreads: 1,
    proxies: ['fcgate', 'nginx-1w', 'apache'],
    describe:
      'proxy pinned to core 0 (`taskset -c 0`), demo app + PHP-FPM + wrk + this script on core 1; fcgate '
      + 'FCGATE_THREADS=1',
  };
  /** @type {Mode} */
  const unpinned = {
    id: 'unpinned',
    proxyCpus: null,
    loadCpus: null,
    fcgateThreads: null,
    proxies: ['fcgate', 'nginx-1w', 'nginx-2w', 'apache'],
    describe:
      `nothing pinned (${cores} cores shared by proxy, backends and wrk); fcgate with its default ` + `FCGATE_THREADS`,
  };
  return cores >= 2 ? [pinned, unpinned] : [unpinned];
}

export const TARGETS = [
  'CPU per request ≤ nginx-1w on tiny GET and 64 KiB POST',
  'requests/s ≥ nginx-1w (1 MiB GET: ≥ 0.9×)',
  'p99 ≤ 1.2× nginx-1w',
  'peak RSS with 1000 connections ≤ 100 MB',
  'requests/s above Apache on every row',
  'multiplexing app (issue 15 §1): CPU per request ≤ 0.6× nginx-1w and less backend CPU per request',
];

/**
 * The targets fcgate's row misses against the baseline and Apache rows of the same cell.
 * @param {string} scenario
 * @param {TargetRow | undefined} row
 * @param {TargetRow | undefined} base
 * @param {TargetRow | undefined} apache
 * @returns {string[]}
 */
export function missedTargets(scenario, row, base, apache) {
  /** @type {string[]} */
  const miss = [];
  if (!row || !base) return miss;
  if ((scenario === 'hello' || scenario === 'post64k') && row.cpuUs > base.cpuUs) miss.push('CPU/req');
  if (MUX_IDS.includes(scenario)) {
    if (row.cpuUs > 0.6 * base.cpuUs) miss.push('CPU/req ≤ 0.6×');
    if (!(row.appUs < base.appUs)) miss.push('backend CPU/req');
  }
  const need = scenario === 'get1m' ? 0.9 : 1;
  if (row.rps < need * base.rps) miss.push(need === 1 ? 'req/s' : 'req/s ≥ 0.9×');
  if (row.p99Ms > 1.2 * base.p99Ms) miss.push('p99');
  if (scenario === 'c1000' && row.rssMB > 100) miss.push('RSS');
  if (apache && row.rps <= apache.rps) miss.push('vs Apache');
  if (row.errors > 0) miss.push('errors');
  return miss;
}
