// /healthz and /readyz decisions without sockets: a thread whose heartbeat stopped, a
// thread not listening, mappings whose backend does not answer (probe injected), probe
// answers reused for a moment, a balancer without a usable member.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveness, ReadinessCheck } from '../../src/admin/health.js';
import { BalancerBoard, Flag } from '../../src/balancer/shared-state.js';
import { parseConfig } from '../../src/config/load.js';
import { Header } from '../../src/metrics/layout.js';
import { Telemetry } from '../../src/observe/telemetry.js';

const cfg = parseConfig(
  `ProxyPass /a/ fcgi://127.0.0.1:9001/
ProxyPass /b/ balancer://web/
<Proxy balancer://web>
  BalancerMember fcgi://127.0.0.1:9002
  BalancerMember fcgi://127.0.0.1:9003
</Proxy>
`,
  '/tmp/fcgate.conf',
);

function setup(threads: Array<{ slot: number; ready: boolean; restarts: number }>) {
  const t = new Telemetry(cfg, { slots: 2, logBuffer: 1 << 16, version: 't' });
  const board = new BalancerBoard(cfg);
  let draining = false;
  t.context = {
    config: () => cfg,
    board: () => board,
    health: () => [],
    cap: () => 1,
    threads: () => threads,
    draining: () => draining,
  };
  return {
    t,
    board,
    drain: () => {
      draining = true;
    },
  };
}

test('alive: every listening thread wrote its heartbeat within the deadline', () => {
  const now = Date.now();
  const { t } = setup([
    { slot: 0, ready: true, restarts: 0 },
    { slot: 1, ready: true, restarts: 2 },
  ]);
  new Float64Array(t.spec(0).slab)[Header.Heartbeat] = now - 500;
  new Float64Array(t.spec(1).slab)[Header.Heartbeat] = now - 500;
  assert.equal(liveness(t, now).ok, true);
  new Float64Array(t.spec(1).slab)[Header.Heartbeat] = now - 4000; // stuck for 4 s
  const l = liveness(t, now);
  assert.equal(l.ok, false);
  assert.deepEqual(l.reasons, ['thread 1 has not answered for 4000 ms (deadline 3000 ms)']);
  const { t: t2 } = setup([{ slot: 0, ready: false, restarts: 3 }]);
  assert.deepEqual(liveness(t2, now).reasons, ['thread 0 is not listening (restarts: 3)']);
});

test('ready: each mapping has a usable backend; probe answers are reused; draining is never ready', async () => {
  const { t, board, drain } = setup([{ slot: 0, ready: true, restarts: 0 }]);
  let probes = 0;
  let answer: string | null = 'connect ECONNREFUSED 127.0.0.1:9001';
  const r = new ReadinessCheck(t, async () => {
    probes++;
    return answer;
  });
  const first = await r.check();
  assert.equal(first.ready, false);
  assert.deepEqual(first.reasons, ['/a/ → fcgi://127.0.0.1:9001: connect ECONNREFUSED 127.0.0.1:9001']);
  answer = null;
  assert.equal((await r.check()).ready, false, 'the answer of a moment ago is reused');
  assert.equal(probes, 1);
  const fresh = new ReadinessCheck(t, async () => null);
  assert.equal((await fresh.check()).ready, true);
  board.setFlags(0, Flag.Disabled, 0);
  board.setFlags(1, Flag.Stopped, 0);
  assert.deepEqual((await fresh.check()).reasons, [
    '/b/ → balancer://web: no usable member (fcgi://127.0.0.1:9002: disabled, fcgi://127.0.0.1:9003: stopped)',
  ]);
  board.setFlags(1, 0, Flag.Stopped);
  assert.equal((await fresh.check()).ready, true);
  drain();
  assert.deepEqual((await fresh.check()).reasons, ['draining (SIGTERM): finishing the requests in flight']);
});
