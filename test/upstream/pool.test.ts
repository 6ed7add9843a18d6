// pool.ts against a loopback app that accepts and stays silent (a fresh connection is clean,
// so it can be parked idle): the queue limit, the acquire deadline with one timer for the
// whole queue, the reuse checklist of release(), LIFO reuse, the ttl sweep, the budget
// shared with other pools (waiting, trimming idle connections, LocalBudget and SharedBudget),
// the stall watch for requests on new connections, reuse turned off and verified, connect
// failures and timeouts. Timers are node:test's fake ones wherever the test is about time.
import { after, afterEach, before, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkerSettings } from '../../src/config/model.js';
import type { GatewayError } from '../../src/errors.js';
import { LocalBudget, SharedBudget, type ConnectionBudget } from '../../src/upstream/budget.js';
import type { ConnectionUser, UpstreamConnection } from '../../src/upstream/connection.js';
import {
  Pool,
  STALL_MS,
  type FreshRequest,
  type PoolLimits,
  type PoolObserver,
  type Waiter,
} from '../../src/upstream/pool.js';
import { RawApp, stdout, until, workerFor } from './raw-app.js';

let app: RawApp;
before(async () => {
  app = await RawApp.start();
});
after(async () => {
  await app.close();
});

/** A waiter that records its one call. */
class W implements Waiter {
  queuedAt = 0;
  cancelled = false;
  conn: UpstreamConnection | null = null;
  err: GatewayError | null = null;
  calls = 0;
  onAcquired(conn: UpstreamConnection): void {
    this.calls++;
    this.conn = conn;
  }
  onAcquireFailed(err: GatewayError): void {
    this.calls++;
    this.err = err;
  }
  async got(): Promise<UpstreamConnection> {
    await until(() => this.calls > 0, 'the waiter to be answered');
    if (this.conn === null) throw this.err;
    return this.conn;
  }
  async failed(): Promise<GatewayError> {
    await until(() => this.calls > 0, 'the waiter to be answered');
    assert.equal(this.conn, null, 'expected a failure, got a connection');
    return this.err!;
  }
}

class Observer implements PoolObserver {
  events: string[] = [];
  connected(_p: Pool, ok: boolean, timedOut: boolean): void {
    this.events.push(`connected ok=${ok} timedOut=${timedOut}`);
  }
  rejected(_p: Pool, acquireTimeout: boolean): void {
    this.events.push(`rejected acquireTimeout=${acquireTimeout}`);
  }
}

interface Made {
  pool: Pool;
  budget: ConnectionBudget;
  logs: string[];
  observer: Observer;
}
let pools: Pool[] = [];
afterEach(() => {
  for (const p of pools) p.close();
  pools = [];
});

function makePool(
  opts: { budget?: ConnectionBudget; worker?: Partial<WorkerSettings>; limits?: Partial<PoolLimits> } = {},
): Made {
  const logs: string[] = [];
  const observer = new Observer();
  const budget = opts.budget ?? new LocalBudget(8);
  const pool = new Pool(
    workerFor(app.address, app.name, opts.worker),
    budget,
    { queueLimit: 16, maxRequestsPerConnection: 0, retryAfterSeconds: 1, log: (l) => logs.push(l), ...opts.limits },
    observer,
  );
  pools.push(pool);
  return { pool, budget, logs, observer };
}

/** Acquires `n` connections at once and waits for all of them. */
async function take(pool: Pool, n: number): Promise<UpstreamConnection[]> {
  const ws = Array.from({ length: n }, () => new W());
  for (const w of ws) pool.acquire(w);
  return Promise.all(ws.map((w) => w.got()));
}

const closed = (c: UpstreamConnection): Promise<void> =>
  until(() => c.socket.destroyed, `connection ${c.serial} to close`);

