// A request body's way to the app, in one of its two strategies (issue 8 §2, issue 9 §7):
// - direct: the body goes into the UpstreamRequest as it arrives. Bodies up to
//   FCGATE_BODY_BUFFER are held whole (STDIN records gather in the exchange, and the app is
//   contacted with the last chunk: preamble and body in one write); larger ones, with
//   requestbuffering=off, stream, the client paused whenever the app's socket is full.
// - spooled: the whole body goes into a BodySpool first (memory, then a temporary file),
//   for chunked bodies (the app needs CONTENT_LENGTH) and, with requestbuffering=on (the
//   default), for bodies over FCGATE_BODY_BUFFER, so a slow client costs the gateway memory
//   or disk, never an app worker; then it is played into the UpstreamRequest.
// The client side (pause, resume, timeouts) is body-intake.ts's; refusals are the reply's.
import { GatewayError } from '../errors.js';
import type { UpstreamRequest } from '../proxy/upstream-request.js';
import type { Tuning } from '../tuning.js';
import { BodyIntake } from './body-intake.js';
import type { UwsReply } from './reply.js';
import { BodySpool, SpoolResult, type SpoolAccount } from './spool.js';

export interface BodyLimits {
  tuning: Pick<
    Tuning,
    'FCGATE_BODY_BUFFER' | 'FCGATE_BODY_TIMEOUT' | 'FCGATE_MAX_BODY' | 'FCGATE_SPOOL_MEMORY' | 'FCGATE_SPOOL_DISK_TOTAL'
  >;
  spoolAccount: SpoolAccount;
  spoolDir: string;
}

/** The body limit of one request, and the name of the setting it comes from (for the log line). */
export interface BodyMax {
  bytes: number;
  name: 'FCGATE_MAX_BODY' | 'LimitRequestBody';
}

const framingText = (length: number): string => (length >= 0 ? `Content-Length ${length}` : 'chunked');

/**
 * The body of Content-Length `length` goes straight into `upstream`; `streamed`: bodies
 * over FCGATE_BODY_BUFFER with requestbuffering=off. The upstream starts with the first
 * chunk (streamed) or the last (held).
 */
export function receiveDirect(
  reply: UwsReply,
  upstream: UpstreamRequest,
  length: number,
  streamed: boolean,
  limits: BodyLimits,
): void {
  let started = false;
  reply.intake = new BodyIntake(
    reply.res,
    length,
    {
      onBodyChunk(chunk, last) {
        reply.bytesIn += chunk.length;
        upstream.sendBody(chunk, last);
        if (!started && (streamed || last)) {
          started = true;
          upstream.start();
        }
        // Asked after start(): a kept connection is handed over inside it, and its
        // onBodyWritable came before this pause could be undone by it.
        return streamed ? !upstream.bodyPaused : true;
      },
      onBodyTimeout: (idleMs) => reply.bodyTimedOut(idleMs),
      get responseBlocked() {
        return reply.blocked;
      },
    },
    limits.tuning.FCGATE_BODY_TIMEOUT,
  );
}

/**
 * Receives the whole body (Content-Length `length`, or -1 for chunked) into a BodySpool,
 * then calls `proceed(spool)`. Over `max` (FCGATE_MAX_BODY or a smaller LimitRequestBody): 413;
 * no room: 507; a failed temporary file: 500 — the spool is closed on every path (the reply
 * closes it when it completes).
 */
export function receiveSpooled(
  reply: UwsReply,
  length: number,
  limits: BodyLimits,
  max: BodyMax,
  proceed: (spool: BodySpool) => void,
): void {
  const t = limits.tuning;
  const spool = new BodySpool({
    memory: t.FCGATE_SPOOL_MEMORY,
    maxBody: max.bytes,
    dir: limits.spoolDir,
    account: limits.spoolAccount,
  });
  reply.spool = spool;
  let complete = false;
  let refused = false;
  const ready = (): void => {
    if (!reply.live || refused) return;
    if (spool.error !== null) {
      refuse(spool.isFull ? SpoolResult.Full : SpoolResult.Failed);
      return;
    }
    if (length >= 0 && spool.size !== length) {
      reply.onFailure(
        new GatewayError('FCGATE_INTERNAL', null, `spooled ${spool.size} of ${length} body bytes`),
        false,
      );
      return;
    }
    proceed(spool);
  };
  const refuse = (result: SpoolResult): void => {
    refused = true;
    reply.intake?.stop();
    spool.close();
    if (result === SpoolResult.TooLarge) {
      reply.tooLarge(
        new GatewayError('FCGATE_BODY_TOO_LARGE', null, `body over ${max.name}=${max.bytes} (${framingText(length)})`),
      );
    } else if (result === SpoolResult.Full) {
      reply.refuse(
        new GatewayError(
          'FCGATE_SPOOL_FULL',
          null,
          `no room to buffer the body: ${spool.error?.message ?? 'spool full'} (disk in use ${limits.spoolAccount.diskBytes} of FCGATE_SPOOL_DISK_TOTAL=${t.FCGATE_SPOOL_DISK_TOTAL})`,
        ),
      );
    } else {
      reply.refuse(
        new GatewayError(
          'FCGATE_INTERNAL',
          null,
          `buffering the body failed: ${spool.error?.message ?? 'unknown error'}`,
        ),
      );
    }
  };
  spool.onWritten = () => {
    if (!reply.live || refused) return;
    if (spool.error !== null) {
      refuse(spool.isFull ? SpoolResult.Full : SpoolResult.Failed);
      return;
    }
    reply.intake?.resume();
    if (complete && spool.settled) ready();
  };
  reply.intake = new BodyIntake(
    reply.res,
    length,
    {
      onBodyChunk(chunk, last) {
        reply.bytesIn += chunk.length;
        if (refused) return true;
        const result = spool.push(chunk);
        if (result === SpoolResult.TooLarge || result === SpoolResult.Full || result === SpoolResult.Failed) {
          refuse(result);
          return true;
        }
        if (last) {
          complete = true;
          if (spool.settled) ready();
        }
        return result !== SpoolResult.Pause;
      },
      onBodyTimeout: (idleMs) => reply.bodyTimedOut(idleMs),
      get responseBlocked() {
        return reply.blocked;
      },
    },
    t.FCGATE_BODY_TIMEOUT,
  );
}

/** Plays a spooled body into `upstream` with backpressure (the reply resumes it on onBodyWritable). */
export function replaySpool(reply: UwsReply, spool: BodySpool, upstream: UpstreamRequest): void {
  reply.bodyWritable = spool.replay(
    (chunk, last) => upstream.sendBody(chunk, last),
    (err) => {
      if (err !== null && reply.live) {
        reply.onFailure(
          new GatewayError('FCGATE_INTERNAL', upstream.backend, `spool replay failed: ${err.message}`),
          false,
        );
      }
    },
  );
}
