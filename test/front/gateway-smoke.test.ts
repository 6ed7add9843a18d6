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
  t.after(async () => { await gw.stop(); await app.close(); });

  const hello = await fetch(`${gw.base}/mon_appli/hello`);
  assert.equal(hello.status, 200);
  assert.equal(await hello.text(), 'Hello from the fcgate demo app\n');

  const body = Buffer.alloc(300_000, 7);
  const echo = await fetch(`${gw.base}/mon_appli/echo`, { method: 'POST', body });
  assert.deepEqual(await echo.json(), { length: body.length, sha256: createHash('sha256').update(body).digest('hex') });

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
