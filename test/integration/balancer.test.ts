// balancer:// through the real gateway in front of built-in app instances: the seed's
// example verbatim, each lbmethod's sequence, BALANCER_* params, sticky sessions, drain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FcgiServer } from '../../src/app/responder-server.js';
import { Flag } from '../../src/balancer/shared-state.js';
import { startTestGateway } from '../helpers/gateway.js';
import { ask, sequence, startMember, type TestMember } from './balancer-kit.js';

/** Whether 127.0.0.1:port can be bound now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

async function members(names: string[]): Promise<TestMember[]> {
  return await Promise.all(names.map((n) => startMember(n)));
}

test('the seed example verbatim: fcgi://localhost:4000 and :4001 alternate (byrequests)', async (t) => {
  if (!(await portFree(4000)) || !(await portFree(4001))) {
    t.skip('ports 4000/4001 are taken on this machine');
    return;
  }
  const a = await startMember('4000', 4000);
  const b = await startMember('4001', 4001);
  const gw = await startTestGateway({
    probe: false,
    config: `
ProxyPass "/myapp/" "balancer://myappcluster/"
<Proxy "balancer://myappcluster/">
    BalancerMember "fcgi://localhost:4000"
    BalancerMember "fcgi://localhost:4001"
</Proxy>
`,
  });
  t.after(async () => {
    await gw.stop();
    await a.close();
    await b.close();
  });
  assert.deepEqual(await sequence(`${gw.base}/myapp/x`, 10), [
    '4000',
    '4001',
    '4000',
    '4001',
    '4000',
    '4001',
    '4000',
    '4001',
    '4000',
    '4001',
  ]);
  const r = await ask(`${gw.base}/myapp/y`);
  assert.deepEqual(r.lines.slice(1, 4), ['balancer://myappcluster', 'fcgi://localhost:4000', '']);
});

test('loadfactor 3:1 gives a a b a; route travels as BALANCER_WORKER_ROUTE', async (t) => {
  const [a, b] = await members(['a', 'b']);
  const gw = await startTestGateway({
    probe: false,
    config: `
ProxyPass /app/ balancer://c/
<Proxy balancer://c>
  BalancerMember fcgi://127.0.0.1:${a!.port} loadfactor=3 route=ra
  BalancerMember fcgi://127.0.0.1:${b!.port} loadfactor=1 route=rb
</Proxy>
`,
  });
  t.after(async () => {
    await gw.stop();
    await a!.close();
    await b!.close();
  });
  assert.equal((await sequence(`${gw.base}/app/`, 7)).join(''), 'aabaaab');
  const r = await ask(`${gw.base}/app/`); // the 8th: a
  assert.deepEqual(r.lines.slice(0, 4), ['a', 'balancer://c', `fcgi://127.0.0.1:${a!.port}`, 'ra']);
});

test('lbmethod=bybusyness and bytraffic, sequential: the expected sequences', async (t) => {
  const [a, b, c] = await members(['a', 'b', 'c']);
  const gw = await startTestGateway({
    probe: false,
    config: `
ProxyPass /busy/ balancer://busy/ lbmethod=bybusyness
ProxyPass /traffic/ balancer://traffic/
<Proxy balancer://busy>
  BalancerMember fcgi://127.0.0.1:${a!.port} loadfactor=2
  BalancerMember fcgi://127.0.0.1:${b!.port}
  BalancerMember fcgi://127.0.0.1:${c!.port}
</Proxy>
<Proxy balancer://traffic>
  ProxySet lbmethod=bytraffic
  BalancerMember fcgi://127.0.0.1:${a!.port}
  BalancerMember fcgi://127.0.0.1:${b!.port}
</Proxy>
`,
  });
  t.after(async () => {
    await gw.stop();
    for (const m of [a, b, c]) await m!.close();
  });
  // Nothing in flight between sequential requests: busy is always 0, so byrequests decides (2:1:1 → a b c a).
  assert.equal((await sequence(`${gw.base}/busy/`, 8)).join(''), 'abcaabca');
  // Answers of 1000 bytes: a (tie at 0, first), then b (a: 1000/100 = 10 > 0), then equal again → a …
  // (Apache's integer division: answers under 100 bytes would not count for loadfactor=1.)
  assert.equal((await sequence(`${gw.base}/traffic/?pad=1000`, 6)).join(''), 'ababab');
  const stats = gw.gateway.balancerStats();
  const traffic = stats.find((s) => s.name === 'balancer://traffic')!;
  assert.equal(traffic.lbMethod, 'bytraffic');
  assert.ok(traffic.members[0]!.bytesOut > 0);
  assert.equal(traffic.members[0]!.bytesOut, traffic.members[1]!.bytesOut);
});

test('lbset and hot standby: the standby serves only when the set-0 member is unusable', async (t) => {
  const [a, s, z] = await members(['a', 's', 'z']);
  const gw = await startTestGateway({
    probe: false,
    config: `
ProxyPass /app/ balancer://c/
<Proxy balancer://c>
  BalancerMember fcgi://127.0.0.1:${a!.port}
  BalancerMember fcgi://127.0.0.1:${s!.port} status=+H
  BalancerMember fcgi://127.0.0.1:${z!.port} lbset=1
</Proxy>
`,
  });
  t.after(async () => {
    await gw.stop();
    for (const m of [a, s, z]) await m!.close();
  });
  assert.equal((await sequence(`${gw.base}/app/`, 3)).join(''), 'aaa');
  const board = gw.gateway.balancerBoard;
  board.setFlags(0, Flag.Disabled, 0);
  assert.equal((await sequence(`${gw.base}/app/`, 3)).join(''), 'sss');
  board.setFlags(1, Flag.Stopped, 0);
  assert.equal((await sequence(`${gw.base}/app/`, 2)).join(''), 'zz');
  board.setFlags(2, Flag.Disabled, 0);
  const r = await fetch(`${gw.base}/app/`);
  assert.equal(r.status, 503);
  await r.arrayBuffer();
  const line = gw.logs.find((l) => l.startsWith('FCGATE_NO_MEMBER'));
  assert.ok(line !== undefined, gw.logs.join('\n'));
  assert.match(line, /backend=balancer:\/\/c .*no usable member among 3: .*=disabled; .*=stopped; .*=disabled/);
  board.setFlags(0, 0, Flag.Disabled);
  assert.equal((await sequence(`${gw.base}/app/`, 2)).join(''), 'aa');
});

test('sticky sessions: cookie and URL parameter routes, drain keeps sticky traffic only, nofailover', async (t) => {
  const [a, b] = await members(['a', 'b']);
  const gw = await startTestGateway({
    probe: false,
    config: `
ProxyPass /app/ balancer://c/ stickysession=SESSID|sid
ProxyPass /strict/ balancer://s/
<Proxy balancer://c>
  BalancerMember fcgi://127.0.0.1:${a!.port} route=r1
  BalancerMember fcgi://127.0.0.1:${b!.port} route=r2
</Proxy>
<Proxy balancer://s>
  ProxySet stickysession=SESSID nofailover=On
  BalancerMember fcgi://127.0.0.1:${a!.port} route=r1
  BalancerMember fcgi://127.0.0.1:${b!.port} route=r2
</Proxy>
`,
  });
  t.after(async () => {
    await gw.stop();
    await a!.close();
    await b!.close();
  });
  const toB = { headers: { Cookie: 'other=1; SESSID=abc123.r2' } };
  assert.equal((await sequence(`${gw.base}/app/`, 4, toB)).join(''), 'bbbb');
  assert.equal((await sequence(`${gw.base}/app/x?sid=zz.r1`, 3, toB)).join(''), 'aaa'); // URL first
  assert.equal((await sequence(`${gw.base}/app/x;sid=zz.r1`, 2)).join(''), 'aa');
  assert.equal((await sequence(`${gw.base}/app/x?sid=nodot`, 2)).join(''), 'ab'); // no route: byrequests
  // Drain b (slot 1): new sessions go to a only, b's own sessions still reach b.
  gw.gateway.balancerBoard.setFlags(1, Flag.Drain, 0);
  assert.equal((await sequence(`${gw.base}/app/`, 4)).join(''), 'aaaa');
  assert.equal((await sequence(`${gw.base}/app/`, 2, toB)).join(''), 'bb');
  // Disabled: b's sessions fail over to a; with nofailover=On they get 503.
  gw.gateway.balancerBoard.setFlags(1, Flag.Disabled, Flag.Drain);
  gw.gateway.balancerBoard.setFlags(3, Flag.Disabled, 0);
  assert.equal((await sequence(`${gw.base}/app/`, 2, toB)).join(''), 'aa');
  assert.deepEqual(await sequence(`${gw.base}/strict/`, 1, toB), ['-503']);
  assert.ok(
    gw.logs.some((l) => /FCGATE_NO_MEMBER backend=balancer:\/\/s .*sticky route 'r2'.*nofailover=On/.test(l)),
    gw.logs.join('\n'),
  );
});

test('a unix-socket member beside a TCP one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fcgate-bal-'));
  const sock = join(dir, 'm.sock');
  const u = new FcgiServer(
    (req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write(`u\n${req.param('BALANCER_WORKER_NAME')}\n`);
      res.end();
    },
    { log: () => {} },
  );
  await u.listen({ path: sock });
  const a = await startMember('a');
  const gw = await startTestGateway({
    probe: false,
    config: `
ProxyPass /app/ balancer://mix/
<Proxy balancer://mix>
  BalancerMember "unix:${sock}|fcgi://localhost"
  BalancerMember fcgi://127.0.0.1:${a.port}
</Proxy>
`,
  });
  t.after(async () => {
    await gw.stop();
    await a.close();
    await u.close(200);
    rmSync(dir, { recursive: true, force: true });
  });
  assert.equal((await sequence(`${gw.base}/app/`, 4)).join(''), 'uaua');
  const r = await ask(`${gw.base}/app/`);
  assert.deepEqual(r.lines.slice(0, 2), ['u', `unix:${sock}|fcgi://localhost`]);
});
