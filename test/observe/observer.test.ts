// The request path's observer and the main thread's telemetry, without sockets: exact sums
// over several thread slabs, counters that survive a thread's replacement and a larger slab
// generation, request ids (generated, kept only from trusted peers, sent back), access-log
// conditions, and what /metrics then shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import type { RouteResult } from '../../src/config/router.js';
import { encodeText } from '../../src/metrics/text.js';
import { buildFamilies } from '../../src/observe/families.js';
import { Telemetry } from '../../src/observe/telemetry.js';
import { ThreadObserver, type RequestStart } from '../../src/observe/thread-observer.js';
import type { RequestRecord } from '../../src/request-record.js';
import type { RequestSnapshot } from '../../src/request.js';

const CONFIG = `Listen 127.0.0.1:8080
ProxyPass /app/ fcgi://127.0.0.1:9000/
ProxyPassMatch ^/php/(.*\\.php)$ fcgi://127.0.0.1:9001/srv/$1
LogFormat "%>s %{route}n %{X-Request-Id}i %L" short
CustomLog /dev/null short env=!quiet
`;
const build = { version: 't', uws: 'u', node: 'n' };

function snap(headers: Array<[string, string]> = []): RequestSnapshot {
  return {
    method: 'GET',
    path: '/app/x',
    query: '',
    headers,
    remoteAddress: '192.0.2.1',
    remotePort: '',
    localAddress: '127.0.0.1',
    localPort: 8080,
    scheme: 'http',
    protocol: 'HTTP/1.1',
  };
}

/** A finished request as front/ would leave it. */
type Rec = Omit<RequestRecord, 'extraHeaders'> & RequestStart & { routeIndex: number };
function rec(
  o: ThreadObserver,
  status: number,
  route: RouteResult,
  over: Partial<Omit<RequestRecord, 'extraHeaders'>> = {},
): Rec {
  const r: Rec = {
    snapshot: snap(),
    requestId: '',
    startedAt: 0,
    status,
    bytesIn: 10,
    bytesOut: 100,
    firstByteAt: 0,
    routeIndex: 0,
    errorCode: null,
    aborted: false,
    exchange: null,
    balancer: null,
    env: null,
    head: null,
    extraHeaders: [],
    ...over,
  };
  o.begin(r, r.snapshot!);
  r.routeIndex = o.routeIndex(route);
  return r;
}

function telemetry(
  text = CONFIG,
  slots = 2,
): { t: Telemetry; cfg: ReturnType<typeof parseConfig>; lines: string[]; observer(slot: number): ThreadObserver } {
  const cfg = parseConfig(text, '/tmp/fcgate.conf');
  const t = new Telemetry(cfg, { slots, logBuffer: 1 << 20, version: 't' });
  const lines: string[] = [];
  t.context = {
    config: () => cfg,
    board: () => null,
    health: () => [],
    cap: () => 16,
    threads: () => Array.from({ length: slots }, (_, slot) => ({ slot, ready: true, restarts: 0 })),
    draining: () => false,
  };
  const observer = (slot: number): ThreadObserver =>
    t.localObserver(cfg, {
      slot,
      flushMs: 0,
      deliver: (_k, data) =>
        lines.push(
          ...data
            .toString()
            .split('\n')
            .filter((l) => l !== ''),
        ),
    });
  return { t, cfg, lines, observer };
}

const proxyRoute = (cfg: ReturnType<typeof parseConfig>, i: number): RouteResult => ({
  kind: 'proxy',
  route: cfg.routes[i]!,
  handlerUrlPath: '',
  resolved: { env: new Map() } as never,
});

test('counts from several threads sum exactly, by route and status', () => {
  const { t, cfg, observer } = telemetry();
  const a = observer(0),
    b = observer(1);
  for (let i = 0; i < 7; i++) a.end(rec(a, 200, proxyRoute(cfg, 0)));
  for (let i = 0; i < 5; i++) b.end(rec(b, 200, proxyRoute(cfg, 0)));
  for (let i = 0; i < 3; i++)
    b.end(
      rec(b, 503, proxyRoute(cfg, 1), {
        errorCode: 'FCGATE_CONNECT_FAILED',
        exchange: { backend: 'fcgi://127.0.0.1:9001', startedAt: 0, acquiredAt: 0 },
      }),
    );
  a.end(rec(a, 0, { kind: 'not-found', reason: 'no-route', code: 'FCGATE_NO_ROUTE' }, { aborted: true }));
  a.end(rec(a, 200, { kind: 'static', filename: '/x', decodedPath: '/x' }));
  const text = encodeText(buildFamilies(t, build));
  assert.match(text, /^fcgate_http_requests_total\{route="\/app\/",code="200"\} 12$/m);
  assert.match(text, /^fcgate_http_requests_total\{route="~ \^\/php\/\(\.\*\\\\\.php\)\$",code="503"\} 3$/m);
  assert.match(text, /^fcgate_http_requests_total\{route="none",code="499"\} 1$/m);
  assert.match(text, /^fcgate_http_requests_total\{route="static",code="200"\} 1$/m);
  assert.match(text, /^fcgate_http_request_duration_seconds_count\{route="\/app\/"\} 12$/m);
  assert.match(text, /^fcgate_http_request_bytes_total\{route="\/app\/"\} 120$/m);
  assert.match(text, /^fcgate_http_response_bytes_total\{route="\/app\/"\} 1200$/m);
  assert.match(text, /^fcgate_errors_total\{code="FCGATE_CONNECT_FAILED",backend="fcgi:\/\/127\.0\.0\.1:9001"\} 3$/m);
  assert.match(text, /^fcgate_thread_requests_total\{thread="0"\} 9$/m);
  assert.match(text, /^fcgate_thread_requests_total\{thread="1"\} 8$/m);
});

