// body-intake.ts with a recording fake HttpResponse and node:test's fake timers (setInterval
// and Date): resume() only after our own pause() (uWS disables the socket's polling
// otherwise), no pause on the last chunk, the last chunk arriving while paused resumes at once
// and keeps uWS's timer refreshed (pause+resume pairs every REFRESH_MS) until stop() except
// while the response is blocked, a slow body refreshed, the idle timeout (onBodyTimeout once),
// and stop() ending everything.
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { BodyIntake, REFRESH_MS, type IntakeTarget } from '../../src/front/body-intake.js';
import type { HttpResponse } from '../../src/front/uws.js';

/** The sweep's period in body-intake.ts (private there): every check happens on its ticks. */
const SWEEP_MS = 1000;

/** The part of uWS's HttpResponse the intake uses, recording each call. */
class FakeResponse {
  calls: string[] = [];
  handler: ((ab: ArrayBuffer, last: boolean) => void) | null = null;
  onData(h: (ab: ArrayBuffer, last: boolean) => void): this {
    this.handler = h;
    this.calls.push('onData');
    return this;
  }
  pause(): void {
    this.calls.push('pause');
  }
  resume(): void {
    this.calls.push('resume');
  }
  /** uWS delivering a chunk. */
  data(text: string, last = false): void {
    const ab = new ArrayBuffer(text.length);
    new Uint8Array(ab).set(Buffer.from(text, 'latin1'));
    this.handler!(ab, last);
  }
  /** The calls since the last take(). */
  take(): string[] {
    const c = this.calls;
    this.calls = [];
    return c;
  }
}

class Target implements IntakeTarget {
  chunks: Array<[string, boolean]> = [];
  timeouts: number[] = [];
  responseBlocked = false;
  /** What onBodyChunk answers. */
  accept = true;
  onBodyChunk(chunk: Uint8Array, last: boolean): boolean {
    this.chunks.push([Buffer.from(chunk).toString('latin1'), last]);
    return this.accept;
  }
  onBodyTimeout(idleMs: number): void {
    this.timeouts.push(idleMs);
  }
}

let made: BodyIntake[] = [];

function intake(idleMs = 0, expected = -1): { res: FakeResponse; target: Target; intake: BodyIntake } {
  const res = new FakeResponse();
  const target = new Target();
  const i = new BodyIntake(res as unknown as HttpResponse, expected, target, idleMs);
  made.push(i);
  assert.deepEqual(res.take(), ['onData'], 'the constructor registers onData only');
  return { res, target, intake: i };
}

/** Advances the fake clock in sweep steps (each step fires the sweep once). */
function advance(ms: number): void {
  for (let t = 0; t < ms; t += SWEEP_MS) mock.timers.tick(Math.min(SWEEP_MS, ms - t));
}

beforeEach(() => {
  mock.timers.enable({ apis: ['setInterval', 'setTimeout', 'Date'], now: 1_000_000 });
});
afterEach(() => {
  for (const i of made) i.stop();
  made = [];
  mock.timers.tick(SWEEP_MS); // the sweep finds nothing active and clears its interval
  mock.timers.reset();
});

