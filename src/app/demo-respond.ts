// Small pieces shared by the demo app's routes: the route signature, its limits, a
// whole-answer writer and query-parameter parsing. No routes here.
import type { FcgiRequest, FcgiResponse } from './responder-exchange.js';
import type { AppTarget } from './target-path.js';

export interface DemoLimits {
  /** Largest /bytes?n= (default 2^40). */
  maxBytes: number;
  /** Largest /slow?ms= (default 60 000). */
  maxSlowMs: number;
  /** Largest /stream?chunks= (default 100 000) and interval= (default 60 000 ms). */
  maxStreamChunks: number;
  maxStreamIntervalMs: number;
}

export type DemoRoute = (
  req: FcgiRequest,
  res: FcgiResponse,
  target: AppTarget,
  limits: DemoLimits,
) => void | Promise<void>;

/** Sends a whole small text answer with Content-Length. */
export function sendText(
  res: FcgiResponse,
  status: number,
  body: string,
  contentType = 'text/plain; charset=utf-8',
): void {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': bytes.length });
  res.write(bytes);
  res.end();
}

/** A query parameter as an integer in [0, max], the fallback when absent, or null when invalid. */
export function intParam(query: URLSearchParams, name: string, fallback: number, max: number): number | null {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) return null;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n <= max ? n : null;
}

export const badRequest = (res: FcgiResponse, why: string): void => sendText(res, 400, `Bad Request: ${why}\n`);
