// Balancer failure handling through the real gateway: a member that refuses goes into
// error for `retry` and the request moves on (body included); a member killed mid-load
// loses no retryable request; what cannot be retried gets a clear 502; all members down
// gives 503 with one line naming each; failonstatus; a member's return after retry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../helpers/free-port.js';
import { startTestGateway } from '../helpers/gateway.js';
import { ask, sequence, startMember, until } from './balancer-kit.js';

test('a refusing member: requests (a POST body too) move on; it stays out for retry, then comes back', async (t) => {
  const deadPort = await freePort();
  const a = await startMember('a');
  const gw = await startTestGateway({
    probe: false,
    config: `
ProxyPass /app/ balancer://c/
<Proxy balancer://c>
  BalancerMember fcgi://127.0.0.1:${deadPort} retry=1
  BalancerMember fcgi://127.0.0.1:${a.port}
</Proxy>
`,
  });
  let b: Awaited<ReturnType<typeof startMember>> | null = null;
  t.after(async () => {
    await gw.stop();
    await a.close();
    await b?.close();
  });
  // The first pick is the dead member: the POST's body must reach a whole.
  const body = Buffer.alloc(200_000, 1);
  const post = await ask(`${gw.base}/app/post`, { method: 'POST', body });
  assert.equal(post.status, 200);
  assert.equal(post.lines[0], 'a');
  assert.equal(post.lines[4], String(body.length));
  assert.equal((await sequence(`${gw.base}/app/`, 6)).join(''), 'aaaaaa');
  assert.equal(gw.logs.filter((l) => l.startsWith('FCGATE_MEMBER_ERROR')).length, 1, gw.logs.join('\n'));
  assert.match(
    gw.logs.find((l) => l.startsWith('FCGATE_FAILOVER'))!,
    new RegExp(
      `from=fcgi://127\\.0\\.0\\.1:${deadPort} to=fcgi://127\\.0\\.0\\.1:${a.port} .*cause=FCGATE_CONNECT_FAILED`,
    ),
  );
  const st = gw.gateway.balancerStats()[0]!.members[0]!;
  assert.equal(st.state, 'error');
  assert.match(st.lastError, /FCGATE_CONNECT_FAILED/);
  // It comes back: after retry=1 s, the next pick tries it again.
  b = await startMember('b', deadPort);
  await until(
    async () => (await sequence(`${gw.base}/app/`, 2)).includes('b'),
    5000,
    'member b to get traffic after retry',
  );
  assert.equal(gw.gateway.balancerStats()[0]!.members[0]!.state, 'ok');
});

test('all members down: 503 with one log line naming each member and why', async (t) => {
  const p1 = await freePort();
  const p2 = await freePort();
  const gw = await startTestGateway({
    probe: false,
    config: `
ProxyPass /app/ balancer://down/
<Proxy balancer://down>
  BalancerMember fcgi://127.0.0.1:${p1}
  BalancerMember fcgi://127.0.0.1:${p2}
</Proxy>
`,
  });
  t.after(() => gw.stop());
  for (let i = 0; i < 2; i++) {
    const r = await fetch(`${gw.base}/app/`);
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('retry-after'), '1');
    await r.arrayBuffer();
  }
  const lines = gw.logs.filter((l) => l.startsWith('FCGATE_NO_MEMBER'));
  assert.equal(lines.length, 2, gw.logs.join('\n'));
  assert.match(
    lines[0]!,
    new RegExp(
      `backend=balancer://down .*gave up after 2 attempt\\(s\\) \\(maxattempts=1\\); tried: `
        + `fcgi://127\\.0\\.0\\.1:${p1} \\(FCGATE_CONNECT_FAILED.*fcgi://127\\.0\\.0\\.1:${p2} `
        + `\\(FCGATE_CONNECT_FAILED`,
    ),
  );
});

