#!/usr/bin/env node
// @ts-check
// fcgate's memory (issue 15 §3): RSS of the fcgate process at rest, with N idle keep-alive
// connections (each after one answered GET), and at the peak of N busy ones (`fcgate bench
// -c N`), for one serving thread (a worker thread), one serving thread in the main thread
// (FCGATE_IN_PROCESS=1) and two threads, in front of the demo app. Writes the table into
// bench/RESULTS.md (section "Memory") and bench/memory-chart.svg unless --no-write.
//
//   npm run build && node scripts/bench-memory.mjs [--connections 1000] [--seconds 5] [--no-write]
//
// Pinned when the machine has 2 cores or more: fcgate on core 0, the demo app and the load on
// core 1 (taskset). Loopback only; every process it starts is stopped.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const HELP = `bench-memory: fcgate's RSS at rest, with N idle and N busy connections (issue 15 §3)

  node scripts/bench-memory.mjs [--connections N] [--seconds S] [--no-write]

  --connections N   connections held idle, then busy (default 1000)
  --seconds S       length of the busy run (default 5, after 1 s of warm-up)
  --no-write        print the table only (default: also bench/RESULTS.md, section "Memory")`;

let connections = 1000;
let seconds = 5;
let write = true;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--help' || a === '-h') {
    console.log(HELP);
    process.exit(0);
  } else if (a === '--no-write') write = false;
  else if (a === '--connections' || a === '--seconds') {
    const v = Number(args[++i]);
    if (!Number.isInteger(v) || v < 1 || v > (a === '--seconds' ? 60 : 20_000)) {
      console.error(`bench-memory: ${a} needs a whole number (1..${a === '--seconds' ? 60 : 20_000})`);
      process.exit(2);
    }
    if (a === '--connections') connections = v;
    else seconds = v;
  } else {
    console.error(`bench-memory: unknown argument ${a} (see --help)`);
    process.exit(2);
  }
}
if (!existsSync(MAIN)) {
  console.error(`bench-memory: ${MAIN} missing: run npm run build first`);
  process.exit(2);
}

const pinned = availableParallelism() >= 2;
/** @param {string} cpu @param {string[]} argv */
const onCpu = (cpu, argv) => (pinned ? ['taskset', ['-c', cpu, ...argv]] : [argv[0], argv.slice(1)]);

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = /** @type {net.AddressInfo} */ (s.address()).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts a process; resolves once a line of its output matches `ready`.
 * @param {string} cpu @param {string[]} argv @param {Record<string, string>} env @param {RegExp} ready
 * @returns {Promise<import('node:child_process').ChildProcess>}
 */
function start(cpu, argv, env, ready) {
  const [cmd, rest] = onCpu(cpu, argv);
  const child = spawn(/** @type {string} */ (cmd), /** @type {string[]} */ (rest), {
    env: { ...process.env, FCGATE_ALLOW_ROOT: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')}: not ready within 15 s:\n${seen}`)), 15_000);
    /** @param {Buffer} d */
    const on = (d) => {
      seen += d.toString();
      if (ready.test(seen)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited (${code}):\n${seen}`)));
  });
}

/** The fcgate process itself (taskset execs node in place: same pid). @param {number} pid */
const rssMB = (pid) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? Number.NaN : (Number(m[1]) * 1024) / 1e6;
};

/**
 * Opens `n` keep-alive connections, one answered GET /hello each, and keeps them open.
 * @param {number} port @param {number} n @returns {Promise<net.Socket[]>}
 */
async function holdIdle(port, n) {
  /** @type {net.Socket[]} */
  const socks = [];
  const one = () =>
    new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => s.write('GET /hello HTTP/1.1\r\nHost: m\r\n\r\n'));
      socks.push(s);
      let text = '';
      const timer = setTimeout(() => reject(new Error('no answer within 10 s')), 10_000);
      s.on('data', (d) => {
        text += d.toString('latin1');
        if (text.includes('Hello')) {
          clearTimeout(timer);
          resolve(undefined);
        }
      });
      s.on('error', reject);
    });
  for (let i = 0; i < n; i += 100) await Promise.all(Array.from({ length: Math.min(100, n - i) }, one));
  return socks;
}

/**
 * The busy peak: `fcgate bench` against the gateway, its peak RSS of the gateway's pid.
 * @param {number} port @param {number} pid
 */
function busy(port, pid) {
  const [cmd, rest] = onCpu('1', [
    process.execPath,
    MAIN,
    'bench',
    '-c',
    String(connections),
    '-t',
    '1',
    '--warmup',
    '1s',
    '-d',
    `${seconds}s`,
    '--pid',
    String(pid),
    `http://127.0.0.1:${port}/hello`,
  ]);
  const out = execFileSync(/** @type {string} */ (cmd), /** @type {string[]} */ (rest), {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  const target = /Target\s+([\d.]+) µs CPU\/request.*peak RSS ([\d.]+) MiB \(anon ([\d.]+) MiB\)/.exec(out);
  const rps = /responses in [\d.]+ s: ([\d,]+) req\/s/.exec(out);
  if (target === null || rps === null) throw new Error(`fcgate bench said:\n${out}`);
  return {
    cpuUs: Number(target[1]),
    peakMiB: Number(target[2]),
    anonMiB: Number(target[3]),
    rps: Number(rps[1]?.replace(/,/g, '')),
  };
}

const setups = [
  { label: '1 serving thread (a worker thread, the default)', short: '1 thread', env: { FCGATE_THREADS: '1' } },
  {
    label: '1 serving thread, FCGATE_IN_PROCESS=1 (in the main thread)',
    short: '1 thread, in process',
    env: { FCGATE_THREADS: '1', FCGATE_IN_PROCESS: '1' },
  },
  { label: '2 serving threads', short: '2 threads', env: { FCGATE_THREADS: '2' } },
];

const load = loadavg()[0]?.toFixed(2);
const appPort = await freePort();
const app = await start('1', [process.execPath, MAIN, 'demo-app', '--listen', `127.0.0.1:${appPort}`], {}, /listening/);
/** @type {string[]} */
const rows = [];
/** @type {Array<{ label: string, rest: number, idle: number, busy: number }>} */
const bars = [];
try {
  for (const s of setups) {
    const port = await freePort();
    const gw = await start(
      '0',
      [process.execPath, MAIN, 'serve', '--listen', `127.0.0.1:${port}`, '--pass', `/=fcgi://127.0.0.1:${appPort}/`],
      s.env,
      /fcgate listening on /,
    );
    try {
      const pid = /** @type {number} */ (gw.pid);
      await holdIdle(port, 1);
      const rest = rssMB(pid);
      const socks = await holdIdle(port, connections);
      await new Promise((r) => setTimeout(r, 500));
      const idle = rssMB(pid);
      for (const c of socks) c.destroy();
      const b = busy(port, pid);
      const row = `| ${s.label} | ${rest.toFixed(1)} MB | ${idle.toFixed(1)} MB | ${b.peakMiB} MiB (${((b.peakMiB * 1048576) / 1e6).toFixed(1)} MB), anon ${b.anonMiB} MiB | ${b.cpuUs} | ${b.rps} |`;
      console.log(row);
      rows.push(row);
      bars.push({ label: s.short, rest, idle, busy: (b.peakMiB * 1048576) / 1e6 });
    } finally {
      gw.kill('SIGTERM');
      await new Promise((r) => gw.once('exit', r));
    }
  }
} finally {
  app.kill('SIGTERM');
}

const when = new Date()
  .toISOString()
  .replace(/:\d\d\.\d+Z$/, ' UTC')
  .replace('T', ' ');
const section = [
  '<!-- memory:start -->',
  '## Memory: fcgate at rest, with idle and with busy connections',
  '',
  `\`node scripts/bench-memory.mjs --connections ${connections} --seconds ${seconds}\`, ${when}, load average ${load} at start, ${pinned ? 'fcgate on core 0, the demo app and the load on core 1' : 'unpinned'}.`,
  `RSS of the fcgate process: at rest (one request served), with ${connections} keep-alive connections each holding one answered GET, and the peak while \`fcgate bench -c ${connections}\` keeps them all busy for ${seconds} s (the demo app multiplexes: default keys).`,
  '',
  `| serving | at rest | ${connections} idle connections | ${connections} busy connections (peak) | CPU µs/request busy | req/s busy |`,
  '|---|---|---|---|---|---|',
  ...rows,
  '',
  '![RSS at rest, idle and busy](memory-chart.svg)',
  '<!-- memory:end -->',
].join('\n');

/**
 * The table as bars: one group per setup, rest / idle / busy side by side, one scale (MB).
 * @param {typeof bars} data
 */
function chart(data) {
  const W = 760;
  const H = 260;
  const left = 50;
  const base = 210;
  const top = 70;
  const max = Math.max(100, ...data.flatMap((d) => [d.rest, d.idle, d.busy]));
  const y = (/** @type {number} */ v) => base - ((base - top) * v) / max;
  const colors = ['#9fc5e8', '#2b7bb9', '#d0643a'];
  const names = ['at rest', `${connections} idle`, `${connections} busy (peak)`];
  const groupW = (W - left - 20) / data.length;
  const esc = (/** @type {string} */ t) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const out = [
    `<text x="20" y="20" font-size="14" font-weight="bold">fcgate RSS, MB (${esc(when)}; dashed: 100 MB, issue 15's target)</text>`,
    `<line x1="${left}" y1="${base}" x2="${W - 20}" y2="${base}" stroke="#888"/>`,
    `<line x1="${left}" y1="${y(100)}" x2="${W - 20}" y2="${y(100)}" stroke="#c00" stroke-dasharray="4 3"/>`,
    `<text x="${left - 4}" y="${y(100) + 4}" font-size="10" text-anchor="end">100</text>`,
  ];
  names.forEach((n, i) => {
    out.push(
      `<rect x="${20 + i * 130}" y="32" width="10" height="10" fill="${colors[i]}"/>`,
      `<text x="${34 + i * 130}" y="41" font-size="11">${esc(n)}</text>`,
    );
  });
  data.forEach((d, g) => {
    const x0 = left + g * groupW + 20;
    [d.rest, d.idle, d.busy].forEach((v, i) => {
      const x = x0 + i * 52;
      out.push(
        `<rect x="${x}" y="${y(v).toFixed(1)}" width="44" height="${(base - y(v)).toFixed(1)}" fill="${colors[i]}"/>`,
        `<text x="${x + 22}" y="${(y(v) - 4).toFixed(1)}" font-size="11" text-anchor="middle">${v.toFixed(0)}</text>`,
      );
    });
    out.push(`<text x="${x0}" y="${base + 16}" font-size="11">${esc(d.label)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${out.join('\n')}\n</svg>\n`;
}
console.log(`\n${section}`);
if (write) {
  const file = join(ROOT, 'bench', 'RESULTS.md');
  const text = readFileSync(file, 'utf8');
  const old = /<!-- memory:start -->[\s\S]*?<!-- memory:end -->/.exec(text);
  writeFileSync(
    file,
    old !== null ? text.replace(old[0], () => section) : `${text.replace(/\n*$/, '\n')}\n${section}\n`,
  );
  writeFileSync(join(ROOT, 'bench', 'memory-chart.svg'), chart(bars));
  console.log('bench-memory: bench/RESULTS.md and bench/memory-chart.svg updated');
}
