#!/usr/bin/env node
// End-to-end bench (issue #4 §2–§3): fcgate against nginx (1 and 2 workers) and Apache 2.4
// (event MPM, mod_proxy_fcgi), all on loopback in front of the same backends (the demo
// FastCGI app, PHP-FPM), loaded by `fcgate bench` (issue #14; wrk in the same cell as a
// cross-check). Per proxy × scenario: requests/s, p50/p99, errors, the proxy's own CPU time
// per request and its peak RSS (`fcgate bench --pid`); fcgate against nginx-1w also by
// `fcgate bench --compare` (ratio with spread over rounds). Writes the e2e section of
// bench/RESULTS.md and bench/e2e-chart.svg. `npm run bench:e2e` builds first.
// Usage: node scripts/bench-e2e.mjs [--quick] [--no-write] [--no-install] [--seconds N]
//   [--warmup N] [--modes pinned,unpinned] [--proxies fcgate,nginx-1w,…] [--scenarios hello,…]
//   [--repeat N]   (every scenario N times; the tables show the median of each figure)
//   [--compare-rounds N] (rounds of the fcgate/nginx-1w --compare, default 3; 0: none) [--no-wrk]
//   [--profile DIR] [--gc]   (diagnostics of fcgate instead of the table: see diagnose.mjs)
//   [--observe]   (issue 12's cost rows: adds fcgate-log (combined access log to a file) and
//                  fcgate-nometrics (FCGATE_METRICS=0) beside fcgate (metrics on, no access log);
//                  also selectable by name in --proxies)
// Scenarios (--scenarios): hello (tiny GET), get64k, get1m, post64k, c1000 (tiny GET, 1000
//   connections), php (tiny PHP, PHP-FPM), and the multiplexing rows of issue 15 §1 (pinned
//   mode only, fcgate and nginx-1w only): mux, "tiny GET, multiplexing app" (32 connections),
//   and mux64 (64 connections): the demo app (it answers FCGI_MPXS_CONNS=1) behind fcgate
//   with `ProxyPass / fcgi://… multiplex=on max=4` and behind nginx with fastcgi_keep_conn on
//   and an upstream keepalive as large as the connections. Each row has the proxy's and the
//   app's CPU µs per request, both over the measured window. Only these rows, about 2 min:
//   node scripts/bench-e2e.mjs --no-install --no-write --modes pinned --scenarios mux,mux64
// Backend CPU per request (every row): utime+stime of the app's process tree read every 100 ms
// from /proc, taken over the measured window of fcgate bench, divided by its responses.
// A/B of two fcgate builds: FCGATE_E2E_ALT=/other/dist/src/cli/main.js adds a `fcgate-alt`
// row next to fcgate's (on the mux rows too; a build without the multiplex key runs them
// with max=4 alone, noted); FCGATE_E2E_MAIN=… replaces the build under test.
// Defaults: 5 s cells after 1 s warm-up (≈ 7–8 min in all, the mux rows ≈ 2 of them);
// --quick: 1 s cells (≈ 3 min).
// @ts-check
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus as osCpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { killOnExit } from './bench-e2e/procs.mjs';
import { sampleCpu, treeThreads } from './bench-e2e/proc-stats.mjs';
import {
  MAIN,
  ROOT,
  findBinary,
  findPhpFpm,
  startApache,
  startDemoApp,
  startFcgate,
  startNginx,
  startPhpFpm,
  versions,
} from './bench-e2e/servers.mjs';
import { checkOnce, runWrk, wrkScript } from './bench-e2e/wrk.mjs';
import { benchCompare, benchOnce } from './bench-e2e/fcgate-bench.mjs';
import { BASELINE, SCENARIOS, modes as allModes, runsIn } from './bench-e2e/plan.mjs';
import { medianRows, printTable, renderChart, renderSection, writeSection } from './bench-e2e/report.mjs';
import { runDiagnostics } from './bench-e2e/diagnose.mjs';

