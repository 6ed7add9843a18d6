// Access-log formats against lines written by hand: every directive letter fcgate formats,
// fcgate's notes, status conditions, time formats, Apache's escaping (a client or an app
// cannot forge a line), and the json nickname (valid JSON whatever the input).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { JSON_FORMAT, PREDEFINED_FORMATS } from '../../src/config/log-format.js';
import { compileAccessFormat, type AccessEntry, type FormatHost } from '../../src/log/access-format.js';
import { escapeLogItem } from '../../src/log/escape.js';
import type { RequestRecord } from '../../src/request-record.js';
import type { RequestSnapshot } from '../../src/request.js';

const host: FormatHost = {
  serverName: 'www.example.com',
  pid: 4242,
  threadId: 3,
  slot: 1,
  routeName: (i) => ['none', 'static', '/app/'][i] ?? '?',
};

function snap(over: Partial<RequestSnapshot> = {}): RequestSnapshot {
  return {
    method: 'GET',
    path: '/app/a%20b.php',
    query: 'x=1&y=2',
    protocol: 'HTTP/1.1',
    remoteAddress: '192.0.2.7',
    remotePort: '',
    localAddress: '127.0.0.1',
    localPort: 8080,
    scheme: 'http',
    headers: [
      ['host', 'Example.ORG:8080'],
      ['user-agent', 'curl/8.0'],
      ['referer', 'http://ref.example/'],
      ['cookie', 'a=1; sid=xyz'],
      ['x-request-id', 'id-7'],
    ],
    ...over,
  };
}

