// connection.ts: one socket to a FastCGI app. Most tests hand the app's bytes to the
// connection through onRead() (the path of openConnection's shared read buffer), so each
// read is exactly the bytes the test chose; the socket behind it is a real loopback one
// (for pause, timeouts, reset and close). Covered: pause/resume with a tail kept across
// reads, END_REQUEST delivered once past its padding, records after END_REQUEST (clean
// false), bytes and FIN on an idle connection, the read timeout only while a request is
// attached and not paused, destroy() as a reset with a request in flight and a close when
// idle, the request id sequence, and the shared read buffer's views.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProtocolStatus } from '../../src/protocol/constants.js';
import {
  type FailKind,
  UpstreamConnection,
  openConnection,
  type ConnectionUser,
} from '../../src/upstream/connection.js';
import { RawApp, Received, endRequest, stderr, stdout, stdoutEnd, until } from './raw-app.js';

let app: RawApp;
before(async () => {
  app = await RawApp.start();
});
after(async () => {
  await app.close();
});

/** Records what the connection tells its request; `answer` decides each onStdout's return. */
class User implements ConnectionUser {
  events: string[] = [];
  /** ArrayBuffers the STDOUT views pointed into. */
  stdoutBuffers: ArrayBufferLike[] = [];
  corks = 0;
  answer: (text: string) => boolean = () => true;
  constructor(private readonly conn: () => UpstreamConnection) {}
  onStdout(data: Buffer): boolean {
    this.stdoutBuffers.push(data.buffer);
    const text = data.toString('latin1');
    this.events.push(`stdout ${text}`);
    return this.answer(text);
  }
  onStdoutEnd(): void {
    this.events.push('stdout-end');
  }
  onStderr(data: Buffer): void {
    this.events.push(`stderr ${data.toString('latin1')}`);
  }
  onEndRequest(appStatus: number, protocolStatus: number, clean: boolean): void {
    // conn.clean is what the pool's reuse check reads from inside this call.
    this.events.push(`end app=${appStatus} protocol=${protocolStatus} clean=${clean} conn.clean=${this.conn().clean}`);
  }
  corked(fn: () => void): void {
    this.corks++;
    fn();
  }
  onConnectionFailed(kind: FailKind, detail: string): void {
    this.events.push(`failed kind=${kind} ${detail}`);
  }
  onWritable(): void {
    this.events.push('writable');
  }
  take(): string[] {
    const e = this.events;
    this.events = [];
    return e;
  }
}

interface Pair {
  conn: UpstreamConnection;
  user: User;
  app: Socket;
  seen: Received;
}

/**
 * A connection whose reads come only from the test (conn.onRead), as with sharedReads, over a
 * real socket to the raw app; a user attached as request `id` unless `attach` is false.
 */
