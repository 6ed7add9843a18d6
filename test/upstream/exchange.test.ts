// exchange.ts over a real Pool and real UpstreamConnections to a scripted loopback app (the
// test writes every byte the app sends): the held records going out in one write with the
// preamble, STDIN framing before and after a connection exists, bodyPaused, request ids on a
// reused connection (held records re-framed), the CGI head and the sink calls (onHead, onBody,
// onEnd, onFailure once, never onFailure after onEnd), the app's Content-Length, discardBody,
// STDERR caps and escaping, END_REQUEST's protocol status, END before the head, the replay of
// a request whose kept connection the app had closed, abort, the reuse verdict handed to the
// pool (records after END_REQUEST included), timeouts, the stall watch and failover hand-over.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkerSettings } from '../../src/config/model.js';
import type { GatewayError } from '../../src/errors.js';
import type { CgiHead } from '../../src/cgi/response-head.js';
import { ProtocolStatus, RecordType } from '../../src/protocol/constants.js';
import { writePreamble } from '../../src/protocol/request-writer.js';
import { LocalBudget, type ConnectionBudget } from '../../src/upstream/budget.js';
import { UpstreamConnection } from '../../src/upstream/connection.js';
import { Exchange, STDERR_LINE_MAX, type ExchangeOptions, type ResponseSink } from '../../src/upstream/exchange.js';
import { Pool, type FreshRequest, type PoolLimits } from '../../src/upstream/pool.js';
import {
  RawApp,
  Received,
  endRequest,
  parseRecords,
  stderr,
  stdout,
  stdoutEnd,
  until,
  workerFor,
  type Rec,
} from './raw-app.js';

let app: RawApp;
before(async () => {
  app = await RawApp.start();
});
after(async () => {
  await app.close();
});

const TAG = 'req=1 POST /x';

/** A pool that records the verdicts release() gets and the stall-watch calls. */
class RecordingPool extends Pool {
  releases: Array<[serial: number, reusable: boolean]> = [];
  calls: string[] = [];
  override release(conn: UpstreamConnection, reusable: boolean): void {
    this.releases.push([conn.serial, reusable]);
    super.release(conn, reusable);
  }
  override watchFresh(r: FreshRequest): void {
    this.calls.push('watchFresh');
    super.watchFresh(r);
  }
  override unwatchFresh(r: FreshRequest): void {
    this.calls.push('unwatchFresh');
    super.unwatchFresh(r);
  }
  override reuseAnswered(): void {
    this.calls.push('reuseAnswered');
    super.reuseAnswered();
  }
  override reuseNeverAnswered(tag: string): void {
    this.calls.push(`reuseNeverAnswered ${tag}`);
    super.reuseNeverAnswered(tag);
  }
}

class Sink implements ResponseSink {
  events: string[] = [];
  head: CgiHead | null = null;
  /** What onBody answers. */
  accept = true;
  onHead(head: CgiHead): void {
    this.head = head;
    this.events.push(`head ${head.statusLine}`);
  }
  onBody(data: Buffer): boolean {
    this.events.push(`body ${data.toString('latin1')}`);
    return this.accept;
  }
  onEnd(): void {
    this.events.push('end');
  }
  onFailure(err: GatewayError, headSent: boolean): void {
    this.events.push(`failure ${err.code} headSent=${headSent} ${err.message}`);
  }
  onBodyWritable(): void {
    this.events.push('writable');
  }
  get done(): boolean {
    return this.events.some((e) => e === 'end' || e.startsWith('failure'));
  }
  /** Waits for onEnd or onFailure, then one more turn so a late second call would show. */
  async finished(): Promise<string[]> {
    await until(() => this.done, 'the exchange to end');
    await new Promise((r) => setImmediate(r));
    return this.events;
  }
}

interface Rig {
  pool: RecordingPool;
  logs: string[];
  budget: ConnectionBudget;
}
const pools: Pool[] = [];
after(() => {
  for (const p of pools) p.close();
});