function record(over: Partial<RequestRecord> = {}): RequestRecord {
  return {
    snapshot: snap(),
    requestId: 'id-7',
    startedAt: 1000,
    status: 200,
    bytesIn: 12,
    bytesOut: 1234,
    firstByteAt: 1000.75,
    routeIndex: 2,
    errorCode: null,
    aborted: false,
    exchange: { backend: 'fcgi://127.0.0.1:9000', startedAt: 1000.05, acquiredAt: 1000.25 },
    balancer: null,
    env: new Map([
      ['dontlog', '1'],
      ['APP_ENV', 'prod'],
    ]),
    head: { headers: ['Content-Type', 'text/html', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'] },
    extraHeaders: ['X-Request-Id', 'id-7'],
    ...over,
  };
}

// 2001-09-09T01:46:40.123Z, and 2.5 ms later; performance.now() 1000 → 1002.5.
const WALL = 1_000_000_000_123;
const entry = (r: RequestRecord, durationMs = 2.5): AccessEntry => ({
  record: r,
  endedAt: r.startedAt + durationMs,
  wallStart: WALL,
  wallEnd: WALL + durationMs,
});
const fmt = (f: string, r = record(), ms?: number): string => compileAccessFormat(f, host)(entry(r, ms));

/** The CLF time of WALL in this process's time zone (the test may run anywhere). */
function clf(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const z = `${off < 0 ? '-' : '+'}${p(Math.floor(Math.abs(off) / 60))}${p(Math.abs(off) % 60)}`;
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()];
  return (
    `[${p(d.getDate())}/${mon}/${d.getFullYear()}:${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} `
    + `${z}]`
  );
}

test('common and combined, as Apache writes them', () => {
  assert.equal(
    fmt(PREDEFINED_FORMATS.get('common')!),
    `192.0.2.7 - - ${clf(WALL)} "GET /app/a%20b.php?x=1&y=2 HTTP/1.1" 200 1234`,
  );
  assert.equal(
    fmt(PREDEFINED_FORMATS.get('combined')!),
    `192.0.2.7 - - ${clf(WALL)} "GET /app/a%20b.php?x=1&y=2 HTTP/1.1" 200 1234 "http://ref.example/" "curl/8.0"`,
  );
  // No body: %b is "-", %B is 0.
  assert.equal(fmt('%b %B', record({ bytesOut: 0 })), '- 0');
});

test('every directive letter', () => {
  const r = record();
  assert.equal(
    fmt('%h|%a|%{c}a|%A|%l|%u|%m|%U|%q|%H|%>s|%s|%p|%{local}p|%{remote}p|%P|%{tid}P|%{hextid}P|%L|%X|%k|%R', r),
    '192.0.2.7|192.0.2.7|192.0.2.7|127.0.0.1|-|-|GET|/app/a '
      + 'b.php|?x=1&y=2|HTTP/1.1|200|200|8080|8080|-|4242|3|3|id-7|+|-|proxy-server',
  );
  assert.equal(fmt('%{c}a', record({ peerAddress: '10.0.0.1' })), '10.0.0.1');
  assert.equal(fmt('%D %T %{ms}T %{us}T %{s}T', r, 2500.4), '2500400 2 2500 2500400 2');
  assert.equal(fmt('%{User-Agent}i|%{HOST}i|%{X-None}i|%{sid}C|%{nope}C', r), 'curl/8.0|Example.ORG:8080|-|xyz|-');
  assert.equal(fmt('%{Content-Type}o|%{set-cookie}o|%{X-Request-Id}o|%{X-Nope}o', r), 'text/html|a=1, b=2|id-7|-');
  assert.equal(fmt('%{APP_ENV}e|%{UNIQUE_ID}e|%{NOPE}e', r), 'prod|id-7|-');
  assert.equal(fmt('%v|%V', r), 'www.example.com|example.org');
  assert.equal(fmt('%V', record({ snapshot: snap({ headers: [['host', '[::1]:8080']] }) })), '[::1]');
  assert.equal(fmt('%r', record({ snapshot: snap({ query: '' }) })), 'GET /app/a%20b.php HTTP/1.1');
  assert.equal(fmt('%q', record({ snapshot: snap({ query: '' }) })), '');
  assert.equal(fmt('100%% %{backend}n'), '100% fcgi://127.0.0.1:9000');
  // Aborted before any answer: 499 and X.
  assert.equal(fmt('%>s %X %b', record({ status: 0, aborted: true, bytesOut: 0 })), '499 X -');
  // %I: request line + headers + CRLFs + body; %O: status line, headers (estimated) and body.
  const s = snap();
  const head =
    `GET /app/a%20b.php?x=1&y=2 HTTP/1.1\r\n` + s.headers.map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
  assert.equal(fmt('%I'), String(head.length + 12));
  assert.ok(Number(fmt('%O')) > 1234 + 60 && Number(fmt('%O')) < 1234 + 250, fmt('%O'));
});

test('fcgate notes: backend, balancer, member, route, error, ttfb_us, pool_wait_us, thread', () => {
  assert.equal(
    fmt('%{backend}n %{balancer}n %{member}n %{route}n %{error}n %{ttfb_us}n %{pool_wait_us}n %{thread}n %{unknown}n'),
    'fcgi://127.0.0.1:9000 - - /app/ - 750 200 1 -',
  );
  const balanced = record({ balancer: 'balancer://web', errorCode: 'FCGATE_READ_TIMEOUT', firstByteAt: 0 });
  assert.equal(
    fmt('%{balancer}n %{member}n %{error}n %{ttfb_us}n', balanced),
    'balancer://web fcgi://127.0.0.1:9000 FCGATE_READ_TIMEOUT -',
  );
  assert.equal(fmt('%{backend}n %{pool_wait_us}n %R', record({ exchange: null })), '- - -');
});

test('status conditions: %400,501{…}i and %!200,304{…}i', () => {
  assert.equal(fmt('%400,501{User-Agent}i|%!200,304{Referer}i|%200{Referer}i'), '-|-|http://ref.example/');
  assert.equal(
    fmt('%400,501{User-Agent}i|%!200,304{Referer}i', record({ status: 501 })),
    'curl/8.0|http://ref.example/',
  );
});

test('time formats: %{format}t with strftime, begin:/end:, sec/msec/usec and fractions', () => {
  const d = new Date(WALL);
  const p = (n: number): string => String(n).padStart(2, '0');
  assert.equal(
    fmt('%{%Y-%m-%d %H:%M:%S}t'),
    `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} `
      + `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`,
  );
  assert.equal(
    fmt('%{sec}t %{msec}t %{usec}t %{msec_frac}t %{usec_frac}t'),
    '1000000000 1000000000123 1000000000123000 123 123000',
  );
  assert.equal(fmt('%{end:msec}t %{begin:msec}t', record(), 2.5), '1000000000125 1000000000123');
  assert.equal(fmt('%t'), clf(WALL));
});

test('escaping: quotes, backslashes, control characters and non-ASCII as Apache (\\", \\\\, \\n, \\xhh)', () => {
  const evil = snap({
    headers: [['user-agent', 'a"b\\c\r\n1.2.3.4 - - [x] "GET /forged HTTP/1.1" 200 1\x1b[31m\x00é€😀']],
  });
  const line = fmt('%{User-Agent}i', record({ snapshot: evil }));
  assert.equal(
    line,
    'a\\"b\\\\c\\r\\n1.2.3.4 - - [x] \\"GET /forged HTTP/1.1\\" 200 '
      + '1\\x1b[31m\\x00\\xc3\\xa9\\xe2\\x82\\xac\\xf0\\x9f\\x98\\x80',
  );
  assert.equal(fmt('%r', record({ snapshot: snap({ path: '/a\tb', query: '' }) })), 'GET /a\\tb HTTP/1.1');
  assert.equal(escapeLogItem('plain text 123'), 'plain text 123');
});

test('property: no input can put a raw control character, a newline or an unescaped quote into a line', () => {
  const f = compileAccessFormat(PREDEFINED_FORMATS.get('combined')! + ' %{X-A}i %{X-B}o %U %q', host);
  fc.assert(
    fc.property(
      fc.string({ unit: 'binary' }),
      fc.string({ unit: 'binary' }),
      fc.string({ unit: 'binary' }),
      (a, b, path) => {
        const r = record({
          snapshot: snap({
            path,
            query: a,
            headers: [
              ['user-agent', a],
              ['referer', b],
              ['x-a', b],
            ],
          }),
          head: { headers: ['X-B', a] },
        });
        const line = f(entry(r));
        // Only printable ASCII; every '"' inside a quoted field is escaped, so the quoted fields still split right.
        if (!/^[\x20-\x7e]*$/.test(line)) return false;
        const quoted = line.match(/"(?:[^"\\]|\\.)*"/g) ?? [];
        return quoted.length === 3; // "request line" "referer" "user agent"
      },
    ),
    { numRuns: 200 },
  );
});

