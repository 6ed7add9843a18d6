// Request and response bodies through the real gateway to real PHP-FPM: uploads with a
// Content-Length (0 B, 1 B, 65535, 65536, 10 MiB) checked by SHA-256 of php://input,
// chunked uploads (no Content-Length) that PHP must see with CONTENT_LENGTH and whole
// (deliberate difference from Apache: docs/apache-differences.md), and a server-sent
// event stream (stream.php flushing each event) that must arrive spread over time with
// flushpackets=auto (the default) and =on, and in one go with =off.
// Also: a 32 MiB answer, a PHP fatal error, Expect: 100-continue.
// Other request/response behaviour (HEAD, redirects, cookies, headers): gateway-php-http.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomFillSync } from 'node:crypto';
import { Agent, request } from 'node:http';
import { PHP_FIXTURES, skipUnlessPhpFpm, startPhpFpm, type PhpFpm } from '../helpers/php-fpm.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const skip = skipUnlessPhpFpm();
const MiB = 1024 * 1024;

interface EnvAnswer {
  file: string;
  server: Record<string, string>;
  body_length: number;
  body_sha256: string;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** POSTs `pieces` with Transfer-Encoding: chunked (no Content-Length) and parses env.php's JSON. */
function postChunked(url: string, pieces: Buffer[], agent?: Agent): Promise<{ status: number; env: EnvAnswer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        ...(agent ? { agent } : {}),
        method: 'POST',
        headers: { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode!, env: JSON.parse(Buffer.concat(parts).toString('utf8')) as EnvAnswer });
          } catch (err) {
            reject(err as Error);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('chunked POST timed out')));
    let i = 0;
    const next = (): void => {
      while (i < pieces.length) {
        if (!req.write(pieces[i++]!)) {
          req.once('drain', next);
          return;
        }
      }
      req.end();
    };
    next();
  });
}

/** GETs a stream and notes when each SSE event (a block ending in a blank line) arrived. */
function eventTimes(
  url: string,
): Promise<{ status: number; type: string | undefined; events: string[]; at: number[]; total: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(url, (res) => {
      let text = '';
      const events: string[] = [];
      const at: number[] = [];
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
        let end: number;
        while ((end = text.indexOf('\n\n')) >= 0) {
          events.push(text.slice(0, end));
          at.push(performance.now() - t0);
          text = text.slice(end + 2);
        }
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          type: res.headers['content-type'],
          events,
          at,
          total: performance.now() - t0,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('stream timed out')));
    req.end();
  });
}

