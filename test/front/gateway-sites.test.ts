// The gateway's answers for the routing kinds of several sites and the safe static defaults
// (issue 11 §4, issue 9 item 8), over HTTP through uWS: Host picks the vhost; 403 with one
// FCGATE_FORBIDDEN log line for `.ht*`, a symbolic link to /etc/passwd and Require; Redirect
// (3xx + Location, 410); ForceType's Content-Type; an https listener refused until phase 2.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/front/gateway.js';
import { readTuning } from '../../src/tuning.js';
import { freePort } from '../helpers/free-port.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(port: number, path: string, host: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, method, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

let T = '';
let gw: TestGateway;
let port = 0;

before(async () => {
  T = realpathSync(mkdtempSync(join(tmpdir(), 'fcgate-gwsites-')));
  for (const d of ['a/files', 'b', 'a/private']) mkdirSync(join(T, d), { recursive: true });
  writeFileSync(join(T, 'a/index.html'), 'site A\n');
  writeFileSync(join(T, 'b/index.html'), 'site B\n');
  writeFileSync(join(T, 'a/.htaccess'), 'Require all denied\n');
  writeFileSync(join(T, 'a/files/report'), 'binary');
  writeFileSync(join(T, 'a/private/x.txt'), 'private');
  symlinkSync('/etc/passwd', join(T, 'a/pw'));
  port = await freePort();
  gw = await startTestGateway({
    probe: false,
    config: [
      `Listen 127.0.0.1:${port}`,
      `<VirtualHost *:${port}>`,
      '  ServerName a.example',
      `  DocumentRoot ${T}/a`,
      `  <Directory ${T}/a/files>`,
      '    ForceType application/x-report',
      '  </Directory>',
      `  <Directory ${T}/a/private>`,
      '    Require all denied',
      '  </Directory>',
      '  Redirect permanent /old https://a.example/new',
      '  Redirect gone /retired',
      '</VirtualHost>',
      `<VirtualHost *:${port}>`,
      '  ServerName b.example',
      `  DocumentRoot ${T}/b`,
      '</VirtualHost>',
      '',
    ].join('\n'),
  });
});

after(async () => {
  await gw?.stop();
  rmSync(T, { recursive: true, force: true });
});

describe('several sites and safe static files through the gateway', () => {
  test('Host picks the site; an unknown Host gets the first vhost', async () => {
    assert.equal((await get(port, '/', 'a.example')).body, 'site A\n');
    assert.equal((await get(port, '/', 'b.example:8080')).body, 'site B\n');
    assert.equal((await get(port, '/', 'other.example')).body, 'site A\n');
  });

  test('.htaccess, a symbolic link to /etc/passwd and Require all denied: 403, one log line each, nothing leaked', async () => {
    const before = gw.logs.length;
    for (const p of ['/.htaccess', '/pw', '/private/x.txt']) {
      const r = await get(port, p, 'a.example');
      assert.equal(r.status, 403, p);
      assert.doesNotMatch(r.body, /root:|Require all denied|private/);
      const head = await get(port, p, 'a.example', 'HEAD');
      assert.equal(head.status, 403);
      assert.equal(head.body, '');
    }
    const lines = gw.logs.slice(before).filter((l) => l.startsWith('FCGATE_FORBIDDEN'));
    assert.equal(lines.length, 6);
    assert.match(lines[0]!, /GET \/\.htaccess built-in: \.ht\* files are never served|Require all denied \(built-in/);
    assert.match(lines[2]!, new RegExp(`symbolic link ${T}/a/pw not followed`));
    assert.match(lines[4]!, /Require all denied \(.*fcgate\.conf:\d+\)/);
  });

  test('Redirect: 301 with Location (query kept), 410 without', async () => {
    const r = await get(port, '/old/page?x=1', 'a.example');
    assert.equal(r.status, 301);
    assert.equal(r.headers['location'], 'https://a.example/new/page?x=1');
    const g = await get(port, '/retired/thing', 'a.example');
    assert.equal(g.status, 410);
    assert.equal(g.headers['location'], undefined);
  });

  test("ForceType sets the static file's Content-Type", async () => {
    const r = await get(port, '/files/report', 'a.example');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/x-report');
    assert.equal(r.body, 'binary');
  });
});

test('an https listener is served by an SSLApp (the full TLS tests: test/integration/tls.test.ts)', async () => {
  const tls = fileURLToPath(new URL('../../../test/fixtures/tls/', import.meta.url));
  const p = await freePort();
  const config = parseConfig(
    `Listen 127.0.0.1:${p} https\nSSLEngine on\nSSLCertificateFile ${tls}a.crt\nSSLCertificateKeyFile ${tls}a.key\n`,
    join(T, 'tls.conf'),
  );
  const g = new Gateway({ config, tuning: readTuning({}), log: () => {} });
  try {
    const bound = await g.listen();
    assert.deepEqual(bound, [{ address: '127.0.0.1', port: p, scheme: 'https' }]);
  } finally {
    g.close();
  }
});