describe('the wait queue', () => {
  test('full queue: FCGATE_QUEUE_FULL at once; close() fails the queued with FCGATE_SHUTTING_DOWN', () => {
    const { pool, budget, observer } = makePool({ budget: new LocalBudget(0), limits: { queueLimit: 2 } });
    const [w1, w2, w3] = [new W(), new W(), new W()];
    pool.acquire(w1);
    pool.acquire(w2);
    assert.equal(pool.pending, 2);
    assert.equal(budget.waiting, 2, 'published for the other threads');
    pool.acquire(w3);
    assert.equal(w3.err?.code, 'FCGATE_QUEUE_FULL');
    assert.equal(w3.err?.status, 503);
    assert.equal(w3.err?.message, 'all 0 connections busy and 2 requests already waiting');
    assert.deepEqual(observer.events, ['rejected acquireTimeout=false']);
    assert.equal(pool.pending, 2);
    assert.equal(w1.calls + w2.calls, 0);
    pool.close();
    assert.deepEqual([w1.err?.code, w2.err?.code], ['FCGATE_SHUTTING_DOWN', 'FCGATE_SHUTTING_DOWN']);
    assert.equal(budget.waiting, 0);
    const late = new W();
    pool.acquire(late);
    assert.equal(late.err?.code, 'FCGATE_SHUTTING_DOWN');
  });

  test('the acquire deadline: one timer for the whole queue, each waiter failed at its own time', () => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 });
    const realSetTimeout = globalThis.setTimeout;
    let timers = 0;
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      timers++;
      return realSetTimeout(...args);
    }) as typeof setTimeout;
    try {
      const { pool, budget, observer } = makePool({ budget: new LocalBudget(0), worker: { acquireMs: 1000 } });
      const [a, b, c] = [new W(), new W(), new W()];
      pool.acquire(a);
      mock.timers.tick(300);
      pool.acquire(b);
      mock.timers.tick(300);
      pool.acquire(c);
      assert.equal(timers, 1, 'three waiters, one timer');
      mock.timers.tick(399);
      assert.equal(a.calls, 0);
      mock.timers.tick(1);
      assert.equal(a.err?.code, 'FCGATE_BACKEND_OVERLOADED');
      assert.equal(a.err?.message, 'no connection free within acquire=1000 ms (0 busy)');
      assert.equal(b.calls + c.calls, 0);
      assert.equal(timers, 2, 're-armed for the next head');
      pool.cancel(b); // its client went away: no call, it just leaves
      mock.timers.tick(300);
      assert.equal(b.calls, 0);
      assert.equal(pool.pending, 1);
      assert.equal(c.calls, 0);
      mock.timers.tick(299);
      assert.equal(c.calls, 0);
      mock.timers.tick(1);
      assert.equal(c.err?.code, 'FCGATE_BACKEND_OVERLOADED');
      assert.equal(pool.pending, 0);
      assert.equal(budget.waiting, 0, 'withdrawn from the budget');
      assert.deepEqual(observer.events, ['rejected acquireTimeout=true', 'rejected acquireTimeout=true']);
      pool.close();
    } finally {
      globalThis.setTimeout = realSetTimeout;
      mock.timers.reset();
    }
  });

  test('a cancelled waiter leaves the queue: it does not count against the queue limit', () => {
    const { pool, budget } = makePool({ budget: new LocalBudget(0), limits: { queueLimit: 2 } });
    const [w1, w2] = [new W(), new W()];
    pool.acquire(w1);
    pool.acquire(w2);
    pool.cancel(w1); // both clients went away (Exchange.abort)
    pool.cancel(w2);
    const w3 = new W();
    pool.acquire(w3);
    assert.equal(w3.err, null, 'nobody is waiting: w3 should be queued, not refused');
    assert.equal(budget.waiting, 1, 'and only w3 published as waiting');
  });

  test('a released connection goes to the oldest waiter; the queue is FIFO', async () => {
    const { pool, budget } = makePool({ budget: new LocalBudget(1) });
    const [c1] = await take(pool, 1);
    const [w2, w3] = [new W(), new W()];
    pool.acquire(w2);
    pool.acquire(w3);
    assert.equal(budget.waiting, 2);
    pool.release(c1!, true);
    assert.equal(w2.conn, c1, 'handed over at once, no idle stop');
    assert.equal(w3.calls, 0);
    pool.release(c1!, true);
    assert.equal(w3.conn, c1);
    assert.equal(budget.waiting, 0);
    assert.deepEqual(pool.stats(), { size: 1, idle: 0, busy: 1, pending: 0, opened: 1, reused: 2, failedConnects: 0 });
  });

  test('a connection closed frees its slot for the next waiter (a new connection)', async () => {
    const { pool, budget } = makePool({ budget: new LocalBudget(1) });
    const [c1] = await take(pool, 1);
    const w = new W();
    pool.acquire(w);
    pool.release(c1!, false); // not reusable: closed; its 'close' serves the queue
    const c2 = await w.got();
    assert.notEqual(c2, c1);
    assert.equal(c1!.isClosed, true);
    assert.equal(budget.used, 1);
    assert.equal(pool.stats().opened, 2);
  });
});