function rig(
  over: { worker?: Partial<WorkerSettings>; budget?: ConnectionBudget; limits?: Partial<PoolLimits> } = {},
): Rig {
  const logs: string[] = [];
  const budget = over.budget ?? new LocalBudget(8);
  const pool = new RecordingPool(workerFor(app.address, app.name, over.worker), budget, {
    queueLimit: 16,
    maxRequestsPerConnection: 0,
    retryAfterSeconds: 1,
    log: (l) => logs.push(l),
    ...over.limits,
  });
  pools.push(pool);
  return { pool, logs, budget };
}

const PARAMS = ['SCRIPT_FILENAME', '/srv/x.php', 'REQUEST_METHOD', 'POST'];

function exchange(
  r: Rig,
  opts: { hasBody?: boolean; options?: Partial<ExchangeOptions> } = {},
): { ex: Exchange; sink: Sink; preamble: Buffer } {
  const hasBody = opts.hasBody ?? false;
  const preamble = writePreamble(1, PARAMS, { keepConn: r.pool.keeps, endStdin: !hasBody });
  const sink = new Sink();
  const ex = new Exchange(
    r.pool,
    Buffer.from(preamble),
    hasBody,
    sink,
    { maxHead: 8192, stderrLimit: 4096, bodyBufferLimit: 64 * 1024, log: (l) => r.logs.push(l), ...opts.options },
    TAG,
  );
  return { ex, sink, preamble };
}

/** Starts `ex` on a new connection and returns the app's side of it, once the request is all there. */
async function startFresh(ex: Exchange, id = 1): Promise<Received> {
  ex.start();
  const seen = new Received(await app.next());
  await seen.untilStdinEnd(id);
  return seen;
}

/** A complete answer: head, body, the empty STDOUT, END_REQUEST. */
const answer = (id: number, head: string, body = ''): Buffer =>
  Buffer.concat([stdout(id, head + body), stdoutEnd(id), endRequest(id)]);

const OK_HEAD = 'Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n';
/** Types, ids and contents of records, for comparing what was sent. */
const shape = (recs: readonly Rec[]): string[] => recs.map((r) => `${r.type}/${r.id}/${r.content.toString('hex')}`);

