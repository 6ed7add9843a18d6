// The real gateway in front of the built-in demo app (issue #3 §6): the connection pool
// as the app sees it: the `max` cap under concurrency, the wait queue and its limit, the
// `acquire` deadline, reuse (KEEP_CONN) on, forced on and off, and a kept connection the
// app closes while idle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logsOf, poolOf, request, startPair, waitUntil, type Pair } from './gateway-app-kit.js';

/** The pool of one request per connection: the app answers FCGI_MPXS_CONNS=0, as PHP-FPM does (gateway-multiplex.test.ts has the other). */
const ONE_PER_CONNECTION = { mpxsConns: false };

/** Samples the app's open connections every 2 ms until stopped; returns the maximum. */
function sampleConnections(p: Pair): { stop(): number } {
  let max = p.app.server.connectionCount;
  const timer = setInterval(() => {
    max = Math.max(max, p.app.server.connectionCount);
  }, 2);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(max, p.app.server.connectionCount);
    },
  };
}

test('max=2 on ProxyPass: 20 concurrent /slow?ms=200 all answer 200 over at most 2 backend connections', async (t) => {
  const p = await startPair({
    app: ONE_PER_CONNECTION,
    config: (port) => `ProxyPass / fcgi://127.0.0.1:${port}/ max=2\n`,
  });
  t.after(() => p.stop());
  const sampler = sampleConnections(p);
  const started = Date.now();
  const all = await Promise.all(
    Array.from({ length: 20 }, () => request(p.gw.base, '/slow?ms=200', { agent: p.agent })),
  );
  const took = Date.now() - started;
  const most = sampler.stop();
  assert.deepEqual(
    all.map((r) => r.status),
    new Array(20).fill(200),
  );
  assert.ok(most <= 2, `${most} backend connections at once`);
  assert.ok(took >= 1900, `20 × 200 ms over 2 connections took only ${took} ms`);
  const s = poolOf(p);
  assert.ok(s.opened <= 2, JSON.stringify(s));
  assert.ok(s.reused >= 18, JSON.stringify(s));
});

test('max=2 in <Proxy "fcgi://…/"> with ProxySet: the cap holds for every ProxyPass to that worker', async (t) => {
  const p = await startPair({
    app: ONE_PER_CONNECTION,
    config: (port) =>
      `<Proxy "fcgi://127.0.0.1:${port}/">\n  ProxySet max=2\n</Proxy>\n`
      + `ProxyPass /a/ fcgi://127.0.0.1:${port}/\nProxyPass /b/ fcgi://127.0.0.1:${port}/\n`,
  });
  t.after(() => p.stop());
  const sampler = sampleConnections(p);
  const all = await Promise.all(
    Array.from({ length: 8 }, (_, i) => request(p.gw.base, `/${i % 2 ? 'a' : 'b'}/slow?ms=150`, { agent: p.agent })),
  );
  assert.deepEqual(
    all.map((r) => r.status),
    new Array(8).fill(200),
  );
  assert.ok(sampler.stop() <= 2);
});

test('FCGATE_QUEUE_LIMIT=2 with max=2: the overflow gets 503 with Retry-After, FCGATE_QUEUE_FULL logged', async (t) => {
  const p = await startPair({
    app: ONE_PER_CONNECTION,
    config: (port) => `ProxyPass / fcgi://127.0.0.1:${port}/ max=2\n`,
    tuning: { FCGATE_QUEUE_LIMIT: 2, FCGATE_RETRY_AFTER: 7 },
  });
  t.after(() => p.stop());
  const all = await Promise.all(
    Array.from({ length: 10 }, () => request(p.gw.base, '/slow?ms=600', { agent: p.agent })),
  );
  const ok = all.filter((r) => r.status === 200);
  const full = all.filter((r) => r.status === 503);
  assert.equal(ok.length + full.length, 10, all.map((r) => r.status).join(','));
  assert.equal(ok.length, 4, '2 served at once and 2 queued');
  for (const r of full) assert.equal(r.headers['retry-after'], '7');
  const lines = logsOf(p.gw, 'FCGATE_QUEUE_FULL');
  assert.equal(lines.length, 6, p.gw.logs.join('\n'));
  assert.match(lines[0]!, new RegExp(`backend=${p.backend} req=\\S+ GET /slow`));
});