describe('release(): the reuse checklist', () => {
  /** A user that pauses on the first STDOUT (for a tail). */
  const quietUser = (pauseOn = ''): ConnectionUser => ({
    onStdout: (d) => d.toString() !== pauseOn,
    onStdoutEnd: () => {},
    onStderr: () => {},
    onEndRequest: () => {},
    onConnectionFailed: () => {},
    onWritable: () => {},
  });

  const cases: Array<[string, boolean, (m: Made, c: UpstreamConnection) => boolean]> = [
    ['reusable (END complete, keep-conn, STDIN sent)', true, () => true],
    ['the request said not reusable', false, () => false],
    [
      'the connection is unhealthy',
      false,
      (_m, c) => {
        c.healthy = false;
        return true;
      },
    ],
    [
      'the reader is mid-record',
      false,
      (_m, c) => {
        c.attach(quietUser(), 1, 30_000);
        c.onRead(3, Buffer.from([0x01, 0x06, 0x00]));
        return true;
      },
    ],
    [
      'a tail is held (paused)',
      false,
      (_m, c) => {
        c.attach(quietUser('a'), 1, 30_000);
        const b = Buffer.concat([stdout(1, 'a'), stdout(1, 'b')]);
        c.onRead(b.length, b);
        return true;
      },
    ],
    [
      'under FCGATE_CONN_MAX_REQUESTS',
      true,
      (_m, c) => {
        c.served = 1;
        return true;
      },
    ],
    [
      'at FCGATE_CONN_MAX_REQUESTS',
      false,
      (_m, c) => {
        c.served = 2;
        return true;
      },
    ],
    [
      'reuse off for the backend (probe or a kept connection never answered)',
      false,
      (m) => {
        m.budget.turnReuseOff();
        return true;
      },
    ],
    [
      'the pool is closing',
      false,
      (m) => {
        m.pool.close();
        return true;
      },
    ],
    [
      'the pool is winding down (reload)',
      false,
      (m) => {
        m.pool.windDown();
        return true;
      },
    ],
    [
      'requests of other pools wait for a slot',
      false,
      (m) => {
        m.budget.addWaiting(1);
        return true;
      },
    ],
  ];
  for (const [what, kept, arrange] of cases) {
    test(`${kept ? 'kept' : 'closed'}: ${what}`, async () => {
      const m = makePool({ limits: { maxRequestsPerConnection: 2 } });
      const [c] = await take(m.pool, 1);
      const reusable = arrange(m, c!);
      m.pool.release(c!, reusable);
      assert.equal(m.pool.busy, 0);
      assert.equal(m.pool.idleCount, kept ? 1 : 0);
      assert.equal(c!.isClosed, !kept);
      if (!kept) {
        await closed(c!);
        await until(() => m.budget.used === 0, 'the slot to come back');
      }
    });
  }

  test('kept: worker reuse off (disablereuse=on) closes every released connection', async () => {
    const { pool } = makePool({ worker: { reuse: false } });
    assert.equal(pool.keeps, false);
    const [c] = await take(pool, 1);
    pool.release(c!, true);
    assert.equal(c!.isClosed, true);
  });

  test('windDown: idle connections close now; busy ones still serve the queue, then close', async () => {
    const { pool } = makePool({ budget: new LocalBudget(2) });
    const [c1, c2] = await take(pool, 2);
    pool.release(c1!, true);
    assert.equal(pool.idleCount, 1);
    const w = new W();
    pool.acquire(w); // takes c1 back from idle
    assert.equal(w.conn, c1);
    const q = new W();
    pool.acquire(q);
    assert.equal(pool.pending, 1);
    pool.windDown();
    pool.release(c2!, true);
    assert.equal(q.conn, c2, 'the queued request is still served');
    pool.release(c1!, true);
    pool.release(c2!, true);
    assert.equal(pool.idleCount, 0);
    assert.equal(c1!.isClosed && c2!.isClosed, true);
  });
});