describe('sending the request', () => {
  test('body held before a connection goes out with the preamble in one write, as STDIN records', async () => {
    const r = rig();
    const { ex, sink, preamble } = exchange(r, { hasBody: true });
    assert.equal(ex.sendBody(Buffer.from('abc'), false), true);
    assert.equal(ex.sendBody(Buffer.from('de'), true), true);
    assert.equal(ex.bodyPaused, false);
    const writes: number[][] = [];
    const orig = UpstreamConnection.prototype.writeAll;
    UpstreamConnection.prototype.writeAll = function (parts) {
      writes.push(parts.map((p) => p.length));
      return orig.call(this, parts);
    };
    let seen: Received;
    try {
      seen = await startFresh(ex);
    } finally {
      UpstreamConnection.prototype.writeAll = orig;
    }
    assert.deepEqual(writes, [[preamble.length, 16, 24]], 'one gather write: preamble, then each held piece');
    assert.deepEqual(seen.bytes.subarray(0, preamble.length), preamble);
    assert.deepEqual(
      seen.bytes.subarray(preamble.length),
      Buffer.from([
        0x01,
        0x05,
        0x00,
        0x01,
        0x00,
        0x03,
        0x05,
        0x00, // v1 STDIN id=1 len=3 pad=5
        0x61,
        0x62,
        0x63,
        0,
        0,
        0,
        0,
        0, // "abc", padding
        0x01,
        0x05,
        0x00,
        0x01,
        0x00,
        0x02,
        0x06,
        0x00, // v1 STDIN id=1 len=2 pad=6
        0x64,
        0x65,
        0,
        0,
        0,
        0,
        0,
        0, // "de", padding
        0x01,
        0x05,
        0x00,
        0x01,
        0x00,
        0x00,
        0x00,
        0x00, // v1 STDIN id=1 len=0: end of the body
      ]),
    );
    seen.socket.write(answer(1, OK_HEAD, 'ok'));
    assert.deepEqual(await sink.finished(), ['head 200 OK', 'body ok', 'end']);
  });

  test('body sent after the connection exists is written at once; the last piece closes STDIN', async () => {
    const r = rig();
    const { ex, sink } = exchange(r, { hasBody: true });
    ex.start();
    const seen = new Received(await app.next());
    await until(
      () => seen.records()?.some((x) => x.type === RecordType.Params && x.content.length === 0) === true,
      'the preamble',
    );
    assert.deepEqual(sink.events, ['writable'], 'the client may send (nothing was held)');
    assert.equal(ex.sendBody(Buffer.from('xyz'), false), true);
    assert.equal(ex.sendBody(new Uint8Array(0), true), true);
    const recs = await seen.untilStdinEnd(1);
    assert.deepEqual(shape(recs.filter((x) => x.type === RecordType.Stdin)), ['5/1/78797a', '5/1/']);
    assert.deepEqual(
      seen.bytes.subarray(seen.bytes.length - 24),
      Buffer.from([
        0x01,
        0x05,
        0x00,
        0x01,
        0x00,
        0x03,
        0x05,
        0x00, // v1 STDIN id=1 len=3 pad=5
        0x78,
        0x79,
        0x7a,
        0,
        0,
        0,
        0,
        0, // "xyz", padding
        0x01,
        0x05,
        0x00,
        0x01,
        0x00,
        0x00,
        0x00,
        0x00, // the empty STDIN record
      ]),
    );
    seen.socket.write(answer(1, OK_HEAD));
    await sink.finished();
    assert.deepEqual(
      r.pool.releases.map(([, reusable]) => reusable),
      [true],
    );
  });

  test('bodyPaused: held bytes reach bodyBufferLimit before a connection; writable once they went out', async () => {
    const r = rig();
    const { ex, sink } = exchange(r, { hasBody: true, options: { bodyBufferLimit: 0 } });
    assert.equal(ex.sendBody(Buffer.alloc(100, 0x41), false), false);
    assert.equal(ex.bodyPaused, true);
    ex.start();
    const seen = new Received(await app.next());
    await until(() => sink.events.includes('writable'), 'onBodyWritable');
    assert.equal(ex.bodyPaused, false);
    ex.sendBody(Buffer.alloc(0), true);
    await seen.untilStdinEnd(1);
    seen.socket.write(answer(1, OK_HEAD));
    await sink.finished();
  });

  test('bodyPaused: a congested socket pauses the client until it drains', async () => {
    const r = rig();
    const { ex, sink } = exchange(r, { hasBody: true });
    ex.start();
    const appSide = await app.next(); // not reading yet: the kernel buffers fill
    await until(() => sink.events.includes('writable'), 'the connection');
    sink.events = [];
    const size = 16 * 1024 * 1024;
    assert.equal(ex.sendBody(Buffer.alloc(size, 0x42), false), false, 'more than the socket buffers take');
    assert.equal(ex.bodyPaused, true);
    let got = 0;
    appSide.on('data', (b: Buffer) => {
      got += b.length;
    });
    await until(() => sink.events.includes('writable'), 'drain');
    assert.equal(ex.bodyPaused, false);
    sink.events = [];
    ex.sendBody(Buffer.alloc(0), true);
    assert.equal(ex.bodyPaused, false, 'never paused once the body is complete');
    // 256 full STDIN records of 65535 bytes (8 header + 1 padding each), one of 256 (no padding), the empty one.
    const total = writePreamble(1, PARAMS, { keepConn: true }).length + size + 256 * 9 + 8 + 8;
    await until(() => got === total, `all ${total} bytes at the app`, 10_000);
    appSide.write(answer(1, OK_HEAD));
    assert.deepEqual(await sink.finished(), ['head 200 OK', 'end']);
  });

  test('a reused connection: the next request id, held records re-framed to it', async () => {
    const r = rig();
    const first = exchange(r);
    const seen = await startFresh(first.ex);
    seen.socket.write(answer(1, OK_HEAD, 'one'));
    await first.sink.finished();
    assert.equal(r.pool.idleCount, 1);

    const second = exchange(r, { hasBody: true });
    second.ex.sendBody(Buffer.from('hi'), true); // framed with id 1 before the connection is known
    second.ex.start();
    const recs = await seen.untilStdinEnd(2);
    const mine = recs.slice(parseRecords(first.preamble).length); // after the first request's records
    assert.ok(
      mine.every((x) => x.id === 2),
      'every record of the second request carries id 2',
    );
    assert.deepEqual(
      shape(mine),
      shape(parseRecords(second.preamble).map((x) => ({ ...x, id: 2 }))).concat(['5/2/6869', '5/2/']),
    );
    const tail = seen.bytes.subarray(seen.bytes.length - 24);
    assert.deepEqual(
      tail,
      Buffer.from([
        0x01,
        0x05,
        0x00,
        0x02,
        0x00,
        0x02,
        0x06,
        0x00, // v1 STDIN id=2 len=2 pad=6
        0x68,
        0x69,
        0,
        0,
        0,
        0,
        0,
        0, // "hi", padding
        0x01,
        0x05,
        0x00,
        0x02,
        0x00,
        0x00,
        0x00,
        0x00, // the empty STDIN record, id=2
      ]),
    );
    seen.socket.write(answer(2, OK_HEAD, 'two'));
    assert.deepEqual(await second.sink.finished(), ['head 200 OK', 'body two', 'end']);
    assert.deepEqual(
      r.pool.calls,
      ['watchFresh', 'unwatchFresh', 'reuseAnswered'],
      'the first request watched until its first byte; the second proved reuse works',
    );
  });

  test('STDIN not fully sent: the response completes but the connection is not reused', async () => {
    const r = rig();
    const { ex, sink } = exchange(r, { hasBody: true });
    ex.sendBody(Buffer.from('part'), false);
    ex.start();
    const seen = new Received(await app.next());
    await until(() => seen.records()?.some((x) => x.type === RecordType.Stdin) === true, 'the body');
    seen.socket.write(answer(1, OK_HEAD, 'early'));
    assert.deepEqual(await sink.finished(), ['writable', 'head 200 OK', 'body early', 'end']);
    assert.deepEqual(
      r.pool.releases.map(([, reusable]) => reusable),
      [false],
    );
    assert.equal(ex.sendBody(Buffer.from('more'), true), true, 'after the end: ignored');
    assert.equal(ex.bodyPaused, false);
  });
});

