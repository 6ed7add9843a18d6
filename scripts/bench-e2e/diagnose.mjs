// Diagnostics of fcgate under the bench's load, instead of the comparison table:
//   --profile DIR  one fcgate per scenario under `node --cpu-prof`, profiles kept in DIR,
//                  top self-time functions printed (profile-summary.mjs);
//   --gc           one fcgate per scenario under `node --trace-gc`: GC events, pause time and
//                  bytes allocated (young + old, estimated from heap sizes around each GC)
//                  per 100k requests.
// Backends, pinning and wrk as in the first mode given (pinned by default).
// @ts-check
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startDemoApp, startFcgate, startPhpFpm } from './servers.mjs';
import { stopGroup } from './procs.mjs';
import { treeCpu } from './proc-stats.mjs';
import { checkOnce, runWrk, wrkScript } from './wrk.mjs';
import { summaryLines } from './profile-summary.mjs';

/** @typedef {{ kind: string, before: number, after: number, pauseMs: number }} GcEvent */

/**
 * GC lines of --trace-gc output: kind, heap MB before and after, pause ms.
 * @param {string} text
 * @returns {GcEvent[]}
 */
export function parseTraceGc(text) {
  /** @type {GcEvent[]} */
  const out = [];
  // e.g. `[123:0x5…]  456 ms: Scavenge 12.3 (15.0) -> 8.2 (16.0) MB, 0.8 / 0.0 ms  (average mu = …`
  const kind = String.raw`(Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Compact|Mark-Compact \(reduce\))\S*`;
  const heaps = String.raw`([\d.]+) \(([\d.]+)\) -> ([\d.]+) \(([\d.]+)\) MB`;
  const pause = String.raw`(?:pooled: [\d.]+ MB, )?([\d.]+) \/ ([\d.]+) ms`;
  const re = new RegExp(`: ${kind}\\s+${heaps}, ${pause}`, 'g');
  for (const m of text.matchAll(re)) {
    out.push({ kind: m[1] ?? '', before: Number(m[2]), after: Number(m[4]), pauseMs: Number(m[6]) });
  }
  return out;
}

/**
 * Totals of parsed GC lines; allocation ≈ Σ (heap before GC i − heap after GC i−1).
 * @param {readonly GcEvent[]} events
 */
export function gcTotals(events) {
  const t = { scavenges: 0, markCompacts: 0, pauseMs: 0, allocatedMB: 0 };
  /** @type {number | null} */
  let prevAfter = null;
  for (const e of events) {
    if (/Scavenge|Minor/.test(e.kind)) t.scavenges++;
    else t.markCompacts++;
    t.pauseMs += e.pauseMs;
    if (prevAfter !== null && e.before > prevAfter) t.allocatedMB += e.before - prevAfter;
    prevAfter = e.after;
  }
  return t;
}

/** @param {string} dir */
function profilesIn(dir) {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/**
 * @param {{ opts: { profile: string | null, gc: boolean, warmup: number, seconds: number },
 *   dir: string, bins: { phpFpm: string, wrk: string }, scenarios: readonly import('./plan.mjs').Scenario[],
 *   mode: import('./plan.mjs').Mode, pinSelf: (cpus: string | null) => void }} run
 */
export async function runDiagnostics({ opts, dir, bins, scenarios, mode, pinSelf }) {
  pinSelf(mode.loadCpus);
  const demo = await startDemoApp(dir, mode.loadCpus);
  const php = await startPhpFpm(dir, mode.loadCpus, bins.phpFpm, 32);
  const backends = { demo, php };
  try {
    for (const s of scenarios) {
      const tag = `fcgate-${s.id}`;
      /** @type {string[]} */
      let nodeFlags;
      let profDir = null;
      if (opts.profile !== null) {
        profDir = resolve(opts.profile, `${mode.id}-${s.id}`);
        mkdirSync(profDir, { recursive: true });
        nodeFlags = ['--cpu-prof', '--cpu-prof-dir', profDir];
      } else {
        nodeFlags = ['--trace-gc'];
      }
      const fc = await startFcgate(dir, mode.proxyCpus, backends, {
        threads: mode.fcgateThreads,
        nodeFlags,
        tag,
        demoKeys: s.fcgateDemoKeys ?? '',
      });
      try {
        const problem = await checkOnce(fc.port, s);
        if (problem !== null) {
          console.log(`${s.id}: check failed: ${problem}`);
          continue;
        }
        const script = wrkScript(dir, s);
        const common = {
          url: `http://127.0.0.1:${fc.port}${s.path}`,
          connections: s.connections,
          script,
          cpus: mode.loadCpus,
          dir,
          wrk: bins.wrk,
        };
        if (opts.warmup > 0) await runWrk({ ...common, seconds: opts.warmup });
        const logAt = statSync(fc.proc.logFile).size;
        const cpu0 = treeCpu(fc.pid);
        const w = await runWrk({ ...common, seconds: opts.seconds });
        const cpu1 = treeCpu(fc.pid);
        const per = 1e6 / Math.max(1, w.requests);
        const head =
          `${mode.id} ${s.id}: ${w.requests} requests, ${Math.round(w.requests / (w.duration_us / 1e6))} req/s, `
          + `${((cpu1.user - cpu0.user + cpu1.sys - cpu0.sys) * per).toFixed(1)} µs CPU/req `
          + `(${((cpu1.user - cpu0.user) * per).toFixed(1)} user + ${((cpu1.sys - cpu0.sys) * per).toFixed(1)} sys)`;
        if (opts.gc) {
          const text = readFileSync(fc.proc.logFile, 'utf8').slice(logAt);
          const t = gcTotals(parseTraceGc(text));
          const k = 1e5 / Math.max(1, w.requests);
          console.log(
            `${head}\n  per 100k requests: ${(t.scavenges * k).toFixed(1)} scavenges, `
              + `${(t.markCompacts * k).toFixed(2)} mark-compacts, `
              + `${(t.pauseMs * k).toFixed(1)} ms GC pause, ~${(t.allocatedMB * k).toFixed(0)} MB allocated `
              + `(~${((t.allocatedMB * 2 ** 20) / Math.max(1, w.requests)).toFixed(0)} bytes/request)`,
          );
        } else {
          console.log(head);
        }
      } finally {
        // SIGTERM: fcgate drains and exits, which is when --cpu-prof writes its files.
        await stopGroup(fc.proc, { signal: 'SIGTERM', graceMs: 15_000 });
      }
      if (profDir !== null) {
        const files = profilesIn(profDir);
        console.log(
          files.length
            ? summaryLines(files, 30)
                .map((l) => `  ${l}`)
                .join('\n')
            : `  no .cpuprofile written in ${profDir}`,
        );
      }
    }
  } finally {
    await php.stop();
    await demo.stop();
    pinSelf(null);
  }
}
