// The live line on a terminal, redrawn every second: elapsed time, req/s in the last
// second and on average, errors, p50/p99 so far. The CLI uses it only when stdout is a
// TTY; it is erased before the summary is printed.
import { performance } from 'node:perf_hooks';
import { errorTotal } from './messages.js';
import type { Progress, RunHooks } from './load-threads.js';
import { formatCount, formatMicros, formatRate } from './units.js';

const CLEAR = '\r\x1b[2K';

export class ProgressLine {
  private shown = false;
  private warmupTimer: NodeJS.Timeout | null = null;

  constructor(private readonly out: NodeJS.WritableStream) {}

  /** Hooks for one run; `label` prefixes the line (A/B round n with --compare). */
  hooks(label: string, warmupMs: number): RunHooks {
    return {
      onStart: (startAt: number) => {
        if (warmupMs <= 0) {
          this.draw(`${label}starting`);
          return;
        }
        const tick = (): void => {
          const s = (performance.timeOrigin + performance.now() - startAt) / 1000;
          if (s * 1000 < warmupMs)
            this.draw(`${label}warming up ${Math.max(0, s).toFixed(0)} / ${(warmupMs / 1000).toFixed(0)} s`);
        };
        tick();
        this.warmupTimer = setInterval(tick, 1000);
        this.warmupTimer.unref();
      },
      onMeasureStart: () => {
        if (this.warmupTimer !== null) {
          clearInterval(this.warmupTimer);
          this.warmupTimer = null;
        }
        this.draw(`${label}measuring`);
      },
      onSecond: (p: Progress) => this.draw(`${label}${line(p)}`),
    };
  }

  /** Erases the line (before anything else is printed). */
  clear(): void {
    if (this.warmupTimer !== null) {
      clearInterval(this.warmupTimer);
      this.warmupTimer = null;
    }
    if (this.shown) this.out.write(CLEAR);
    this.shown = false;
  }

  private draw(text: string): void {
    this.out.write(`${CLEAR}${text}`);
    this.shown = true;
  }
}

/** "5 s | 12,345 req/s now, 12,001.3 mean | 0 errors | p50 0.79 ms  p99 1.40 ms" */
function line(p: Progress): string {
  const elapsed = p.second + 1;
  const errors = errorTotal(p.total);
  const h = p.soFar;
  const lat =
    h.totalCount === 0
      ? 'no response yet'
      : `p50 ${formatMicros(h.getValueAtPercentile(50))}  p99 ${formatMicros(h.getValueAtPercentile(99))}`;
  return (
    `${elapsed} s | ${formatRate(p.last.responses)} req/s now, ${formatRate(p.total.responses / elapsed)} mean`
    + ` | ${formatCount(errors)} error${errors === 1 ? '' : 's'} | ${lat}`
  );
}