/**
 * @typedef {import('./bench-e2e/plan.mjs').Mode} Mode
 * @typedef {import('./bench-e2e/plan.mjs').Scenario} Scenario
 * @typedef {import('./bench-e2e/servers.mjs').Server} Server
 * @typedef {import('./bench-e2e/servers.mjs').Backends} Backends
 * @typedef {import('./bench-e2e/report.mjs').Row} Row
 * @typedef {import('./bench-e2e/report.mjs').Compare} Compare
 */

/**
 * @typedef {object} Options
 * @property {boolean} quick
 * @property {boolean} write
 * @property {boolean} install
 * @property {number} seconds
 * @property {number} warmup
 * @property {string[] | null} modes
 * @property {string[] | null} proxies
 * @property {string[] | null} scenarios
 * @property {string | null} profile
 * @property {boolean} gc
 * @property {number} repeat
 * @property {boolean} observe
 * @property {number} compareRounds
 * @property {boolean} wrk
 */

/** The comment at the top of this file (after the #! line), without the comment marks: the --help text. */
function headerComment() {
  const lines = readFileSync(new URL(import.meta.url), 'utf8')
    .split('\n')
    .slice(1);
  const end = lines.findIndex((l) => !l.startsWith('//') || l === '// @ts-check');
  return lines
    .slice(0, end)
    .map((l) => l.replace(/^\/\/ ?/, ''))
    .join('\n');
}

/**
 * @param {readonly string[]} argv
 * @returns {Options}
 */
function parseArgs(argv) {
  /** @type {Omit<Options, 'seconds' | 'warmup'> & { seconds: number | null, warmup: number | null }} */
  const o = {
    quick: false,
    write: true,
    install: true,
    seconds: null,
    warmup: null,
    modes: null,
    proxies: null,
    scenarios: null,
    profile: null,
    gc: false,
    repeat: 1,
    observe: false,
    compareRounds: 3,
    wrk: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--quick':
        o.quick = true;
        break;
      case '--repeat':
        o.repeat = Number(val());
        break;
      case '--compare-rounds':
        o.compareRounds = Number(val());
        break;
      case '--no-wrk':
        o.wrk = false;
        break;
      case '--no-write':
        o.write = false;
        break;
      case '--no-install':
        o.install = false;
        break;
      case '--seconds':
        o.seconds = Number(val());
        break;
      case '--warmup':
        o.warmup = Number(val());
        break;
      case '--modes':
        o.modes = val().split(',');
        break;
      case '--proxies':
        o.proxies = val().split(',');
        break;
      case '--scenarios':
        o.scenarios = val().split(',');
        break;
      case '--profile':
        o.profile = val();
        break;
      case '--gc':
        o.gc = true;
        break;
      case '--observe':
        o.observe = true;
        break;
      case '-h':
      case '--help':
        process.stdout.write(`${headerComment()}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${a} (see --help)`);
    }
  }
  const seconds = o.seconds ?? (o.quick ? 1 : 5);
  const warmup = o.warmup ?? 1;
  if (!(Number.isInteger(o.repeat) && o.repeat >= 1 && o.repeat <= 20))
    throw new Error('--repeat: a whole number in 1..20');
  if (!(Number.isInteger(o.compareRounds) && o.compareRounds >= 0 && o.compareRounds <= 20))
    throw new Error('--compare-rounds: a whole number in 0..20');
  // wrk takes whole seconds only.
  if (
    !(Number.isInteger(seconds) && seconds >= 1 && seconds <= 60)
    || !(Number.isInteger(warmup) && warmup >= 0 && warmup <= 30)
  ) {
    throw new Error('--seconds: a whole number in 1..60, --warmup: a whole number in 0..30');
  }
  return { ...o, seconds, warmup };
}

const opts = parseArgs(process.argv.slice(2));
killOnExit();