describe('idle connections', () => {
  test('LIFO: the most recently released is reused first; an unclean one is skipped and closed', async () => {
    const { pool } = makePool();
    const [c1, c2, c3] = await take(pool, 3);
    pool.release(c1!, true);
    pool.release(c2!, true);
    pool.release(c3!, true);
    const again = await take(pool, 1);
    assert.equal(again[0], c3);
    pool.release(c3!, true);
    c3!.healthy = false; // went bad while idle
    const next = await take(pool, 1);
    assert.equal(next[0], c2, 'c3 skipped');
    assert.equal(c3!.isClosed, true);
    assert.equal(pool.idleCount, 1);
    assert.equal(pool.stats().reused, 2);
  });

  test('ttl: the sweep closes connections idle for ttl, oldest first', async () => {
    mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_000_000 });
    try {
      const { pool } = makePool({ worker: { ttlMs: 1000 } }); // swept every 500 ms
      const [c1, c2] = await take(pool, 2);
      // Ticks end on the sweep's period: fake intervals fire at the end of a tick.
      pool.release(c1!, true); // t=0
      mock.timers.tick(250);
      pool.release(c2!, true); // t=250
      mock.timers.tick(250); // sweep at 500: nobody idle for 1000 ms
      assert.equal(pool.idleCount, 2);
      mock.timers.tick(500); // sweep at 1000: c1 idle 1000 ms, c2 750 ms
      assert.equal(c1!.isClosed, true);
      assert.equal(c2!.isClosed, false);
      assert.equal(pool.idleCount, 1);
      mock.timers.tick(500); // sweep at 1500: c2 idle 1250 ms
      assert.equal(c2!.isClosed, true);
      assert.equal(pool.idleCount, 0);
    } finally {
      mock.timers.reset();
    }
  });

  test('the app closing an idle connection: dropped quietly; bytes on it: dropped and logged', async () => {
    const { pool, logs } = makePool();
    const [c1, c2] = await take(pool, 2);
    pool.release(c1!, true);
    pool.release(c2!, true);
    // Which app socket is whose: match the ports.
    const find = (c: UpstreamConnection) => app.sockets.find((s) => s.remotePort === c.socket.localPort);
    await until(() => find(c1!) !== undefined && find(c2!) !== undefined, 'the app to accept both');
    const of = (c: UpstreamConnection) => find(c)!;
    of(c1!).end();
    await until(() => pool.idleCount === 1, 'the closed one to leave the idle list');
    assert.deepEqual(logs, [], 'an app closing its idle connections is ordinary');
    of(c2!).write('junk');
    await until(() => pool.idleCount === 0, 'the misbehaving one to leave the idle list');
    assert.deepEqual(logs, [`FCGATE_IDLE_LOST backend=${app.name} cause="4 unexpected bytes on an idle connection"`]);
  });
});

describe('the budget shared with other pools', () => {
  test('LocalBudget: a connection released while another pool waits is closed; the other pool gets the slot', async () => {
    const budget = new LocalBudget(1);
    const a = makePool({ budget });
    const b = makePool({ budget });
    const [c1] = await take(a.pool, 1);
    const w = new W();
    b.pool.acquire(w);
    assert.equal(budget.waiting, 1);
    a.pool.release(c1!, true);
    assert.equal(a.pool.idleCount, 0, 'not parked: its slot goes to the waiting pool');
    const c2 = await w.got();
    assert.notEqual(c2, c1);
    assert.equal(budget.waiting, 0);
    assert.equal(budget.used, 1);
  });

  test('LocalBudget: idle connections are closed when another pool starts waiting', async () => {
    const budget = new LocalBudget(2);
    const a = makePool({ budget });
    const b = makePool({ budget });
    const [c1, c2] = await take(a.pool, 2);
    a.pool.release(c1!, true);
    a.pool.release(c2!, true);
    assert.equal(a.pool.idleCount, 2);
    const w = new W();
    b.pool.acquire(w);
    await w.got();
    assert.equal(a.pool.idleCount, 1, 'one closed: one request waited');
    assert.equal(c1!.isClosed, true, 'the least recently used');
    assert.equal(budget.waiting, 0);
  });

  test("SharedBudget: the waiting count is per backend over all threads, and each thread's share is its own", async () => {
    const buffer = new SharedArrayBuffer(SharedBudget.bytes(1, 2));
    const t0 = new SharedBudget(buffer, 0, 1, 0, 2);
    const t1 = new SharedBudget(buffer, 0, 1, 1, 2);
    const a = makePool({ budget: t0 });
    const b = makePool({ budget: t1 });
    const [c1] = await take(a.pool, 1);
    const w = new W();
    b.pool.acquire(w);
    assert.equal(t0.waiting, 1, "thread 0 sees thread 1's waiting request");
    a.pool.release(c1!, true);
    await w.got();
    assert.equal(a.pool.idleCount, 0);
    assert.equal(t0.waiting + t1.waiting, 0);
    SharedBudget.reclaim(buffer, 0, 1, 2); // thread 1 died holding its connection
    assert.equal(t0.used, 0);
  });
});

