// uWS's minimum receive rate for request bodies (issue 9 item 9), measured per build. The
// rule (uWebSockets HttpContext.h, HTTP_RECEIVE_THROUGHPUT_BYTES = 16 KiB): when a handler
// returns while a body is still due, uWS arms the socket's idle timeout T; body bytes are
// counted, and only when the count reaches 16 KiB × T is the timeout re-armed (T from then)
// and the count reset. A timeout that fires closes the connection (onAborted). uSockets
// checks timeouts on a 4 s sweep, at the ceil((T+3)/4)-th sweep after arming.
// Measured: T = 10 s on 3.0.6 (fires 8–12 s after arming; 160 KiB per window), T = 30 s on
// 20.57.0 (fires 28–32 s after arming; 480 KiB per window). res.pause() disarms the
// timeout; res.resume() re-arms it (the count is kept).
//
// The default row watches one window (≈12 s on 3.0.6, ≈32 s on 20.57.0); its uploads start
// before the other suites of the process run, so most of that wait overlaps them.
// FCGATE_TEST_SLOW=1 adds the steady-rate row (≈3.5 windows).
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadUws, type TemplatedApp } from '../../../src/front/uws.js';
import { closeListening, listenApp, type Listening } from '../../../src/front/listen.js';
import { per, slow } from './harness.js';

const uws = loadUws();
const KiB = 1024;
/** uWS's HTTP idle timeout, seconds, as measured on each build. */
const T = per({ '3.0.6': 10, '20.57.0': 30 });
/** Bytes a body must deliver per window: 16 KiB × T. */
const WINDOW_BYTES = 16 * KiB * T;
/** The 4 s sweep: a timeout armed at t fires between t + 4·ceil((T+3)/4) − 4 and t + 4·ceil(…). */
const SWEEPS = (T + 3) >> 2;
const FIRES_MIN_MS = (SWEEPS - 1) * 4000 - 500;
const FIRES_MAX_MS = SWEEPS * 4000 + 500;

let app: TemplatedApp | null = null;
let listening: Listening | null = null;
let port = 0;
/** Upload name → when uWS aborted it (ms since its request was sent), and bytes seen. */
const aborted = new Map<string, number>();
const received = new Map<string, number>();
const started = new Map<string, number>();

async function listen(): Promise<void> {
  if (app !== null) return;
  app = uws.App();
  app.post('/up/:name/:mode', (res, req) => {
    const name = req.getParameter(0);
    const pause = req.getParameter(1) === 'pause';
    received.set(name, 0);
    res.onAborted(() => {
      aborted.set(name, Date.now() - started.get(name)!);
    });
    res.onData((ab, last) => {
      received.set(name, received.get(name)! + ab.byteLength);
      if (pause) res.pause(); // and never resumed
      if (last) res.cork(() => res.end('done'));
    });
  });
  listening = await listenApp(app, '127.0.0.1', 0);
  port = listening.port;
}

interface Upload {
  socket: Socket;
  closedAt: Promise<number>;
}

/** Starts a POST of `total` bytes and sends `first` body bytes at once. */
function upload(name: string, mode: 'read' | 'pause', total: number, first: number): Upload {
  const socket = connect(port, '127.0.0.1');
  const t0 = Date.now();
  started.set(name, t0);
  socket.on('error', () => {
    /* the close below says it */
  });
  const closedAt = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - t0)));
  socket.write(`POST /up/${name}/${mode} HTTP/1.1\r\nHost: a\r\nContent-Length: ${total}\r\n\r\n`);
  if (first > 0) socket.write(Buffer.alloc(first, 97));
  return { socket, closedAt };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The one-window experiment, started by a root-level hook before any test of the process:
 *   short:  60 % of the window's bytes now, the rest less 1 KiB at T/2 → cut at the first firing;
 *   enough: 60 % now, the rest at T/2 (a later sweep than the arming) → re-armed, alive then;
 *   paused: the handler pauses after the first chunk → no timeout while paused.
 */
let window: Promise<{ short: Upload; enough: Upload; paused: Upload; sent: Promise<void> }> | null = null;