async function pair(opts: { attach?: boolean; id?: number; timeoutMs?: number } = {}): Promise<Pair> {
  const a = app.address as { host: string; port: number };
  const socket = connect({ host: a.host, port: a.port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const conn = new UpstreamConnection(socket, app.name, true);
  const appSide = await app.next();
  const user = new User(() => conn);
  if (opts.attach !== false) conn.attach(user, opts.id ?? 1, opts.timeoutMs ?? 30_000);
  return { conn, user, app: appSide, seen: new Received(appSide) };
}

/** One read from the app: the bytes, in a buffer that is overwritten after the call (as the shared one is). */
function read(conn: UpstreamConnection, ...parts: Buffer[]): void {
  const buf = Buffer.concat(parts);
  conn.onRead(buf.length, buf);
  buf.fill(0x55);
}

const cat = (...parts: Buffer[]): Buffer => Buffer.concat(parts);

describe('reading records', () => {
  test('one read: STDOUT, STDERR, the empty STDOUT and END_REQUEST, all under one cork', async () => {
    const { conn, user } = await pair();
    try {
      read(
        conn,
        stdout(1, 'Status: 200\r\n\r\nhi'),
        stderr(1, 'warn'),
        stderr(1, ''),
        stdoutEnd(1),
        endRequest(1, 0, 7),
      );
      assert.deepEqual(user.take(), [
        'stdout Status: 200\r\n\r\nhi',
        'stderr warn',
        'stdout-end',
        'end app=7 protocol=0 clean=true conn.clean=true',
      ]);
      assert.equal(user.corks, 1, 'one read: one corked call');
      assert.equal(conn.served, 1);
      assert.equal(conn.healthy, true);
    } finally {
      conn.destroy();
    }
  });

  test('END_REQUEST is delivered only once its padding is read (padding split across reads)', async () => {
    const { conn, user } = await pair();
    try {
      // END_REQUEST by hand with 5 bytes of padding: the reader is past the record only after them.
      const end = Buffer.from([
        0x01,
        0x03,
        0x00,
        0x01,
        0x00,
        0x08,
        0x05,
        0x00, // v1 END_REQUEST id=1 len=8 pad=5
        0x00,
        0x00,
        0x00,
        0x00,
        0x00,
        0x00,
        0x00,
        0x00, // appStatus 0, REQUEST_COMPLETE, reserved
        0x00,
        0x00,
        0x00,
        0x00,
        0x00, // padding
      ]);
      read(conn, stdout(1, 'x'), end.subarray(0, 18));
      assert.deepEqual(user.take(), ['stdout x'], 'two padding bytes of five: not yet');
      assert.equal(conn.clean, false, 'mid-record');
      read(conn, end.subarray(18, 20));
      assert.deepEqual(user.take(), []);
      read(conn, end.subarray(20));
      assert.deepEqual(user.take(), ['end app=0 protocol=0 clean=true conn.clean=true']);
    } finally {
      conn.destroy();
    }
  });

  test('records after END_REQUEST in the same read: the end is delivered not clean, the connection closed (issue 8 §3)', async () => {
    const { conn, user } = await pair();
    read(conn, stdout(1, 'a'), endRequest(1), stdout(1, 'late'));
    assert.deepEqual(user.take(), ['stdout a', 'end app=0 protocol=0 clean=false conn.clean=false']);
    assert.equal(conn.isClosed, true);
    assert.equal(conn.healthy, false);
  });

  test('a record after END_REQUEST arriving only in part: the end is held until the rest or the read timeout', async () => {
    const { conn, user } = await pair();
    try {
      read(conn, stdout(1, 'a'), endRequest(1), Buffer.from([0x01, 0x06, 0x00])); // 3 bytes of a STDOUT header
      assert.deepEqual(
        user.take(),
        ['stdout a', 'end app=0 protocol=0 clean=false conn.clean=false'],
        'the request is complete at END_REQUEST; what follows can only make the connection unusable',
      );
    } finally {
      conn.destroy();
    }
  });

  test('the request id sequence: 1, then 2, …, wrapping after 65535; records of the previous id are dropped, an older id is a protocol error', async () => {
    const { conn, user } = await pair();
    try {
      assert.equal(conn.nextRequestId(), 1);
      read(conn, stdout(1, 'one'), endRequest(1));
      conn.detach();
      assert.equal(conn.nextRequestId(), 2);
      conn.attach(user, 2, 30_000);
      read(conn, stdout(2, 'two'), endRequest(2));
      assert.deepEqual(user.take(), [
        'stdout one',
        'end app=0 protocol=0 clean=true conn.clean=true',
        'stdout two',
        'end app=0 protocol=0 clean=true conn.clean=true',
      ]);
      conn.detach();
      assert.equal(conn.nextRequestId(), 3);
      conn.attach(user, 3, 30_000);
      // The previous request's id (written after its END_REQUEST): dropped and counted, the
      // connection is no longer fit for reuse; an older id is a protocol error.
      read(conn, stdout(2, 'stale'));
      assert.deepEqual(user.take(), []);
      assert.equal(conn.lateBytes, 8 + 5);
      assert.equal(conn.clean, false);
      read(conn, stdout(1, 'older'));
      assert.deepEqual(user.take(), ['failed kind=3 FCGI_UNKNOWN_REQUEST: type 6 for unknown request 1']);
      assert.equal(conn.isClosed, true);
    } finally {
      conn.destroy();
    }
    const c = { served: 0 } as UpstreamConnection;
    const next = UpstreamConnection.prototype.nextRequestId;
    for (const [served, id] of [
      [0, 1],
      [1, 2],
      [65533, 65534],
      [65534, 65535],
      [65535, 1],
      [65536, 2],
    ] as const) {
      c.served = served;
      assert.equal(next.call(c), id, `served=${served}`);
    }
  });

  test('STDOUT after the empty STDOUT record is dropped and the connection not reused; a bad protocol status too', async () => {
    const a = await pair();
    try {
      read(a.conn, stdout(1, 'a'), stdoutEnd(1), stdout(1, 'b'), endRequest(1));
      assert.deepEqual(a.user.take(), ['stdout a', 'stdout-end', 'end app=0 protocol=0 clean=true conn.clean=false']);
    } finally {
      a.conn.destroy();
    }
    const b = await pair();
    try {
      read(b.conn, endRequest(1, ProtocolStatus.Overloaded));
      assert.deepEqual(b.user.take(), ['end app=0 protocol=2 clean=true conn.clean=false']);
    } finally {
      b.conn.destroy();
    }
  });

  test('a management record from the app makes the connection unfit for reuse', async () => {
    const { conn, user } = await pair();
    try {
      // GET_VALUES_RESULT with no content, by hand: v1 type=10 id=0 len=0 pad=0.
      read(conn, Buffer.from([0x01, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]), stdout(1, 'a'), endRequest(1));
      assert.deepEqual(user.take(), ['stdout a', 'end app=0 protocol=0 clean=true conn.clean=false']);
    } finally {
      conn.destroy();
    }
  });
});

describe('pause and resume', () => {
  test('the sink stops on a record mid-read: the rest is kept as a copy and read on resume()', async () => {
    const { conn, user } = await pair();
    try {
      user.answer = (t) => t !== 'a';
      read(conn, stdout(1, 'a'), stdout(1, 'b'), endRequest(1));
      assert.deepEqual(user.take(), ['stdout a']);
      assert.equal(conn.socket.isPaused(), true);
      assert.equal(conn.clean, false, 'a tail is held');
      conn.resume();
      assert.deepEqual(
        user.take(),
        ['stdout b', 'end app=0 protocol=0 clean=true conn.clean=true'],
        'the tail survived the read buffer being overwritten',
      );
      assert.equal(conn.socket.isPaused(), false);
    } finally {
      conn.destroy();
    }
  });

  test('the sink stops on the last record of a read: paused; a later read joins the tail, in order', async () => {
    const { conn, user } = await pair();
    try {
      user.answer = (t) => t !== 'a' && t !== 'c';
      read(conn, stdout(1, 'a'));
      assert.deepEqual(user.take(), ['stdout a']);
      assert.equal(conn.socket.isPaused(), true, 'paused although the read was used up');
      read(conn, stdout(1, 'b')); // Node may still emit a read after pause()
      read(conn, stdout(1, 'c'), stdout(1, 'd'));
      assert.deepEqual(user.take(), [], 'nothing reaches a paused sink');
      conn.resume();
      assert.deepEqual(user.take(), ['stdout b', 'stdout c'], 'stops again on c');
      assert.equal(conn.socket.isPaused(), true);
      read(conn, endRequest(1));
      conn.resume();
      assert.deepEqual(user.take(), ['stdout d', 'end app=0 protocol=0 clean=true conn.clean=true']);
    } finally {
      conn.destroy();
    }
  });

  test('pause() and resume() are idempotent; resume() after close does nothing', async () => {
    const { conn, user } = await pair();
    conn.resume();
    conn.pause();
    conn.pause();
    assert.equal(conn.socket.isPaused(), true);
    conn.destroy();
    conn.resume();
    assert.deepEqual(user.take(), []);
  });
});

describe('the read timeout', () => {
  test('armed while a request is attached, off while paused, kept between requests', async () => {
    const { conn, user } = await pair({ timeoutMs: 4000 });
    try {
      assert.equal(conn.socket.timeout, 4000);
      conn.pause();
      assert.equal(conn.socket.timeout, 0, "paused: the wait is the client's");
      conn.socket.emit('timeout');
      assert.deepEqual(user.take(), [], 'a timeout while paused is ignored');
      conn.resume();
      assert.equal(conn.socket.timeout, 4000);
      read(conn, stdout(1, 'a'), endRequest(1));
      conn.detach();
      assert.equal(conn.socket.timeout, 4000, 'left armed between requests (no new timer per request)');
      conn.socket.emit('timeout');
      assert.equal(conn.isClosed, false, 'a timeout while idle is ignored');
      user.take();
    } finally {
      conn.destroy();
    }
  });

  test('no byte within the timeout: onConnectionFailed(Timeout) once, and the socket is reset', async () => {
    const { conn, user, seen } = await pair({ timeoutMs: 30 });
    await until(() => user.events.length > 0, 'the read timeout');
    assert.deepEqual(user.take(), ['failed kind=2 no data for 30 ms']);
    await until(() => seen.gone, 'the app side to close');
    assert.equal(seen.error, 'ECONNRESET', 'a reset: the app must not take a half request for a whole one');
    assert.deepEqual(user.take(), [], 'once');
    assert.equal(conn.isClosed, true);
  });
});

describe('closing', () => {
  test('destroy() with a request in flight is a reset; idle, a plain close (FIN)', async () => {
    const busy = await pair();
    busy.conn.destroy();
    busy.conn.detach();
    await until(() => busy.seen.gone, 'the busy connection to close');
    assert.equal(busy.seen.error, 'ECONNRESET');

    const idle = await pair({ attach: false });
    idle.conn.destroy();
    await until(() => idle.seen.gone, 'the idle connection to close');
    assert.equal(idle.seen.error, null);
    assert.equal(idle.seen.ended, true, 'FIN');
    assert.equal(idle.conn.healthy, false);
    idle.conn.destroy(); // idempotent
  });

  test('a unix socket with a request in flight is closed plainly (no reset there)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fcgate-conn-'));
    const unixApp = await RawApp.start(join(dir, 'app.sock'));
    try {
      const conn = await new Promise<UpstreamConnection>((resolve, reject) => {
        openConnection(unixApp.address, unixApp.name, 2000, (err, c) => (c !== null ? resolve(c) : reject(err)));
      });
      const seen = new Received(await unixApp.next());
      const user = new User(() => conn);
      conn.attach(user, 1, 30_000);
      conn.destroy();
      await until(() => seen.gone, 'the unix connection to close');
      assert.equal(seen.ended, true);
      assert.equal(seen.error, null);
      await until(() => user.events.length > 0, 'the close to reach the request');
      assert.deepEqual(user.take(), ['failed kind=0 connection closed'], 'a request still attached hears of it once');
    } finally {
      await unixApp.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the app closing during a request: onConnectionFailed(Closed) once', async () => {
    const { conn, user, app: appSide } = await pair();
    // Reads come through onRead only; the socket's own 'end' still arrives.
    conn.socket.resume();
    appSide.end();
    await until(() => conn.isClosed, 'the connection to close');
    await until(() => conn.socket.destroyed && user.events.length > 0, 'the failure');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(user.take(), ['failed kind=0 the application closed the connection']);
  });

  test('the app resetting during a request: onConnectionFailed(SocketError)', async () => {
    const { conn, user, app: appSide } = await pair();
    conn.socket.resume();
    appSide.resetAndDestroy();
    await until(() => user.events.length > 0, 'the failure');
    assert.deepEqual(user.take(), ['failed kind=1 read ECONNRESET']);
    assert.equal(conn.isClosed, true);
  });
});