describe('the response', () => {
  test('the CGI head across records, then the body: onHead, onBody, onEnd once', async () => {
    const r = rig();
    const { ex, sink } = exchange(r);
    const seen = await startFresh(ex);
    seen.socket.write(
      Buffer.concat([
        stdout(1, 'Status: 404 Not'),
        stdout(1, ' Found\r\nContent-Type: text/html\r\n\r\n<p>'),
        stdout(1, 'gone</p>'),
        stdoutEnd(1),
        endRequest(1),
      ]),
    );
    assert.deepEqual(await sink.finished(), ['head 404 Not Found', 'body <p>', 'body gone</p>', 'end']);
    assert.deepEqual(sink.head!.headers, ['Content-Type', 'text/html']);
    seen.socket.end(); // the app closing afterwards changes nothing
    await until(() => r.pool.idleCount === 0, 'the idle connection to go');
    assert.equal(sink.events.length, 4, 'no onFailure after onEnd');
  });

  test('a bad head: FCGATE_BAD_CGI_HEADER before any head; the connection is closed', async () => {
    const r = rig();
    const { ex, sink } = exchange(r);
    const seen = await startFresh(ex);
    seen.socket.write(Buffer.concat([stdout(1, 'no colon here\r\n\r\n'), stdoutEnd(1), endRequest(1)]));
    const events = await sink.finished();
    assert.equal(events.length, 1);
    assert.match(events[0]!, /^failure FCGATE_BAD_CGI_HEADER headSent=false no-colon: /);
    assert.deepEqual(
      r.pool.releases.map(([, reusable]) => reusable),
      [false],
    );
    await until(() => seen.gone, 'the connection to close');
  });

  test("the app's Content-Length: a longer body is cut; a shorter one is FCGATE_APP_CLOSED after the head", async () => {
    const longer = rig();
    const a = exchange(longer);
    const sa = await startFresh(a.ex);
    sa.socket.write(answer(1, 'Content-Length: 3\r\n\r\n', 'abcdef'));
    assert.deepEqual(await a.sink.finished(), ['head 200 OK', 'body abc', 'end']);
    assert.equal(a.sink.head!.contentLength, 3);

    const shorter = rig();
    const b = exchange(shorter);
    const sb = await startFresh(b.ex);
    sb.socket.write(answer(1, 'Content-Length: 10\r\n\r\n', 'abc'));
    assert.deepEqual(await b.sink.finished(), [
      'head 200 OK',
      'body abc',
      "failure FCGATE_APP_CLOSED headSent=true body ended 7 bytes short of the app's Content-Length",
    ]);
  });

  test('discardBody: the head is delivered, the body dropped (a short one too), the end reported', async () => {
    const r = rig();
    const { ex, sink } = exchange(r);
    ex.discardBody();
    const seen = await startFresh(ex);
    seen.socket.write(answer(1, 'Content-Length: 10\r\n\r\n', 'abc'));
    assert.deepEqual(await sink.finished(), ['head 200 OK', 'end']);
  });

  test('backpressure: onBody false pauses the app connection until resume()', async () => {
    const r = rig();
    const { ex, sink } = exchange(r);
    sink.accept = false;
    const seen = await startFresh(ex);
    seen.socket.write(Buffer.concat([stdout(1, OK_HEAD + 'a'), stdout(1, 'b'), stdoutEnd(1), endRequest(1)]));
    await until(() => sink.events.length === 2, 'the first body piece');
    await new Promise((r2) => setImmediate(r2));
    assert.deepEqual(sink.events, ['head 200 OK', 'body a'], 'held while the sink is full');
    sink.accept = true;
    ex.resume();
    assert.deepEqual(await sink.finished(), ['head 200 OK', 'body a', 'body b', 'end']);
    assert.deepEqual(
      r.pool.releases.map(([, reusable]) => reusable),
      [true],
    );
  });

  test('END_REQUEST before the head: OVERLOADED is FCGATE_BACKEND_OVERLOADED, another status FCGATE_PROTOCOL, none FCGATE_BAD_CGI_HEADER', async () => {
    const cases: Array<[Buffer, string]> = [
      [
        endRequest(1, ProtocolStatus.Overloaded),
        'failure FCGATE_BACKEND_OVERLOADED headSent=false END_REQUEST protocolStatus=2 (FCGI_OVERLOADED)',
      ],
      [
        endRequest(1, ProtocolStatus.CantMpxConn),
        'failure FCGATE_PROTOCOL headSent=false END_REQUEST protocolStatus=1 (FCGI_CANT_MPX_CONN: the app serves one request per connection; multiplex=on is wrong for it)',
      ],
      [
        endRequest(1, ProtocolStatus.UnknownRole),
        'failure FCGATE_PROTOCOL headSent=false END_REQUEST protocolStatus=3 (FCGI_UNKNOWN_ROLE)',
      ],
      [endRequest(1), 'failure FCGATE_BAD_CGI_HEADER headSent=false no-output: no STDOUT from the app'],
      [
        Buffer.concat([stdout(1, 'Status: 200\r\n'), endRequest(1)]),
        'failure FCGATE_BAD_CGI_HEADER headSent=false unterminated: STDOUT ended inside the CGI header block after 13 bytes',
      ],
    ];
    for (const [bytes, want] of cases) {
      const r = rig();
      const { ex, sink } = exchange(r);
      const seen = await startFresh(ex);
      seen.socket.write(bytes);
      assert.deepEqual(await sink.finished(), [want]);
      assert.deepEqual(
        r.pool.releases.map(([, reusable]) => reusable),
        [false],
      );
    }
  });

  test('END_REQUEST with OVERLOADED after the head: the response ends, the connection is not reused', async () => {
    const r = rig();
    const { ex, sink } = exchange(r);
    const seen = await startFresh(ex);
    seen.socket.write(Buffer.concat([stdout(1, OK_HEAD + 'x'), endRequest(1, ProtocolStatus.Overloaded)]));
    assert.deepEqual(await sink.finished(), ['head 200 OK', 'body x', 'end']);
    assert.deepEqual(
      r.pool.releases.map(([, reusable]) => reusable),
      [false],
    );
  });

  test('records after END_REQUEST: the response ends, FCGATE_APP_AFTER_END logged, the connection closed (issue 8 §3)', async () => {
    const r = rig();
    const { ex, sink } = exchange(r);
    const seen = await startFresh(ex);
    seen.socket.write(Buffer.concat([answer(1, OK_HEAD, 'x'), stdout(1, 'late')]));
    assert.deepEqual(await sink.finished(), ['head 200 OK', 'body x', 'end']);
    assert.deepEqual(r.logs, [
      `FCGATE_APP_AFTER_END backend=${app.name} ${TAG} cause="records after END_REQUEST on the same connection: discarded, the connection is closed"`,
    ]);
    assert.deepEqual(
      r.pool.releases.map(([, reusable]) => reusable),
      [false],
    );
    assert.equal(r.pool.idleCount, 0);
    await until(() => seen.gone, 'the connection to close');
  });

  test('the app closing mid-body: FCGATE_APP_CLOSED with headSent, once', async () => {
    const r = rig();
    const { ex, sink } = exchange(r);
    const seen = await startFresh(ex);
    seen.socket.end(stdout(1, OK_HEAD + 'partial'));
    assert.deepEqual(await sink.finished(), [
      'head 200 OK',
      'body partial',
      'failure FCGATE_APP_CLOSED headSent=true the application closed the connection',
    ]);
  });
});