describe('the stall watch (requests on new connections)', () => {
  const fresh = (tag: string): FreshRequest => ({ freshSince: Date.now(), stalled: false, tag });

  test(`no first byte within STALL_MS: counted as waiting, idle connections let go (logged once), released ones closed`, async () => {
    mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_000_000 });
    try {
      const { pool, budget, logs } = makePool();
      const [c1, c2, c3] = await take(pool, 3);
      pool.release(c1!, true);
      pool.release(c2!, true);
      const r = fresh('req=7 GET /slow');
      pool.watchFresh(r);
      mock.timers.tick(STALL_MS - 1);
      assert.equal(r.stalled, false);
      assert.equal(budget.waiting, 0);
      mock.timers.tick(STALL_MS / 2);
      assert.equal(r.stalled, true);
      assert.equal(budget.waiting, 1, 'wakes the pools of other threads');
      assert.equal(c1!.isClosed && c2!.isClosed, true, 'every idle connection let go (any may pin the worker)');
      assert.deepEqual(logs, [
        `FCGATE_IDLE_RELEASED backend=${app.name} req=7 GET /slow released=2 cause="a request on a new connection got no answer for ${STALL_MS} ms: idle kept connections may pin the app's workers (pm.max_children below max=)"`,
      ]);
      pool.release(c3!, true);
      assert.equal(c3!.isClosed, true, 'while it waits, released connections are closed');
      mock.timers.tick(5 * STALL_MS);
      assert.equal(logs.length, 1, 'logged once per stall');
      pool.unwatchFresh(r);
      assert.equal(r.stalled, false);
      assert.equal(budget.waiting, 0);
      pool.unwatchFresh(r); // twice: no double withdrawal
      assert.equal(budget.waiting, 0);
      const [c4] = await take(pool, 1);
      pool.release(c4!, true);
      assert.equal(c4!.isClosed, false, 'answered: connections are kept again');
    } finally {
      mock.timers.reset();
    }
  });

  test('answered in time: never counted; no idle connection: counted but nothing logged', async () => {
    mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_000_000 });
    try {
      const { pool, budget, logs } = makePool();
      const quick = fresh('req=1 GET /');
      pool.watchFresh(quick);
      mock.timers.tick(STALL_MS / 2);
      pool.unwatchFresh(quick);
      mock.timers.tick(3 * STALL_MS);
      assert.equal(quick.stalled, false);
      const slow = fresh('req=2 GET /');
      pool.watchFresh(slow);
      mock.timers.tick(2 * STALL_MS);
      assert.equal(budget.waiting, 1);
      assert.deepEqual(logs, []);
      pool.unwatchFresh(slow);
      assert.equal(budget.waiting, 0);
    } finally {
      mock.timers.reset();
    }
  });

  test('with reuse off nothing is watched: no connection is kept that could pin a worker', () => {
    mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_000_000 });
    try {
      const { pool, budget } = makePool({ worker: { reuse: false } });
      const r = fresh('req=3 GET /');
      pool.watchFresh(r);
      mock.timers.tick(3 * STALL_MS);
      assert.equal(r.stalled, false);
      assert.equal(budget.waiting, 0);
    } finally {
      mock.timers.reset();
    }
  });
});

