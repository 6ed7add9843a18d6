// SendWatch (FCGATE_SEND_TIMEOUT) and the per-thread sweep that drives it, on mock timers.
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { REFRESH_MS } from '../../src/front/body-intake.js';
import { SendWatch, type SendWatchOwner } from '../../src/front/send-watch.js';
import { SWEEP_MS, unwatch, watch, type Ticking } from '../../src/front/sweep.js';
import type { HttpResponse } from '../../src/front/uws.js';

class FakeOwner implements SendWatchOwner {
  readonly calls: string[] = [];
  blocked = true;
  clientPaused = false;
  timedOut: number[] = [];
  readonly res = {
    pause: () => {
      this.calls.push('pause');
    },
    resume: () => {
      this.calls.push('resume');
    },
  } as unknown as HttpResponse;
  sendTimedOut(idleMs: number): void {
    this.timedOut.push(idleMs);
  }
}

beforeEach(() => {
  mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_000_000 });
});
afterEach(() => {
  mock.timers.reset();
});

describe('sweep', () => {
  test('ticks each watched item once per SWEEP_MS with Date.now(), and not after unwatch', () => {
    const seen: number[] = [];
    const t: Ticking = {
      tick: (now) => {
        seen.push(now);
      },
    };
    watch(t);
    watch(t); // a second watch of the same item does not tick it twice
    mock.timers.tick(SWEEP_MS - 1);
    assert.deepEqual(seen, []);
    mock.timers.tick(1);
    assert.deepEqual(seen, [1_000_000 + SWEEP_MS]);
    mock.timers.tick(SWEEP_MS);
    assert.deepEqual(seen, [1_000_000 + SWEEP_MS, 1_000_000 + 2 * SWEEP_MS]);
    unwatch(t);
    mock.timers.tick(5 * SWEEP_MS);
    assert.equal(seen.length, 2);
  });

  test('an item unwatched during its own tick stops; the sweep restarts on the next watch', () => {
    let a = 0;
    let b = 0;
    const ta: Ticking = {
      tick: () => {
        a++;
        unwatch(ta);
      },
    };
    const tb: Ticking = {
      tick: () => {
        b++;
      },
    };
    watch(ta);
    watch(tb);
    mock.timers.tick(3 * SWEEP_MS);
    assert.equal(a, 1);
    assert.equal(b, 3);
    unwatch(tb);
    mock.timers.tick(3 * SWEEP_MS); // empty: the interval is cleared
    assert.equal(b, 3);
    watch(ta);
    mock.timers.tick(SWEEP_MS);
    assert.equal(a, 2);
  });
});

describe('SendWatch', () => {
  test('a client that takes nothing for the timeout is timed out once, with the idle time', () => {
    const owner = new FakeOwner();
    const w = new SendWatch(owner, 3 * SWEEP_MS);
    w.start();
    mock.timers.tick(2 * SWEEP_MS);
    assert.deepEqual(owner.timedOut, []);
    mock.timers.tick(SWEEP_MS);
    assert.deepEqual(owner.timedOut, [3 * SWEEP_MS]);
    mock.timers.tick(10 * SWEEP_MS);
    assert.deepEqual(owner.timedOut, [3 * SWEEP_MS], 'the watch stops after the timeout');
  });

  test('progress restarts the idle time; start while running does not', () => {
    const owner = new FakeOwner();
    const w = new SendWatch(owner, 3 * SWEEP_MS);
    w.start();
    mock.timers.tick(2 * SWEEP_MS);
    w.progress();
    w.start();
    mock.timers.tick(2 * SWEEP_MS);
    assert.deepEqual(owner.timedOut, []);
    mock.timers.tick(SWEEP_MS);
    assert.deepEqual(owner.timedOut, [3 * SWEEP_MS]);
  });

  test('no longer blocked → the watch stops without a timeout; stop() stops it too', () => {
    const owner = new FakeOwner();
    const w = new SendWatch(owner, 2 * SWEEP_MS);
    w.start();
    owner.blocked = false;
    mock.timers.tick(SWEEP_MS);
    owner.blocked = true; // blocked again, but nobody restarted the watch
    mock.timers.tick(5 * SWEEP_MS);
    assert.deepEqual(owner.timedOut, []);
    const w2 = new SendWatch(owner, 2 * SWEEP_MS);
    w2.start();
    w2.stop();
    mock.timers.tick(5 * SWEEP_MS);
    assert.deepEqual(owner.timedOut, []);
  });

  test("timeout 0 never times out, and refreshes uWS's timer by pause+resume every REFRESH_MS", () => {
    const owner = new FakeOwner();
    const w = new SendWatch(owner, 0);
    w.start();
    mock.timers.tick(REFRESH_MS - SWEEP_MS);
    assert.deepEqual(owner.calls, []);
    mock.timers.tick(SWEEP_MS);
    assert.deepEqual(owner.calls, ['pause', 'resume']);
    mock.timers.tick(REFRESH_MS);
    assert.deepEqual(owner.calls, ['pause', 'resume', 'pause', 'resume']);
    assert.deepEqual(owner.timedOut, []);
    w.stop();
  });

  test('no pause/resume pair while the body intake has the client paused', () => {
    const owner = new FakeOwner();
    owner.clientPaused = true;
    const w = new SendWatch(owner, 0);
    w.start();
    mock.timers.tick(3 * REFRESH_MS);
    assert.deepEqual(owner.calls, []);
    w.stop();
  });
});
