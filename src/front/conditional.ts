// Conditional requests (RFC 9110 §13): precondition evaluation for static files, If-Range,
// and the app's 200 answered as an origin would (If-None-Match / If-Modified-Since against
// the app's ETag and Last-Modified → 304, as Apache does). Pure: headers in, verdicts out.
import type { CgiHead } from '../cgi/response-head.js';
import { headerOf, type RequestSnapshot } from '../request.js';

/** Parses an HTTP date to ms, or NaN (Date.parse accepts the three RFC 9110 forms). */
function parseHttpDate(value: string): number {
  return Date.parse(value);
}

/** Does an If-Match / If-None-Match list contain etag? weak: W/ ignored on both sides. */
export function etagListMatches(list: string, etag: string, weak: boolean): boolean {
  if (list.trim() === '*') return true;
  const bare = etag.startsWith('W/') ? etag.slice(2) : etag;
  for (const raw of list.split(',')) {
    let tag = raw.trim();
    if (tag.startsWith('W/')) {
      if (!weak) continue; // a weak tag never matches strongly
      tag = tag.slice(2);
    }
    if (tag === bare && (weak || !etag.startsWith('W/'))) return true;
  }
  return false;
}

/**
 * Evaluates preconditions in RFC 9110 §13.2.2 order for a GET or HEAD:
 * If-Match → 412, else If-Unmodified-Since → 412, then If-None-Match → 304,
 * else If-Modified-Since → 304. Returns 200 when the request should proceed.
 */
export function evaluatePreconditions(
  req: Pick<RequestSnapshot, 'headers'>,
  etag: string,
  mtimeMs: number,
): 200 | 304 | 412 {
  const mtimeSec = Math.floor(mtimeMs / 1000);
  const ifMatch = headerOf(req as RequestSnapshot, 'if-match');
  if (ifMatch !== undefined) {
    if (!etagListMatches(ifMatch, etag, false)) return 412;
  } else {
    const ius = headerOf(req as RequestSnapshot, 'if-unmodified-since');
    if (ius !== undefined) {
      const t = parseHttpDate(ius);
      if (!Number.isNaN(t) && mtimeSec > Math.floor(t / 1000)) return 412;
    }
  }
  const inm = headerOf(req as RequestSnapshot, 'if-none-match');
  if (inm !== undefined) {
    if (etagListMatches(inm, etag, true)) return 304;
  } else {
    const ims = headerOf(req as RequestSnapshot, 'if-modified-since');
    if (ims !== undefined) {
      const t = parseHttpDate(ims);
      if (!Number.isNaN(t) && mtimeSec <= Math.floor(t / 1000)) return 304;
    }
  }
  return 200;
}

/** If-Range (RFC 9110 §13.1.5): may the Range header be used? Strong ETag or exact date. */
export function ifRangeAllows(ifRange: string | undefined, etag: string, mtimeMs: number): boolean {
  if (ifRange === undefined) return true;
  const v = ifRange.trim();
  if (v.startsWith('"') || v.startsWith('W/')) return !v.startsWith('W/') && v === etag;
  const t = parseHttpDate(v);
  return !Number.isNaN(t) && Math.floor(t / 1000) === Math.floor(mtimeMs / 1000);
}

/**
 * A conditional GET answered by the app with 200: the gateway acts as the origin would
 * (Apache does too): If-None-Match against the app's ETag, else If-Modified-Since against
 * its Last-Modified (RFC 9110 §13.2.2).
 */
export function notModified(req: RequestSnapshot, head: CgiHead): boolean {
  const inm = headerOf(req, 'if-none-match');
  const ims = inm === undefined ? headerOf(req, 'if-modified-since') : undefined;
  if (inm === undefined && ims === undefined) return false;
  let etag: string | undefined;
  let lastModified: string | undefined;
  const h = head.headers;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i]!.toLowerCase();
    if (name === 'etag') etag = h[i + 1];
    else if (name === 'last-modified') lastModified = h[i + 1];
  }
  if (inm !== undefined) return etag !== undefined && etagListMatches(inm, etag, true);
  if (lastModified === undefined) return false;
  const since = parseHttpDate(ims!);
  const modified = parseHttpDate(lastModified);
  return !Number.isNaN(since) && !Number.isNaN(modified) && modified <= since;
}

/** The 304 version of a head: no Content-Type, no Content-Length (RFC 9110 §15.4.5). */
export function asNotModified(head: CgiHead): CgiHead {
  const headers: string[] = [];
  const h = head.headers;
  for (let i = 0; i < h.length; i += 2) {
    if (h[i]!.toLowerCase() !== 'content-type') headers.push(h[i]!, h[i + 1]!);
  }
  return { ...head, status: 304, reason: 'Not Modified', statusLine: '304 Not Modified', headers, contentLength: -1 };
}