describe('reuse turned off, reuse verified', () => {
  test('reuseNeverAnswered: reuse off for every pool of the backend, idle connections closed, logged once', async () => {
    const buffer = new SharedArrayBuffer(SharedBudget.bytes(1, 2));
    const a = makePool({ budget: new SharedBudget(buffer, 0, 4, 0, 2) });
    const b = makePool({ budget: new SharedBudget(buffer, 0, 4, 1, 2) });
    const [c1, c2] = await take(a.pool, 2);
    a.pool.release(c1!, true);
    a.pool.release(c2!, true);
    a.pool.reuseNeverAnswered('req=9 GET /x');
    assert.equal(a.pool.keeps, false);
    assert.equal(b.pool.keeps, false, 'one verdict for all threads');
    assert.equal(a.pool.idleCount, 0);
    assert.equal(c1!.isClosed && c2!.isClosed, true);
    assert.deepEqual(a.logs, [
      `FCGATE_REUSE_OFF backend=${app.name} req=9 GET /x cause="a kept connection never answered its next request: connections are not kept from now on (disablereuse=on says so in the configuration)"`,
    ]);
    b.pool.reuseNeverAnswered('req=10 GET /y');
    a.pool.reuseNeverAnswered('req=11 GET /z');
    assert.equal(a.logs.length + b.logs.length, 1, 'logged once');
    const [c3] = await take(b.pool, 1);
    b.pool.release(c3!, true);
    assert.equal(c3!.isClosed, true, 'released connections are not kept any more');
  });

  test('once a reused connection was answered, reuseNeverAnswered changes nothing', async () => {
    const budget = new LocalBudget(4);
    const a = makePool({ budget });
    const b = makePool({ budget });
    b.pool.reuseAnswered();
    b.pool.reuseAnswered();
    assert.equal(budget.reuseVerified, true);
    a.pool.reuseNeverAnswered('req=1 GET /');
    assert.equal(a.pool.keeps, true);
    assert.deepEqual(a.logs, []);
  });
});

describe('connecting', () => {
  test('nothing listening: FCGATE_CONNECT_FAILED for each waiter in turn; the slot is given back', async () => {
    const gone = await RawApp.start();
    await gone.close();
    const logs: string[] = [];
    const observer = new Observer();
    const budget = new LocalBudget(1);
    const pool = new Pool(
      workerFor(gone.address, gone.name),
      budget,
      { queueLimit: 4, maxRequestsPerConnection: 0, retryAfterSeconds: 1, log: (l) => logs.push(l) },
      observer,
    );
    pools.push(pool);
    const [w1, w2] = [new W(), new W()];
    pool.acquire(w1); // connecting
    pool.acquire(w2); // queued behind it (cap 1)
    assert.equal(pool.pending, 1);
    const e1 = await w1.failed();
    assert.equal(e1.code, 'FCGATE_CONNECT_FAILED');
    assert.equal(e1.backend, gone.name);
    assert.match(e1.message, /ECONNREFUSED/);
    const e2 = await w2.failed();
    assert.equal(e2.code, 'FCGATE_CONNECT_FAILED', 'the queued one got its own attempt');
    assert.equal(budget.used, 0);
    assert.equal(pool.size, 0);
    assert.equal(pool.stats().failedConnects, 2);
    assert.deepEqual(observer.events, ['connected ok=false timedOut=false', 'connected ok=false timedOut=false']);
  });

  test('connect timeout: FCGATE_CONNECT_TIMEOUT with the time waited', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const { pool, budget, observer } = makePool({ worker: { connectTimeoutMs: 200 } });
      const w = new W();
      pool.acquire(w);
      mock.timers.tick(200); // before the event loop could see the connect
      assert.equal(w.err?.code, 'FCGATE_CONNECT_TIMEOUT');
      assert.equal(w.err?.message, 'connect timed out after 200 ms');
      assert.equal(w.err?.status, 504);
      assert.equal(budget.used, 0);
      assert.deepEqual(observer.events, ['connected ok=false timedOut=true']);
    } finally {
      mock.timers.reset();
    }
  });

  test('a waiter cancelled while its connection opens: no call; the connection is parked idle', async () => {
    const { pool, observer } = makePool();
    const w = new W();
    pool.acquire(w);
    pool.cancel(w);
    await until(() => pool.idleCount === 1, 'the new connection to be parked');
    assert.equal(w.calls, 0);
    assert.equal(pool.busy, 0);
    assert.deepEqual(observer.events, ['connected ok=true timedOut=false']);
  });

  test('the pool closed while a connection opens: the waiter is told (nothing waits forever)', async () => {
    const { pool } = makePool();
    const w = new W();
    pool.acquire(w);
    pool.close();
    await until(() => pool.size === 0 || w.calls > 0, 'the connect to finish', 2000);
    await until(() => w.calls > 0, 'the waiter to be answered', 500);
    assert.equal(w.err?.code, 'FCGATE_SHUTTING_DOWN');
  });
});
