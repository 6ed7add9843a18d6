// The active health checker's scheduling and judgement, with a scripted HealthTransport (no
// sockets; the real one is proxy/health.ts over upstream/health-request.ts, exercised by
// test/integration/balancer-health.test.ts): which call each hcmethod makes, 2xx/3xx versus a
// ProxyHCExpr, hcfails/hcpasses in a row setting and clearing the shared bit, one log line
// per change, history kept to its size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkerSettings } from '../../src/config/model.js';
import { HealthChecker, type HealthTransport } from '../../src/balancer/health-check.js';
import { BalancerBoard } from '../../src/balancer/shared-state.js';
import { parseConfig } from '../../src/config/load.js';

const CFG = parseConfig(
  `
ProxyPass /a/ balancer://one/
ProxyHCExpr teapot {%{REQUEST_STATUS} == 418 && http('X-Ready') =~ /^yes$/}
<Proxy balancer://one>
  BalancerMember fcgi://127.0.0.1:9001 hcmethod=GET hcuri=/ping?full hcfails=2 hcpasses=2 hcinterval=1
  BalancerMember fcgi://127.0.0.1:9002 hcmethod=HEAD hcuri=/tea hcexpr=teapot hcinterval=1
  BalancerMember fcgi://127.0.0.1:9003 hcmethod=TCP hcinterval=1
  BalancerMember fcgi://127.0.0.1:9004 hcmethod=CPING hcinterval=1
  BalancerMember fcgi://127.0.0.1:9005
</Proxy>
`,
  '/tmp/test.conf',
);

type Answer = Awaited<ReturnType<HealthTransport['request']>>;

/** A transport whose answers the test sets per port; it records every call. */
function scripted() {
  const calls: string[] = [];
  const answers = new Map<number, Answer>();
  const port = (w: WorkerSettings): number => (w.address.kind === 'tcp' ? w.address.port : 0);
  let connectError: string | null = null;
  const transport: HealthTransport = {
    connect: async (w) => {
      calls.push(`connect ${port(w)}`);
      return connectError;
    },
    getValues: async (w) => {
      calls.push(`getValues ${port(w)}`);
      return { ok: true, detail: 'FCGI_MPXS_CONNS=0' };
    },
    request: async (w, method, uri) => {
      calls.push(`${method} ${uri} ${port(w)}`);
      return answers.get(port(w)) ?? { error: 'no script' };
    },
  };
  return {
    transport,
    calls,
    answers,
    failConnect: (e: string | null) => {
      connectError = e;
    },
  };
}

test('each hcmethod makes its call; 2xx/3xx pass; hcfails in a row set the bit, hcpasses clear it (one line each)', async () => {
  const board = new BalancerBoard(CFG);
  const logs: string[] = [];
  const s = scripted();
  const hc = new HealthChecker(CFG, board, { log: (l) => logs.push(l), transport: s.transport, historySize: 3 });
  assert.deepEqual(
    hc.snapshot().map((m) => [m.slot, m.method]),
    [
      [0, 'get'],
      [1, 'head'],
      [2, 'tcp'],
      [3, 'cping'],
    ].map(([a, b]) => [a, b === 'cping' ? 'getvalues' : b]),
  );

  s.answers.set(9001, { status: 302, headers: [] });
  assert.deepEqual(await hc.checkNow(0).then((r) => [r!.ok, r!.detail]), [true, 'GET /ping?full → 302']);
  s.answers.set(9001, { status: 500, headers: [] });
  assert.equal((await hc.checkNow(0))!.ok, false);
  assert.equal(board.healthFailed(0), false, 'one failure is not hcfails=2');
  s.answers.set(9001, { error: 'connect ECONNREFUSED 127.0.0.1:9001' });
  assert.equal((await hc.checkNow(0))!.detail, 'connect ECONNREFUSED 127.0.0.1:9001');
  assert.equal(board.healthFailed(0), true);
  assert.deepEqual(logs, [
    'FCGATE_HEALTH_FAIL member=fcgi://127.0.0.1:9001 method=get fails=2 cause="connect ECONNREFUSED 127.0.0.1:9001"',
  ]);

  s.answers.set(9001, { status: 204, headers: [] });
  await hc.checkNow(0);
  assert.equal(board.healthFailed(0), true, 'one pass is not hcpasses=2');
  await hc.checkNow(0);
  assert.equal(board.healthFailed(0), false);
  assert.equal(logs.length, 2);
  assert.match(
    logs[1]!,
    /^FCGATE_HEALTH_PASS member=fcgi:\/\/127\.0\.0\.1:9001 method=get passes=2 detail="GET \/ping\?full → 204"$/,
  );
  const m0 = hc.snapshot()[0]!;
  assert.deepEqual(
    m0.history.map((h) => h.ok),
    [false, true, true],
    'history kept to historySize, newest last',
  );

  // ProxyHCExpr decides, with the status and the answer's headers.
  s.answers.set(9002, { status: 418, headers: ['X-Ready', 'yes'] });
  assert.equal((await hc.checkNow(1))!.ok, true);
  s.answers.set(9002, { status: 200, headers: ['X-Ready', 'yes'] });
  assert.equal((await hc.checkNow(1))!.ok, false, 'a 200 fails an expression that wants 418');

  assert.deepEqual((await hc.checkNow(2))!.detail, 'connected');
  s.failConnect('connect timed out after 500 ms');
  assert.deepEqual(
    [(await hc.checkNow(2))!.ok, (await hc.checkNow(2))!.detail],
    [false, 'connect timed out after 500 ms'],
  );
  assert.deepEqual((await hc.checkNow(3))!.detail, 'FCGI_MPXS_CONNS=0');
  assert.equal(await hc.checkNow(4), null, 'a member without hcmethod is not checked');
  assert.deepEqual(s.calls, [
    'GET /ping?full 9001',
    'GET /ping?full 9001',
    'GET /ping?full 9001',
    'GET /ping?full 9001',
    'GET /ping?full 9001',
    'HEAD /tea 9002',
    'HEAD /tea 9002',
    'connect 9003',
    'connect 9003',
    'connect 9003',
    'getValues 9004',
  ]);
});

test('start() checks every member at once and then every hcinterval; stop() ends it', async () => {
  const cfg = parseConfig(
    `
ProxyPass /a/ balancer://one/
<Proxy balancer://one>
  BalancerMember fcgi://127.0.0.1:9001 hcmethod=TCP hcinterval=100ms
  BalancerMember fcgi://127.0.0.1:9002 hcmethod=CPING hcinterval=100ms
</Proxy>
`,
    '/tmp/test.conf',
  );
  const board = new BalancerBoard(cfg);
  const s = scripted();
  const hc = new HealthChecker(cfg, board, { log: () => {}, transport: s.transport });
  hc.start();
  try {
    const until = Date.now() + 5000;
    while (hc.snapshot().some((m) => m.history.length < 2) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 10));
    assert.ok(
      hc.snapshot().every((m) => m.history.length >= 2),
      'every member checked at least twice',
    );
  } finally {
    hc.stop();
  }
  const n = s.calls.length;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(s.calls.length, n, 'no check after stop()');
});
