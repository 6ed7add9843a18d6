// The shared member board (one SharedArrayBuffer seen by every thread), the per-thread
// BalancerRuntime over it (error + retry, force recovery, drain and sticky routes,
// maxattempts default), sticky route parsing, summing thread stats, and the config keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { BalancerRuntime, type Member, type NoMember } from '../../src/balancer/balancer.js';
import { BalancerBoard, Flag, flagsFromStatus, memberLayout, statusLetters } from '../../src/balancer/shared-state.js';
import { sumBalancerStats } from '../../src/balancer/stats.js';
import { stickyNames, stickyRoute } from '../../src/balancer/sticky.js';
import { parseConfig } from '../../src/config/load.js';
import type { GatewayConfig } from '../../src/config/model.js';

const config = (body: string): GatewayConfig => parseConfig(body, '/tmp/test.conf');

const CFG = config(`
ProxyPass /a/ balancer://one/
ProxyPass /b/ balancer://two/ stickysession=SID
<Proxy balancer://one>
  BalancerMember fcgi://127.0.0.1:9001 loadfactor=2.5 status=+D
  BalancerMember fcgi://127.0.0.1:9002 retry=5
</Proxy>
<Proxy balancer://two>
  BalancerMember fcgi://127.0.0.1:9003 route=x status=+H
  BalancerMember fcgi://127.0.0.1:9004 route=y
  BalancerMember fcgi://127.0.0.1:9005 route=z status=+I
</Proxy>
`);

const name = (m: Member | NoMember): string => ('worker' in m ? m.name.slice(-4) : 'none');

test('board layout: slots in config order, flags and lbfactor from the config', () => {
  const layout = memberLayout(CFG);
  assert.deepEqual(
    [...layout.firstSlot],
    [
      ['balancer://one', 0],
      ['balancer://two', 2],
    ],
  );
  const board = new BalancerBoard(CFG);
  assert.equal(board.size, 5);
  assert.equal(BalancerBoard.bytesFor(5), (3 + 10) * 4);
  assert.equal(board.flags(0), Flag.Disabled);
  assert.equal(board.lbFactor(0), 250);
  assert.equal(board.flags(2), Flag.Standby);
  assert.equal(board.flags(4), Flag.IgnoreErrors);
  assert.equal(statusLetters(flagsFromStatus('HDSIN')), 'DSIHN');
  const g = board.generation;
  board.setLoadFactor(1, 7.25);
  assert.equal(board.lbFactor(1), 725);
  assert.equal(board.flags(1), 0);
  assert.ok(board.generation > g);
  assert.throws(() => board.setLoadFactor(1, 0.5), /from 1 to 100/);
  // Another config (another member count) cannot use this buffer.
  assert.throws(
    () =>
      new BalancerBoard(
        config('ProxyPass /a/ balancer://q/\n<Proxy balancer://q>\nBalancerMember fcgi://h:1\n</Proxy>\n'),
        board.buffer,
      ),
    /does not match/,
  );
});

