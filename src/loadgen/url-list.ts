// A mixed workload: the --urls file (one target per line, an optional weight after it)
// and the order requests take through it. Parsing and ordering only.
//
// File format: `URL [WEIGHT]` per line; blank lines and lines starting with '#' are
// skipped; WEIGHT is a positive integer (default 1). Every URL must connect to the same
// place (one connection serves all of them).
//
// Order: smooth weighted round robin (nginx's upstream algorithm), so the mix is exact
// over every cycle of sum(weights) requests and spread out within it:
//
//   weights a=5 b=1 c=1 → a a b a c a a | a a b a c a a | …
//
// Each lane starts at its own offset in the cycle, so many lanes do not all ask the same
// URL at the same moment.
import { parseTarget, sameAddress, TargetError, type Target } from './target.js';

export interface WeightedTarget {
  target: Target;
  weight: number;
}

/** Longest cycle built; past it the weights are scaled down (proportions kept to ~0.01 %). */
const MAX_CYCLE = 10_000;

/** Parses the text of a --urls file; `file` names it in errors (file:line). */
export function parseUrlList(text: string, file: string): WeightedTarget[] {
  const out: WeightedTarget[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${file}:${i + 1}`;
    const parts = line.split(/\s+/);
    if (parts.length > 2) throw new TargetError(`${where}: expected "URL [WEIGHT]", got ${parts.length} fields`);
    let weight = 1;
    if (parts.length === 2) {
      if (!/^\d+$/.test(parts[1]!) || Number(parts[1]) < 1 || Number(parts[1]) > 1_000_000) {
        throw new TargetError(`${where}: weight must be an integer in 1..1000000 (got "${parts[1]}")`);
      }
      weight = Number(parts[1]);
    }
    let target: Target;
    try {
      target = parseTarget(parts[0]!);
    } catch (err) {
      throw new TargetError(`${where}: ${(err as Error).message}`);
    }
    const first = out[0]?.target;
    if (first !== undefined && (first.kind !== target.kind || !sameAddress(first.address, target.address))) {
      throw new TargetError(
        `${where}: every URL of a --urls file must use the same scheme and address as the first (${first.text})`,
      );
    }
    out.push({ target, weight });
  }
  if (out.length === 0) throw new TargetError(`${file}: no URL in the file`);
  return out;
}

/**
 * The request order over the targets as indexes, one cycle long (sum of the weights,
 * scaled down when above MAX_CYCLE). Smooth weighted round robin: each step every entry
 * gains its weight, the largest current value is picked and loses the total.
 */
export function weightedOrder(weights: readonly number[]): Uint32Array {
  let w = weights.slice();
  let total = w.reduce((a, b) => a + b, 0);
  if (total > MAX_CYCLE) {
    const scale = MAX_CYCLE / total;
    w = w.map((x) => Math.max(1, Math.round(x * scale)));
    total = w.reduce((a, b) => a + b, 0);
  }
  const current = new Array<number>(w.length).fill(0);
  const order = new Uint32Array(total);
  for (let step = 0; step < total; step++) {
    let best = 0;
    for (let i = 0; i < w.length; i++) {
      current[i]! += w[i]!;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    order[step] = best;
  }
  return order;
}