if (opts.install) {
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'install-deps.sh'), '--bench'], {
    stdio: 'inherit',
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error('scripts/install-deps.sh --bench failed (run it as root, or pass --no-install)');
}
/** @param {string} what @param {string | null} path @returns {string} */
const need = (what, path) => {
  if (path === null) throw new Error(`${what} not found (scripts/install-deps.sh --bench installs it)`);
  return path;
};
const bins = {
  nginx: need('nginx', findBinary('nginx')),
  apache: need('apache', findBinary('apache2', 'httpd')),
  phpFpm: need('phpFpm', findPhpFpm()),
  wrk: need('wrk', findBinary('wrk')),
  taskset: need('taskset', findBinary('taskset')),
};
const apacheModuleDir = ['/usr/lib/apache2/modules', '/usr/lib/httpd/modules', '/usr/libexec/apache2'].find((d) =>
  existsSync(join(d, 'mod_proxy_fcgi.so')),
);
if (apacheModuleDir === undefined) throw new Error('mod_proxy_fcgi.so not found in /usr/lib/apache2/modules');
const apacheModules = apacheModuleDir;
if (!existsSync(MAIN)) throw new Error(`${MAIN} missing: run npm run build (npm run bench:e2e does)`);
if (process.env.FCGATE_E2E_ALT && !existsSync(process.env.FCGATE_E2E_ALT))
  throw new Error(`FCGATE_E2E_ALT=${process.env.FCGATE_E2E_ALT}: no such file`);

const cores = osCpus().length;
const cpuModel = osCpus()[0]?.model?.trim() ?? 'unknown';
const scenarios = SCENARIOS.filter((s) => !opts.scenarios || opts.scenarios.includes(s.id));
const runList = Array.from({ length: opts.repeat }, () => scenarios).flat();
const withAlt = (/** @type {string[]} */ list) =>
  process.env.FCGATE_E2E_ALT ? list.flatMap((p) => (p === 'fcgate' ? [p, 'fcgate-alt'] : [p])) : list;
const withObserve = (/** @type {string[]} */ list) =>
  opts.observe ? list.flatMap((p) => (p === 'fcgate' ? [p, 'fcgate-log', 'fcgate-nometrics'] : [p])) : list;
const runModes = allModes(cores)
  .filter((m) => (!opts.modes || opts.modes.includes(m.id)) && scenarios.some((s) => runsIn(s, m.id)))
  .map((m) => ({
    ...m,
    proxies: withObserve(withAlt(m.proxies)).filter((p) => !opts.proxies || opts.proxies.includes(p)),
  }));
const dir = mkdtempSync(join(tmpdir(), 'fcgate-e2e-'));
process.on('exit', () => {
  if (!process.env.FCGATE_E2E_KEEP) rmSync(dir, { recursive: true, force: true });
});

/**
 * Moves this script (all its threads) onto `cpus` (null: every core), so it stays off the proxy's core.
 * @param {string | null} cpus
 */
function pinSelf(cpus) {
  execFileSync(bins.taskset, ['-a', '-cp', cpus ?? `0-${cores - 1}`, String(process.pid)], { stdio: 'ignore' });
}

/**
 * A proxy for one scenario (its fcgate worker keys and nginx keepalive for the demo app).
 * @param {string} name
 * @param {Mode} mode
 * @param {Backends} backends
 * @param {Scenario} scenario
 * @returns {Promise<Server>}
 */
