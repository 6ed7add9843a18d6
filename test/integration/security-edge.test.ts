// Issue 9, the HTTP edge: request smuggling through duplicate Content-Length, Transfer-Encoding
// other than exactly chunked, Host validation, '#' in the target, Expect, and 413/408 answers
// that reach a client still sending. Each refusal is answered and the connection closed, and
// nothing after the refused request on that connection ever reaches the app. The app here
// records every request it gets, so "never reached the app" is checked, not assumed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FcgiServer } from '../../src/app/responder-server.js';
import { RawConnection, sleep } from '../helpers/raw-http.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { waitUntil } from './gateway-app-kit.js';

interface Recording {
  server: FcgiServer;
  port: number;
  seen: string[];
}

/** A FastCGI app that records REQUEST_URI of each request and answers "ok", reading the body. */
async function recordingApp(): Promise<Recording> {
  const seen: string[] = [];
  const server = new FcgiServer(async (req, res) => {
    seen.push(`${req.param('REQUEST_METHOD')} ${req.param('REQUEST_URI')}`);
    let n = 0;
    for await (const c of req.stdin as AsyncIterable<Buffer>) n += c.length;
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write(`ok ${n}\n`);
    res.end();
  });
  const a = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, port: (a as { port: number }).port, seen };
}

/** Sends `wire` in one write on a new connection; the answer, and whether the gateway then closed. */
async function exchange(
  port: number,
  wire: string | Buffer,
): Promise<{ status: number | null; closed: boolean; extra: string; conn: RawConnection }> {
  const conn = await RawConnection.connect(port);
  await conn.send(wire);
  const out = await conn.read({ keepBody: true, timeoutMs: 5000 });
  const closed = out.closed || (await conn.waitClosed(2000));
  return { status: out.response?.status ?? null, closed, extra: out.extra.toString('latin1'), conn };
}