describe('STDERR', () => {
  const stderrLines = (logs: string[]): string[] => logs.filter((l) => l.startsWith('FCGATE_APP_STDERR'));
  const prefix = (): string => `FCGATE_APP_STDERR backend=${app.name} ${TAG}`;

  test('logged line by line, escaped, blank lines and trailing space dropped; the unfinished line at the end', async () => {
    const r = rig();
    const { ex, sink } = exchange(r);
    const seen = await startFresh(ex);
    seen.socket.write(
      Buffer.concat([
        stderr(1, 'first line\r\nsec'),
        stderr(1, 'ond "quoted" \\ \x1b[31mred\t \n\n   \n'),
        stderr(1, 'fake\nFCGATE_X forged=1\n'),
        stderr(1, 'unfinished'),
        answer(1, OK_HEAD, 'body'),
      ]),
    );
    assert.deepEqual(await sink.finished(), ['head 200 OK', 'body body', 'end'], 'STDERR never reaches the body');
    assert.deepEqual(stderrLines(r.logs), [
      `${prefix()} stderr="first line"`,
      `${prefix()} stderr="second \\"quoted\\" \\\\ \\x1b[31mred"`,
      `${prefix()} stderr="fake"`,
      `${prefix()} stderr="FCGATE_X forged=1"`,
      `${prefix()} stderr="unfinished"`,
    ]);
  });

  test('FCGATE_STDERR_LIMIT: bytes past it are counted and named once at the end', async () => {
    const r = rig();
    const { ex, sink } = exchange(r, { options: { stderrLimit: 10 } });
    const seen = await startFresh(ex);
    seen.socket.write(Buffer.concat([stderr(1, '0123456\n89abcdef\n'), stderr(1, 'more'), answer(1, OK_HEAD)]));
    await sink.finished();
    assert.deepEqual(stderrLines(r.logs), [
      `${prefix()} stderr="0123456"`,
      `${prefix()} stderr="89"`,
      `${prefix()} dropped_bytes=11 cause="STDERR over FCGATE_STDERR_LIMIT=10 for one request: not logged"`,
    ]);
  });

  test(`a line longer than STDERR_LINE_MAX (${STDERR_LINE_MAX}) is cut, the cut counted`, async () => {
    const r = rig();
    const { ex, sink } = exchange(r, { options: { stderrLimit: 64 * 1024 } });
    const seen = await startFresh(ex);
    const long = 'x'.repeat(STDERR_LINE_MAX + 100);
    seen.socket.write(
      Buffer.concat([
        stderr(1, `${long}\nshort\n`),
        stderr(1, 'y'.repeat(STDERR_LINE_MAX + 1)),
        stderr(1, 'tail\n'),
        answer(1, OK_HEAD),
      ]),
    );
    await sink.finished();
    assert.deepEqual(stderrLines(r.logs), [
      `${prefix()} cut=100 stderr="${'x'.repeat(STDERR_LINE_MAX)}"`,
      `${prefix()} stderr="short"`,
      `${prefix()} cut=1 stderr="${'y'.repeat(STDERR_LINE_MAX)}"`, // logged when it got that long: nothing kept beyond one line
      `${prefix()} stderr="tail"`,
    ]);
  });

  test('the unfinished STDERR line is logged when the request fails or is aborted', async () => {
    const r = rig();
    const { ex } = exchange(r);
    const seen = await startFresh(ex);
    seen.socket.write(stderr(1, 'dying'));
    await until(() => r.pool.calls.includes('unwatchFresh'), 'the STDERR to arrive');
    ex.abort();
    assert.deepEqual(stderrLines(r.logs), [`${prefix()} stderr="dying"`]);
  });
});