async function startProxy(name, mode, backends, scenario) {
  const fc = { threads: mode.fcgateThreads, demoKeys: scenario.fcgateDemoKeys ?? '' };
  const ng = { demoKeepalive: scenario.nginxDemoKeepalive ?? 32 };
  switch (name) {
    case 'fcgate':
      return startFcgate(dir, mode.proxyCpus, backends, fc);
    case 'fcgate-alt':
      return startFcgate(dir, mode.proxyCpus, backends, {
        ...fc,
        tag: 'fcgate-alt',
        main: process.env.FCGATE_E2E_ALT ?? MAIN,
      });
    case 'fcgate-log':
      return startFcgate(dir, mode.proxyCpus, backends, { ...fc, tag: 'fcgate-log', observe: 'log' });
    case 'fcgate-nometrics':
      return startFcgate(dir, mode.proxyCpus, backends, { ...fc, tag: 'fcgate-nometrics', observe: 'nometrics' });
    case 'nginx-1w':
      return startNginx(dir, mode.proxyCpus, backends, bins.nginx, 1, ng);
    case 'nginx-2w':
      return startNginx(dir, mode.proxyCpus, backends, bins.nginx, 2, ng);
    case 'apache':
      return startApache(dir, mode.proxyCpus, backends, bins.apache, apacheModules);
    default:
      throw new Error(`unknown proxy ${name}`);
  }
}

/**
 * One cell: check one answer, then measure with `fcgate bench --pid` (req/s, latency, errors,
 * the proxy's CPU per request and peak RSS, all from its report; the backend's CPU read
 * around it and taken over the report's measured window) and, in the same cell, wrk on the
 * same URL and settings as the cross-check column (--no-wrk skips it).
 * @param {Mode} mode
 * @param {Server} proxy
 * @param {Scenario} scenario
 * @param {Backends} backends
 * @returns {Promise<Row>}
 */
async function measure(mode, proxy, scenario, backends) {
  const url = `http://127.0.0.1:${proxy.port}${scenario.path}`;
  const problem = await checkOnce(proxy.port, scenario);
  if (problem !== null)
    return /** @type {Row} */ ({ mode: mode.id, proxy: proxy.name, scenario: scenario.id, failed: problem });
  const app = scenario.id === 'php' ? backends.php : backends.demo;
  const appCpu = sampleCpu(app.pid);
  const b = await benchOnce({
    url,
    scenario,
    seconds: opts.seconds,
    warmup: opts.warmup,
    pid: proxy.pid,
    cpus: mode.loadCpus,
    dir,
  }).catch((err) => {
    appCpu.stop();
    throw err;
  });
  const appWindow = appCpu.stop();
  // The backend's CPU over the same measured window as the proxy's (the report's window);
  // a report without one (an older FCGATE_E2E_MAIN): over the whole run, warm-up included.
  const w = b.window;
  const start = w ? Date.parse(w.start) : NaN;
  const appUs = Number.isFinite(start)
    ? (appWindow.between(start, start + w.seconds * 1000) * 1e6) / Math.max(1, b.requests.responses)
    : (appWindow.total * 1e6) / Math.max(1, b.requests.responses + b.warmup.responses);
  const e = b.errors;
  /** @type {Row} */
  const row = {
    mode: mode.id,
    proxy: proxy.name,
    scenario: scenario.id,
    requests: b.requests.responses,
    rps: b.requests.perSecond,
    mbps: b.transfer.bytesInPerSecond / 2 ** 20,
    p50Ms: b.latencyUs.p50 / 1000,
    p99Ms: b.latencyUs.p99 / 1000,
    maxMs: b.latencyUs.max / 1000,
    status: b.requests.non2xx3xx,
    socket: b.requests.errors,
    errors: b.requests.errors + b.requests.non2xx3xx,
    errorDetail: `not 2xx/3xx ${b.requests.non2xx3xx}, ${
      Object.entries(/** @type {Record<string, number>} */ (e))
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'no socket errors'
    }`,
    userUs: b.targetCost.cpuUsPerRequest.user,
    sysUs: b.targetCost.cpuUsPerRequest.system,
    cpuUs: b.targetCost.cpuUsPerRequest.total,
    cpuShare: b.targetCost.cores,
    rssMB: b.targetCost.peakRssBytes / 2 ** 20,
    anonMB: b.targetCost.peakAnonBytes / 2 ** 20,
    procs: b.targetCost.processes,
    appUs,
    benchUs: b.selfCost.cpuUsPerRequest.total,
    wrkRps: NaN,
    wrkP50Ms: NaN,
    wrkP99Ms: NaN,
  };
  if (opts.wrk) {
    const script = wrkScript(dir, scenario);
    const w = await runWrk({
      url,
      connections: scenario.connections,
      script,
      cpus: mode.loadCpus,
      dir,
      wrk: bins.wrk,
      seconds: opts.seconds,
    });
    row.wrkRps = w.requests / (w.duration_us / 1e6);
    row.wrkP50Ms = w.p50_us / 1000;
    row.wrkP99Ms = w.p99_us / 1000;
  }
  return row;
}

