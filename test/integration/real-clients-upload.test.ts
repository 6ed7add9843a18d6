// Issue 8 §2: request bodies that arrive as real clients send them — in pieces, late, slowly,
// after `Expect: 100-continue`, chunked — reach the app whole, on cold and warm pools, with and
// without reuse and request buffering; a client that stops sending gets 408 and the app never
// sees a short body presented as complete. Before the fixes: a body split across two reads on
// a request that needed a new backend connection stalled (uWS's res.resume() on a response it
// had not paused turns the socket's polling off), and a body whose client was paused at its
// last chunk armed uWS's 10 s timer, which closed the connection under a slow app.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { cutAt, RawConnection, rng, sleep } from '../helpers/raw-http.js';
import { logsOf, PatternBody, startPair, waitUntil, type Pair } from './gateway-app-kit.js';

interface Echo {
  length: number;
  sha256: string;
  content_length: string;
}
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The chunked encoding of `body` in chunks of `size`. */
function chunked(body: Buffer, size: number): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < body.length; at += size) {
    const c = body.subarray(at, Math.min(body.length, at + size));
    parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/**
 * Sends `wire` in 2–5 pieces cut at random offsets after the request line, 0–100 ms apart;
 * reads the answer. (A request line cut in two gets 505 from uwebsockets@3.0.6 itself: the
 * edge issue's uWS build matrix, native-notes/uws.md.)
 */
async function sendSplit(
  port: number,
  wire: Buffer,
  next: () => number,
): Promise<{ status: number; echo: Echo | null; text: string }> {
  const line = wire.indexOf('\r\n') + 2;
  const cuts = Array.from(
    { length: 1 + Math.floor(next() * 4) },
    () => line + Math.floor(next() * (wire.length - line)),
  ).sort((a, b) => a - b);
  const conn = await RawConnection.connect(port);
  try {
    const pieces = cutAt(wire, cuts);
    for (let i = 0; i < pieces.length; i++) {
      if (i > 0) await sleep(Math.floor(next() * 100));
      await conn.send(pieces[i]!);
    }
    const out = await conn.read({ keepBody: true, timeoutMs: 20_000 });
    assert.equal(out.error, null, `framing: ${out.error}`);
    assert.ok(out.response !== null, `no response (closed=${out.closed}) after cuts ${cuts.join(',')}`);
    const text = out.response.body.toString();
    return { status: out.response.status, echo: out.response.status === 200 ? (JSON.parse(text) as Echo) : null, text };
  } finally {
    conn.close();
  }
}

const CONFIGS = ['', 'disablereuse=on', 'requestbuffering=off', 'disablereuse=on requestbuffering=off'];

for (const keys of CONFIGS) {
  describe(`bodies in pieces reach the app whole (${keys || 'defaults'})`, () => {
    let pair: Pair;
    before(async () => {
      // A fresh gateway: the first request finds no kept connection (cold), the others may (warm).
      pair = await startPair({ config: (port) => `ProxyPass / fcgi://127.0.0.1:${port}/ ${keys}\n` });
    });
    after(async () => {
      await pair.stop();
    });

    for (const [size, seed] of [
      [1000, 1],
      [70_000, 2],
      [300_000, 3],
      [1000, 4],
      [2_000_000, 5],
    ] as const) {
      it(`Content-Length ${size} (seed ${seed})`, async () => {
        const next = rng(seed * 7919 + keys.length);
        const body = PatternBody.bytes(size);
        const wire = Buffer.concat([
          Buffer.from(`POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: ${size}\r\n\r\n`),
          body,
        ]);
        const r = await sendSplit(pair.gw.port, wire, next);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.echo, { length: size, sha256: sha(body), content_length: String(size) });
      });
    }

    for (const [size, seed] of [
      [50_000, 11],
      [1_500_000, 12],
    ] as const) {
      it(`chunked ${size} (seed ${seed})`, async () => {
        const next = rng(seed * 104729 + keys.length);
        const body = PatternBody.bytes(size);
        const wire = Buffer.concat([
          Buffer.from('POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n'),
          chunked(body, 7000),
        ]);
        const r = await sendSplit(pair.gw.port, wire, next);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.echo, { length: size, sha256: sha(body), content_length: String(size) });
      });
    }

    it('Expect: 100-continue, 3 MB: 100 Continue, then the body, then the answer', async () => {
      const body = PatternBody.bytes(3_000_000);
      for (const form of ['length', 'chunked'] as const) {
        const conn = await RawConnection.connect(pair.gw.port);
        try {
          await conn.send(
            `POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n`
              + `${form === 'length' ? `Content-Length: ${body.length}` : 'Transfer-Encoding: chunked'}\r\n\r\n`,
          );
          // As curl does: wait for the 100 (uWS sends it at once), then send.
          await waitUntil(() => conn.socket.bytesRead > 0, 3000, '100 Continue');
          const sending = conn.send(form === 'length' ? body : chunked(body, 65536));
          const out = await conn.read({ keepBody: true, timeoutMs: 20_000 });
          await sending;
          assert.equal(out.error, null);
          assert.deepEqual(out.response?.interim, ['HTTP/1.1 100 Continue']);
          assert.equal(out.response?.status, 200);
          assert.deepEqual(JSON.parse(out.response!.body.toString()), {
            length: body.length,
            sha256: sha(body),
            content_length: String(body.length),
          });
        } finally {
          conn.close();
        }
      }
    });

    it('20 MB to an app that reads slowly (20 MB/s)', async () => {
      const body = new PatternBody(20_000_000);
      const conn = await RawConnection.connect(pair.gw.port);
      try {
        await conn.send(`POST /echo?rate=20000000 HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.size}\r\n\r\n`);
        for (const c of body.chunks()) await conn.send(Buffer.from(c));
        const out = await conn.read({ keepBody: true, timeoutMs: 30_000 });
        assert.equal(out.response?.status, 200);
        assert.deepEqual(JSON.parse(out.response!.body.toString()), {
          length: body.size,
          sha256: body.digest(),
          content_length: String(body.size),
        });
      } finally {
        conn.close();
      }
    });
  });
}

