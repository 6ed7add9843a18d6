// The gateway in front of the built-in demo app: the seed's first example, a body both
// ways, HEAD, and a backend that is down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startDemoApp } from '../../src/app/demo.js';
import { freePort } from '../helpers/free-port.js';
import { startTestGateway } from '../helpers/gateway.js';

test('ProxyPass /mon_appli/ to the demo app: GET, POST, HEAD', async (t) => {
  const app = await startDemoApp({ listen: '127.0.0.1:0' });
  const port = (app.address as { port: number }).port;
  const gw = await startTestGateway({ config: `ProxyPass /mon_appli/ fcgi://127.0.0.1:${port}/\n` });
  t.after(async () => {
    await gw.stop();
    await app.close();
  });

  const hello = await fetch(`${gw.base}/mon_appli/hello`);
  assert.equal(hello.status, 200);
  assert.equal(await hello.text(), 'Hello from the fcgate demo app\n');

  const body = Buffer.alloc(300_000, 7);
  const echo = await fetch(`${gw.base}/mon_appli/echo`, { method: 'POST', body });
  assert.deepEqual(await echo.json(), {
    length: body.length,
    sha256: createHash('sha256').update(body).digest('hex'),
    content_length: String(body.length),
  });

  const head = await fetch(`${gw.base}/mon_appli/bytes?n=5000`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), '5000');
  assert.equal((await head.arrayBuffer()).byteLength, 0);
});

test('nothing listening: 503 and one log line naming the backend', async (t) => {
  const dead = await freePort();
  const gw = await startTestGateway({ config: `ProxyPass /x/ fcgi://127.0.0.1:${dead}/\n`, probe: false });
  t.after(() => gw.stop());
  const r = await fetch(`${gw.base}/x/y`);
  assert.equal(r.status, 503);
  await r.arrayBuffer();
  const lines = gw.logs.filter((l) => l.startsWith('FCGATE_CONNECT_FAILED'));
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, new RegExp(`backend=fcgi://127\\.0\\.0\\.1:${dead}`));
});

for (const keys of ['requestbuffering=off', ''])
  test(`a body larger than FCGATE_BODY_BUFFER while the first backend connection is still opening: the client is resumed once it is ready (${keys || 'spooled'})`, async (t) => {
    const app = await startDemoApp({ listen: '127.0.0.1:0' });
    const port = (app.address as { port: number }).port;
    const gw = await startTestGateway({
      config: `ProxyPass /a/ fcgi://127.0.0.1:${port}/ ${keys}\n`,
      tuning: { FCGATE_BODY_BUFFER: 1024 },
      probe: false,
    });
    t.after(async () => {
      await gw.stop();
      await app.close();
    });
    // 4000 B: held past the limit but under the socket's high-water mark, so no 'drain' comes to resume it.
    for (const size of [4_000, 300_000, 2_000_000]) {
      const body = Buffer.alloc(size, 0x5a);
      const r = await fetch(`${gw.base}/a/echo`, { method: 'POST', body, signal: AbortSignal.timeout(15_000) });
      assert.deepEqual(await r.json(), {
        length: size,
        sha256: createHash('sha256').update(body).digest('hex'),
        content_length: String(size),
      });
    }
  });