describe('a kept connection the app closed while idle', () => {
  /** Runs one request to completion on a new connection; returns the app side of it. */
  async function keptConnection(r: Rig): Promise<Received> {
    const { ex, sink } = exchange(r);
    const seen = await startFresh(ex);
    seen.socket.write(answer(1, OK_HEAD));
    await sink.finished();
    return seen;
  }

  test('replaced once: the request is replayed on a new connection, re-framed to its id', async () => {
    const r = rig();
    const kept = await keptConnection(r);
    const { ex, sink } = exchange(r, { hasBody: true });
    ex.sendBody(Buffer.from('payload'), true);
    ex.start();
    const sent = await kept.untilStdinEnd(2);
    kept.socket.end(); // the app's idle timeout, at the same moment
    const fresh = new Received(await app.next());
    const replayed = await fresh.untilStdinEnd(1);
    const original = sent.filter((x) => x.id === 2);
    assert.deepEqual(
      shape(replayed),
      shape(original.map((x) => ({ ...x, id: 1 }))),
      'the same records, id 1 on the new connection',
    );
    fresh.socket.write(answer(1, OK_HEAD, 'answered'));
    assert.deepEqual(await sink.finished(), ['head 200 OK', 'body answered', 'end']);
    assert.deepEqual(
      r.pool.releases.map(([, reusable]) => reusable),
      [true, false, true],
    );
  });

  test('only once: a second closed kept connection fails the request with FCGATE_APP_CLOSED', async () => {
    const r = rig();
    // Two requests at once: two connections, both kept.
    const one = exchange(r),
      two = exchange(r);
    one.ex.start();
    two.ex.start();
    const s1 = new Received(await app.next());
    const s2 = new Received(await app.next());
    await s1.untilStdinEnd(1);
    await s2.untilStdinEnd(1);
    s1.socket.write(answer(1, OK_HEAD));
    s2.socket.write(answer(1, OK_HEAD));
    await one.sink.finished();
    await two.sink.finished();
    assert.equal(r.pool.idleCount, 2);
    const { ex, sink } = exchange(r);
    ex.start();
    // Whichever kept connection the request lands on, the app closes it when the request is there.
    const closing = new Set<Received>();
    await until(() => {
      for (const s of [s1, s2]) {
        if (!closing.has(s) && s.records()?.some((x) => x.id === 2 && x.type === RecordType.Stdin) === true) {
          closing.add(s);
          s.socket.end();
        }
      }
      return sink.done;
    }, 'the exchange to give up');
    assert.equal(closing.size, 2, 'tried on both kept connections');
    assert.deepEqual(await sink.finished(), [
      'failure FCGATE_APP_CLOSED headSent=false the application closed the connection',
    ]);
  });

  test('no replay once the app answered: FCGATE_APP_CLOSED after the head', async () => {
    const r = rig();
    const kept = await keptConnection(r);
    const { ex, sink } = exchange(r);
    ex.start();
    await kept.untilStdinEnd(2);
    kept.socket.end(stdout(2, OK_HEAD + 'half'));
    assert.deepEqual(await sink.finished(), [
      'head 200 OK',
      'body half',
      'failure FCGATE_APP_CLOSED headSent=true the application closed the connection',
    ]);
  });
});