describe('slow apps and slow clients', () => {
  let pair: Pair;
  before(async () => {
    pair = await startPair({ tuning: { FCGATE_SPOOL_MEMORY: 64 * 1024, FCGATE_BODY_TIMEOUT: 5000 } });
  });
  after(async () => {
    await pair.stop();
  });

  it('answers after 15 s reach the client (spooled or Content-Length bodies); 4 KB/s for 13 s is not cut', async () => {
    const body = PatternBody.bytes(2_000_000);
    const slowApp = async (form: 'chunked' | 'length'): Promise<void> => {
      const conn = await RawConnection.connect(pair.gw.port);
      try {
        await conn.send(
          `POST /echo?delay=15000 HTTP/1.1\r\nHost: `
            + `t\r\n${form === 'length' ? `Content-Length: ${body.length}` : 'Transfer-Encoding: chunked'}\r\n\r\n`,
        );
        await conn.send(form === 'length' ? body : chunked(body, 100_000));
        const out = await conn.read({ keepBody: true, timeoutMs: 30_000 });
        assert.equal(out.error, null);
        assert.equal(
          out.response?.status,
          200,
          `${form}: ${out.response?.statusLine ?? `no answer, closed=${out.closed} after ${out.ms} ms`}`,
        );
        assert.ok(out.ms >= 14_000, `answered after ${out.ms} ms`);
        assert.deepEqual(JSON.parse(out.response!.body.toString()), {
          length: body.length,
          sha256: sha(body),
          content_length: String(body.length),
        });
      } finally {
        conn.close();
      }
    };
    // Below uWS's receive floor (160 KiB per 10 s): uWS alone cuts this at 8–12 s.
    const slowClient = async (): Promise<void> => {
      const piece = Buffer.alloc(1000, 0x63);
      const n = 52;
      const conn = await RawConnection.connect(pair.gw.port);
      try {
        await conn.send(`POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: ${n * piece.length}\r\n\r\n`);
        for (let i = 0; i < n; i++) {
          await sleep(250);
          await conn.send(piece);
        }
        const out = await conn.read({ keepBody: true, timeoutMs: 10_000 });
        assert.equal(out.response?.status, 200, `slow client: ${out.response?.statusLine ?? `closed=${out.closed}`}`);
        assert.equal((JSON.parse(out.response!.body.toString()) as Echo).length, n * piece.length);
      } finally {
        conn.close();
      }
    };
    await Promise.all([slowApp('chunked'), slowApp('length'), slowClient()]);
  });

  for (const keys of ['', 'requestbuffering=off']) {
    const mode = keys || 'buffered';
    it(`a client that stops sending gets 408; the app never sees a short body as whole (${mode})`, async () => {
      const p = await startPair({
        tuning: { FCGATE_BODY_TIMEOUT: 1000 },
        config: (port) => `ProxyPass / fcgi://127.0.0.1:${port}/ ${keys}\n`,
      });
      try {
        const conn = await RawConnection.connect(p.gw.port);
        await conn.send(`POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n`);
        await conn.send(Buffer.alloc(700_000, 0x64));
        const out = await conn.read({ keepBody: true, timeoutMs: 10_000 });
        assert.equal(out.response?.status, 408);
        assert.ok(await conn.waitClosed(3000), 'the connection is closed after the 408');
        conn.close();
        const lines = logsOf(p.gw, 'FCGATE_BODY_TIMEOUT');
        assert.equal(lines.length, 1, p.gw.logs.join('\n'));
        assert.match(lines[0]!, /received=700000 expected=2000000 idle_ms=\d+/);
        // The app got nothing (buffered) or a connection that was reset (streamed): never a 200 to send.
        await waitUntil(
          () => p.app.server.connectionCount === 0 && p.app.server.running === 0,
          3000,
          'the app to be idle',
        );
        assert.equal(p.gw.gateway.inFlight, 0);
      } finally {
        await p.stop();
      }
    });
  }
});

describe('bodies in pieces through `fcgate serve` with 2 serving threads (cold start)', () => {
  it('24 split uploads over fresh connections, spread over both threads by the kernel', async () => {
    const { startApp, startServe } = await import('../threads/cli-process.js');
    const { freePort } = await import('../helpers/free-port.js');
    const app = await startApp();
    const port = await freePort();
    const gw = await startServe(['--listen', `127.0.0.1:${port}`, '--pass', `/=fcgi://127.0.0.1:${app.port}/`], 2);
    try {
      const results = await Promise.all(
        Array.from({ length: 24 }, async (_, i) => {
          const next = rng(1000 + i);
          const size = [1000, 70_000, 300_000][i % 3]!;
          const body = PatternBody.bytes(size);
          const wire = Buffer.concat([
            Buffer.from(`POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: ${size}\r\n\r\n`),
            body,
          ]);
          const r = await sendSplit(port, wire, next);
          return { r, size, sha: sha(body) };
        }),
      );
      for (const { r, size, sha: digest } of results) {
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.echo, { length: size, sha256: digest, content_length: String(size) });
      }
    } finally {
      await gw.stop();
      await app.proc.stop();
    }
  });
});