describe('an idle connection (no request attached)', () => {
  test('bytes from the app: onIdleLost with the detail; the connection is closed', async () => {
    const { conn, user } = await pair();
    read(conn, stdout(1, 'a'), endRequest(1));
    conn.detach();
    const lost: string[] = [];
    conn.onIdleLost = (c, detail) => {
      assert.equal(c, conn);
      lost.push(detail);
    };
    read(conn, Buffer.from('junk!'));
    assert.deepEqual(lost, ['5 unexpected bytes on an idle connection']);
    assert.equal(conn.isClosed, true);
    await until(() => conn.socket.destroyed, 'the socket to close');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(lost.length, 1, 'the close that follows is not reported again');
    assert.deepEqual(user.take(), ['stdout a', 'end app=0 protocol=0 clean=true conn.clean=true']);
  });

  test('the app closing it: onIdleLost once, with "the application closed the connection"', async () => {
    const conn = await new Promise<UpstreamConnection>((resolve, reject) => {
      openConnection(app.address, app.name, 2000, (err, c) => (c !== null ? resolve(c) : reject(err)));
    });
    const appSide = await app.next();
    const lost: string[] = [];
    conn.onIdleLost = (_c, detail) => {
      lost.push(detail);
    };
    appSide.end();
    await until(() => conn.socket.destroyed, 'the connection to close');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(lost, ['the application closed the connection']);
  });

  test("'drain' reaches only an attached request", async () => {
    const { conn, user } = await pair();
    try {
      conn.socket.emit('drain');
      conn.detach();
      conn.socket.emit('drain');
      assert.deepEqual(user.take(), ['writable']);
    } finally {
      conn.destroy();
    }
  });
});