test('json: one object per line, null where unknown, valid JSON whatever the input', () => {
  const line = fmt(JSON_FORMAT);
  assert.deepEqual(JSON.parse(line), {
    time: new Date(WALL).toISOString(),
    request_id: 'id-7',
    remote_addr: '192.0.2.7',
    method: 'GET',
    uri: '/app/a%20b.php',
    query: 'x=1&y=2',
    protocol: 'HTTP/1.1',
    host: 'Example.ORG:8080',
    status: 200,
    bytes_in: 12,
    bytes_out: 1234,
    duration_us: 2500,
    ttfb_us: 750,
    pool_wait_us: 200,
    referer: 'http://ref.example/',
    user_agent: 'curl/8.0',
    route: '/app/',
    backend: 'fcgi://127.0.0.1:9000',
    balancer: null,
    error: null,
    aborted: false,
    thread: 1,
  });
  const f = compileAccessFormat(JSON_FORMAT, host);
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (a) => {
      const out = f(entry(record({ snapshot: snap({ path: a, headers: [['user-agent', a]] }) })));
      if (!/^[\x20-\x7e]*$/.test(out)) return false; // ASCII only, no newline inside
      const j = JSON.parse(out) as { uri: string; user_agent: string };
      // Lone surrogates survive as \u escapes: JSON.parse gives back the same UTF-16 string.
      return j.uri === a && j.user_agent === a;
    }),
    { numRuns: 200 },
  );
});