describe('bodies through the gateway to PHP-FPM', { skip }, () => {
  let fpm: PhpFpm;
  let gw: TestGateway;
  let env = ''; // URL of env.php through the gateway
  before(async () => {
    fpm = await startPhpFpm({ docroot: PHP_FIXTURES, maxChildren: 3 });
    const fx = PHP_FIXTURES.replace(/\/+$/, '');
    gw = await startTestGateway({
      config: [
        `DocumentRoot "${fx}"`,
        '<FilesMatch "\\.php$">',
        `    SetHandler "proxy:fcgi://localhost:${fpm.port}"`,
        '</FilesMatch>',
        '',
      ].join('\n'),
    });
    env = `${gw.base}/env.php`;
  });
  after(async () => {
    await gw?.stop();
    await fpm?.stop();
  });

  for (const size of [0, 1, 65535, 65536, 10 * MiB]) {
    test(`POST with Content-Length ${size}: PHP reads it all`, async () => {
      const body = Buffer.allocUnsafe(size);
      randomFillSync(body);
      const r = await fetch(`${env}?n=${size}`, {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/octet-stream' },
      });
      assert.equal(r.status, 200);
      const j = (await r.json()) as EnvAnswer;
      assert.equal(j.server['REQUEST_METHOD'], 'POST');
      assert.equal(j.server['CONTENT_LENGTH'], String(size));
      assert.equal(j.server['CONTENT_TYPE'], 'application/octet-stream');
      assert.equal(j.body_length, size);
      assert.equal(j.body_sha256, sha256(body));
    });
  }

  test('chunked upload of 1 MiB: PHP sees CONTENT_LENGTH=1048576 and the whole body', async () => {
    const pieces: Buffer[] = [];
    for (let i = 0; i < 64; i++) pieces.push(randomFillSync(Buffer.allocUnsafe(16 * 1024)));
    const whole = Buffer.concat(pieces);
    const r = await postChunked(env, pieces);
    assert.equal(r.status, 200);
    assert.equal(r.env.server['CONTENT_LENGTH'], String(MiB));
    assert.equal(r.env.server['HTTP_TRANSFER_ENCODING'], undefined);
    assert.equal(r.env.body_length, MiB);
    assert.equal(r.env.body_sha256, sha256(whole));
  });

  test('chunked uploads of 0 and 100 bytes: CONTENT_LENGTH 0 and 100', async () => {
    const empty = await postChunked(env, []);
    assert.equal(empty.status, 200);
    assert.equal(empty.env.server['CONTENT_LENGTH'], '0');
    assert.equal(empty.env.body_length, 0);
    const small = Buffer.alloc(100, 0x61);
    const r = await postChunked(env, [small.subarray(0, 30), small.subarray(30)]);
    assert.equal(r.env.server['CONTENT_LENGTH'], '100');
    assert.equal(r.env.body_sha256, sha256(small));
  });

  test('a chunked 10 MiB upload spooled (memory, then a temp file); the connection serves the next one', async (t) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    t.after(() => agent.destroy());
    const pieces: Buffer[] = [];
    for (let i = 0; i < 40; i++) pieces.push(randomFillSync(Buffer.allocUnsafe(256 * 1024)));
    const r = await postChunked(env, pieces, agent);
    assert.equal(r.status, 200);
    assert.equal(r.env.server['CONTENT_LENGTH'], String(10 * MiB));
    assert.equal(r.env.body_sha256, sha256(Buffer.concat(pieces)));
    // The same keep-alive connection: it was left paused once (fixed), so nothing was read.
    const again = await postChunked(env, [Buffer.from('next')], agent);
    assert.equal(again.env.body_length, 4);
  });

  test('a 32 MiB answer from PHP arrives whole (backpressure both ways)', async () => {
    const r = await fetch(`${gw.base}/big.php?kib=${32 * 1024}`);
    assert.equal(r.status, 200);
    const body = Buffer.from(await r.arrayBuffer());
    assert.equal(body.length, 32 * MiB);
    const block = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/'.repeat(1024));
    const expected = createHash('sha256');
    for (let i = 0; i < 32 * 16; i++) expected.update(block);
    assert.equal(sha256(body), expected.digest('hex'));
  });

  test("a PHP fatal error: 500 from PHP-FPM, its message in the gateway's log only", async () => {
    const r = await fetch(`${gw.base}/big.php?fatal=1`);
    assert.equal(r.status, 500);
    const text = await r.text();
    assert.ok(!text.includes('fcgate_no_such_function'), text);
    assert.ok(
      gw.logs.some((l) => l.startsWith('FCGATE_APP_STDERR') && l.includes('fcgate_no_such_function')),
      gw.logs.join('\n'),
    );
  });

  test('Expect: 100-continue: the client gets 100 Continue, PHP gets HTTP_EXPECT and the body', async () => {
    const body = randomFillSync(Buffer.allocUnsafe(5000));
    const r = await new Promise<{ continued: boolean; status: number; env: EnvAnswer }>((resolve, reject) => {
      let continued = false;
      const req = request(
        env,
        {
          method: 'POST',
          headers: {
            Expect: '100-continue',
            'Content-Length': String(body.length),
            'Content-Type': 'application/octet-stream',
          },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () =>
            resolve({
              continued,
              status: res.statusCode!,
              env: JSON.parse(Buffer.concat(parts).toString('utf8')) as EnvAnswer,
            }),
          );
        },
      );
      req.on('continue', () => {
        continued = true;
        req.end(body);
      });
      req.on('error', reject);
      req.setTimeout(5000, () => req.destroy(new Error('no 100 Continue and no answer')));
    });
    assert.ok(r.continued);
    assert.equal(r.status, 200);
    assert.equal(r.env.server['HTTP_EXPECT'], '100-continue');
    assert.equal(r.env.body_sha256, sha256(body));
  });

  // stream.php: 5 events 150 ms apart, each flushed by PHP (output buffers closed first).
  const N = 5;
  const GAP = 150;
  /** A gateway of its own per setting: the worker (host:port) carries flushpackets. */
  const streamGateway = async (key: string): Promise<TestGateway> => {
    const fx = PHP_FIXTURES.replace(/\/+$/, '');
    return startTestGateway({ config: `ProxyPass /s/ fcgi://localhost:${fpm.port}${fx}/ ${key}\n` });
  };
  for (const mode of ['auto', 'on'] as const) {
    test(`SSE with flushpackets=${mode}: events arrive as PHP flushes them`, async (t) => {
      const sgw = await streamGateway(mode === 'auto' ? '' : 'flushpackets=on');
      t.after(() => sgw.stop());
      const r = await eventTimes(`${sgw.base}/s/stream.php?sse=1&n=${N}&ms=${GAP}`);
      assert.equal(r.status, 200);
      assert.match(r.type ?? '', /^text\/event-stream/);
      assert.deepEqual(
        r.events,
        Array.from({ length: N }, (_, i) => `id: ${i}\ndata: chunk ${i}`),
      );
      const spread = r.at[N - 1]! - r.at[0]!;
      // PHP sleeps (N-1)*GAP between the first and the last event.
      assert.ok(
        spread >= (N - 1) * GAP * 0.8,
        `events should be spread over ~${(N - 1) * GAP} ms: ${r.at.map(Math.round)}`,
      );
      for (let i = 1; i < N; i++) {
        assert.ok(r.at[i]! - r.at[i - 1]! >= GAP * 0.5, `gap before event ${i}: ${r.at.map(Math.round)}`);
      }
    });
  }

  test("SSE with flushpackets=off: the events arrive together at the end (Apache's default)", async (t) => {
    const sgw = await streamGateway('flushpackets=off');
    t.after(() => sgw.stop());
    const r = await eventTimes(`${sgw.base}/s/stream.php?sse=1&n=${N}&ms=${GAP}`);
    assert.equal(r.status, 200);
    assert.equal(r.events.length, N);
    assert.ok(r.at[0]! >= (N - 1) * GAP * 0.8, `the first event waited for the end: ${r.at.map(Math.round)}`);
    assert.ok(r.at[N - 1]! - r.at[0]! < GAP, `then all at once: ${r.at.map(Math.round)}`);
  });
});
