// mux-pool.ts: a multiplexing backend's connections in one thread (issue 15 §1), with waiters
// that take the stream they are handed, against the raw loopback app (it accepts, and the
// test decides what it says). Covered: requests share a connection being opened up to its
// room, then a new one within the budget; the oldest connection with room first; the queue
// (FIFO, limit, acquire deadline, cancel); a failed connect fails every request promised to
// it; close() and windDown(); idle connections close after ttl; stats.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { GatewayError } from '../../src/errors.js';
import { LocalBudget } from '../../src/upstream/budget.js';
import type { Channel } from '../../src/upstream/connection.js';
import type { MuxStream } from '../../src/upstream/mux-connection.js';
import { MuxPool } from '../../src/upstream/mux-pool.js';
import type { Waiter } from '../../src/upstream/pool.js';
import { RawApp, until, workerFor } from './raw-app.js';

let app: RawApp;
before(async () => {
  app = await RawApp.start();
});
after(async () => {
  await app.close();
});

class W implements Waiter {
  queuedAt = 0;
  cancelled = false;
  stream: MuxStream | null = null;
  error: GatewayError | null = null;
  onAcquired(conn: Channel): void {
    this.stream = conn as MuxStream;
  }
  onAcquireFailed(err: GatewayError): void {
    this.error = err;
  }
  get settled(): boolean {
    return this.stream !== null || this.error !== null;
  }
}

const pools: MuxPool[] = [];
after(() => {
  for (const p of pools) p.close();
});

function pool(
  o: {
    cap?: number;
    perConnection?: number;
    queueLimit?: number;
    acquireMs?: number;
    ttlMs?: number;
    port?: number;
  } = {},
): MuxPool {
  const address = o.port !== undefined ? { kind: 'tcp' as const, host: '127.0.0.1', port: o.port } : app.address;
  const p = new MuxPool(
    workerFor(address, app.name, { acquireMs: o.acquireMs ?? 30_000, ttlMs: o.ttlMs ?? 60_000 }),
    new LocalBudget(o.cap ?? 4),
    { queueLimit: o.queueLimit ?? 16, maxRequestsPerConnection: 0, retryAfterSeconds: 1 },
    o.perConnection ?? 2,
  );
  pools.push(p);
  return p;
}

describe('placing requests', () => {
  test('requests share a connection being opened up to its room; the next opens another', async () => {
    const p = pool({ perConnection: 2 });
    const ws = [new W(), new W(), new W()];
    for (const w of ws) p.acquire(w);
    await until(() => ws.every((w) => w.settled), 'the three requests placed');
    const conns = new Set(ws.map((w) => w.stream!.conn));
    assert.equal(conns.size, 2);
    assert.equal(ws[0]!.stream!.conn, ws[1]!.stream!.conn, 'the first two share the first connection');
    assert.deepEqual(
      ws.map((w) => w.stream!.id),
      [1, 2, 1],
    );
    assert.equal(p.stats().opened, 2);
    assert.equal(p.stats().busy, 3);
  });

  test('the oldest connection with room takes the next request', async () => {
    const p = pool({ perConnection: 2 });
    const ws = [new W(), new W(), new W()];
    for (const w of ws) p.acquire(w);
    await until(() => ws.every((w) => w.settled), 'placed');
    const first = ws[0]!.stream!.conn;
    p.release(ws[0]!.stream!, true); // sent nothing: its id is free at once
    const next = new W();
    p.acquire(next);
    assert.equal(next.stream?.conn, first, 'back on the first connection, not the second');
    assert.equal(p.stats().opened, 2);
  });
});

