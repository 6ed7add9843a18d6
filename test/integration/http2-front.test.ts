// HTTP/2 in front of fcgate (issue 11 §2): uWebSockets.js has no HTTP/2, so fcgate sits behind
// a terminator. examples/front/nginx-http2.conf runs here as written (ports and certificate
// paths rewritten): an HTTP/2 client over TLS reaches the app through nginx and fcgate, which
// believes nginx's X-Forwarded-For/-Proto (RemoteIPInternalProxy 127.0.0.1), so the app sees
// HTTPS=on; nginx speaks HTTP/1.1 to fcgate on kept connections (HTTP/1.0 would get 505).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HostileApp, answer } from '../helpers/hostile-app.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/free-port.js';
import { skipUnlessFound, stopGroup, tailFile, trackGroup, waitForConnect } from '../helpers/process.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/front/nginx-http2.conf', import.meta.url));
const TLS = fileURLToPath(new URL('../../../test/fixtures/tls/', import.meta.url));
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => spawnSync(p, ['-v']).status === 0) ?? null;
const skip = skipUnlessFound('nginx', NGINX !== null);

let app: HostileApp;
let gw: TestGateway;
let nginx: ChildProcess | null = null;
let dir = '';
let port = 0;

before(async () => {
  if (skip) return;
  app = await HostileApp.start({
    handler: (r) =>
      answer(
        `${r.params['SERVER_PROTOCOL']} ${r.params['HTTPS'] ?? '-'} ${r.params['REQUEST_SCHEME']} ${r.params['REMOTE_ADDR']} ${r.params['HTTP_HOST']}\n`,
      ),
  });
  gw = await startTestGateway({
    probe: false,
    config: `RemoteIPHeader X-Forwarded-For\nRemoteIPInternalProxy 127.0.0.1\nProxyPass / ${app.url}/\n`,
  });
  dir = mkdtempSync(join(tmpdir(), 'fcgate-h2-'));
  port = await freePort();
  const site = readFileSync(EXAMPLE, 'utf8')
    .replace('server 127.0.0.1:8080;', `server 127.0.0.1:${gw.port};`)
    .replace('listen 443 ssl http2;', `listen 127.0.0.1:${port} ssl http2;`)
    .replace('/etc/ssl/certs/ssl-cert-snakeoil.pem', join(TLS, 'a.crt'))
    .replace('/etc/ssl/private/ssl-cert-snakeoil.key', join(TLS, 'a.key'));
  assert.doesNotMatch(
    site.replace(/#.*$/gm, ''),
    /8080|listen 443|snakeoil/,
    'every machine-specific value was rewritten',
  );
  for (const d of ['cb', 'px', 'fc', 'uw', 'sc']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'site.conf'), site);
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
worker_processes 1;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/cb; proxy_temp_path ${dir}/px; fastcgi_temp_path ${dir}/fc;
  uwsgi_temp_path ${dir}/uw; scgi_temp_path ${dir}/sc;
  include ${dir}/site.conf;
}
`,
  );
  nginx = spawn(NGINX!, ['-c', join(dir, 'nginx.conf'), '-p', dir], { detached: true, stdio: 'ignore' });
  trackGroup(nginx.pid!);
  await waitForConnect({ host: '127.0.0.1', port }, { timeoutMs: 10_000 }).catch((err: unknown) => {
    throw new Error(`nginx did not start: ${(err as Error).message}\n${tailFile(join(dir, 'error.log'))}`);
  });
});

after(async () => {
  if (nginx !== null) await stopGroup(nginx, 'SIGTERM');
  await gw?.stop();
  await app?.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

test('an HTTP/2 client through nginx (examples/front/nginx-http2.conf) and fcgate: the app sees HTTPS=on and the client', {
  skip,
}, async () => {
  const session = connect(`https://127.0.0.1:${port}`, {
    ca: readFileSync(join(TLS, 'a.crt')),
    servername: 'a.example',
    checkServerIdentity: () => undefined,
  });
  try {
    const get = (path: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const s = session.request({ ':path': path, ':authority': 'www.example.org' });
        let status = 0;
        let body = '';
        s.setEncoding('utf8');
        s.on('response', (h) => {
          status = Number(h[':status']);
        });
        s.on('data', (c: string) => {
          body += c;
        });
        s.on('end', () => resolve({ status, body }));
        s.on('error', reject);
        s.end();
      });
    // Several streams at once on the one HTTP/2 connection.
    const answers = await Promise.all([get('/a'), get('/b'), get('/c')]);
    for (const a of answers)
      assert.deepEqual(a, { status: 200, body: 'HTTP/1.1 on https 127.0.0.1 www.example.org\n' });
    assert.equal(session.alpnProtocol, 'h2');
  } finally {
    session.close();
  }
  assert.ok(!gw.logs.some((l) => /505|FCGATE_BAD/.test(l)), gw.logs.join('\n'));
});
