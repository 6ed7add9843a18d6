// What a server costs, read from /proc: the CPU time (user and system, in clock ticks) of
// a whole process tree — every process under a root pid, all their threads, plus the
// children they already reaped (cutime/cstime) — and its resident memory, summed over the
// tree and sampled every 100 ms for the peak. Linux only. It does not start anything.
// @ts-check
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** @param {string} name @param {number} fallback */
function sysconf(name, fallback) {
  try {
    return Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim()) || fallback;
  } catch {
    return fallback;
  }
}
export const CLK_TCK = sysconf('CLK_TCK', 100);
export const PAGE_SIZE = sysconf('PAGESIZE', 4096);

/** Fields of /proc/PID/stat after the ")" closing the command name (field 3 is index 0). */
/** @param {number | string} pid @returns {string[] | null} */
function statFields(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  const close = text.lastIndexOf(')');
  return close < 0 ? null : text.slice(close + 2).split(' ');
}

/** Every pid on the machine with its parent: Map pid → ppid. */
function parentMap() {
  const out = new Map();
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const f = statFields(name);
    if (f !== null) out.set(Number(name), Number(f[1]));
  }
  return out;
}

/** `root` and all its descendants that are alive now. */
/** @param {number} root @returns {number[]} */
export function treePids(root) {
  const parents = parentMap();
  if (!parents.has(root)) return [];
  /** @type {Map<number, number[]>} */
  const kids = new Map();
  for (const [pid, ppid] of parents) {
    let l = kids.get(ppid);
    if (l === undefined) {
      l = [];
      kids.set(ppid, l);
    }
    l.push(pid);
  }
  const out = [root];
  for (let i = 0; i < out.length && i < 100_000; i++) out.push(...(kids.get(out[i] ?? -1) ?? []));
  return out;
}

/**
 * CPU time of the tree in seconds: { user, sys, procs }. utime/stime of each live process
 * (all its threads) plus cutime/cstime (children it reaped), so a worker that exited
 * between two readings still counts once its parent waited for it.
 * @param {number} root
 */
export function treeCpu(root) {
  let user = 0;
  let sys = 0;
  const pids = treePids(root);
  for (const pid of pids) {
    const f = statFields(pid);
    if (f === null) continue;
    user += Number(f[11]) + Number(f[13]); // utime + cutime
    sys += Number(f[12]) + Number(f[14]); // stime + cstime
  }
  return { user: user / CLK_TCK, sys: sys / CLK_TCK, procs: pids.length };
}

/**
 * The tree's CPU time (treeCpu's user + sys, seconds) read every `intervalMs` with the
 * wall-clock time of each reading (ms since the epoch), until stop(). The pid list is
 * refreshed every 10th reading; between refreshes only those processes' stat files are read.
 * `between(startMs, endMs)` then gives the CPU spent in that window (a load generator's
 * measured window): at the start, linear between the readings on either side (the load is
 * steady there); at the end, the first reading at or after it (the load stops there, so
 * what follows is idle). Outside the readings it takes the first or last one.
 * @param {number} root
 */
export function sampleCpu(root, intervalMs = 100) {
  let pids = treePids(root);
  /** @type {Array<{ t: number, cpu: number }>} */
  const readings = [];
  const take = () => {
    let ticks = 0;
    for (const pid of pids) {
      const f = statFields(pid);
      if (f !== null) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    }
    readings.push({ t: Date.now(), cpu: ticks / CLK_TCK });
  };
  take();
  let n = 0;
  const timer = setInterval(() => {
    if (++n % 10 === 0) pids = treePids(root);
    take();
  }, intervalMs);
  return {
    /** Stops reading (one last reading first); returns the window function. */
    stop() {
      clearInterval(timer);
      take();
      /** @param {number} t */
      const atStart = (t) => {
        const k = readings.findIndex((r) => r.t >= t);
        if (k <= 0) return (readings[k < 0 ? readings.length - 1 : 0] ?? { cpu: 0 }).cpu;
        const a = /** @type {{ t: number, cpu: number }} */ (readings[k - 1]);
        const b = /** @type {{ t: number, cpu: number }} */ (readings[k]);
        return b.t === a.t ? b.cpu : a.cpu + ((b.cpu - a.cpu) * (t - a.t)) / (b.t - a.t);
      };
      /** @param {number} t */
      const atEnd = (t) => (readings.find((r) => r.t >= t) ?? readings[readings.length - 1] ?? { cpu: 0 }).cpu;
      const first = readings[0]?.cpu ?? 0;
      const last = readings[readings.length - 1]?.cpu ?? 0;
      return {
        /** CPU seconds over the whole sampling. */
        total: last - first,
        /** @param {number} startMs @param {number} endMs CPU seconds between the two times */
        between: (startMs, endMs) => Math.max(0, atEnd(endMs) - atStart(startMs)),
      };
    },
  };
}

/**
 * Resident bytes of the tree now: { rss, anon }. rss sums each process's RSS (shared pages
 * count in each); anon leaves out file-backed pages (statm resident − shared: the program's
 * mapped code, e.g. the 40-odd MB of the node binary every node process maps).
 * @param {readonly number[]} pids
 */
export function treeRss(pids) {
  let pages = 0;
  let shared = 0;
  for (const pid of pids) {
    let text;
    try {
      text = readFileSync(`/proc/${pid}/statm`, 'latin1');
    } catch {
      continue;
    }
    const f = text.split(' ');
    pages += Number(f[1]);
    shared += Number(f[2]);
  }
  return { rss: pages * PAGE_SIZE, anon: (pages - shared) * PAGE_SIZE };
}

/**
 * Samples the tree's RSS every `intervalMs` (the pid list refreshed every 10th sample, so
 * Apache's new children count) until stop(), which returns the peaks in bytes:
 * { peak (RSS), peakAnon }.
 * @param {number} root
 */
export function sampleRss(root, intervalMs = 100) {
  let pids = treePids(root);
  let peak = 0;
  let peakAnon = 0;
  const take = () => {
    const m = treeRss(pids);
    if (m.rss > peak) peak = m.rss;
    if (m.anon > peakAnon) peakAnon = m.anon;
  };
  take();
  let n = 0;
  const timer = setInterval(() => {
    if (++n % 10 === 0) pids = treePids(root);
    take();
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      pids = treePids(root);
      take();
      return { peak, peakAnon };
    },
  };
}

/** Number of threads of every process in the tree (fcgate: does it serve on several?). */
/** @param {number} root */
export function treeThreads(root) {
  let n = 0;
  for (const pid of treePids(root)) {
    const f = statFields(pid);
    if (f !== null) n += Number(f[17]);
  }
  return n;
}
