// Conditional GETs answered by the app with 200 become 304 at the gateway, as Apache (an
// origin) does: If-None-Match against the app's ETag, else If-Modified-Since against its
// Last-Modified. Other statuses and methods pass through untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDemoApp } from '../../src/app/demo.js';
import { startTestGateway } from '../helpers/gateway.js';

test("If-None-Match / If-Modified-Since against the app's validators", async (t) => {
  const app = await startDemoApp({ listen: '127.0.0.1:0', testRoutes: true });
  const port = (app.address as { port: number }).port;
  const gw = await startTestGateway({ config: `ProxyPass /a/ fcgi://127.0.0.1:${port}/\n` });
  t.after(async () => {
    await gw.stop();
    await app.close();
  });
  const url = (lines: string[], body = 'payload'): string =>
    `${gw.base}/a/test/headers?${lines.map((l) => `h=${encodeURIComponent(l)}`).join('&')}&body=${body}`;
  const lm = 'Wed, 21 Oct 2015 07:28:00 GMT';
  const validated = url([
    'Content-Type: text/plain',
    'ETag: "v1"',
    `Last-Modified: ${lm}`,
    'Cache-Control: max-age=60',
  ]);

  const match = await fetch(validated, { headers: { 'If-None-Match': 'W/"v0", "v1"' } });
  assert.equal(match.status, 304);
  assert.equal(match.headers.get('etag'), '"v1"');
  assert.equal(match.headers.get('cache-control'), 'max-age=60');
  assert.equal(match.headers.get('content-type'), null);
  assert.equal(await match.text(), '');

  const other = await fetch(validated, { headers: { 'If-None-Match': '"v2"' } });
  assert.equal(other.status, 200);
  assert.equal(await other.text(), 'payload');

  // If-None-Match present and not matching: If-Modified-Since is not looked at.
  const both = await fetch(validated, { headers: { 'If-None-Match': '"v2"', 'If-Modified-Since': lm } });
  assert.equal(both.status, 200);
  await both.arrayBuffer();

  const since = await fetch(validated, { headers: { 'If-Modified-Since': 'Thu, 22 Oct 2015 07:28:00 GMT' } });
  assert.equal(since.status, 304);
  await since.arrayBuffer();
  const older = await fetch(validated, { headers: { 'If-Modified-Since': 'Tue, 20 Oct 2015 07:28:00 GMT' } });
  assert.equal(older.status, 200);
  assert.equal(await older.text(), 'payload');

  // Not a 200, or not GET/HEAD: untouched.
  const created = await fetch(url(['Status: 201 Created', 'ETag: "v1"', 'Content-Type: text/plain']), {
    headers: { 'If-None-Match': '"v1"' },
  });
  assert.equal(created.status, 201);
  await created.arrayBuffer();
  const post = await fetch(validated, { method: 'POST', body: 'x', headers: { 'If-None-Match': '"v1"' } });
  assert.equal(post.status, 200);
  assert.equal(await post.text(), 'payload');

  // The backend connection stays usable after a 304 whose body was discarded.
  const again = await fetch(validated);
  assert.equal(again.status, 200);
  assert.equal(await again.text(), 'payload');
});
