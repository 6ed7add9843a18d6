// Shared pieces of the uWS behaviour suites (native-notes/uws.md §4): a raw TCP client on
// loopback, response framing checks, and per-build expectations. The suites run once per
// pinned build (test/front/uws-behaviour.test.ts starts them, one child process per build).
import { connect, type Socket } from 'node:net';
import { uwsBuild, type UwsCandidate } from '../../../src/front/uws.js';

export interface Exchange {
  data: string;
  closed: boolean;
  ms: number;
}

/**
 * Sends raw bytes (each part written after the previous one was flushed, so parts arrive in
 * separate reads), then collects the answer until `until` says it is complete, the server
 * closes, or `limitMs` passes (the socket is then destroyed and closed=false).
 */
export function exchange(
  port: number,
  parts: Array<string | Buffer>,
  until: (s: string) => boolean,
  limitMs = 3000,
  host = '127.0.0.1',
  gapMs = 0,
): Promise<Exchange> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s: Socket = connect(port, host);
    let data = '';
    let settled = false;
    const settle = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ data, closed, ms: Date.now() - t0 });
    };
    const timer = setTimeout(() => settle(false), limitMs);
    s.setEncoding('latin1');
    s.setNoDelay(true);
    s.on('data', (d: string) => {
      data += d;
      if (until(data)) settle(false);
    });
    s.on('close', () => settle(true));
    s.on('error', () => settle(true));
    let i = 0;
    const next = (): void => {
      if (i < parts.length) s.write(parts[i++]!, () => (gapMs > 0 ? setTimeout(next, gapMs) : setImmediate(next)));
    };
    s.on('connect', next);
  });
}

/** A complete response: head plus Content-Length bytes, or a chunked body up to 0\r\n\r\n. */
export function responses(n: number, head = false): (s: string) => boolean {
  return (s) => {
    let at = 0;
    for (let k = 0; k < n; k++) {
      const end = s.indexOf('\r\n\r\n', at);
      if (end < 0) return false;
      const headText = s.slice(at, end);
      at = end + 4;
      if (head || /^HTTP\/1\.1 (1\d\d|304)/.test(headText)) continue;
      const cl = /\r\ncontent-length: *(\d+)/i.exec(headText);
      if (cl) {
        at += Number(cl[1]);
        if (s.length < at) return false;
        continue;
      }
      if (/\r\ntransfer-encoding: *chunked/i.test(headText)) {
        const t = s.indexOf('\r\n0\r\n\r\n', at - 2);
        if (t < 0) return false;
        at = t + 7;
      }
    }
    return true;
  };
}

export const req1 = (head: string): string => head + '\r\n\r\n';
export const statusOf = (s: string): string => s.slice(0, s.indexOf('\r\n'));

/** The build under test ('3.0.6' or '20.57.0'). */
export const BUILD: UwsCandidate['id'] = uwsBuild().id;

/** The expectation for the build under test: `per({ '3.0.6': a, '20.57.0': b })`. */
export function per<T>(values: Record<UwsCandidate['id'], T>): T {
  return values[BUILD];
}

/** uWS's HTTP idle/receive timeout: 10 s, on uSockets' 4 s timer sweep → fires 8–12 s after arming. */
export const UWS_TIMEOUT_MIN_MS = 7_500;
export const UWS_TIMEOUT_MAX_MS = 12_500;

export const slow = process.env['FCGATE_TEST_SLOW'] === '1';