describe('the queue', () => {
  test('full budget and no room: FIFO; a freed id goes to the oldest waiter on the same connection', async () => {
    const p = pool({ cap: 1, perConnection: 1 });
    const a = new W();
    const b = new W();
    const c = new W();
    p.acquire(a);
    await until(() => a.settled, 'the first request');
    p.acquire(b);
    p.acquire(c);
    assert.equal(p.stats().pending, 2);
    p.release(a.stream!, true);
    assert.equal(b.stream?.conn, a.stream!.conn);
    assert.equal(c.settled, false);
    assert.equal(p.stats().pending, 1);
    assert.equal(p.stats().opened, 1);
  });

  test('FCGATE_QUEUE_LIMIT: past it, refused at once', async () => {
    const p = pool({ cap: 1, perConnection: 1, queueLimit: 1 });
    const a = new W();
    p.acquire(a);
    await until(() => a.settled, 'the first request');
    const b = new W();
    const c = new W();
    p.acquire(b);
    p.acquire(c);
    assert.equal(c.error?.code, 'FCGATE_QUEUE_FULL');
    assert.match(c.error!.message, /carry 1 requests and 1 requests already waiting/);
    assert.equal(b.settled, false);
  });

  test('acquire deadline: FCGATE_BACKEND_OVERLOADED; a cancelled waiter leaves the queue and hears nothing', async () => {
    const p = pool({ cap: 1, perConnection: 1, acquireMs: 150 });
    const a = new W();
    p.acquire(a);
    await until(() => a.settled, 'the first request');
    const gone = new W();
    const late = new W();
    p.acquire(gone);
    p.acquire(late);
    p.cancel(gone);
    assert.equal(p.stats().pending, 1);
    await until(() => late.settled, 'the deadline', 2000);
    assert.equal(late.error?.code, 'FCGATE_BACKEND_OVERLOADED');
    assert.equal(gone.settled, false);
  });
});

describe('failures and shutdown', () => {
  test('a connect that fails fails every request promised to that connection', async () => {
    const closed = await RawApp.start();
    const port = (closed.address as { port: number }).port;
    await closed.close();
    const p = pool({ perConnection: 4, port });
    const ws = [new W(), new W(), new W()];
    for (const w of ws) p.acquire(w);
    await until(() => ws.every((w) => w.settled), 'the failures');
    assert.deepEqual(
      ws.map((w) => w.error?.code),
      ['FCGATE_CONNECT_FAILED', 'FCGATE_CONNECT_FAILED', 'FCGATE_CONNECT_FAILED'],
    );
    assert.equal(p.stats().failedConnects, 1, 'one connect for the three');
  });

  test('close(): queued requests fail FCGATE_SHUTTING_DOWN, idle connections close, new requests are refused', async () => {
    const p = pool({ cap: 1, perConnection: 1 });
    const a = new W();
    p.acquire(a);
    await until(() => a.settled, 'the first request');
    const queued = new W();
    p.acquire(queued);
    p.release(a.stream!, true); // queued takes it
    p.release(queued.stream!, true); // now idle
    const waiting = new W();
    const b = new W();
    p.acquire(b);
    p.acquire(waiting);
    p.close();
    assert.equal(waiting.error?.code, 'FCGATE_SHUTTING_DOWN');
    const after = new W();
    p.acquire(after);
    assert.equal(after.error?.code, 'FCGATE_SHUTTING_DOWN');
    p.release(b.stream!, true);
    await until(() => b.stream!.conn.isClosed, 'the connection to close once idle');
  });

  test('windDown(): idle connections close now, busy ones once their requests end', async () => {
    const p = pool({ perConnection: 1 });
    const a = new W();
    const b = new W();
    p.acquire(a);
    p.acquire(b);
    await until(() => a.settled && b.settled, 'two connections');
    p.release(a.stream!, true);
    p.windDown();
    await until(() => a.stream!.conn.isClosed, 'the idle one closed');
    assert.equal(b.stream!.conn.isClosed, false);
    p.release(b.stream!, true);
    await until(() => b.stream!.conn.isClosed, 'the busy one closed once idle');
  });

  test('an idle connection closes after ttl', async () => {
    const p = pool({ ttlMs: 200 });
    const a = new W();
    p.acquire(a);
    await until(() => a.settled, 'a connection');
    p.release(a.stream!, true);
    assert.equal(p.stats().idle, 1);
    await until(() => a.stream!.conn.isClosed, 'the ttl sweep', 3000);
    await until(() => p.stats().size === 0, 'the pool to forget it');
  });
});