/**
 * fcgate against the baseline with `fcgate bench --compare` (--compare-rounds rounds, A =
 * baseline, B = fcgate): the ratio B/A of each figure with its spread over the rounds.
 * @param {Mode} mode
 * @param {readonly Server[]} proxies
 * @param {Scenario} scenario
 * @returns {Promise<Compare | null>}
 */
async function compareWithBaseline(mode, proxies, scenario) {
  const a = proxies.find((p) => p.name === BASELINE);
  const b = proxies.find((p) => p.name === 'fcgate');
  if (!a || !b || opts.compareRounds === 0) return null;
  const c = await benchCompare({
    urlA: `http://127.0.0.1:${a.port}${scenario.path}`,
    urlB: `http://127.0.0.1:${b.port}${scenario.path}`,
    pidA: a.pid,
    pidB: b.pid,
    scenario,
    seconds: opts.seconds,
    warmup: opts.warmup,
    rounds: opts.compareRounds,
    cpus: mode.loadCpus,
    dir,
  });
  return {
    mode: mode.id,
    scenario: scenario.id,
    a: BASELINE,
    b: 'fcgate',
    rounds: c.rounds,
    ratios: c.ratios,
    medians: c.medians,
  };
}

const fmt = (/** @type {Row} */ r) =>
  r.failed
    ? `FAILED: ${r.failed}`
    : `${Math.round(r.rps)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, `
      + (`${r.cpuUs.toFixed(1)} µs CPU/req (${r.userUs.toFixed(1)} user + ${r.sysUs.toFixed(1)} sys), RSS `
        + `${r.rssMB.toFixed(1)} MB, app ${r.appUs.toFixed(1)} µs/req`)
      + `${Number.isNaN(r.wrkRps) ? '' : `; wrk ${Math.round(r.wrkRps)} req/s, p99 ${r.wrkP99Ms.toFixed(2)} ms`}`
      + `${r.errors ? `, errors: ${r.errorDetail}` : ''}`;

/**
 * @param {Mode} mode
 * @param {Row[]} rows
 * @param {string[]} notes
 * @param {Compare[]} compares
 */
