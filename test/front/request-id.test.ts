// The request id reaches the client on every kind of answer the gateway gives itself
// (static files, 304, 404 pages), under the configured header name, or not at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestGateway } from '../helpers/gateway.js';

test('X-Request-Id on static files, 304s and 404s; RequestIdHeader renames it or turns it off', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'fcgate-rid-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'a.txt'), 'hello\n');
  const gw = await startTestGateway({ probe: false, config: `DocumentRoot ${root}\n` });
  t.after(() => gw.stop());
  const file = await fetch(`${gw.base}/a.txt`);
  assert.equal(file.status, 200);
  const id = file.headers.get('x-request-id')!;
  assert.match(id, /^[A-Za-z0-9_-]{8}-[0-9a-z]+$/);
  const again = await fetch(`${gw.base}/a.txt`, { headers: { 'If-None-Match': file.headers.get('etag')! } });
  assert.equal(again.status, 304);
  assert.notEqual(again.headers.get('x-request-id'), null);
  assert.notEqual(again.headers.get('x-request-id'), id);
  const missing = await fetch(`${gw.base}/nope`);
  assert.equal(missing.status, 404);
  assert.notEqual(missing.headers.get('x-request-id'), null);

  const renamed = await startTestGateway({ probe: false, config: `DocumentRoot ${root}\nRequestIdHeader X-Trace\n` });
  t.after(() => renamed.stop());
  const r = await fetch(`${renamed.base}/a.txt`);
  assert.equal(r.headers.get('x-request-id'), null);
  assert.notEqual(r.headers.get('x-trace'), null);
  const off = await startTestGateway({ probe: false, config: `DocumentRoot ${root}\nRequestIdHeader off\n` });
  t.after(() => off.stop());
  const o = await fetch(`${off.base}/a.txt`);
  assert.equal(o.headers.get('x-request-id'), null);
  assert.equal(await o.text(), 'hello\n');
});
