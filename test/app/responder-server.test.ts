// The FastCGI responder server against a client built from src/protocol: KEEP_CONN,
// multiplexing, GET_VALUES, refusals, aborts, protocol errors, STDIN backpressure,
// unix sockets, the connection limit and graceful close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import {
  createFcgiServer,
  type FcgiHandler,
  type FcgiRequest,
  type FcgiServerOptions,
} from '../../src/app/responder-server.js';
import { ProtocolStatus, RecordType, Role, frameCopy } from '../../src/protocol/index.js';
import { FcgiTestClient, type ConnectTarget } from '../helpers/fcgi-client.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
}
function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Reads all of STDIN, answers `id=<id> body=<body>`. */
const echoHandler: FcgiHandler = async (req, res) => {
  let body = '';
  for await (const chunk of req.stdin) body += (chunk as Buffer).toString('latin1');
  res.write(`Content-Type: text/plain\r\n\r\nid=${req.id} body=${body}`);
  res.end();
};

async function withServer(
  handler: FcgiHandler,
  options: FcgiServerOptions,
  body: (target: ConnectTarget, logs: string[], server: ReturnType<typeof createFcgiServer>) => Promise<void>,
): Promise<void> {
  const logs: string[] = [];
  const server = createFcgiServer(handler, { log: (l) => logs.push(l), ...options });
  const a = await server.listen({ host: '127.0.0.1', port: 0 });
  assert.ok('port' in a);
  try {
    await body({ host: a.host, port: a.port }, logs, server);
  } finally {
    await server.destroyAll();
  }
}

/** Polls a condition once per event-loop turn, at most `turns` times. */
async function until(cond: () => boolean, turns = 10_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return;
    await tick();
  }
  throw new Error('condition not reached');
}

test('KEEP_CONN clear: the app closes the connection after END_REQUEST', { timeout: 20_000 }, async () => {
  await withServer(echoHandler, {}, async (target) => {
    const c = await FcgiTestClient.connect(target);
    const r = await c.request({ A: '1' }, { stdin: Buffer.from('hi') });
    assert.equal(r.stdout.toString(), 'Content-Type: text/plain\r\n\r\nid=1 body=hi');
    assert.equal(r.appStatus, 0);
    assert.equal(r.protocolStatus, ProtocolStatus.RequestComplete);
    await c.closed;
    assert.equal(c.ended, true, 'closed by a FIN from the app');
  });
});

test('KEEP_CONN set: the connection stays open for the next request', { timeout: 20_000 }, async () => {
  await withServer(echoHandler, {}, async (target) => {
    const c = await FcgiTestClient.connect(target);
    const r1 = await c.request({}, { keepConn: true, stdin: Buffer.from('one') });
    const r2 = await c.request({}, { keepConn: true, stdin: Buffer.from('two') });
    assert.match(r1.stdout.toString(), /body=one$/);
    assert.match(r2.stdout.toString(), /body=two$/);
    assert.equal(c.ended, false);
    const r3 = await c.request({}, { keepConn: false, stdin: Buffer.from('three') });
    assert.match(r3.stdout.toString(), /body=three$/);
    await c.closed;
  });
});

test('two requests multiplexed on one connection with interleaved STDIN', { timeout: 20_000 }, async () => {
  await withServer(echoHandler, {}, async (target) => {
    const c = await FcgiTestClient.connect(target);
    const p1 = c.begin(1, { N: 'one' }, { keepConn: true, stdin: null });
    const p2 = c.begin(2, { N: 'two' }, { keepConn: true, stdin: null });
    await c.sendStdin(1, Buffer.from('a1'));
    await c.sendStdin(2, Buffer.from('b1'));
    await c.sendStdin(1, Buffer.from('a2'));
    c.endStdin(2);
    const r2 = await p2;
    assert.match(r2.stdout.toString(), /id=2 body=b1$/);
    await c.sendStdin(1, Buffer.from('a3'));
    c.endStdin(1);
    const r1 = await p1;
    assert.match(r1.stdout.toString(), /id=1 body=a1a2a3$/);
    c.close();
  });
});