describe('abort', () => {
  test('while queued: the waiter leaves, the sink hears nothing', async () => {
    const r = rig({ budget: new LocalBudget(0), worker: { acquireMs: 20 } });
    const { ex, sink } = exchange(r);
    ex.start();
    assert.equal(r.pool.pending, 1);
    ex.abort();
    await until(() => r.pool.pending === 0, 'the deadline to clear the queue');
    await new Promise((res) => setImmediate(res));
    assert.deepEqual(sink.events, []);
  });

  test('while connecting: nothing is sent; the new connection is parked for the next request', async () => {
    const r = rig();
    const { ex, sink } = exchange(r);
    ex.start();
    ex.abort();
    const seen = new Received(await app.next());
    await until(() => r.pool.idleCount === 1, 'the connection to be parked');
    await new Promise((res) => setImmediate(res));
    assert.equal(seen.bytes.length, 0);
    assert.deepEqual(sink.events, []);
  });

  test('with a connection: reset (the app must not take a half body for a whole one), not reused, sink silent', async () => {
    const r = rig();
    const { ex, sink } = exchange(r, { hasBody: true });
    ex.sendBody(Buffer.from('half'), false);
    ex.start();
    const seen = new Received(await app.next());
    await until(() => seen.records()?.some((x) => x.type === RecordType.Stdin) === true, 'the body');
    ex.abort();
    ex.abort();
    await until(() => seen.gone, 'the connection to close');
    assert.equal(seen.error, 'ECONNRESET');
    assert.deepEqual(
      r.pool.releases.map(([, reusable]) => reusable),
      [false],
    );
    assert.deepEqual(sink.events, ['writable']);
    assert.deepEqual(r.pool.calls, ['watchFresh', 'unwatchFresh']);
  });
});

