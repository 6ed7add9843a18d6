// --pid: what the target costs, read from /proc (Linux). For each root pid, the process
// and all its descendants (PHP-FPM's children, nginx's workers, fcgate's threads are
// already in its own stat): CPU time as utime/stime of every live process (all threads)
// plus cutime/cstime (children it reaped, so a worker that exited inside the window still
// counts once waited for), and resident memory summed over the tree, sampled for its peak.
// Caveat: a child reaped inside the window adds all its CPU, also what it used before.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';

function sysconf(name: string, fallback: number): number {
  try {
    return Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim()) || fallback;
  } catch {
    return fallback;
  }
}

let clkTck = 0;
let pageSize = 0;
function units(): void {
  if (clkTck === 0) {
    clkTck = sysconf('CLK_TCK', 100);
    pageSize = sysconf('PAGESIZE', 4096);
  }
}

/**
 * A small /proc file as text, read into one reused buffer: readFileSync would allocate a
 * 64 KiB buffer per call for these size-0 files, ten times a second while sampling.
 */
const scratch = Buffer.allocUnsafe(4096);
function readProc(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const n = readSync(fd, scratch, 0, scratch.length, 0);
    return scratch.toString('latin1', 0, n);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Fields of /proc/PID/stat after the ")" closing the command name (field 3 is index 0). */
function statFields(pid: number): string[] | null {
  const text = readProc(`/proc/${pid}/stat`);
  if (text === null) return null;
  const close = text.lastIndexOf(')');
  return close < 0 ? null : text.slice(close + 2).split(' ');
}

/** Whether a process with this pid exists now. */
export function processExists(pid: number): boolean {
  return statFields(pid) !== null;
}

/** Every root and its live descendants (each pid once). */
function treePids(roots: readonly number[]): number[] {
  const kids = new Map<number, number[]>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const f = statFields(Number(name));
    if (f === null) continue;
    const ppid = Number(f[1]);
    let l = kids.get(ppid);
    if (l === undefined) kids.set(ppid, (l = []));
    l.push(Number(name));
  }
  const seen = new Set<number>();
  const out: number[] = [];
  for (const r of roots) {
    if (seen.has(r) || statFields(r) === null) continue;
    seen.add(r);
    out.push(r);
  }
  for (let i = 0; i < out.length && out.length < 100_000; i++) {
    for (const k of kids.get(out[i]!) ?? [])
      if (!seen.has(k)) {
        seen.add(k);
        out.push(k);
      }
  }
  return out;
}

export interface CpuTimes {
  /** Microseconds of user and system time. */
  userUs: number;
  systemUs: number;
  processes: number;
}

/** CPU time of the trees under `roots` so far. */
export function treeCpu(roots: readonly number[]): CpuTimes {
  units();
  let user = 0;
  let sys = 0;
  const pids = treePids(roots);
  for (const pid of pids) {
    const f = statFields(pid);
    if (f === null) continue;
    user += Number(f[11]) + Number(f[13]); // utime + cutime
    sys += Number(f[12]) + Number(f[14]); // stime + cstime
  }
  return { userUs: (user * 1e6) / clkTck, systemUs: (sys * 1e6) / clkTck, processes: pids.length };
}

/**
 * Resident bytes of `pids` now: rss sums each process's RSS (shared pages count in each);
 * anon leaves out file-backed pages (statm resident − shared: mapped program code, e.g. the
 * tens of MB of the node binary every node process maps).
 */
function rssOf(pids: readonly number[]): { rss: number; anon: number } {
  units();
  let pages = 0;
  let shared = 0;
  for (const pid of pids) {
    const text = readProc(`/proc/${pid}/statm`);
    if (text === null) continue;
    const f = text.split(' ');
    pages += Number(f[1]);
    shared += Number(f[2]);
  }
  return { rss: pages * pageSize, anon: (pages - shared) * pageSize };
}

/**
 * Samples the peak RSS (and peak anonymous RSS) of the trees under `roots` every
 * `intervalMs` (the process list refreshed every 10th sample, so new children count)
 * until stop().
 */
export class RssSampler {
  peak = 0;
  peakAnon = 0;
  private pids: number[];
  private n = 0;
  private readonly timer: NodeJS.Timeout;

  /** `tree`: include descendants (found by reading all of /proc); false: the roots alone (cheap). */
  constructor(
    private readonly roots: readonly number[],
    intervalMs = 100,
    private readonly tree = true,
  ) {
    this.pids = tree ? treePids(roots) : [...roots];
    this.take();
    this.timer = setInterval(() => {
      if (this.tree && ++this.n % 10 === 0) this.pids = treePids(this.roots);
      this.take();
    }, intervalMs);
    this.timer.unref();
  }

  /** Takes a last sample and stops; returns the peaks in bytes. */
  stop(): { peak: number; peakAnon: number } {
    clearInterval(this.timer);
    if (this.tree) this.pids = treePids(this.roots);
    this.take();
    return { peak: this.peak, peakAnon: this.peakAnon };
  }

  private take(): void {
    const m = rssOf(this.pids);
    if (m.rss > this.peak) this.peak = m.rss;
    if (m.anon > this.peakAnon) this.peakAnon = m.anon;
  }
}