test('many concurrent connections, each with several multiplexed requests', { timeout: 30_000 }, async () => {
  await withServer(echoHandler, {}, async (target, logs, server) => {
    const conns = 50;
    const perConn = 8;
    const clients = await Promise.all(Array.from({ length: conns }, () => FcgiTestClient.connect(target)));
    const replies = await Promise.all(
      clients.flatMap((c, k) =>
        Array.from({ length: perConn }, (_, i) =>
          c
            .begin(i + 1, {}, { keepConn: true, stdin: Buffer.from(`${k}.${i}`) })
            .then((r) => [k, i, r.stdout.toString()] as const),
        ),
      ),
    );
    for (const [k, i, out] of replies) assert.match(out, new RegExp(`id=${i + 1} body=${k}\\.${i}$`));
    assert.equal(server.connectionCount, conns);
    for (const c of clients) c.close();
    assert.deepEqual(logs, []);
  });
});

test('FCGI_GET_VALUES answers the three variables and omits unknown names', { timeout: 20_000 }, async () => {
  await withServer(echoHandler, { maxConns: 7, maxReqs: 33 }, async (target) => {
    const c = await FcgiTestClient.connect(target);
    const v = await c.getValues(['FCGI_MAX_CONNS', 'FCGI_MAX_REQS', 'FCGI_MPXS_CONNS', 'NOT_A_VARIABLE']);
    assert.deepEqual(
      [...v],
      [
        ['FCGI_MAX_CONNS', '7'],
        ['FCGI_MAX_REQS', '33'],
        ['FCGI_MPXS_CONNS', '1'],
      ],
    );
    c.close();
  });
  await withServer(echoHandler, { mpxsConns: false }, async (target) => {
    const c = await FcgiTestClient.connect(target);
    assert.equal((await c.getValues(['FCGI_MPXS_CONNS'])).get('FCGI_MPXS_CONNS'), '0');
    c.close();
  });
});

test('mpxsConns off: a second BEGIN_REQUEST on a busy connection gets CANT_MPX_CONN', { timeout: 20_000 }, async () => {
  await withServer(echoHandler, { mpxsConns: false }, async (target) => {
    const c = await FcgiTestClient.connect(target);
    const p1 = c.begin(1, {}, { keepConn: true, stdin: null });
    const r2 = await c.begin(2, {}, { keepConn: true, stdin: Buffer.from('ignored') });
    assert.equal(r2.protocolStatus, ProtocolStatus.CantMpxConn);
    assert.equal(r2.stdout.length, 0);
    await c.sendStdin(1, Buffer.from('x'));
    c.endStdin(1);
    assert.match((await p1).stdout.toString(), /id=1 body=x$/);
    assert.equal(c.error, null);
    c.close();
  });
});

test('beyond maxRequestsPerConnection or maxReqs: END_REQUEST OVERLOADED', { timeout: 20_000 }, async () => {
  for (const limits of [{ maxRequestsPerConnection: 2 }, { maxReqs: 2 }]) {
    await withServer(echoHandler, limits, async (target) => {
      const c = await FcgiTestClient.connect(target);
      const p1 = c.begin(1, {}, { keepConn: true, stdin: null });
      const p2 = c.begin(2, {}, { keepConn: true, stdin: null });
      const r3 = await c.begin(3, {}, { keepConn: true });
      assert.equal(r3.protocolStatus, ProtocolStatus.Overloaded, JSON.stringify(limits));
      c.endStdin(1);
      c.endStdin(2);
      assert.equal((await p1).protocolStatus, ProtocolStatus.RequestComplete);
      assert.equal((await p2).protocolStatus, ProtocolStatus.RequestComplete);
      const r4 = await c.begin(3, {}, { keepConn: true }); // the id is free again
      assert.equal(r4.protocolStatus, ProtocolStatus.RequestComplete);
      c.close();
    });
  }
});