describe('timeouts', () => {
  test('no answer within the read timeout: FCGATE_HEADER_TIMEOUT; after the head FCGATE_READ_TIMEOUT', async () => {
    const a = rig({ worker: { timeoutMs: 40 } });
    const before = exchange(a);
    await startFresh(before.ex);
    assert.deepEqual(await before.sink.finished(), ['failure FCGATE_HEADER_TIMEOUT headSent=false no data for 40 ms']);

    const b = rig({ worker: { timeoutMs: 40 } });
    const after = exchange(b);
    const seen = await startFresh(after.ex);
    seen.socket.write(stdout(1, OK_HEAD + 'slow'));
    assert.deepEqual(await after.sink.finished(), [
      'head 200 OK',
      'body slow',
      'failure FCGATE_READ_TIMEOUT headSent=true no data for 40 ms',
    ]);
  });

  test('a kept connection never answered while reuse is unproven: reuse goes off (FCGATE_REUSE_OFF)', async () => {
    const r = rig({ worker: { timeoutMs: 60 } });
    const first = exchange(r);
    const seen = await startFresh(first.ex);
    seen.socket.write(answer(1, OK_HEAD));
    await first.sink.finished();
    const second = exchange(r);
    second.ex.start();
    await seen.untilStdinEnd(2); // an app serving one request per connection: silent
    assert.deepEqual(await second.sink.finished(), ['failure FCGATE_HEADER_TIMEOUT headSent=false no data for 60 ms']);
    assert.equal(r.pool.keeps, false);
    assert.ok(r.pool.calls.includes(`reuseNeverAnswered ${TAG}`));
    assert.equal(r.logs.filter((l) => l.startsWith('FCGATE_REUSE_OFF')).length, 1);
  });
});

describe('balancer failover hand-over', () => {
  test('an exchange that never got a connection hands its held body to the next one', async () => {
    const r = rig({ budget: new LocalBudget(0) });
    const { ex: failed, sink: failedSink } = exchange(r, { hasBody: true });
    failed.sendBody(Buffer.from('body!'), true);
    assert.equal(failed.acquired, false);
    const other = rig();
    const next = exchange(other, { hasBody: true });
    assert.equal(failed.handOverBody(next.ex), true);
    const seen = await startFresh(next.ex);
    const stdin = seen.records()!.filter((x) => x.type === RecordType.Stdin);
    assert.deepEqual(shape(stdin), ['5/1/626f647921', '5/1/']);
    seen.socket.write(answer(1, OK_HEAD));
    await next.sink.finished();
    assert.deepEqual(failedSink.events, []);

    const touched = exchange(rig(), { hasBody: true });
    touched.ex.sendBody(Buffer.alloc(0), true);
    const s2 = await startFresh(touched.ex);
    assert.equal(touched.ex.acquired, true);
    assert.equal(touched.ex.handOverBody(exchange(other).ex), false, 'bytes may have reached the app');
    s2.socket.write(answer(1, OK_HEAD));
    await touched.sink.finished();
  });
});