test('a change made in one thread is seen by another at once (Atomics over one SharedArrayBuffer)', async () => {
  const board = new BalancerBoard(CFG);
  const shared = new BalancerBoard(CFG, board.buffer);
  // The worker sets the Drain flag (4) of slot 3 in the raw words (header 3 + 2 words per slot).
  const w = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads');
    const words = new Int32Array(workerData.buffer);
    Atomics.or(words, 3 + 2 * 3, 4);
    Atomics.add(words, 2, 1);
    parentPort.postMessage('done');
  `,
    { eval: true, workerData: { buffer: board.buffer } },
  );
  await new Promise<void>((resolve, reject) => {
    w.once('message', () => resolve());
    w.once('error', reject);
  });
  await w.terminate();
  assert.equal(shared.flags(3) & Flag.Drain, Flag.Drain);
  assert.equal(board.flags(3) & Flag.Drain, Flag.Drain);
});

test('runtime: disabled members are skipped; an error lasts `retry`; maxattempts defaults to members - 1', () => {
  const board = new BalancerBoard(CFG);
  const one = new BalancerRuntime(CFG.balancers.get('balancer://one')!, board, 0);
  assert.equal(one.maxAttempts, 1);
  assert.equal(name(one.pick(1000, null, null)), '9002');
  const m = one.members[1]!;
  one.markError(m, 1000, 'refused');
  // 9001 disabled, 9002 in error until 6000 → force recovery? No: not every member is in error (9001 is not).
  const r = one.pick(2000, null, null);
  assert.equal(name(r), 'none');
  assert.match((r as NoMember).reason, /9001=disabled; fcgi:\/\/127\.0\.0\.1:9002=error \(refused, retry in 4 s\)/);
  assert.equal(name(one.pick(6000, null, null)), '9002');
  board.setFlags(0, 0, Flag.Disabled);
  // The failing member is excluded from its own failover.
  assert.equal(name(one.pick(6000, null, [m])), '9001');
  assert.equal(one.stats(6000).members[0]!.loadFactor, 2.5);
});

test('runtime: forcerecovery clears errors when every member is in error, and only then', () => {
  const board = new BalancerBoard(CFG);
  board.setFlags(0, 0, Flag.Disabled);
  const one = new BalancerRuntime(CFG.balancers.get('balancer://one')!, board, 0);
  for (const m of one.members) one.markError(m, 0, 'down');
  assert.equal(name(one.pick(1, null, null)), '9001'); // forced: all were in error
  const cfg2 = config(
    'ProxyPass /a/ balancer://f/ forcerecovery=off\n<Proxy balancer://f>\nBalancerMember fcgi://h:1\n</Proxy>\n',
  );
  const f = new BalancerRuntime(cfg2.balancers.get('balancer://f')!, new BalancerBoard(cfg2), 0);
  f.markError(f.members[0]!, 0, 'down');
  assert.equal(name(f.pick(1, null, null)), 'none');
});

test('runtime: sticky routes, drain, hot standby, ignore-errors', () => {
  const board = new BalancerBoard(CFG);
  const two = new BalancerRuntime(CFG.balancers.get('balancer://two')!, board, 2);
  assert.equal(two.routeFor('/b/', '', 'SID=abc.y'), 'y');
  assert.equal(name(two.pick(0, 'y', null)), '9004');
  assert.equal(name(two.pick(0, 'x', null)), '9003'); // a standby still serves its own sessions
  assert.equal(name(two.pick(0, null, null)), '9004');
  assert.equal(name(two.pick(0, null, null)), '9005');
  board.setFlags(3, Flag.Drain, 0); // 9004 drains
  assert.equal(name(two.pick(0, 'y', null)), '9004');
  assert.deepEqual(
    [0, 1, 2].map(() => name(two.pick(0, null, null))),
    ['9005', '9005', '9005'],
  );
  two.markError(two.members[2]!, 0, 'ignored'); // status=+I: stays usable
  assert.equal(name(two.pick(1, null, null)), '9005');
  board.setFlags(4, Flag.Stopped, 0);
  assert.equal(name(two.pick(1, null, null)), '9003'); // only the standby is left
  assert.equal(name(two.pick(1, 'nosuch', null)), '9003');
});

test('sticky route parsing: URL parameter first, then the cookie; no dot, no route', () => {
  const n = stickyNames('JSESSIONID|jsessionid');
  assert.deepEqual(n, { cookie: 'JSESSIONID', url: 'jsessionid' });
  assert.equal(stickyRoute(n, '/a;jsessionid=123.node1/b', '', 'JSESSIONID=9.node2'), 'node1');
  assert.equal(stickyRoute(n, '/a', 'x=1&jsessionid=5.n3', 'JSESSIONID=9.node2'), 'n3');
  assert.equal(stickyRoute(n, '/a', '', 'a=b; JSESSIONID=9.node2'), 'node2');
  assert.equal(stickyRoute(n, '/a', 'jsessionid=nodot', 'JSESSIONID=x'), null);
  assert.equal(stickyRoute(stickyNames('S'), '/a', '', undefined), null);
  assert.equal(stickyRoute(stickyNames('S'), '/a', '', 'S=a.b.c'), 'b.c');
});

test('summing threads: counters add up, the latest error wins, flags are shared', () => {
  const board = new BalancerBoard(CFG);
  const t1 = new BalancerRuntime(CFG.balancers.get('balancer://two')!, board, 2);
  const t2 = new BalancerRuntime(CFG.balancers.get('balancer://two')!, board, 2);
  t1.members[1]!.elected = 3;
  t2.members[1]!.elected = 4;
  t2.members[1]!.busy = 2;
  t2.markError(t2.members[0]!, 100, 'late');
  t1.markError(t1.members[0]!, 50, 'early');
  const sum = sumBalancerStats([[t1.stats(200)], [t2.stats(200)]], 200)[0]!;
  assert.equal(sum.members[1]!.elected, 7);
  assert.equal(sum.members[1]!.busy, 2);
  assert.equal(sum.members[0]!.lastError, 'late');
  assert.equal(sum.members[0]!.failures, 2);
  assert.equal(sum.members[0]!.state, 'error');
  assert.equal(sum.members[0]!.status, 'HE');
});

test('config: health-check keys, templates, expressions, BalancerManager, and their errors', () => {
  const c = config(`
ProxyHCExpr ok {%{REQUEST_STATUS} =~ /^2/}
ProxyHCTemplate t hcmethod=GET hcuri=/ping hcinterval=5
ProxyHCTPsize 16
BalancerManager 127.0.0.1:8081
ProxyPass /a/ balancer://h/
<Proxy balancer://h>
  BalancerMember fcgi://127.0.0.1:9001 hctemplate=t hcexpr=ok hcfails=3
  BalancerMember fcgi://127.0.0.1:9002 hcmethod=cping hcpasses=2 hcinterval=500ms
</Proxy>
`);
  const [m1, m2] = c.balancers.get('balancer://h')!.members;
  assert.deepEqual(m1!.worker.healthCheck, {
    method: 'get',
    intervalMs: 5000,
    passes: 1,
    fails: 3,
    uri: '/ping',
    expr: 'ok',
  });
  assert.deepEqual(m2!.worker.healthCheck, {
    method: 'getvalues',
    intervalMs: 500,
    passes: 2,
    fails: 1,
    uri: '',
    expr: null,
  });
  assert.deepEqual(
    { ...c.balancerManager!, file: '' },
    { host: '127.0.0.1', port: 8081, tokenRequired: false, file: '', line: 5 },
  );
  assert.ok(c.hcExpressions!.has('ok'));
  const bad = (body: string): RegExp | string => {
    try {
      config(body);
      return 'no error';
    } catch (e) {
      return (e as Error).message;
    }
  };
  const member = (keys: string): string =>
    `ProxyPass /a/ balancer://h/\n<Proxy balancer://h>\nBalancerMember fcgi://h:1 ${keys}\n</Proxy>\n`;
  assert.match(String(bad(member('hcmethod=GET'))), /needs hcuri/);
  assert.match(String(bad(member('hcmethod=POST'))), /hcmethod: expected TCP, GET/);
  assert.match(String(bad(member('hcexpr=missing hcmethod=TCP'))), /no ProxyHCExpr of that name/);
  assert.match(String(bad(member('hctemplate=nope'))), /no ProxyHCTemplate named "nope"/);
  assert.match(String(bad(member('hcinterval=10ms'))), /at least 100 ms/);
  assert.match(String(bad('BalancerManager example.com:80\n')), /IP address or localhost/);
  assert.match(
    String(bad('<Location /balancer-manager>\nSetHandler balancer-manager\n</Location>\n')),
    /AdminListen 127\.0\.0\.1:PORT/,
  );
  assert.equal(config('BalancerManager [::1]:9\n').balancerManager!.host, '::1');
  assert.equal(config('BalancerManager 10.0.0.1:9\n').balancerManager!.tokenRequired, true);
});
