// mux-connection.ts: one socket carrying several requests (issue 15 §1). The app's bytes
// reach the connection through onRead() (the shared read buffer's path, overwritten after
// each call), over a real loopback socket to the raw app (for pause, writes and close).
// Covered: ids (in use and recently ended ones skipped, wrap at 65535), routing by id with
// one cork per run of records, every split of the byte stream, a slow request's bytes held
// (copies) with its END_REQUEST behind them, the pause past the hold limit, ABORT_REQUEST and
// the late records after it, stray records after a clean end, a protocol error and a close
// failing every request (a whole response held for a slow client survives), writes of one
// turn in one send, 'drain' only to those that asked, and the per-request timeout.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import fc from 'fast-check';
import { ProtocolStatus, RecordType } from '../../src/protocol/constants.js';
import { frameCopy } from '../../src/protocol/stream-writer.js';
import type { ConnectionUser, FailKind } from '../../src/upstream/connection.js';
import { MuxConnection, type MuxStream } from '../../src/upstream/mux-connection.js';
import { RawApp, Received, endRequest, stderr, stdout, stdoutEnd, until } from './raw-app.js';

let app: RawApp;
before(async () => {
  app = await RawApp.start();
});
after(async () => {
  await app.close();
});

class User implements ConnectionUser {
  events: string[] = [];
  corks = 0;
  inCork = false;
  answer: () => boolean = () => true;
  onStdout(data: Buffer): boolean {
    this.events.push(`stdout ${data.toString('latin1')}${this.inCork ? '' : ' (uncorked)'}`);
    return this.answer();
  }
  onStdoutEnd(): void {
    this.events.push('stdout-end');
  }
  onStderr(data: Buffer): void {
    this.events.push(`stderr ${data.toString('latin1')}`);
  }
  onEndRequest(appStatus: number, protocolStatus: number, clean: boolean): void {
    this.events.push(`end app=${appStatus} protocol=${protocolStatus} clean=${clean}`);
  }
  corked(fn: () => void): void {
    this.corks++;
    this.inCork = true;
    fn();
    this.inCork = false;
  }
  onConnectionFailed(kind: FailKind, detail: string): void {
    this.events.push(`failed kind=${kind} ${detail}`);
  }
  onWritable(): void {
    this.events.push('writable');
  }
  /** The STDOUT text received, joined. */
  get text(): string {
    return this.events
      .filter((e) => e.startsWith('stdout '))
      .map((e) => e.slice(7).replace(/ \(uncorked\)$/, ''))
      .join('');
  }
}

interface Setup {
  conn: MuxConnection;
  seen: Received;
  freed: number;
  held: number[];
  close(): void;
}