describe('BodyIntake', () => {
  test('chunks reach the target as copies of their bytes; received and complete count them', () => {
    const { res, target, intake: i } = intake(0, 7);
    res.data('abc');
    res.data('defg', true);
    assert.deepEqual(target.chunks, [
      ['abc', false],
      ['defg', true],
    ]);
    assert.equal(i.received, 7);
    assert.equal(i.complete, true);
    assert.equal(i.expected, 7);
    res.data('late', true); // after the last chunk: ignored
    assert.equal(target.chunks.length, 2);
    assert.deepEqual(res.take(), [], 'never paused, never resumed');
  });

  test('resume() without our own pause() does not touch the response (uWS would stop polling)', () => {
    const { res, intake: i } = intake();
    i.resume();
    res.data('x');
    i.resume();
    assert.deepEqual(res.take(), []);
    assert.equal(i.isPaused, false);
  });

  test('the target refusing a chunk pauses once; resume() resumes once', () => {
    const { res, target, intake: i } = intake();
    target.accept = false;
    res.data('a');
    assert.deepEqual(res.take(), ['pause']);
    assert.equal(i.isPaused, true);
    res.data('b'); // uWS may still deliver what it had read
    assert.deepEqual(res.take(), [], 'no second pause');
    i.resume();
    i.resume();
    assert.deepEqual(res.take(), ['resume']);
    assert.equal(i.isPaused, false);
  });

  test('no pause on the last chunk, even when the target refuses it; nothing is refreshed after', () => {
    const { res, target } = intake(3000);
    target.accept = false;
    res.data('end', true);
    assert.deepEqual(res.take(), []);
    advance(3 * REFRESH_MS);
    assert.deepEqual(res.take(), [], 'stopped: no refresh');
    assert.deepEqual(target.timeouts, [], 'stopped: no body timeout');
  });

  test('last chunk while paused: resumed at once, then refreshed every REFRESH_MS until stop()', () => {
    const { res, target, intake: i } = intake(3000);
    target.accept = false;
    res.data('a');
    assert.deepEqual(res.take(), ['pause']);
    res.data('z', true); // read by uWS before our pause took effect
    assert.deepEqual(res.take(), ['resume'], 'resumed at once: the client must be read again');
    assert.equal(i.isPaused, false);
    assert.equal(i.complete, true);
    advance(REFRESH_MS - SWEEP_MS);
    assert.deepEqual(res.take(), [], 'not yet');
    advance(SWEEP_MS);
    assert.deepEqual(res.take(), ['pause', 'resume']);
    advance(REFRESH_MS);
    assert.deepEqual(res.take(), ['pause', 'resume']);
    assert.deepEqual(target.timeouts, [], 'the body is complete: the idle timeout no longer applies');
    i.stop();
    advance(3 * REFRESH_MS);
    assert.deepEqual(res.take(), [], 'nothing after stop()');
  });

  test('after the body, no refresh while the response is blocked; counted again from when it unblocks', () => {
    const { res, target } = intake();
    target.accept = false;
    res.data('a');
    res.data('z', true);
    res.take();
    target.responseBlocked = true;
    advance(3 * REFRESH_MS);
    assert.deepEqual(res.take(), [], "the slow reader is uWS's to time out");
    target.responseBlocked = false;
    advance(REFRESH_MS - SWEEP_MS);
    assert.deepEqual(res.take(), [], 'the window restarts when the response unblocks');
    advance(SWEEP_MS);
    assert.deepEqual(res.take(), ['pause', 'resume']);
  });

  test('a slow body is refreshed every REFRESH_MS while its chunks keep the idle timeout away', () => {
    const { res, target } = intake(2500);
    for (let t = 0; t < 3 * REFRESH_MS; t += 2000) {
      res.data('.');
      advance(2000);
    }
    // 6 chunks 2 s apart over 12 s: refreshes at 4 s, 8 s and 12 s.
    assert.deepEqual(res.take(), ['pause', 'resume', 'pause', 'resume', 'pause', 'resume']);
    assert.deepEqual(target.timeouts, []);
    assert.equal(target.chunks.length, 6);
  });

  test('idle timeout: onBodyTimeout once, with the idle time; the intake stops', () => {
    const { res, target, intake: i } = intake(3000);
    res.data('a');
    advance(2000);
    assert.deepEqual(target.timeouts, []);
    advance(1000);
    assert.deepEqual(target.timeouts, [3000]);
    advance(3 * REFRESH_MS);
    assert.deepEqual(target.timeouts, [3000], 'once');
    assert.deepEqual(res.take(), [], 'stopped: no refresh either');
    res.data('b');
    assert.equal(target.chunks.length, 1, 'chunks after the timeout are ignored');
    i.resume();
    assert.deepEqual(res.take(), []);
  });

  test('no idle timeout while we hold the client paused; it counts again from resume()', () => {
    const { res, target, intake: i } = intake(3000);
    target.accept = false;
    res.data('a');
    res.take();
    advance(10_000);
    assert.deepEqual(target.timeouts, [], "paused by us: the wait is the app's, not the client's");
    assert.deepEqual(res.take(), [], "and no refresh: pause() disarmed uWS's timer");
    target.accept = true;
    i.resume();
    assert.deepEqual(res.take(), ['resume']);
    advance(2000);
    assert.deepEqual(target.timeouts, []);
    advance(1000);
    assert.deepEqual(target.timeouts, [3000]);
  });

  test('idleMs 0: no body timeout, only refreshes', () => {
    const { res, target } = intake(0);
    res.data('a');
    advance(2 * REFRESH_MS);
    assert.deepEqual(target.timeouts, []);
    assert.deepEqual(res.take(), ['pause', 'resume', 'pause', 'resume']);
  });

  test('stop() ends everything: no chunks, no resume, no timers', () => {
    const { res, target, intake: i } = intake(1000);
    target.accept = false;
    res.data('a');
    assert.deepEqual(res.take(), ['pause']);
    i.stop();
    i.stop();
    res.data('b');
    res.data('c', true);
    i.resume();
    advance(3 * REFRESH_MS);
    assert.deepEqual(target.chunks, [['a', false]]);
    assert.deepEqual(res.take(), []);
    assert.deepEqual(target.timeouts, []);
  });

  test('many intakes share one sweep; each keeps its own clock', () => {
    const a = intake(2000);
    advance(1000);
    const b = intake(2000);
    advance(1000);
    assert.deepEqual(a.target.timeouts, [2000]);
    assert.deepEqual(b.target.timeouts, []);
    advance(1000);
    assert.deepEqual(b.target.timeouts, [2000]);
  });
});