test('FCGI_ABORT_REQUEST aborts the handler signal and ends the request with appStatus != 0', {
  timeout: 20_000,
}, async () => {
  const started = deferred();
  const sawAbort = deferred<string>();
  const handler: FcgiHandler = (req, res) => {
    req.signal.addEventListener('abort', () => sawAbort.resolve(String((req.signal.reason as Error).message)));
    res.write('Content-Type: text/plain\r\n\r\npartial');
    started.resolve();
  };
  await withServer(handler, {}, async (target) => {
    const c = await FcgiTestClient.connect(target);
    const p = c.begin(1, {}, { keepConn: true, stdin: null });
    await started.promise;
    c.abort(1);
    const r = await p;
    assert.notEqual(r.appStatus, 0);
    assert.equal(r.protocolStatus, ProtocolStatus.RequestComplete);
    assert.equal(await sawAbort.promise, 'FCGI_ABORT_REQUEST');
    // Late records for the aborted id (STDIN, another ABORT) are dropped, not protocol errors.
    c.endStdin(1);
    c.abort(1);
    assert.equal((await c.getValues(['FCGI_MPXS_CONNS'])).size, 1); // a round trip after them
    assert.equal(c.error, null);
    assert.equal(c.ended, false);
    c.close();
  });
});

test('a role other than RESPONDER gets END_REQUEST UNKNOWN_ROLE', { timeout: 20_000 }, async () => {
  await withServer(echoHandler, {}, async (target, logs) => {
    const c = await FcgiTestClient.connect(target);
    const r = await c.begin(1, { A: 'b' }, { role: Role.Authorizer });
    assert.equal(r.protocolStatus, ProtocolStatus.UnknownRole);
    await c.closed; // KEEP_CONN clear
    assert.deepEqual(logs, []);
  });
});

test('an unknown management record type gets FCGI_UNKNOWN_TYPE', { timeout: 20_000 }, async () => {
  await withServer(echoHandler, {}, async (target) => {
    const c = await FcgiTestClient.connect(target);
    // biome-ignore format: golden bytes, one record field group per line with its comment
    c.write(Buffer.from([
      0x01, 0x2a, 0x00, 0x00, 0x00, 0x03, 0x05, 0x00,   // v1 type=42 id=0 len=3 pad=5
      0x61, 0x62, 0x63, 0, 0, 0, 0, 0,                   // "abc" + padding
    ]));
    const rec = await c.nextManagement();
    assert.equal(rec.type, RecordType.UnknownType);
    assert.deepEqual([...rec.content], [0x2a, 0, 0, 0, 0, 0, 0, 0]); // type=42, 7 reserved
    const r = await c.request({}, { keepConn: true }); // still usable
    assert.equal(r.protocolStatus, ProtocolStatus.RequestComplete);
    c.close();
  });
});

test('bytes that are not FastCGI: logged, and the connection is closed', { timeout: 20_000 }, async () => {
  await withServer(echoHandler, {}, async (target, logs) => {
    const c = await FcgiTestClient.connect(target);
    c.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await c.closed;
    assert.equal(logs.length, 1);
    assert.match(logs[0]!, /FCGI_BAD_VERSION/);
  });
});

test('PARAMS beyond maxParamsBytes close the connection', { timeout: 20_000 }, async () => {
  await withServer(echoHandler, { maxParamsBytes: 100 }, async (target, logs) => {
    const c = await FcgiTestClient.connect(target);
    void c.begin(1, { BIG: 'x'.repeat(200) });
    await c.closed;
    assert.match(logs.join('\n'), /FCGI_PAIRS_TOO_LONG/);
  });
});

test('a handler that throws: 500 head and appStatus != 0', { timeout: 20_000 }, async () => {
  const handler: FcgiHandler = () => {
    throw new Error('boom');
  };
  await withServer(handler, {}, async (target, logs) => {
    const c = await FcgiTestClient.connect(target);
    const r = await c.request({});
    assert.match(r.stdout.toString(), /^Status: 500 Internal Server Error\r\n/);
    assert.notEqual(r.appStatus, 0);
    assert.match(logs.join('\n'), /boom/);
  });
});