describe('framing refusals close the connection; nothing behind them reaches the app', () => {
  let app: Recording;
  let gw: TestGateway;
  before(async () => {
    app = await recordingApp();
    gw = await startTestGateway({ config: `ProxyPass / fcgi://127.0.0.1:${app.port}/\n`, probe: false });
  });
  after(async () => {
    await gw.stop();
    await app.server.destroyAll();
  });

  it('duplicate Content-Length with a request smuggled behind it, in one write (issue 9 §1)', async () => {
    const before = app.seen.length;
    const r = await exchange(
      gw.port,
      'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 40\r\n\r\n'
        + 'helloGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    r.conn.close();
    // Either the 400 or (uWS saw the smuggled request while ours was pending) no answer at all:
    // both close, and neither lets anything through.
    if (r.status !== null) assert.equal(r.status, 400);
    assert.ok(r.closed, 'the connection is closed');
    assert.ok(!r.extra.includes('HTTP/1.1 200'), `a second response came: ${r.extra}`);
    await sleep(100);
    assert.deepEqual(app.seen.slice(before), [], 'the app saw nothing');
    assert.ok(
      gw.logs.some((l) => l.startsWith('FCGATE_BAD_FRAMING') && l.includes('more than one Content-Length')),
      gw.logs.join('\n'),
    );
  });

  it('duplicate Content-Length alone: 400, then closed', async () => {
    const r = await exchange(
      gw.port,
      'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello',
    );
    r.conn.close();
    assert.equal(r.status, 400);
    assert.ok(r.closed);
  });

  it('the smuggled request in a later read: the connection is already closed', async () => {
    const before = app.seen.length;
    const conn = await RawConnection.connect(gw.port);
    await conn.send('POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 40\r\n\r\nhello');
    const out = await conn.read({ timeoutMs: 5000 });
    assert.equal(out.response?.status, 400);
    await conn.send('GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.ok(await conn.waitClosed(2000));
    conn.close();
    await sleep(50);
    assert.deepEqual(app.seen.slice(before), []);
  });

  for (const [te, status] of [
    ['xchunked', 400],
    ['identity', 400],
    ['chunked, gzip', 400],
    ['chunked, chunked', 400],
    ['gzip, chunked', 501],
    ['gzip', 400],
  ] as const) {
    it(`Transfer-Encoding: ${te} → ${status}, closed, the app never contacted (issue 9 §3)`, async () => {
      const before = app.seen.length;
      const r = await exchange(
        gw.port,
        `POST /te HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${te}\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
      );
      r.conn.close();
      assert.equal(r.status, status);
      assert.ok(r.closed);
      assert.deepEqual(app.seen.slice(before), []);
    });
  }

  it('Transfer-Encoding: Chunked (any case) is chunked', async () => {
    const r = await exchange(
      gw.port,
      'POST /te HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    );
    r.conn.close();
    assert.equal(r.status, 200);
  });

  for (const [what, head] of [
    ['two Host headers', 'Host: good.example\r\nHost: evil.example\r\n'],
    ['a Host with a path and markup', 'Host: evil.com/../x"><script>\r\n'],
    ['a Host with userinfo and a space', 'Host: a@b:80 x\r\n'],
    ['a Host with a bad port', 'Host: example.com:80a\r\n'],
  ] as const) {
    it(`${what} → 400 and closed (issue 9 §4, RFC 9112 §3.2)`, async () => {
      const before = app.seen.length;
      const r = await exchange(gw.port, `GET /h HTTP/1.1\r\n${head}Accept: */*\r\n\r\n`);
      r.conn.close();
      assert.equal(r.status, 400);
      assert.ok(r.closed);
      assert.deepEqual(app.seen.slice(before), []);
    });
  }

  it('valid Host forms pass: a name with a port, an IPv4 address, an IPv6 literal, empty', async () => {
    for (const host of ['www.example.com:8080', '192.0.2.1', '[2001:db8::1]:80', 'under_score.example', '']) {
      const r = await exchange(gw.port, `GET /ok HTTP/1.1\r\nHost: ${host}\r\nAccept: */*\r\n\r\n`);
      r.conn.close();
      assert.equal(r.status, 200, host);
    }
  });

  it("'#' in the target → 400; an Expect other than 100-continue → 417", async () => {
    const a = await exchange(gw.port, 'GET /x#frag HTTP/1.1\r\nHost: x\r\n\r\n');
    a.conn.close();
    assert.equal(a.status, 400);
    const b = await exchange(gw.port, 'GET /x HTTP/1.1\r\nHost: x\r\nExpect: the-unexpected\r\n\r\n');
    b.conn.close();
    assert.equal(b.status, 417);
  });
});

describe('answers that reach a client still sending (lingering, issue 9 §11)', () => {
  let app: Recording;
  let gw: TestGateway;
  before(async () => {
    app = await recordingApp();
    gw = await startTestGateway({
      config: `ProxyPass / fcgi://127.0.0.1:${app.port}/\n`,
      probe: false,
      tuning: { FCGATE_MAX_BODY: 1024 * 1024 },
    });
  });
  after(async () => {
    await gw.stop();
    await app.server.destroyAll();
  });

  for (const form of ['length', 'chunked'] as const) {
    it(`413 for a ${form} body over FCGATE_MAX_BODY while the client sends: it reads the 413, no reset`, async () => {
      const conn = await RawConnection.connect(gw.port);
      await conn.send(
        `POST /big HTTP/1.1\r\nHost: `
          + `x\r\n${form === 'length' ? 'Content-Length: 10000000000' : 'Transfer-Encoding: chunked'}\r\n\r\n`,
      );
      const reading = conn.read({ keepBody: true, timeoutMs: 10_000 });
      const piece = Buffer.alloc(64 * 1024, 0x61);
      const framed =
        form === 'length'
          ? piece
          : Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);
      // 4 MiB after the limit is passed, as curl does until it reads the answer.
      for (let i = 0; i < 80 && !conn.closed && conn.error === null; i++) await conn.send(framed);
      const out = await reading;
      conn.close();
      assert.equal(conn.error?.message.includes('ECONNRESET') ?? false, false, `reset: ${conn.error?.message}`);
      assert.equal(out.response?.status, 413);
      assert.ok(out.response!.headers.some(([n, v]) => n === 'connection' && v === 'close'));
    });
  }
});

describe('request bodies: the body timeout (FCGATE_BODY_TIMEOUT)', () => {
  it('a chunked body that stops: 408, closed, logged with the bytes received', async () => {
    const app = await recordingApp();
    const gw = await startTestGateway({
      config: `ProxyPass / fcgi://127.0.0.1:${app.port}/\n`,
      probe: false,
      tuning: { FCGATE_BODY_TIMEOUT: 800 },
    });
    try {
      const conn = await RawConnection.connect(gw.port);
      await conn.send('POST /stop HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
      const out = await conn.read({ timeoutMs: 5000 });
      assert.equal(out.response?.status, 408);
      assert.ok(out.closed || (await conn.waitClosed(2000)));
      conn.close();
      await waitUntil(() => gw.logs.some((l) => l.startsWith('FCGATE_BODY_TIMEOUT')), 1000, 'the log line');
      assert.match(gw.logs.find((l) => l.startsWith('FCGATE_BODY_TIMEOUT'))!, /received=5 expected=chunked/);
      assert.deepEqual(app.seen, []);
    } finally {
      await gw.stop();
      await app.server.destroyAll();
    }
  });
});
