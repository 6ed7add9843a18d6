// mod_remoteip applied (issue 11 §3): behind a listed proxy the app's REMOTE_ADDR is the client
// X-Forwarded-For names (the access log's %{c}a keeps the peer: test/log); per vhost, as
// Apache; a client that is not a listed proxy cannot spoof either header.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { HostileApp, answer } from '../helpers/hostile-app.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let app: HostileApp;
let gw: TestGateway;

before(async () => {
  app = await HostileApp.start({
    handler: (r) =>
      answer(
        `${r.params['REMOTE_ADDR']} ${r.params['HTTPS'] ?? '-'} ${r.params['REQUEST_SCHEME']} `
          + `xff=${r.params['HTTP_X_FORWARDED_FOR'] ?? '-'} by=${r.params['HTTP_X_FORWARDED_BY'] ?? '-'}\n`,
      ),
  });
  // The test's own connections come from 127.0.0.1: a listed proxy on "proxied", not on "direct".
  gw = await startTestGateway({
    probe: false,
    config: `<VirtualHost *:*>
  ServerName proxied
  RemoteIPHeader X-Forwarded-For
  RemoteIPTrustedProxy 127.0.0.1
  RemoteIPProxiesHeader X-Forwarded-By
  ProxyPass / ${app.url}/
</VirtualHost>
<VirtualHost *:*>
  ServerName direct
  RemoteIPHeader X-Forwarded-For
  RemoteIPTrustedProxy 10.9.9.9
  ProxyPass / ${app.url}/
</VirtualHost>
`,
  });
});

after(async () => {
  await gw?.stop();
  await app?.close();
});

function get(host: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: gw.port, path: '/', headers: { Host: host, ...headers }, agent: false },
      (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          b += c;
        });
        res.on('end', () => resolve(b));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('behind a listed proxy: REMOTE_ADDR is the client, the consumed header goes, the proxy is named, X-Forwarded-Proto https is believed', async () => {
  assert.equal(
    await get('proxied', { 'X-Forwarded-For': '198.51.100.7', 'X-Forwarded-Proto': 'https' }),
    '198.51.100.7 on https xff=- by=127.0.0.1\n',
  );
  // A public client behind an untrusted hop: the walk stops at the first address it cannot vouch for.
  assert.equal(
    await get('proxied', { 'X-Forwarded-For': '203.0.113.5, 198.51.100.7' }),
    '198.51.100.7 - http xff=203.0.113.5 by=127.0.0.1\n',
  );
});

test('a peer that is not a listed proxy (another vhost): both headers are ignored and passed on as sent', async () => {
  assert.equal(
    await get('direct', { 'X-Forwarded-For': '198.51.100.7', 'X-Forwarded-Proto': 'https' }),
    '127.0.0.1 - http xff=198.51.100.7 by=-\n',
  );
  assert.equal(await get('proxied', {}), '127.0.0.1 - http xff=- by=-\n', 'no header: the peer');
});
