// One timer per serving thread for the slow paths of many requests: request bodies that
// trickle (body-intake.ts) and responses held back by a client that does not read
// (send-watch.ts). Each registers while it needs watching; the sweep calls tick(now) about
// once a second and stops when nothing is registered. Nothing here runs per chunk.

export interface Ticking {
  /** Called about every SWEEP_MS while registered; `now` is Date.now(). */
  tick(now: number): void;
}

export const SWEEP_MS = 1000;

const watched = new Set<Ticking>();
let timer: NodeJS.Timeout | null = null;

function sweep(): void {
  const now = Date.now();
  for (const t of watched) t.tick(now);
  if (watched.size === 0 && timer !== null) {
    clearInterval(timer);
    timer = null;
  }
}

export function watch(t: Ticking): void {
  watched.add(t);
  if (timer === null) {
    timer = setInterval(sweep, SWEEP_MS);
    timer.unref();
  }
}

export function unwatch(t: Ticking): void {
  watched.delete(t);
}
