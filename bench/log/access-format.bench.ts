// Bench: one access-log line in the combined format for a typical proxied request, from a
// format compiled once into writers (src/log/access-format.ts), against interpreting the
// format string per request with a regex replace (what a naive logger does). Escaping and
// the cached CLF time are part of both. Not timed: buffering, writing.
import { deepStrictEqual } from 'node:assert/strict';
import { PREDEFINED_FORMATS } from '../../src/config/log-format.js';
import { clfFormat, SecondCache } from '../../src/log/clock.js';
import { compileAccessFormat, type AccessEntry } from '../../src/log/access-format.js';
import { escapeLogItem } from '../../src/log/escape.js';
import type { RequestRecord } from '../../src/request-record.js';
import { runSuite } from '../harness.js';

const combined = PREDEFINED_FORMATS.get('combined')!;
const record: RequestRecord = {
  snapshot: {
    method: 'GET',
    path: '/index.php/catalog/product/view/id/1234',
    query: 'utm_source=newsletter&page=2',
    protocol: 'HTTP/1.1',
    remoteAddress: '203.0.113.54',
    remotePort: '',
    localAddress: '127.0.0.1',
    localPort: 8080,
    scheme: 'http',
    headers: [
      ['host', 'shop.example.com'],
      [
        'user-agent',
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
      ],
      ['accept', 'text/html,application/xhtml+xml'],
      ['accept-language', 'en-GB,en;q=0.9'],
      ['referer', 'https://shop.example.com/catalog/category/view/id/12'],
      ['cookie', 'PHPSESSID=4f9c2a7be1d04c6f8a3e5b2d7c1a9e60'],
      ['x-request-id', 'Ab3dEf9h-1x2'],
    ],
  },
  requestId: 'Ab3dEf9h-1x2',
  startedAt: 100,
  status: 200,
  bytesIn: 0,
  bytesOut: 48213,
  firstByteAt: 103,
  routeIndex: 2,
  errorCode: null,
  aborted: false,
  exchange: { backend: 'fcgi://127.0.0.1:9000', startedAt: 100.1, acquiredAt: 100.2 },
  balancer: null,
  env: null,
  head: null,
  extraHeaders: [],
};
const host = { serverName: 'shop.example.com', pid: 1, threadId: 1, slot: 0, routeName: () => '/' };
const entry: AccessEntry = { record, endedAt: 104.2, wallStart: Date.now(), wallEnd: Date.now() + 4 };

const compiled = compileAccessFormat(combined, host);
const cache = new SecondCache(clfFormat);
function naive(e: AccessEntry): string {
  const r = e.record;
  const s = r.snapshot!;
  const hdr = (name: string): string => {
    const v = s.headers.find(([k]) => k === name.toLowerCase())?.[1];
    return v === undefined ? '-' : escapeLogItem(v);
  };
  return combined.replace(
    /%(>?)(?:\{([^}]*)\})?([a-zA-Z%])/g,
    (_m, _gt: string, arg: string | undefined, letter: string) => {
      switch (letter) {
        case 'h':
          return s.remoteAddress;
        case 'l':
        case 'u':
          return '-';
        case 't':
          return cache.at(e.wallStart);
        case 'r':
          return escapeLogItem(`${s.method} ${s.path}${s.query ? '?' + s.query : ''} ${s.protocol}`);
        case 's':
          return String(r.status);
        case 'b':
          return r.bytesOut === 0 ? '-' : String(r.bytesOut);
        case 'i':
          return hdr(arg!);
        default:
          return '%' + letter;
      }
    },
  );
}
deepStrictEqual(compiled(entry), naive(entry));

runSuite({
  suite: 'access-format',
  input: `combined format, a shop GET with 7 headers (${compiled(entry).length}-byte line)`,
  candidates: [{ name: 'compiled writers', fn: () => compiled(entry).length }],
  baseline: { name: 'regex replace per request', fn: () => naive(entry).length },
});
