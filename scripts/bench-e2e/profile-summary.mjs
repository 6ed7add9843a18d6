#!/usr/bin/env node
// Summarises V8 .cpuprofile files (node --cpu-prof): self time per function (name, file,
// line), summed over all the files given, as a share of the non-idle samples; GC, program
// (native/runtime outside JS) and idle are V8's own pseudo-nodes. It profiles nothing itself.
// Usage: node scripts/bench-e2e/profile-summary.mjs [--top N] FILE.cpuprofile...
// @ts-check
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * @typedef {{ id: number, callFrame: { functionName: string, url: string, lineNumber: number } }} ProfileNode
 * @typedef {{ nodes: ProfileNode[], samples: number[], timeDeltas: number[] }} CpuProfile
 */

/**
 * Self microseconds per function key over `files`: { rows: [{ key, us }], totalUs, idleUs }.
 * @param {readonly string[]} files
 */
export function selfTimes(files) {
  /** @type {Map<string, number>} */
  const byKey = new Map();
  let totalUs = 0;
  let idleUs = 0;
  const root = fileURLToPath(new URL('../../', import.meta.url));
  for (const file of files) {
    const prof = /** @type {CpuProfile} */ (JSON.parse(readFileSync(file, 'utf8')));
    const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
    const { samples, timeDeltas } = prof;
    for (let i = 0; i < samples.length; i++) {
      // timeDeltas[i] is the time before sample i; charge it to the sample that follows.
      const us = timeDeltas[i + 1] ?? 0;
      const n = nodes.get(samples[i]);
      if (n === undefined || us <= 0) continue;
      const cf = n.callFrame;
      const name = cf.functionName || '(anonymous)';
      if (name === '(idle)') {
        idleUs += us;
        continue;
      }
      let where = cf.url ? cf.url.replace(/^file:\/\//, '') : '';
      if (where.startsWith(root)) where = relative(root, where);
      const key = where ? `${name} ${where}:${cf.lineNumber + 1}` : name;
      byKey.set(key, (byKey.get(key) ?? 0) + us);
      totalUs += us;
    }
  }
  const rows = [...byKey.entries()].map(([key, us]) => ({ key, us })).sort((a, b) => b.us - a.us);
  return { rows, totalUs, idleUs };
}

/**
 * Text lines: the top `top` functions by self time with their share of busy time.
 * @param {readonly string[]} files
 */
export function summaryLines(files, top = 25) {
  const { rows, totalUs, idleUs } = selfTimes(files);
  const lines = [
    `busy ${(totalUs / 1e6).toFixed(2)} s, idle ${(idleUs / 1e6).toFixed(2)} s over ${files.length} `
      + `profile(s); self time:`,
  ];
  for (const r of rows.slice(0, top))
    lines.push(`${((100 * r.us) / Math.max(1, totalUs)).toFixed(1).padStart(5)}%  ${r.key}`);
  return lines;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  let top = 25;
  const t = args.indexOf('--top');
  if (t >= 0) {
    top = Number(args[t + 1]);
    args.splice(t, 2);
  }
  if (args.length === 0) {
    console.error('usage: profile-summary.mjs [--top N] FILE.cpuprofile...');
    process.exit(2);
  }
  console.log(summaryLines(args, top).join('\n'));
}