test('acquire=200: no connection within 200 ms is a 503 FCGATE_BACKEND_OVERLOADED', async (t) => {
  const p = await startPair({
    app: ONE_PER_CONNECTION,
    config: (port) => `ProxyPass / fcgi://127.0.0.1:${port}/ max=1 acquire=200\n`,
  });
  t.after(() => p.stop());
  const busy = request(p.gw.base, '/slow?ms=1000', { agent: p.agent });
  await waitUntil(() => poolOf(p).busy === 1, 2000, 'the first request to hold the connection');
  const started = Date.now();
  const r = await request(p.gw.base, '/hello', { agent: p.agent });
  const took = Date.now() - started;
  assert.equal(r.status, 503);
  assert.ok(r.headers['retry-after'] !== undefined);
  assert.ok(took >= 180 && took < 800, `answered after ${took} ms`);
  const lines = logsOf(p.gw, 'FCGATE_BACKEND_OVERLOADED');
  assert.equal(lines.length, 1, p.gw.logs.join('\n'));
  assert.match(lines[0]!, /acquire=200/);
  assert.equal((await busy).status, 200);
  assert.equal((await request(p.gw.base, '/hello', { agent: p.agent })).status, 200);
});

interface CountBody {
  connection: number;
  requests: number;
  keepConn: boolean;
}

async function fiveSequential(p: Pair): Promise<CountBody[]> {
  const out: CountBody[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await request(p.gw.base, '/test/count-connection', { agent: p.agent });
    assert.equal(r.status, 200);
    out.push(JSON.parse(r.body.toString()) as CountBody);
  }
  return out;
}

for (const [keys, reuse] of [
  ['', true],
  ['enablereuse=on', true],
  ['disablereuse=off', true],
  ['disablereuse=on', false],
  ['enablereuse=off', false],
] as const) {
  const expect = reuse ? 'one backend connection, KEEP_CONN set' : 'five connections, KEEP_CONN 0';
  test(`5 sequential requests with ${keys || 'default keys'}: ${expect}`, async (t) => {
    const p = await startPair({
      app: ONE_PER_CONNECTION,
      config: (port) => `ProxyPass / fcgi://127.0.0.1:${port}/ ${keys}\n`,
    });
    t.after(() => p.stop());
    const got = await fiveSequential(p);
    assert.ok(
      got.every((g) => g.keepConn === reuse),
      JSON.stringify(got),
    );
    const connections = new Set(got.map((g) => g.connection));
    if (reuse) {
      assert.equal(connections.size, 1, JSON.stringify(got));
      assert.deepEqual(
        got.map((g) => g.requests),
        [1, 2, 3, 4, 5],
      );
      assert.equal(poolOf(p).opened, 1);
      assert.equal(p.app.server.connectionCount, 1);
    } else {
      assert.equal(connections.size, 5, JSON.stringify(got));
      assert.equal(poolOf(p).opened, 5);
      await waitUntil(
        () => p.app.server.connectionCount === 0 && poolOf(p).size === 0,
        2000,
        'every connection to close',
      );
    }
  });
}

test('the app closes a kept connection while idle: the next request is still 200, on a new connection', async (t) => {
  const q = await startPair({
    app: ONE_PER_CONNECTION,
    relay: true,
  });
  const relay = q.relay!;
  t.after(() => q.stop());

  const first = await fiveSequential(q);
  assert.equal(new Set(first.map((g) => g.connection)).size, 1);
  const opened = relay.accepted;

  // 1. Closed while idle, and the gateway noticed before the next request.
  relay.cut();
  await waitUntil(
    () => poolOf(q).size === 0 && poolOf(q).idle === 0,
    2000,
    'the gateway to drop the closed idle connection',
  );
  const a = await request(q.gw.base, '/test/count-connection', { agent: q.agent });
  assert.equal(a.status, 200);
  assert.equal((JSON.parse(a.body.toString()) as CountBody).requests, 1);
  assert.equal(relay.accepted, opened + 1);

  // 2. Closed while idle, the next request sent in the same tick (the gateway may write
  //    it on the dead connection: it must replay on a fresh one).
  for (let i = 0; i < 5; i++) {
    await waitUntil(() => poolOf(q).idle === 1, 2000, 'an idle connection');
    relay.cut();
    const r = await request(q.gw.base, '/test/count-connection', { agent: q.agent });
    assert.equal(r.status, 200, `round ${i}: ${r.body.toString()} ${q.gw.logs.join('\n')}`);
  }
  assert.equal(logsOf(q.gw, 'FCGATE_').filter((l) => !l.startsWith('FCGATE_PROBE')).length, 0, q.gw.logs.join('\n'));
});
