// The send timeout (FCGATE_SEND_TIMEOUT, nginx's send_timeout, Apache's Timeout): a client
// that takes nothing of a response the gateway holds back for that long is closed, and the
// app's request aborted, so a client that stops reading cannot hold an app worker for ever
// (issue 9). While it waits, uWS's own timer (armed by each write it held back: 10 s in
// uwebsockets@3.0.6, 30 s in 20.57.0) is restarted by a pause()+resume() pair, so the
// timeout in force is ours, whatever the build.
import { REFRESH_MS } from './body-intake.js';
import { unwatch, watch, type Ticking } from './sweep.js';
import type { HttpResponse } from './uws.js';

/** What the watch reads from, and tells, its reply. */
export interface SendWatchOwner {
  readonly res: HttpResponse;
  /** uWS holds response bytes back. */
  readonly blocked: boolean;
  /** The request body's intake has paused the client (then no pause/resume pair here). */
  readonly clientPaused: boolean;
  sendTimedOut(idleMs: number): void;
}

export class SendWatch implements Ticking {
  private since = 0;
  private lastRefresh = 0;
  private running = false;

  constructor(
    private readonly owner: SendWatchOwner,
    private readonly timeoutMs: number,
  ) {}

  /** A write was held back: watch from now (if not already). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.since = this.lastRefresh = Date.now();
    watch(this);
  }

  /** The client took some of what was held back. */
  progress(): void {
    if (this.running) this.since = Date.now();
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    unwatch(this);
  }

  /** @internal (the sweep) */
  tick(now: number): void {
    if (!this.owner.blocked) {
      this.stop();
      return;
    }
    const idle = now - this.since;
    if (this.timeoutMs > 0 && idle >= this.timeoutMs) {
      this.stop();
      this.owner.sendTimedOut(idle);
      return;
    }
    if (now - this.lastRefresh >= REFRESH_MS && !this.owner.clientPaused) {
      this.lastRefresh = now;
      this.owner.res.pause();
      this.owner.res.resume();
    }
  }
}
