// Two Pools over one SharedBudget in one thread, as two serving threads would share a
// backend's cap: a pool whose requests wait while the cap is held by the OTHER pool's idle
// connections gets a connection at once (not after ttl), the waiting count is published
// and withdrawn, and a dead thread's share is reclaimed. The backend is a TCP server that
// accepts and stays silent (a fresh connection is clean, so it can be parked idle).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import type { WorkerSettings } from '../../src/config/model.js';
import type { GatewayError } from '../../src/errors.js';
import { SharedBudget } from '../../src/upstream/budget.js';
import type { UpstreamConnection } from '../../src/upstream/connection.js';
import { Pool, type Waiter } from '../../src/upstream/pool.js';

let server: Server;
let port = 0;
const accepted: Socket[] = [];

before(async () => {
  server = createServer((s) => {
    accepted.push(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});
after(async () => {
  for (const s of accepted) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

function worker(): WorkerSettings {
  return {
    name: `fcgi://127.0.0.1:${port}`,
    address: { kind: 'tcp', host: '127.0.0.1', port },
    reuse: true,
    max: 2,
    timeoutMs: 60_000,
    connectTimeoutMs: 2_000,
    acquireMs: 10_000,
    ttlMs: 60_000, // long: waiting for ttl would time the test out
    flushPackets: 'off',
    flushWaitMs: 10,
    requestBuffering: true,
    loadFactor: 1,
    lbSet: 0,
    route: '',
    retryMs: 60_000,
    status: '',
  };
}

const limits = { queueLimit: 16, maxRequestsPerConnection: 0, retryAfterSeconds: 1 };

/** A waiter whose promise settles with the connection (or rejects with the error). */
function waiter(): { w: Waiter; got: Promise<UpstreamConnection> } {
  let w!: Waiter;
  const got = new Promise<UpstreamConnection>((resolve, reject) => {
    w = {
      queuedAt: 0,
      cancelled: false,
      onAcquired: (c) => resolve(c as UpstreamConnection),
      onAcquireFailed: (e: GatewayError) => reject(e),
    };
  });
  return { w, got };
}

/** Two threads' budgets (thread 0 and 1) over one table with one backend, cap 2. */
function pair(): { buffer: SharedArrayBuffer; a: SharedBudget; b: SharedBudget } {
  const buffer = new SharedArrayBuffer(SharedBudget.bytes(1, 2));
  return { buffer, a: new SharedBudget(buffer, 0, 2, 0, 2), b: new SharedBudget(buffer, 0, 2, 1, 2) };
}

describe('two pools over one SharedBudget', () => {
  test('idle connections of pool A are closed for the requests waiting in pool B', async () => {
    const { a, b } = pair();
    const poolA = new Pool(worker(), a, limits);
    const poolB = new Pool(worker(), b, limits);
    try {
      const c1 = waiter(),
        c2 = waiter();
      poolA.acquire(c1.w);
      poolA.acquire(c2.w);
      const [x, y] = await Promise.all([c1.got, c2.got]);
      poolA.release(x, true);
      poolA.release(y, true);
      assert.equal(poolA.idleCount, 2);
      assert.equal(a.used, 2);
      const t0 = Date.now();
      const q = waiter();
      poolB.acquire(q.w);
      assert.equal(poolB.pending, 1);
      assert.equal(b.waiting, 1, 'the queued request is published');
      const conn = await q.got;
      const took = Date.now() - t0;
      assert.ok(took < 1000, `B waited ${took} ms (ttl is 60 s)`);
      assert.equal(poolA.idleCount, 1, 'A closed one idle connection, the one B needed');
      assert.equal(b.waiting, 0, 'withdrawn once served');
      poolB.release(conn, true);
      assert.equal(poolB.idleCount, 1, 'nobody waits: reuse as usual');
    } finally {
      poolA.close();
      poolB.close();
    }
  });

  test('a busy connection released while another pool waits is closed, not parked', async () => {
    const { a, b } = pair();
    const poolA = new Pool(worker(), a, limits);
    const poolB = new Pool(worker(), b, limits);
    try {
      const c1 = waiter(),
        c2 = waiter();
      poolA.acquire(c1.w);
      poolA.acquire(c2.w);
      const [x, y] = await Promise.all([c1.got, c2.got]);
      const q1 = waiter(),
        q2 = waiter();
      poolB.acquire(q1.w);
      poolB.acquire(q2.w);
      assert.equal(a.waiting, 2);
      poolA.release(x, true);
      assert.equal(poolA.idleCount, 0, 'closed for B');
      await q1.got;
      poolA.release(y, true);
      assert.equal(poolA.idleCount, 0);
      await q2.got;
      assert.equal(a.waiting, 0);
      assert.equal(a.used, 2);
    } finally {
      poolA.close();
      poolB.close();
    }
  });

  test('without waiters elsewhere, released connections stay idle for reuse', async () => {
    const { a } = pair();
    const poolA = new Pool(worker(), a, limits);
    try {
      const c = waiter();
      poolA.acquire(c.w);
      poolA.release(await c.got, true);
      const again = waiter();
      poolA.acquire(again.w);
      await again.got;
      assert.equal(poolA.stats().reused, 1);
    } finally {
      poolA.close();
    }
  });

  test('requests that time out in the queue are withdrawn from waiting', async () => {
    const { a, b } = pair();
    const poolA = new Pool({ ...worker(), acquireMs: 50 }, a, limits);
    const poolB = new Pool({ ...worker(), acquireMs: 50 }, b, limits);
    try {
      const c1 = waiter(),
        c2 = waiter();
      poolA.acquire(c1.w);
      poolA.acquire(c2.w);
      await Promise.all([c1.got, c2.got]); // both busy, never released
      const q = waiter();
      poolB.acquire(q.w);
      await assert.rejects(q.got, (e: GatewayError) => e.code === 'FCGATE_BACKEND_OVERLOADED');
      assert.equal(b.waiting, 0);
    } finally {
      poolA.close();
      poolB.close();
    }
  });

  test('reclaim gives back the share of a thread that died', () => {
    const { buffer, a, b } = pair();
    assert.ok(a.tryTake());
    assert.ok(b.tryTake());
    assert.equal(a.tryTake(), false, 'cap 2 reached');
    b.addWaiting(3);
    SharedBudget.reclaim(buffer, 0, 1, 2);
    assert.equal(a.used, 1);
    assert.equal(a.waiting, 0);
    assert.ok(a.tryTake());
  });
});
