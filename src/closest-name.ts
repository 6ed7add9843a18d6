// "Did you mean …?": the known name closest to a misspelt one, for unknown directives,
// worker keys, command-line options and FCGATE_* variables. Nothing else.
//
// Distance: optimal string alignment (Levenshtein plus swapping two neighbours), case
// ignored. A name is suggested only when it is close for its length: at most one edit
// per four characters (at least one, at most three), so `ProxyPazz` → `ProxyPass` and
// `FCGATE_THREDS` → `FCGATE_THREADS`, but `ProxyPassReverse` suggests nothing.

/** Edits between a and b (insert, delete, replace, swap two neighbours). */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  // Three rows of the DP table: the one before the previous is needed for swaps.
  let older = new Array<number>(y.length + 1).fill(0);
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  let cur = new Array<number>(y.length + 1).fill(0);
  for (let i = 1; i <= x.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d = Math.min(d, older[j - 2]! + 1);
      cur[j] = d;
    }
    [older, prev, cur] = [prev, cur, older];
  }
  return prev[y.length]!;
}

/** The candidate closest to `word` when it is close enough (see the header), else null. */
export function closestName(word: string, candidates: Iterable<string>): string | null {
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 4)));
  let best: string | null = null;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    if (c.toLowerCase() === word.toLowerCase()) continue;
    const d = editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** ` (did you mean X?)` or '' — appended to an "unknown …" message. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const c = closestName(word, candidates);
  return c === null ? '' : ` (did you mean ${c}?)`;
}