before(() => {
  window = listen().then(() => {
    const total = 4 * WINDOW_BYTES;
    const first = Math.floor((WINDOW_BYTES * 0.6) / KiB) * KiB;
    const short = upload('short', 'read', total, first);
    const enough = upload('enough', 'read', total, first);
    const paused = upload('paused', 'pause', total, 1 * KiB);
    const sent = sleep(T * 500).then(() => {
      short.socket.write(Buffer.alloc(WINDOW_BYTES - first - KiB, 97));
      enough.socket.write(Buffer.alloc(WINDOW_BYTES - first, 97));
    });
    return { short, enough, paused, sent };
  });
});

after(() => {
  if (listening !== null) closeListening(listening);
  app?.close();
});

describe(`minimum receive rate: 16 KiB × ${T} s = ${WINDOW_BYTES / KiB} KiB per ${T} s window, or the upload is cut`, () => {
  test(
    `one window: ${WINDOW_BYTES / KiB - 1} KiB is cut at the first firing; ${WINDOW_BYTES / KiB} KiB re-arms the timeout; `
      + 'a paused upload is never cut',
    async () => {
      const { short, enough, paused, sent } = await window!;
      try {
        await sent;
        let timer: NodeJS.Timeout | undefined;
        const cut = await Promise.race([
          short.closedAt,
          new Promise<number>((r) => {
            timer = setTimeout(() => r(-1), FIRES_MAX_MS + 2000);
          }),
        ]);
        clearTimeout(timer);
        assert.ok(cut >= FIRES_MIN_MS && cut <= FIRES_MAX_MS, `short upload cut after ${cut} ms (T=${T} s)`);
        assert.equal(received.get('short'), WINDOW_BYTES - KiB);
        assert.ok(aborted.has('short'), 'onAborted ran for the cut upload');
        await sleep(200);
        assert.equal(enough.socket.destroyed, false, 'a full window of bytes re-armed the timeout');
        assert.equal(received.get('enough'), WINDOW_BYTES);
        assert.equal(paused.socket.destroyed, false, 'a paused upload has no timeout');
        assert.ok(!aborted.has('enough') && !aborted.has('paused'));
      } finally {
        for (const u of [short, enough, paused]) u.socket.destroy();
      }
    },
  );

  test(`steady rates over ${3.5 * T} s: 24 KiB/s is never cut, 12 KiB/s is cut at the first firing; `
    + 'a window of bytes at once then nothing is cut one window later', {
    skip: !slow && `FCGATE_TEST_SLOW=1 (${3.5 * T} s)`,
  }, async () => {
    const total = 200 * WINDOW_BYTES;
    const fast = upload('steady24', 'read', total, 0);
    const low = upload('steady12', 'read', total, 0);
    const late = upload('late', 'read', total, 0);
    const tick = setInterval(() => {
      if (!fast.socket.destroyed) fast.socket.write(Buffer.alloc(6 * KiB, 97)); // every 250 ms
      if (!low.socket.destroyed) low.socket.write(Buffer.alloc(3 * KiB, 97));
    }, 250);
    try {
      await sleep(5000);
      late.socket.write(Buffer.alloc(WINDOW_BYTES, 97));
      const lowCut = await low.closedAt;
      assert.ok(lowCut >= FIRES_MIN_MS && lowCut <= FIRES_MAX_MS, `12 KiB/s cut after ${lowCut} ms`);
      const lateCut = await late.closedAt;
      assert.ok(
        lateCut >= 5000 + FIRES_MIN_MS && lateCut <= 5000 + FIRES_MAX_MS,
        `a window of bytes at 5 s, then nothing: cut after ${lateCut} ms`,
      );
      await sleep(Math.max(0, 3500 * T - (Date.now() - started.get('steady24')!)));
      assert.equal(fast.socket.destroyed, false, `24 KiB/s survived ${3.5 * T} s`);
      assert.ok(received.get('steady24')! > 3 * T * 24 * KiB);
    } finally {
      clearInterval(tick);
      for (const u of [fast, low, late]) u.socket.destroy();
    }
  });
});