test('a replacement thread on the same slot goes on counting; gauges start again from zero', () => {
  const { t, cfg, observer } = telemetry();
  const a = observer(0);
  for (let i = 0; i < 4; i++) a.end(rec(a, 200, proxyRoute(cfg, 0)));
  a.connections(3);
  const again = new ThreadObserver(
    { slot: 0, pid: 1, threadId: 9, hostName: 'h', accessLogs: false, deliver: () => {} },
    cfg,
    t.spec(0),
  );
  again.end(rec(again, 200, proxyRoute(cfg, 0)));
  const text = encodeText(buildFamilies(t, build));
  assert.match(text, /^fcgate_http_requests_total\{route="\/app\/",code="200"\} 5$/m);
  assert.match(text, /^fcgate_http_connections_open 0$/m);
});

test('a configuration with more routes than the slabs hold: a new generation, nothing lost', () => {
  const { t, cfg, observer } = telemetry();
  const a = observer(0);
  for (let i = 0; i < 6; i++) a.end(rec(a, 200, proxyRoute(cfg, 0)));
  const more = parseConfig(
    CONFIG + Array.from({ length: 20 }, (_, i) => `ProxyPass /r${i}/ fcgi://127.0.0.1:${9100 + i}/\n`).join(''),
    '/tmp/fcgate.conf',
  );
  assert.equal(t.register(more), true);
  a.configure(more, t.spec(0));
  t.context = { ...t.context!, config: () => more };
  a.end(rec(a, 200, proxyRoute(more, 0)));
  a.end(rec(a, 404, proxyRoute(more, 21)));
  const text = encodeText(buildFamilies(t, build));
  assert.match(text, /^fcgate_http_requests_total\{route="\/app\/",code="200"\} 7$/m);
  assert.match(text, /^fcgate_http_requests_total\{route="\/r19\/",code="404"\} 1$/m);
  assert.equal(t.register(more), false);
});

test('request ids: generated per thread, kept only from a trusted peer, sent back, the app sees them', () => {
  const { cfg, observer } = telemetry();
  const a = observer(0);
  const r1 = rec(a, 200, proxyRoute(cfg, 0));
  const r2 = rec(a, 200, proxyRoute(cfg, 0));
  assert.match(r1.requestId, /^[A-Za-z0-9_-]{8}-1$/);
  assert.equal(r2.requestId, r1.requestId.replace(/-1$/, '-2'));
  assert.deepEqual(r1.extraHeaders, ['X-Request-Id', r1.requestId]);
  assert.deepEqual(r1.snapshot!.headers, [['x-request-id', r1.requestId]]); // → HTTP_X_REQUEST_ID
  // An untrusted client's id is replaced, for the app too.
  const s = snap([['x-request-id', 'forged']]);
  const r3 = { ...rec(a, 200, proxyRoute(cfg, 0)), snapshot: s, extraHeaders: [] as string[] };
  a.begin(r3, s);
  assert.notEqual(r3.requestId, 'forged');
  assert.deepEqual(s.headers, [['x-request-id', r3.requestId]]);
  // A trusted peer's id is kept; a malformed one is not.
  const trusting = new ThreadObserver(
    {
      slot: 1,
      pid: 1,
      threadId: 1,
      hostName: 'h',
      accessLogs: false,
      deliver: () => {},
      trustRequestId: (x) => x.remoteAddress === '192.0.2.1',
    },
    cfg,
    telemetry().t.spec(1),
  );
  const kept = { requestId: '', startedAt: 0, extraHeaders: [] as string[] };
  trusting.begin(kept, snap([['x-request-id', 'upstream-abc']]));
  assert.equal(kept.requestId, 'upstream-abc');
  const bad = { requestId: '', startedAt: 0, extraHeaders: [] as string[] };
  trusting.begin(bad, snap([['x-request-id', 'has space']]));
  assert.notEqual(bad.requestId, 'has space');
  // RequestIdHeader off: nothing added to the response.
  const off = telemetry(CONFIG + 'RequestIdHeader off\n');
  const quiet = off.observer(0);
  const r4 = { requestId: '', startedAt: 0, extraHeaders: [] as string[] };
  quiet.begin(r4, snap());
  assert.deepEqual(r4.extraHeaders, []);
});

test('access log: the compiled format per request, env=!var skips, the default is combined to stdout', () => {
  const { cfg, lines, observer } = telemetry();
  const a = observer(0);
  const r = rec(a, 201, proxyRoute(cfg, 0));
  a.end(r);
  a.end(rec(a, 200, proxyRoute(cfg, 0), { env: new Map([['quiet', '1']]) }));
  a.flush();
  assert.deepEqual(lines, [`201 /app/ ${r.requestId} ${r.requestId}`]);
  const plain = telemetry('ProxyPass /app/ fcgi://127.0.0.1:9000/\n');
  const d = plain.observer(0);
  const keys: string[] = [];
  const dflt = new ThreadObserver(
    {
      slot: 0,
      pid: 1,
      threadId: 1,
      hostName: 'h',
      accessLogs: true,
      flushMs: 0,
      deliver: (k, data) => {
        keys.push(k);
        plain.lines.push(data.toString());
      },
    },
    plain.cfg,
    plain.t.spec(0),
  );
  dflt.end(rec(d, 200, proxyRoute(plain.cfg, 0)));
  dflt.flush();
  assert.deepEqual(keys, ['stdout']);
  assert.match(plain.lines[0]!, /^192\.0\.2\.1 - - \[[^\]]+\] "GET \/app\/x HTTP\/1\.1" 200 100 "-" "-"\n$/);
});