describe('openConnection', () => {
  test('sharedReads: every connection of the thread reads into one buffer; a paused tail is a copy', async () => {
    const open = (): Promise<UpstreamConnection> =>
      new Promise((resolve, reject) => {
        openConnection(app.address, app.name, 2000, (err, c) => (c !== null ? resolve(c) : reject(err)), true);
      });
    const a = await open();
    const appA = await app.next();
    const b = await open();
    const appB = await app.next();
    try {
      const ua = new User(() => a),
        ub = new User(() => b);
      a.attach(ua, 1, 30_000);
      b.attach(ub, 1, 30_000);
      ua.answer = (t) => t !== 'first';
      appA.write(cat(stdout(1, 'first'), stdout(1, 'second'), endRequest(1)));
      await until(() => ua.events.length > 0, 'A to read');
      assert.deepEqual(ua.take(), ['stdout first']);
      // B reads 40 KiB into the same buffer while A holds its tail.
      appB.write(cat(stdout(1, 'y'.repeat(40_000)), endRequest(1)));
      await until(() => ub.events.some((e) => e.startsWith('end')), 'B to finish');
      assert.equal(ua.stdoutBuffers[0], ub.stdoutBuffers[0], 'one read buffer for both connections');
      assert.ok(ua.stdoutBuffers[0]!.byteLength >= 64 * 1024, 'the shared 64 KiB buffer, not a per-read Buffer');
      a.resume();
      await until(() => ua.events.some((e) => e.startsWith('end')), 'A to finish');
      assert.deepEqual(
        ua.take(),
        ['stdout second', 'end app=0 protocol=0 clean=true conn.clean=true'],
        "A's held bytes were not overwritten by B's read",
      );
    } finally {
      a.destroy();
      b.destroy();
    }
  });

  test('without sharedReads the connection reads through data events', async () => {
    const conn = await new Promise<UpstreamConnection>((resolve, reject) => {
      openConnection(app.address, app.name, 2000, (err, c) => (c !== null ? resolve(c) : reject(err)));
    });
    const appSide = await app.next();
    try {
      const user = new User(() => conn);
      conn.attach(user, 1, 30_000);
      appSide.write(cat(stdout(1, 'hello'), endRequest(1)));
      await until(() => user.events.length >= 2, 'the response');
      assert.deepEqual(user.take(), ['stdout hello', 'end app=0 protocol=0 clean=true conn.clean=true']);
      assert.ok(conn.writeAll([Buffer.from('ab'), Buffer.from('cd')]));
      const seen = new Received(appSide);
      await until(() => seen.bytes.length === 4, 'the app to read what was written');
      assert.equal(seen.bytes.toString(), 'abcd');
    } finally {
      conn.destroy();
    }
  });

  test('nothing listening: the callback gets the error once, not timed out', async () => {
    const gone = await RawApp.start();
    const address = gone.address;
    await gone.close();
    const calls: Array<[string, boolean]> = [];
    await new Promise<void>((resolve) => {
      openConnection(address, 'gone', 2000, (err, c, timedOut) => {
        assert.equal(c, null);
        calls.push([(err as NodeJS.ErrnoException).code ?? '', timedOut]);
        resolve();
      });
    });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(calls, [['ECONNREFUSED', false]]);
  });
});