test('STDIN backpressure: a handler that does not read holds the socket after a bounded buffer', {
  timeout: 20_000,
}, async () => {
  const limit = 64 * 1024;
  const release = deferred();
  let seen: FcgiRequest | null = null;
  let maxBuffered = 0;
  const handler: FcgiHandler = async (req, res) => {
    seen = req;
    await release.promise;
    let total = 0;
    for await (const chunk of req.stdin) {
      maxBuffered = Math.max(maxBuffered, req.stdin.readableLength + (chunk as Buffer).length);
      total += (chunk as Buffer).length;
    }
    res.write(`\r\n${total}`);
    res.end();
  };
  await withServer(handler, { stdinBufferBytes: limit }, async (target) => {
    const c = await FcgiTestClient.connect(target);
    const p = c.begin(1, {}, { stdin: null });
    const piece = Buffer.alloc(60_000, 7);
    const pieces = 560; // ~32 MiB: more than the kernel buffers hold
    for (let i = 0; i < pieces; i++) c.socket.write(frameCopy(RecordType.Stdin, 1, piece));
    c.endStdin(1);
    await until(() => seen !== null && seen.stdin.readableLength >= limit);
    for (let i = 0; i < 50; i++) await tick(); // turns in which a leaky server would read on
    const buffered = seen!.stdin.readableLength;
    assert.ok(buffered < limit + 65536, `server buffered ${buffered} bytes`);
    assert.ok(c.socket.writableLength > 0, 'the client is held back');
    release.resolve();
    const r = await p;
    assert.equal(r.stdout.toString(), `\r\n${pieces * piece.length}`);
    assert.ok(maxBuffered <= limit + 65536, `buffered at most ${maxBuffered} bytes`);
    await c.closed;
  });
});

test('an answer before the body is read: the rest of STDIN is dropped and the connection reused', {
  timeout: 20_000,
}, async () => {
  const started = deferred<FcgiRequest>();
  const answerNow = deferred();
  const handler: FcgiHandler = async (req, res) => {
    if (req.param('MODE') === 'echo') {
      await echoHandler(req, res);
      return;
    }
    started.resolve(req);
    await answerNow.promise;
    res.write('\r\nanswered');
    res.end();
  };
  await withServer(handler, { stdinBufferBytes: 16 * 1024 }, async (target, logs) => {
    const c = await FcgiTestClient.connect(target);
    const p = c.begin(1, {}, { keepConn: true, stdin: null });
    const big = Buffer.alloc(60_000, 1);
    for (let i = 0; i < 20; i++) c.socket.write(frameCopy(RecordType.Stdin, 1, big)); // 1.2 MB, unread
    const req = await started.promise;
    await until(() => req.stdin.readableLength >= 16 * 1024); // the server paused on it
    answerNow.resolve();
    assert.equal((await p).stdout.toString(), '\r\nanswered');
    for (let i = 0; i < 20; i++) c.socket.write(frameCopy(RecordType.Stdin, 1, big)); // more, after the answer
    c.endStdin(1);
    const r2 = await c.request({ MODE: 'echo' }, { keepConn: true, stdin: Buffer.from('next') });
    assert.match(r2.stdout.toString(), /id=1 body=next$/);
    assert.equal(c.error, null);
    assert.deepEqual(logs, []);
    c.close();
  });
});

test('multiplexed: a request that does not read buffers up to its bound without stalling the others', {
  timeout: 20_000,
}, async () => {
  const releaseSlow = deferred();
  const handler: FcgiHandler = async (req, res) => {
    if (req.param('SLOW') === '1') await releaseSlow.promise;
    await echoHandler(req, res);
  };
  await withServer(handler, { stdinBufferBytes: 16 * 1024, stdinMpxBufferBytes: 256 * 1024 }, async (target) => {
    const c = await FcgiTestClient.connect(target);
    const slow = c.begin(1, { SLOW: '1' }, { keepConn: true, stdin: null });
    const fast = c.begin(2, {}, { keepConn: true, stdin: null });
    await c.sendStdin(1, Buffer.alloc(100_000, 0x61)); // more than stdinBufferBytes, under the mpx bound
    await c.sendStdin(2, Buffer.from('quick'));
    c.endStdin(2);
    assert.match((await fast).stdout.toString(), /id=2 body=quick$/);
    releaseSlow.resolve();
    c.endStdin(1);
    assert.equal((await slow).stdout.toString().length, 'Content-Type: text/plain\r\n\r\nid=1 body='.length + 100_000);
    c.close();
  });
});

