// Active health checks through the real gateway: a FastCGI GET to hcuri judged by status
// with hcfails / hcpasses thresholds, FCGI_GET_VALUES (CPING) and TCP checks, a
// ProxyHCExpr, and a PHP-FPM pool checked on its ping.path as a member beside a built-in app.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway } from '../helpers/gateway.js';
import { PHP_FIXTURES, skipUnlessPhpFpm, startPhpFpm } from '../helpers/php-fpm.js';
import { sequence, startMember, until } from './balancer-kit.js';

const FIXTURES = PHP_FIXTURES.replace(/\/+$/, '');

test('hcmethod=GET: 2 failures in a row take a member out, 2 passes bring it back', async (t) => {
  const [a, b] = await Promise.all([startMember('a'), startMember('b')]);
  const gw = await startTestGateway({
    probe: false,
    config: `
ProxyHCTemplate quick hcmethod=GET hcuri=/health hcinterval=100ms
ProxyPass /app/ balancer://c/
<Proxy balancer://c>
  BalancerMember fcgi://127.0.0.1:${a.port}
  BalancerMember fcgi://127.0.0.1:${b.port} hctemplate=quick hcfails=2 hcpasses=2
</Proxy>
`,
  });
  t.after(async () => {
    await gw.stop();
    await a.close();
    await b.close();
  });
  const checker = gw.gateway.healthChecker!;
  assert.ok(checker !== null);
  await until(() => checker.snapshot()[0]!.history.length >= 1, 3000, 'a first check');
  assert.equal(checker.snapshot()[0]!.history[0]!.ok, true);
  assert.match(checker.snapshot()[0]!.history[0]!.detail, /GET \/health → 200/);

  b.healthStatus = 503;
  await until(() => gw.logs.some((l) => l.startsWith('FCGATE_HEALTH_FAIL')), 3000, 'FCGATE_HEALTH_FAIL');
  assert.match(
    gw.logs.find((l) => l.startsWith('FCGATE_HEALTH_FAIL'))!,
    new RegExp(`member=fcgi://127\\.0\\.0\\.1:${b.port} method=get fails=2 cause="GET /health → 503"`),
  );
  assert.equal(gw.gateway.balancerStats()[0]!.members[1]!.state, 'hcfail');
  const before = b.served;
  assert.equal((await sequence(`${gw.base}/app/`, 6)).join(''), 'aaaaaa');
  assert.equal(b.served, before);

  b.healthStatus = 200;
  await until(() => gw.logs.some((l) => l.startsWith('FCGATE_HEALTH_PASS')), 3000, 'FCGATE_HEALTH_PASS');
  const h = checker.snapshot()[0]!;
  assert.equal(h.failing, false);
  assert.ok(h.passesInARow >= 2);
  assert.ok((await sequence(`${gw.base}/app/`, 4)).includes('b'));
});

test('hcmethod=CPING (FCGI_GET_VALUES) and TCP notice a dead member; ProxyHCExpr judges the status', async (t) => {
  const [a, b, c] = await Promise.all([startMember('a'), startMember('b'), startMember('c')]);
  a.healthStatus = 404;
  const gw = await startTestGateway({
    probe: false,
    config: `
ProxyHCExpr found {%{REQUEST_STATUS} =~ /^[234]/}
ProxyPass /app/ balancer://c/
<Proxy balancer://c>
  BalancerMember fcgi://127.0.0.1:${a.port} hcmethod=GET hcuri=/health hcexpr=found hcinterval=100ms
  BalancerMember fcgi://127.0.0.1:${b.port} hcmethod=CPING hcinterval=100ms
  BalancerMember fcgi://127.0.0.1:${c.port} hcmethod=TCP hcinterval=100ms
</Proxy>
`,
  });
  t.after(async () => {
    await gw.stop();
    for (const m of [a, b, c]) await m.close();
  });
  const checker = gw.gateway.healthChecker!;
  await until(() => checker.snapshot().every((h) => h.history.length >= 1), 3000, 'first checks');
  const first = checker.snapshot();
  assert.equal(first[0]!.history[0]!.ok, true, '404 passes the expression');
  assert.match(first[1]!.history[0]!.detail, /FCGI_MPXS_CONNS=1/);
  assert.equal(first[2]!.history[0]!.detail, 'connected');
  await b.kill();
  await c.kill();
  await until(
    () => gw.logs.filter((l) => l.startsWith('FCGATE_HEALTH_FAIL')).length === 2,
    3000,
    'two FCGATE_HEALTH_FAIL lines',
  );
  assert.deepEqual(
    gw.gateway.balancerStats()[0]!.members.map((m) => m.state),
    ['ok', 'hcfail', 'hcfail'],
  );
  assert.equal((await sequence(`${gw.base}/app/`, 3)).join(''), 'aaa');
  assert.equal(gw.logs.filter((l) => l.startsWith('FCGATE_MEMBER_ERROR')).length, 0, 'no request had to find out');
});

const skip = skipUnlessPhpFpm();

test('a PHP-FPM pool as a member, checked on its ping.path, beside a built-in app', { skip }, async (t) => {
  const fpm = await startPhpFpm({ docroot: PHP_FIXTURES, maxChildren: 2, pingPath: '/fpm-ping' });
  const app = await startMember('app');
  const gw = await startTestGateway({
    probe: false,
    config: `
ProxyPass /php/ balancer://mixed${FIXTURES}/
<Proxy balancer://mixed>
  BalancerMember fcgi://127.0.0.1:${fpm.port} route=fpm hcmethod=GET hcuri=/fpm-ping hcinterval=200ms
  BalancerMember fcgi://127.0.0.1:${app.port} route=app status=+H
</Proxy>
`,
  });
  t.after(async () => {
    await gw.stop();
    await fpm.stop();
    await app.close();
  });
  const checker = gw.gateway.healthChecker!;
  await until(() => checker.snapshot()[0]!.history.length >= 1, 5000, 'the first ping');
  assert.deepEqual(
    checker
      .snapshot()[0]!
      .history.map((r) => [r.ok, r.detail])
      .slice(0, 1),
    [[true, 'GET /fpm-ping → 200']],
  );
  const r = await fetch(`${gw.base}/php/env.php?x=1`);
  assert.equal(r.status, 200);
  const seen = (await r.json()) as { server: Record<string, string> };
  assert.equal(seen.server['BALANCER_NAME'], 'balancer://mixed');
  assert.equal(seen.server['BALANCER_WORKER_NAME'], `fcgi://127.0.0.1:${fpm.port}`);
  assert.equal(seen.server['BALANCER_WORKER_ROUTE'], 'fpm');
  // PHP-FPM goes away: the health check notices, and the hot standby takes the traffic.
  await fpm.stop();
  await until(() => gw.logs.some((l) => l.startsWith('FCGATE_HEALTH_FAIL')), 5000, 'FCGATE_HEALTH_FAIL');
  const after = await fetch(`${gw.base}/php/env.php`);
  assert.equal(after.status, 200);
  assert.equal((await after.text()).split('\n')[0], 'app');
});
