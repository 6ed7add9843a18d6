// FCGI_GET_VALUES at startup: asks a backend for FCGI_MAX_CONNS, FCGI_MAX_REQS and
// FCGI_MPXS_CONNS on a connection of its own, with a deadline. PHP-FPM answers only
// FCGI_MPXS_CONNS=0; an app that answers nothing (or closes) is simply "unknown".
import type { BackendAddress } from '../config/model.js';
import { ValueName, RecordType } from '../protocol/constants.js';
import { encodeGetValues } from '../protocol/management.js';
import { decodePairs } from '../protocol/pairs.js';
import { RecordReader, type RecordSink } from '../protocol/record-reader.js';
import { openConnection } from './connection.js';

export interface ProbeResult {
  /** null when the app did not say. */
  maxConns: number | null;
  maxReqs: number | null;
  mpxsConns: boolean | null;
  /** Everything it answered, for logs. */
  raw: Record<string, string>;
  /** Why nothing came back, when nothing did. */
  error: string | null;
  /**
   * The app accepted the connection and then answered nothing before the deadline (or
   * closed): fcgiwrap and plain libfcgi apps, which serve one connection at a time.
   */
  silent: boolean;
}

/**
 * Requests in flight on one multiplexed connection at most. FCGI_MAX_REQS lowers it, never
 * raises it: past a few dozen, one connection's records queue behind each other in one
 * socket, and one slow client pauses more requests (FCGATE_MUX_HOLD).
 */
export const DEFAULT_MUX_REQUESTS = 64;

/**
 * Requests in flight per connection for a backend (0: one at a time), from its worker keys
 * and what it answered: `multiplex=off`, or reuse off (no FCGI_KEEP_CONN), gives 0; `on`
 * multiplexes whatever the app said; auto (the default) trusts FCGI_MPXS_CONNS (PHP-FPM
 * answers 0). FCGI_MAX_REQS is the app's limit over all its connections: shared out over
 * the `cap` connections all threads may open, so that together they never pass it.
 */
export function multiplexRequests(
  multiplex: 'auto' | 'on' | 'off' | undefined,
  reuse: boolean,
  r: ProbeResult,
  cap: number,
): number {
  if (!reuse || multiplex === 'off') return 0;
  if (multiplex !== 'on' && r.mpxsConns !== true) return 0;
  if (r.maxReqs === null) return DEFAULT_MUX_REQUESTS;
  return Math.max(1, Math.min(DEFAULT_MUX_REQUESTS, Math.floor(r.maxReqs / Math.max(1, cap))));
}

const intOrNull = (v: string | undefined): number | null =>
  v !== undefined && /^\d+$/.test(v) && Number(v) > 0 ? Number(v) : null;

export function probeBackend(address: BackendAddress, name: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    let connected = false;
    const empty = (error: string, silent = false): ProbeResult => ({
      maxConns: null,
      maxReqs: null,
      mpxsConns: null,
      raw: {},
      error,
      silent: silent && connected,
    });
    let cleanup = (): void => {};
    const finish = (r: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      cleanup();
      resolve(r);
    };
    const timer = setTimeout(() => finish(empty(`no answer within ${timeoutMs} ms`, true)), timeoutMs);
    openConnection(address, name, timeoutMs, (err, conn) => {
      if (conn === null) {
        finish(empty(err?.message ?? 'connect failed'));
        return;
      }
      connected = true;
      const socket = conn.socket;
      socket.removeAllListeners('data');
      socket.removeAllListeners('end');
      socket.removeAllListeners('close');
      socket.removeAllListeners('error');
      socket.removeAllListeners('timeout');
      cleanup = () => socket.destroy();
      const sink: RecordSink = {
        onStream: () => true,
        onBeginRequest: () => {},
        onAbortRequest: () => {},
        onEndRequest: () => {},
        knowsRequest: () => false,
        onManagement: (type, content) => {
          if (type === RecordType.UnknownType) {
            finish(empty('the app does not know FCGI_GET_VALUES'));
            return;
          }
          const raw: Record<string, string> = {};
          try {
            const flat = decodePairs(content);
            for (let i = 0; i < flat.length; i += 2) raw[flat[i]!] = flat[i + 1]!;
          } catch (e) {
            finish(empty(`bad GET_VALUES_RESULT: ${(e as Error).message}`));
            return;
          }
          const mpxs = raw[ValueName.MpxsConns];
          finish({
            maxConns: intOrNull(raw[ValueName.MaxConns]),
            maxReqs: intOrNull(raw[ValueName.MaxReqs]),
            mpxsConns: mpxs === undefined ? null : mpxs !== '0',
            raw,
            error: null,
            silent: false,
          });
        },
        onProtocolError: (e) => finish(empty(e.message)),
      };
      const reader = new RecordReader(sink, 'client');
      socket.on('data', (chunk: Buffer) => {
        reader.push(chunk);
      });
      socket.on('error', (e) => finish(empty(e.message)));
      socket.on('close', () => finish(empty('the app closed the connection without answering', true)));
      socket.write(encodeGetValues([ValueName.MaxConns, ValueName.MaxReqs, ValueName.MpxsConns]));
    });
  });
}
