// Issue 8 §3: a response never reaches the wrong client. An app that writes STDOUT after its
// END_REQUEST (a whole fake response for the same request id), with a second request waiting
// for that very connection (max=1): before the fix the extra bytes became the second
// client's response head and body (5 of 5 runs), because the connection went back to the
// pool inside END_REQUEST and the next request reused request id 1. Now END_REQUEST reaches
// the exchange only once nothing else follows it in the read (else the connection closes),
// and each request on a kept connection gets the next id, so late bytes name a request that
// is over (a protocol error that closes the connection). Also: a local redirect whose
// second request fails gets its 502 (the redirect head never reached the client).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RawConnection } from '../helpers/raw-http.js';
import { startPair, waitUntil, type Pair } from './gateway-app-kit.js';

async function get(
  port: number,
  path: string,
): Promise<{ status: number; body: string; headers: Array<[string, string]> } | { closed: true }> {
  const conn = await RawConnection.connect(port);
  try {
    await conn.send(`GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`);
    const out = await conn.read({ keepBody: true, timeoutMs: 10_000 });
    assert.equal(out.error, null, `framing: ${out.error}`);
    if (out.response === null) return { closed: true };
    return { status: out.response.status, body: out.response.body.toString(), headers: out.response.headers };
  } finally {
    conn.close();
  }
}

for (const mux of ['off', 'on']) {
  describe(`records after END_REQUEST never reach another client (max=1, a request waiting, multiplex=${mux})`, () => {
    let pair: Pair;
    before(async () => {
      pair = await startPair({ config: (port) => `ProxyPass / fcgi://127.0.0.1:${port}/ max=1 multiplex=${mux}\n` });
    });
    after(async () => {
      await pair.stop();
    });

    for (const delay of [0, 0, 0, 1, 5, 20]) {
      it(`stray bytes ${delay === 0 ? 'in the same write' : `${delay} ms later`}`, async () => {
        const logsBefore = pair.gw.logs.length;
        // The waiting request is sent first thing after the stray one, on another connection:
        // it queues for the single connection (max=1) and takes it as soon as it is released.
        const [a, ...bs] = await Promise.all([
          get(pair.gw.port, `/test/stray-after-end-request?delay=${delay}`),
          get(pair.gw.port, '/hello'),
          get(pair.gw.port, '/hello'),
        ]);
        assert.ok(!('closed' in a), 'the first client got its answer');
        assert.equal(a.status, 200);
        assert.equal(a.body, 'the real answer\n');
        for (const b of bs) {
          if ('closed' in b) assert.fail('a waiting client got no answer at all');
          assert.ok(!b.body.includes('STRAY'), `a waiting client got the stray bytes: ${b.status} ${b.body}`);
          assert.ok(!b.headers.some(([n]) => n === 'x-stray'));
          // Either its own answer, or (stray bytes arrived during it) a clean 502.
          if (b.status !== 200) assert.equal(b.status, 502, b.body);
          else assert.equal(b.body, 'Hello from the fcgate demo app\n');
        }
        // One line says why the connection was dropped (the late bytes may come after the answers).
        const said = (): boolean =>
          pair.gw.logs
            .slice(logsBefore)
            .some(
              (l) =>
                l.startsWith('FCGATE_APP_AFTER_END') || l.startsWith('FCGATE_IDLE_LOST') || /unknown request/.test(l),
            );
        await waitUntil(
          said,
          delay + 2000,
          `a log line about the stray bytes:\n${pair.gw.logs.slice(logsBefore).join('\n')}`,
        );
      });
    }

    it('the gateway still serves normally afterwards, reusing its connection', async () => {
      for (let i = 0; i < 5; i++) {
        const r = await get(pair.gw.port, '/test/count-connection');
        assert.ok(!('closed' in r));
        assert.equal(r.status, 200);
      }
    });
  });
}

describe('a local redirect whose second request fails gets a 502', () => {
  let pair: Pair;
  before(async () => {
    pair = await startPair();
  });
  after(async () => {
    await pair.stop();
  });

  for (const target of ['/test/close-before-head', '/test/close-in-head', '/test/garbage', '/test/die-mid-response']) {
    it(`Location: ${target}`, async () => {
      const r = await get(pair.gw.port, `/test/headers?h=${encodeURIComponent(`Location: ${target}`)}`);
      assert.ok(!('closed' in r), 'the client got an answer');
      // die-mid-response sends its head first: the client gets it, then the connection closes.
      if (target === '/test/die-mid-response') assert.equal(r.status, 200);
      else assert.equal(r.status, 502);
    });
  }

  it('a redirect head followed by a fault of the first request itself: 502, not a silent close', async () => {
    // Location without Status, then the app closes the connection without END_REQUEST.
    const before = pair.gw.logs.length;
    const r = await get(pair.gw.port, `/test/die-mid-response?location=/hello`);
    assert.ok(!('closed' in r), 'the client got an answer');
    assert.equal(r.status, 502);
    assert.ok(
      pair.gw.logs.slice(before).some((l) => l.startsWith('FCGATE_APP_CLOSED')),
      pair.gw.logs.slice(before).join('\n'),
    );
  });
});