async function runMode(mode, rows, notes, compares) {
  pinSelf(mode.loadCpus);
  /** @type {Partial<Backends>} */
  const up = {};
  let threadsNoted = false;
  try {
    up.demo = await startDemoApp(dir, mode.loadCpus);
    up.php = await startPhpFpm(dir, mode.loadCpus, bins.phpFpm, 128);
    const backends = { demo: up.demo, php: up.php };
    for (const [i, scenario] of runList.entries()) {
      if (!runsIn(scenario, mode.id)) continue;
      // Fresh proxies for every scenario (so peak RSS is this scenario's, and no idle kept
      // connection of one proxy holds a PHP-FPM child another needs); they take turns, the
      // order rotated per scenario, so a burst of load from elsewhere hits all of them.
      /** @type {Server[]} */
      const proxies = [];
      try {
        for (const name of mode.proxies.filter((p) => runsIn(scenario, mode.id, p))) {
          const p = await startProxy(name, mode, backends, scenario);
          proxies.push(p);
          if (p.note !== undefined && i < scenarios.length) notes.push(`${mode.id} ${scenario.label}: ${p.note}`);
        }
        const fc = proxies.find((p) => p.name === 'fcgate');
        if (fc && !threadsNoted) {
          threadsNoted = true;
          notes.push(
            `${mode.id}: fcgate FCGATE_THREADS=${mode.fcgateThreads ?? '(default)'}, ${treeThreads(fc.pid)} `
              + `OS threads in its process at start`,
          );
        }
        const order = proxies.map((_, k) => /** @type {Server} */ (proxies[(k + i) % proxies.length]));
        for (const proxy of order) {
          const r = await measure(mode, proxy, scenario, backends);
          rows.push(r);
          console.log(`${mode.id.padEnd(8)} ${scenario.id.padEnd(8)} ${proxy.name.padEnd(8)} ${fmt(r)}`);
        }
        if (i < scenarios.length) {
          const c = await compareWithBaseline(mode, proxies, scenario);
          if (c !== null) {
            compares.push(c);
            const sp = (/** @type {{ median: number, min: number, max: number } | undefined} */ x) =>
              x ? `${x.median.toFixed(2)}× (${x.min.toFixed(2)}–${x.max.toFixed(2)})` : '–';
            console.log(
              `${mode.id.padEnd(8)} ${scenario.id.padEnd(8)} --compare ${c.b}/${c.a}: req/s ${sp(c.ratios.rps)}, `
                + `CPU/req ${sp(c.ratios.targetCpuUsPerRequest)} over ${c.rounds} round${c.rounds === 1 ? '' : 's'}`,
            );
          }
        }
      } finally {
        for (const p of proxies) await p.stop();
      }
    }
  } finally {
    await up.php?.stop();
    await up.demo?.stop();
    pinSelf(null);
  }
}

const started = Date.now();
const load = (loadavg()[0] ?? 0).toFixed(2);
const ver = versions(bins);
console.log(
  `bench-e2e: ${cpuModel} × ${cores}, load ${load}; node ${ver.node}, nginx ${ver.nginx}, ${ver.apache}, `
    + `${ver.phpFpm}, ${ver.wrk}`,
);
console.log(`bench-e2e: ${opts.seconds} s per cell after ${opts.warmup} s warm-up; temp dir ${dir}`);

if (opts.profile !== null || opts.gc) {
  const first = runModes[0];
  if (first === undefined) throw new Error('--modes: no such mode on this machine');
  await runDiagnostics({ opts, dir, bins, scenarios, mode: first, pinSelf });
  process.exit(0);
}

/** @type {Row[]} */
const allRows = [];
/** @type {string[]} */
const notes = [];
/** @type {Compare[]} */
const compares = [];
for (const mode of runModes) await runMode(mode, allRows, notes, compares);
const elapsed = (Date.now() - started) / 1000;
const rows = medianRows(allRows);
printTable(rows);
console.log(`bench-e2e: ${allRows.length} cells in ${elapsed.toFixed(0)} s`);
if (opts.write) {
  const meta = {
    date: new Date().toISOString(),
    cpu: cpuModel,
    cores,
    load,
    versions: ver,
    elapsed,
    command: `npm run bench:e2e${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    seconds: opts.seconds,
    warmup: opts.warmup,
    repeat: opts.repeat,
    modes: runModes,
    scenarios,
    notes,
    compares,
    compareRounds: opts.compareRounds,
    wrk: opts.wrk,
  };
  writeSection(join(ROOT, 'bench', 'RESULTS.md'), renderSection(rows, meta));
  writeFileSync(join(ROOT, 'bench', 'e2e-chart.svg'), renderChart(rows, meta));
  console.log('bench-e2e: wrote bench/RESULTS.md (e2e section) and bench/e2e-chart.svg');
}
const failed = allRows.filter((r) => r.failed);
if (failed.length) {
  console.error(
    `bench-e2e: ${failed.length} cell(s) failed their check: `
      + `${failed.map((r) => `${r.mode}/${r.scenario}/${r.proxy}`).join(', ')}`,
  );
  process.exit(1);
}
process.exit(0);