async function setup(opts: { limit?: number; hold?: number } = {}): Promise<Setup> {
  const a = app.address as { host: string; port: number };
  const socket = connect({ host: a.host, port: a.port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const conn = new MuxConnection(socket, app.name, opts.limit ?? 64, opts.hold ?? 1024 * 1024, true);
  const appSide = await app.next();
  const s: Setup = {
    conn,
    seen: new Received(appSide),
    freed: 0,
    held: [],
    close: () => {
      conn.destroy();
      appSide.destroy();
    },
  };
  conn.onFree = () => s.freed++;
  conn.onHeld = (_c, bytes) => s.held.push(bytes);
  return s;
}

/** Opens a stream with a user attached (the exchange's order: nextRequestId, attach). */
function start(conn: MuxConnection, timeoutMs = 30_000): { s: MuxStream; u: User } {
  const s = conn.open();
  const u = new User();
  s.attach(u, s.nextRequestId(), timeoutMs);
  return { s, u };
}

function read(conn: MuxConnection, ...parts: Buffer[]): void {
  const buf = Buffer.concat(parts);
  conn.onRead(buf.length, buf);
  buf.fill(0x55); // the shared buffer is reused: nothing may keep a view of it
}

const END = 'end app=0 protocol=0 clean=true';

describe('ids', () => {
  test('1, 2, 3…; an id in flight or recently ended is never handed out again', async () => {
    const t = await setup();
    try {
      const a = t.conn.open();
      const b = t.conn.open();
      const c = t.conn.open();
      assert.deepEqual([a.id, b.id, c.id], [1, 2, 3]);
      t.conn.release(b); // nothing was sent for it: freed at once
      assert.equal(t.freed, 1);
      assert.equal(t.conn.open().id, 4, 'not 2: records the app may still write for it stay recognisable');
      assert.equal(t.conn.streams.size, 3);
    } finally {
      t.close();
    }
  });

  test('ids wrap after 65535, skipping those still in flight', async () => {
    const t = await setup();
    try {
      const keep = t.conn.open(); // id 1 stays in flight
      for (let i = 2; i <= 0xffff; i++) {
        const s = t.conn.open();
        assert.equal(s.id, i);
        t.conn.release(s);
      }
      // 1 is in flight; 2…(65535-1024) have left the retired list.
      assert.equal(t.conn.open().id, 2);
      assert.equal(keep.id, 1);
    } finally {
      t.close();
    }
  });

  test('hasRoom: up to the limit of requests in flight', async () => {
    const t = await setup({ limit: 2 });
    try {
      t.conn.open();
      assert.equal(t.conn.hasRoom, true);
      t.conn.open();
      assert.equal(t.conn.hasRoom, false);
    } finally {
      t.close();
    }
  });
});

describe('reading', () => {
  test('records reach their request by id; each run of one id is delivered under one cork', async () => {
    const t = await setup();
    try {
      const one = start(t.conn);
      const two = start(t.conn);
      read(
        t.conn,
        stdout(1, 'Status: 200\r\n\r\na'),
        stdout(1, 'b'),
        stdout(2, 'x'),
        stderr(2, 'warn'),
        stdout(1, 'c'),
        stdoutEnd(1),
        endRequest(1),
        stdoutEnd(2),
        endRequest(2, 0, 7),
      );
      assert.deepEqual(one.u.events, ['stdout Status: 200\r\n\r\na', 'stdout b', 'stdout c', END]);
      assert.deepEqual(two.u.events, ['stdout x', 'stderr warn', 'end app=7 protocol=0 clean=true']);
      assert.equal(one.u.corks, 2, 'runs [1 1] and [1 END]');
      assert.equal(two.u.corks, 2, 'runs [2 2] and [2 END]');
      assert.equal(t.conn.served, 2);
      assert.equal(t.conn.healthy, true);
    } finally {
      t.close();
    }
  });

  test('every split of the stream in two and three reads gives each request the same calls', async () => {
    const t = await setup();
    try {
      const framed = (a: number, b: number): Buffer =>
        Buffer.concat([
          stdout(a, 'head\r\n\r\n'),
          stdout(b, 'zz'),
          stdout(a, 'body-one'),
          stderr(a, 'e'),
          stdout(b, 'body-two'),
          endRequest(b),
          stdoutEnd(a),
          endRequest(a),
        ]);
      /** A record cut by a read arrives in pieces: consecutive STDOUT (STDERR) pieces are joined. */
      const joined = (events: string[]): string[] => {
        const out: string[] = [];
        for (const e of events.map((x) => x.replace(/ \(uncorked\)$/, ''))) {
          const last = out.at(-1);
          const kind = e.slice(0, 7);
          if ((kind === 'stdout ' || kind === 'stderr ') && last?.startsWith(kind))
            out[out.length - 1] = last + e.slice(7);
          else out.push(e);
        }
        return out;
      };
      const want = [
        joined(['stdout head\r\n\r\n', 'stdout body-one', 'stderr e', END]),
        joined(['stdout zz', 'stdout body-two', END]),
      ];
      const length = framed(1, 2).length;
      const check = (cuts: number[]): void => {
        const one = start(t.conn);
        const two = start(t.conn);
        const b = framed(one.s.id, two.s.id);
        let from = 0;
        for (const c of [...cuts, b.length]) {
          if (c > from) read(t.conn, b.subarray(from, c));
          from = c;
        }
        assert.deepEqual([joined(one.u.events), joined(two.u.events)], want, `cuts ${cuts.join(',')}`);
        t.conn.release(one.s);
        t.conn.release(two.s);
        assert.equal(t.conn.streams.size, 0);
      };
      for (let i = 0; i <= length; i++) check([i]);
      fc.assert(
        fc.property(fc.integer({ min: 0, max: length }), fc.integer({ min: 0, max: length }), (x, y) => {
          check([Math.min(x, y), Math.max(x, y)]);
        }),
        { numRuns: 300 },
      );
      assert.equal(t.conn.healthy, true);
    } finally {
      t.close();
    }
  });
});

describe('a slow client', () => {
  test('its records are held (copies) behind the first refusal, the END behind them; resume delivers them', async () => {
    const t = await setup();
    try {
      const slow = start(t.conn);
      const fast = start(t.conn);
      slow.u.answer = () => false;
      read(t.conn, stdout(1, 'a'), stdout(2, 'x'), stdout(1, 'b'), stdout(1, 'c'), endRequest(1), endRequest(2));
      assert.deepEqual(slow.u.events, ['stdout a']);
      assert.deepEqual(fast.u.events, ['stdout x', END], 'the other request is not held up');
      assert.equal(slow.s.heldBytes, 2);
      slow.u.answer = () => true;
      slow.s.resume();
      assert.deepEqual(
        slow.u.events.map((e) => e.replace(/ \(uncorked\)$/, '')),
        ['stdout a', 'stdout b', 'stdout c', END],
        'in order, intact although the read buffer was overwritten',
      );
    } finally {
      t.close();
    }
  });

  test('past the hold limit the connection stops reading (told once) and takes no new request; it reads on when the client catches up', async () => {
    const t = await setup({ hold: 1000 });
    try {
      const slow = start(t.conn);
      slow.u.answer = () => false;
      read(t.conn, stdout(1, 'first'));
      read(t.conn, stdout(1, Buffer.alloc(600, 'a')));
      assert.equal(t.conn.isPaused, false);
      read(t.conn, stdout(1, Buffer.alloc(600, 'b')));
      assert.equal(t.conn.isPaused, true);
      assert.deepEqual(t.held, [1200]);
      assert.equal(t.conn.hasRoom, false);
      const freedBefore = t.freed;
      slow.u.answer = () => true;
      slow.s.resume();
      assert.equal(t.conn.isPaused, false);
      assert.equal(t.conn.hasRoom, true);
      assert.equal(t.freed, freedBefore + 1, 'the pool hears there is room again');
      assert.equal(slow.u.text, `first${'a'.repeat(600)}${'b'.repeat(600)}`);
    } finally {
      t.close();
    }
  });
});

describe('abort', () => {
  test('ABORT_REQUEST for the id; late records for it are dropped; its END_REQUEST frees the id; the connection stays healthy', async () => {
    const t = await setup();
    try {
      const a = start(t.conn);
      const b = start(t.conn);
      a.s.write(frameCopy(RecordType.Stdin, a.s.id, Buffer.from('body'), true));
      a.s.destroy();
      t.conn.release(a.s);
      await until(() => t.seen.records()?.some((r) => r.type === RecordType.AbortRequest) === true, 'ABORT_REQUEST');
      const abort = t.seen.records()!.find((r) => r.type === RecordType.AbortRequest)!;
      assert.equal(abort.id, 1);
      assert.equal(t.conn.streams.size, 2, 'id 1 stays taken until the app answers the abort');
      read(t.conn, stdout(1, 'late'), stdout(2, 'ok'), endRequest(1));
      assert.deepEqual(a.u.events, [], 'the aborted request hears nothing');
      assert.deepEqual(b.u.events, ['stdout ok']);
      assert.equal(t.conn.streams.size, 1);
      read(t.conn, stdout(1, 'later still'), endRequest(2));
      assert.equal(t.conn.healthy, true, "records after an abort's end are expected (Go writes on)");
      assert.equal(t.conn.strayBytes, 0);
      assert.equal(t.conn.served, 1);
    } finally {
      t.close();
    }
  });

  test('a request that sent nothing is not aborted: its id is freed at once', async () => {
    const t = await setup();
    try {
      const a = start(t.conn);
      a.s.destroy();
      assert.equal(t.conn.streams.size, 0);
      await new Promise((r) => setImmediate(r));
      assert.equal(t.seen.bytes.length, 0);
    } finally {
      t.close();
    }
  });
});

describe('an app out of step', () => {
  test('records after a clean END_REQUEST: dropped, counted, no new request goes to the connection', async () => {
    const t = await setup();
    try {
      const a = start(t.conn);
      read(t.conn, stdout(1, 'Status: 200\r\n\r\n'), endRequest(1));
      t.conn.release(a.s);
      read(t.conn, stdout(1, 'stray'));
      assert.equal(t.conn.healthy, false);
      assert.equal(t.conn.strayBytes, 8 + 5);
      assert.equal(t.conn.hasRoom, false);
    } finally {
      t.close();
    }
  });

  test('a record for an id never opened: a protocol error fails every request on the connection', async () => {
    const t = await setup();
    try {
      const a = start(t.conn);
      const b = start(t.conn);
      read(t.conn, stdout(9, 'who'));
      assert.match(a.u.events.join('|'), /^failed kind=3 .*unknown request 9/);
      assert.match(b.u.events.join('|'), /^failed kind=3 /);
      assert.equal(t.conn.isClosed, true);
      assert.equal(t.conn.streams.size, 0);
    } finally {
      t.close();
    }
  });

  test('the app closes: every request fails once, except a whole response held for a slow client, which drains', async () => {
    const t = await setup();
    try {
      const slow = start(t.conn);
      const open = start(t.conn);
      slow.u.answer = () => false;
      read(t.conn, stdout(1, 'a'), stdout(1, 'b'), endRequest(1), stdout(2, 'half'));
      t.seen.socket.destroy();
      await until(() => open.u.events.some((e) => e.startsWith('failed')), 'the failure');
      assert.deepEqual(
        open.u.events.filter((e) => e.startsWith('failed')).length,
        1,
        'failed once although error, end and close all come',
      );
      assert.deepEqual(slow.u.events, ['stdout a']);
      slow.u.answer = () => true;
      slow.s.resume();
      assert.deepEqual(
        slow.u.events.map((e) => e.replace(/ \(uncorked\)$/, '')),
        ['stdout a', 'stdout b', END],
      );
    } finally {
      t.close();
    }
  });
});

describe('writing', () => {
  test("the records of many requests written in one turn leave in one send; 'drain' reaches only those that asked", async () => {
    const t = await setup();
    try {
      const users = Array.from({ length: 20 }, () => start(t.conn));
      for (const { s } of users) s.write(frameCopy(RecordType.Stdin, s.id, Buffer.from(`req ${s.id}`), true));
      await until(() => (t.seen.records()?.length ?? 0) === 40, 'the 40 records');
      const chunks = (t.seen as unknown as { parts: Buffer[] }).parts.length;
      assert.equal(chunks, 1, 'one send, one read on the app side');
      const big = start(t.conn);
      const ok = big.s.write(Buffer.alloc(4 * 1024 * 1024));
      assert.equal(ok, false);
      await until(() => big.u.events.includes('writable'), "'drain'", 10_000);
      for (const { u } of users) assert.deepEqual(u.events, []);
    } finally {
      t.close();
    }
  });
});

describe('timeouts', () => {
  test('a silent request fails alone; one that gets records, or is held for its client, does not', async () => {
    const t = await setup();
    try {
      const silent = start(t.conn, 200);
      const busy = start(t.conn, 200);
      const held = start(t.conn, 200);
      held.u.answer = () => false;
      read(t.conn, stdout(held.s.id, 'x'), stdout(held.s.id, 'y'));
      const t0 = Date.now();
      while (Date.now() - t0 < 600) {
        read(t.conn, stdout(busy.s.id, '.'));
        await new Promise((r) => setTimeout(r, 40));
      }
      assert.deepEqual(silent.u.events, [`failed kind=2 no data for 200 ms`]);
      assert.ok(!busy.u.events.some((e) => e.startsWith('failed')));
      assert.ok(!held.u.events.some((e) => e.startsWith('failed')));
      assert.equal(t.conn.isClosed, false, 'the connection stays');
      assert.equal(ProtocolStatus.RequestComplete, 0);
    } finally {
      t.close();
    }
  });
});