test('listens on a unix socket', { timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fcgate-app-'));
  const path = join(dir, 'app.sock');
  const server = createFcgiServer(echoHandler, { log: () => {} });
  try {
    const a = await server.listen({ path });
    assert.deepEqual(a, { path });
    const c = await FcgiTestClient.connect({ path });
    const r = await c.request({}, { stdin: Buffer.from('over unix') });
    assert.match(r.stdout.toString(), /body=over unix$/);
    await c.closed;
  } finally {
    await server.destroyAll();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a unix socket path holding a regular file is refused, never removed', { timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fcgate-app-'));
  const path = join(dir, 'not-a-socket');
  writeFileSync(path, 'keep me');
  const server = createFcgiServer(echoHandler, { log: () => {} });
  try {
    await assert.rejects(server.listen({ path }), { code: 'EADDRINUSE' });
    assert.equal(readFileSync(path, 'utf8'), 'keep me');
  } finally {
    await server.destroyAll();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('maxConns: a connection beyond the limit waits unread until one closes', { timeout: 20_000 }, async () => {
  const handler: FcgiHandler = (req, res) => {
    res.write(`\r\nconn=${req.connectionId}`);
    res.end();
  };
  await withServer(handler, { maxConns: 1 }, async (target, _logs, server) => {
    const a = await FcgiTestClient.connect(target);
    await a.request({}, { keepConn: true });
    const b = await FcgiTestClient.connect(target);
    let bAnswered = false;
    const pb = b.request({}).then((r) => {
      bAnswered = true;
      return r;
    });
    await until(() => server.queuedCount === 1);
    const ra = await a.request({}, { keepConn: true }); // a is still served meanwhile
    assert.equal(ra.stdout.toString(), '\r\nconn=1');
    assert.equal(bAnswered, false);
    a.close();
    assert.equal((await pb).stdout.toString(), '\r\nconn=2');
    await b.closed;
  });
});

test('close(): in-flight requests finish, then connections and listener close', { timeout: 20_000 }, async () => {
  const started = deferred();
  const finish = deferred();
  const handler: FcgiHandler = async (_req, res) => {
    started.resolve();
    await finish.promise;
    res.write('\r\nfinished');
    res.end();
  };
  const server = createFcgiServer(handler, { log: () => {} });
  const a = await server.listen({ host: '127.0.0.1', port: 0 });
  assert.ok('port' in a);
  const c = await FcgiTestClient.connect({ host: a.host, port: a.port });
  const p = c.begin(1, {}, { keepConn: true });
  await started.promise;
  const closed = server.close();
  finish.resolve();
  assert.equal((await p).stdout.toString(), '\r\nfinished');
  await c.closed;
  await closed;
});

test('the web server half-closes while STDIN is incomplete: the request is aborted, not left waiting', {
  timeout: 20_000,
}, async () => {
  const aborted = deferred<string>();
  const started = deferred();
  const handler: FcgiHandler = (req) => {
    req.signal.addEventListener('abort', () => aborted.resolve(String((req.signal.reason as Error).message)));
    req.stdin.on('error', () => {});
    req.stdin.resume();
    started.resolve();
  };
  await withServer(handler, {}, async (target) => {
    const c = await FcgiTestClient.connect(target);
    // BEGIN + PARAMS announcing a 100-byte body, then only 10 bytes of STDIN, then FIN.
    const { writePreamble } = await import('../../src/protocol/request-writer.js');
    c.socket.write(writePreamble(1, ['CONTENT_LENGTH', '100', 'REQUEST_METHOD', 'POST'], { keepConn: true }));
    c.socket.write(frameCopy(RecordType.Stdin, 1, Buffer.alloc(10, 0x61)));
    await started.promise;
    c.socket.end();
    assert.match(await aborted.promise, /closed before the end of STDIN/);
    c.close();
  });
});