test('a member killed mid-load: no GET lost; an in-flight POST gets a clear 502', async (t) => {
  const [a, b, c] = await Promise.all([startMember('a'), startMember('b'), startMember('c')]);
  const gw = await startTestGateway({
    probe: false,
    config: `
ProxyPass /app/ balancer://c/
<Proxy balancer://c>
  BalancerMember fcgi://127.0.0.1:${a.port}
  BalancerMember fcgi://127.0.0.1:${b.port}
  BalancerMember fcgi://127.0.0.1:${c.port}
</Proxy>
`,
  });
  t.after(async () => {
    await gw.stop();
    for (const m of [a, b, c]) await m.close();
  });
  // 240 GETs, 8 at a time, each held 5 ms by the app; b dies after 40 answers.
  const statuses: number[] = [];
  let next = 0;
  let killed: Promise<void> | null = null;
  const worker = async (): Promise<void> => {
    while (next < 240) {
      next++;
      const r = await ask(`${gw.base}/app/slow?ms=5`);
      statuses.push(r.status);
      if (statuses.length === 40 && killed === null) killed = b.kill();
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  await killed;
  assert.equal(statuses.length, 240);
  assert.deepEqual(
    statuses.filter((s) => s !== 200),
    [],
    gw.logs.filter((l) => !l.startsWith('FCGATE_FAILOVER')).join('\n'),
  );
  assert.ok(a.served + c.served + b.served >= 240);
  const stats = gw.gateway.balancerStats()[0]!;
  assert.equal(stats.members[1]!.state, 'error');
  assert.equal(
    stats.members.reduce((n, m) => n + m.busy, 0),
    0,
  );

  // A POST in flight on a member that dies cannot be repeated: 502, the log says why.
  const slowPost = fetch(`${gw.base}/app/slow?ms=2000`, { method: 'POST', body: 'x'.repeat(10) });
  const slowGet = fetch(`${gw.base}/app/slow?ms=2000`);
  await until(() => a.server.running + c.server.running >= 2, 3000, 'both requests to reach the app');
  await a.kill();
  await c.kill();
  const [p, g] = await Promise.all([slowPost, slowGet]);
  // 502 (the app closed mid-request), or 503 when the dead connection was a kept one and
  // the gateway's replay on a fresh connection found nothing listening: either way not retried elsewhere.
  assert.ok([502, 503].includes(p.status), String(p.status));
  await p.arrayBuffer();
  // The GET was retried elsewhere; every member is down or in error by now, so 503 (or 502 if b's retry came first).
  assert.ok([502, 503].includes(g.status), String(g.status));
  await g.arrayBuffer();
  assert.ok(
    gw.logs.some((l) =>
      /^FCGATE_(APP_CLOSED|CONNECT_FAILED) backend=fcgi:\/\/127\.0\.0\.1:\d+ req=\S+ POST \/app\/slow/.test(l),
    ),
    gw.logs.join('\n'),
  );
  assert.ok(
    !gw.logs.some((l) => /FCGATE_FAILOVER .* POST /.test(l)),
    gw.logs.filter((l) => / POST /.test(l)).join('\n'),
  );
});

test('an idempotent GET whose member dies before answering is served by another member', async (t) => {
  const [a, b] = await Promise.all([startMember('a'), startMember('b')]);
  const gw = await startTestGateway({
    probe: false,
    config: `
ProxyPass /app/ balancer://c/
<Proxy balancer://c>
  BalancerMember fcgi://127.0.0.1:${a.port}
  BalancerMember fcgi://127.0.0.1:${b.port}
</Proxy>
`,
  });
  t.after(async () => {
    await gw.stop();
    await a.close();
    await b.close();
  });
  const pending = ask(`${gw.base}/app/slow?ms=3000`); // byrequests: a first
  await until(() => a.server.running === 1, 3000, 'the GET to reach a');
  await a.kill();
  const r = await pending;
  assert.equal(r.status, 200);
  assert.equal(r.lines[0], 'b');
  assert.ok(
    gw.logs.some((l) => /FCGATE_FAILOVER .*cause=FCGATE_APP_CLOSED/.test(l)),
    gw.logs.join('\n'),
  );
});

test('failonstatus=500: the answer passes through, the member goes into error', async (t) => {
  const [a, b] = await Promise.all([startMember('a'), startMember('b')]);
  a.status = 500;
  const gw = await startTestGateway({
    probe: false,
    config: `
ProxyPass /app/ balancer://c/ failonstatus=500,503
<Proxy balancer://c>
  BalancerMember fcgi://127.0.0.1:${a.port}
  BalancerMember fcgi://127.0.0.1:${b.port}
</Proxy>
`,
  });
  t.after(async () => {
    await gw.stop();
    await a.close();
    await b.close();
  });
  assert.deepEqual(await sequence(`${gw.base}/app/`, 5), ['-500', 'b', 'b', 'b', 'b']);
  assert.ok(
    gw.logs.some((l) => /^FCGATE_MEMBER_ERROR .*status 500 is in failonstatus/.test(l)),
    gw.logs.join('\n'),
  );
});

test('a chunked (spooled) POST whose first member refuses reaches the next one whole', async (t) => {
  const deadPort = await freePort();
  const a = await startMember('a');
  const gw = await startTestGateway({
    probe: false,
    config: `
ProxyPass /app/ balancer://c/
<Proxy balancer://c>
  BalancerMember fcgi://127.0.0.1:${deadPort}
  BalancerMember fcgi://127.0.0.1:${a.port}
</Proxy>
`,
  });
  t.after(async () => {
    await gw.stop();
    await a.close();
  });
  const chunks = [Buffer.alloc(70_000, 2), Buffer.alloc(50_000, 3)];
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      const n = chunks.shift();
      if (n === undefined) c.close();
      else c.enqueue(n);
    },
  });
  const r = await ask(`${gw.base}/app/up`, { method: 'POST', body, duplex: 'half' } as RequestInit);
  assert.equal(r.status, 200);
  assert.deepEqual([r.lines[0], r.lines[4]], ['a', '120000']);
});
