// The client side of a request body: uWS's onData, pausing and resuming the client, the
// body timeout, and the counting that makes a truncated body visible. Where the bytes go
// (held STDIN records, a spool, a running exchange) is the IntakeTarget's business.
//
// Two uWS facts shape this file (native-notes/uws.md, issue 8 §2):
// - res.resume() on a response that was not paused disables the socket's polling (uWS
//   restores the poll events that its last pause() saved in a per-thread static, 0 when none
//   was): the client's next bytes are never read. So resume() only follows our own pause().
// - resume() arms uWS's 10 s timeout (nothing from JS disarms it but pause()), and while a
//   body arrives uWS closes the connection unless 160 KiB came in each 10 s window (16 KiB/s;
//   HTTP_RECEIVE_THROUGHPUT_BYTES). So a slow body, and a response still awaited after a
//   resume (the client was paused when its last chunk came: it must read again for keep-alive),
//   are kept alive by a pause()+resume() pair every REFRESH_MS, which restarts uWS's timer;
//   our own idle timeout (FCGATE_BODY_TIMEOUT, nginx's client_body_timeout) answers 408
//   instead of uWS's silent cut. While the response is held back by a slow reader, no refresh
//   here: that wait is send-watch.ts's (FCGATE_SEND_TIMEOUT).
import { unwatch, watch, type Ticking } from './sweep.js';
import type { HttpResponse } from './uws.js';

export interface IntakeTarget {
  /** Body bytes (a view valid during the call). false: pause the client until intake.resume(). */
  onBodyChunk(chunk: Uint8Array, last: boolean): boolean;
  /** Nothing arrived for the body timeout: answer 408 (the intake has stopped). */
  onBodyTimeout(idleMs: number): void;
  /** The response is held back by the client (uWS buffers it): no refresh then. */
  readonly responseBlocked: boolean;
}

/**
 * How often uWS's timer is restarted for a request we wait on (a slow body, an answer after a
 * resume, a held-back response): uWS cuts 8–12 s after arming on uwebsockets@3.0.6 (28–32 s
 * on 20.57.0), checking on a 4 s sweep.
 */
export const REFRESH_MS = 4000;

export class BodyIntake implements Ticking {
  /** Body bytes received so far. */
  received = 0;
  /** The last chunk arrived. */
  complete = false;
  private paused = false;
  private stopped = false;
  /** After the last chunk: uWS's timer runs because we resumed (refreshed until stop()). */
  private armedAfterBody = false;
  private lastData: number;
  private lastRefresh: number;

  /**
   * Registers onData on `res` (call it in the request handler). `expected`: the
   * Content-Length, or -1 for a chunked body. `idleMs`: the body timeout (0: none).
   */
  constructor(
    private readonly res: HttpResponse,
    readonly expected: number,
    private readonly target: IntakeTarget,
    private readonly idleMs: number,
  ) {
    this.lastData = this.lastRefresh = Date.now();
    res.onData((ab, last) => this.onData(ab, last));
    watch(this);
  }

  /** The client is paused by us (backpressure from the target). */
  get isPaused(): boolean {
    return this.paused;
  }

  private onData(ab: ArrayBuffer, last: boolean): void {
    if (this.stopped || this.complete) return;
    this.received += ab.byteLength;
    if (last) {
      this.complete = true;
      if (this.paused) {
        // uWS read this last chunk from what it had already read when we paused. The client
        // must be read again (its next request), which arms uWS's 10 s timer: refreshed
        // until the response is done, since the app may take longer.
        this.paused = false;
        this.armedAfterBody = true;
        this.lastRefresh = Date.now();
        this.res.resume();
      } else {
        this.stop();
      }
    } else {
      this.lastData = Date.now();
    }
    const more = this.target.onBodyChunk(new Uint8Array(ab), last);
    if (!more && !last && !this.stopped && !this.paused) {
      this.paused = true;
      this.res.pause();
    }
  }

  /** The target can take more: resume the client if we paused it. */
  resume(): void {
    if (!this.paused || this.stopped) return;
    this.paused = false;
    this.lastData = this.lastRefresh = Date.now();
    this.res.resume();
  }

  /** The request is over (answered, failed or aborted): no more callbacks, no timers. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    unwatch(this);
  }

  /** @internal (the sweep) */
  tick(now: number): void {
    if (this.stopped || this.paused) return;
    if (this.armedAfterBody) {
      if (this.target.responseBlocked) {
        this.lastRefresh = now;
        return;
      }
    } else if (this.idleMs > 0 && now - this.lastData >= this.idleMs) {
      this.stop();
      this.target.onBodyTimeout(now - this.lastData);
      return;
    }
    if (now - this.lastRefresh >= REFRESH_MS) {
      // Restart uWS's receive window (see the top of this file).
      this.lastRefresh = now;
      this.res.pause();
      this.res.resume();
    }
  }
}
