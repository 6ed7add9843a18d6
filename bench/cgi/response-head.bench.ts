// Bench: parsing a PHP-sized CGI head (Status, Content-Type, X-Powered-By, Cache-Control,
// two Set-Cookie, Content-Length) at the start of a STDOUT chunk, CgiHeadParser in one
// chunk and split in two, against a naive parser that decodes the chunk to a string,
// splits it on line ends and lower-cases every name. Not timed: the record reader.
import { deepStrictEqual } from 'node:assert/strict';
import { CgiHeadParser, type CgiHead } from '../../src/cgi/response-head.js';
import { reasonFor } from '../../src/cgi/status-reasons.js';
import { runSuite } from '../harness.js';

const head =
  'Status: 200 OK\r\nContent-Type: text/html; charset=UTF-8\r\nX-Powered-By: PHP/8.2.7\r\n'
  + 'Cache-Control: no-store, no-cache, must-revalidate\r\nPragma: no-cache\r\n'
  + 'Set-Cookie: PHPSESSID=4f9c2a7be1d04c6f8a3e5b2d7c1a9e60; path=/; HttpOnly\r\n'
  + 'Set-Cookie: lang=en; path=/; SameSite=Lax\r\nContent-Length: 1024\r\n\r\n';
const chunk = Buffer.from(head + '<!doctype html><html>'.repeat(49).slice(0, 1024), 'latin1');
const cut = head.length >> 1;
const parts = [chunk.subarray(0, cut), chunk.subarray(cut)];

const DROP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

/** The naive way: string in, regex and split, lower-case compares. Same rules for this input. */
function naive(buf: Buffer): { at: number; head: CgiHead } {
  const text = buf.toString('latin1');
  const m = /\r?\n\r?\n/.exec(text);
  if (m === null) throw new Error('no head');
  const headers: string[] = [];
  let status = 200,
    reason = 'OK',
    hasStatus = false,
    location: string | null = null,
    contentLength = -1;
  for (const line of text.slice(0, m.index).split(/\r?\n/)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    const lower = name.toLowerCase();
    if (lower === 'status') {
      status = Number(value.slice(0, 3));
      hasStatus = true;
      reason = value.length > 3 ? value.slice(4).trim() : reasonFor(status);
    } else if (lower === 'content-length') contentLength = Number(value);
    else if (lower === 'location') {
      location = value;
      headers.push(name, value);
    } else if (!DROP.has(lower)) headers.push(name, value);
  }
  return {
    at: m.index + m[0].length,
    head: {
      status,
      reason,
      statusLine: `${status} ${reason}`,
      headers,
      location,
      localRedirect: !hasStatus && location !== null && location.startsWith('/'),
      contentLength,
      hasStatus,
      nonAscii: /[\x80-\xff]/.test(text.slice(0, m.index)),
    },
  };
}

// Same result first, for the whole chunk and the split one.
const parser = new CgiHeadParser(8192);
const want = naive(chunk);
deepStrictEqual({ at: parser.push(chunk), head: parser.result() }, want);
parser.reset();
if (parser.push(parts[0]!) !== -1) throw new Error('head ended in the first part');
deepStrictEqual(parser.push(parts[1]!) + cut, want.at);
deepStrictEqual(parser.result(), want.head);

runSuite({
  suite: 'cgi-head',
  input: `PHP-like head, ${head.length} bytes, 8 lines, + 1 KiB body in one chunk (split: cut at ${cut})`,
  candidates: [
    {
      name: 'CgiHeadParser',
      fn: () => {
        parser.reset();
        const at = parser.push(chunk);
        return at + parser.result().headers.length;
      },
    },
    {
      name: 'CgiHeadParser split',
      fn: () => {
        parser.reset();
        parser.push(parts[0]!);
        const at = parser.push(parts[1]!);
        return at + cut + parser.result().headers.length;
      },
    },
  ],
  baseline: {
    name: 'naive string split',
    fn: () => {
      const r = naive(chunk);
      return r.at + r.head.headers.length;
    },
  },
});
