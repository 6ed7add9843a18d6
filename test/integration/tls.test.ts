// TLS (issue 11 §2): `Listen … https` with mod_ssl's directives served by uWS's SSLApp, with
// a CA and certificates the test makes with openssl: the app sees HTTPS=on,
// REQUEST_SCHEME=https and SERVER_PORT as Apache sends it (the Host port, else 443); each name gets its own certificate
// (SNI) and a client without a known name the default site's; TLS 1.2 and 1.3 are served and
// TLS 1.0/1.1 refused; a certificate chain file is sent; a reload serves new certificates to
// new connections while an open keep-alive connection goes on; `fcgate serve` says https.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, Agent } from 'node:https';
import { connect, type PeerCertificate } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { HostileApp, answer } from '../helpers/hostile-app.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/free-port.js';
import { startCli } from '../threads/cli-process.js';
import { waitUntil } from './gateway-app-kit.js';

const dir = mkdtempSync(join(tmpdir(), 'fcgate-tls-test-'));
const f = (name: string): string => join(dir, name);
const openssl = (...args: string[]): void => {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
};

/** A CA, an intermediate, and leaf certificates for a.test, b.test (two of a.test for the reload). */
function makePki(): void {
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=fcgate test CA',
  );
  writeFileSync(f('ext-ca.cnf'), 'basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n');
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'int.key',
    '-out',
    'int.csr',
    '-subj',
    '/CN=fcgate test intermediate',
  );
  openssl(
    'x509',
    '-req',
    '-in',
    'int.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'int.crt',
    '-days',
    '2',
    '-extfile',
    'ext-ca.cnf',
  );
  for (const [leaf, name, issuer] of [
    ['a', 'a.test', 'ca'],
    ['a2', 'a.test', 'ca'],
    ['b', 'b.test', 'int'],
  ] as const) {
    writeFileSync(f(`ext-${leaf}.cnf`), `subjectAltName=DNS:${name}\nextendedKeyUsage=serverAuth\n`);
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${leaf}.key`,
      '-out',
      `${leaf}.csr`,
      '-subj',
      `/CN=${name} ${leaf}`,
    );
    openssl(
      'x509',
      '-req',
      '-in',
      `${leaf}.csr`,
      '-CA',
      `${issuer}.crt`,
      '-CAkey',
      `${issuer}.key`,
      '-CAcreateserial',
      '-out',
      `${leaf}.crt`,
      '-days',
      '2',
      '-extfile',
      `ext-${leaf}.cnf`,
    );
  }
}

let app: HostileApp;
let gw: TestGateway;
let port = 0;
let configText = '';

const site = (name: string, cert: string, key: string, chain?: string): string => `<VirtualHost *:${port}>
  ServerName ${name}
  SSLEngine on
  SSLCertificateFile ${f(cert)}
  SSLCertificateKeyFile ${f(key)}
${chain === undefined ? '' : `  SSLCertificateChainFile ${f(chain)}\n`}  ProxyPass / ${app.url}/
</VirtualHost>
`;

before(async () => {
  makePki();
  app = await HostileApp.start({
    handler: (r) =>
      answer(
        `${r.params['HTTPS'] ?? '-'} ${r.params['REQUEST_SCHEME']} ${r.params['SERVER_PORT']} ${r.params['HTTP_HOST']}\n`,
      ),
  });
  port = await freePort();
  configText =
    `Listen 127.0.0.1:${port} https\nSSLProtocol all -TLSv1 -TLSv1.1\n`
    + site('a.test', 'a.crt', 'a.key')
    + site('b.test', 'b.crt', 'b.key', 'int.crt');
  // shared: SO_REUSEPORT, as `fcgate serve`'s threads listen (a TLS reload opens a second listener).
  gw = await startTestGateway({ config: configText, probe: false, gatewayOptions: { shared: true } });
});

after(async () => {
  await gw?.stop();
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Seen {
  status: number;
  body: string;
  cert: PeerCertificate;
  protocol: string | null;
}

/** One GET over TLS to the gateway, with SNI `servername` (none for an address), trusting the test CA. */
function get(servername: string | null, agent?: Agent, host = servername ?? 'a.test'): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/x',
        ca: readFileSync(f('ca.crt')),
        agent: agent ?? false,
        headers: { Host: host },
        ...(servername === null ? { checkServerIdentity: () => undefined } : { servername }),
      },
      (res) => {
        const socket = res.socket as import('node:tls').TLSSocket;
        const cert = socket.getPeerCertificate();
        const protocol = socket.getProtocol();
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode!, body, cert, protocol }));
      },
    );
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

test('HTTPS=on, REQUEST_SCHEME=https and the listener port reach the app; each name gets its own certificate', async () => {
  const a = await get('a.test');
  assert.equal(a.status, 200);
  // SERVER_PORT as Apache (UseCanonicalName Off): the Host header's port, else the scheme's default.
  assert.equal(a.body, `on https 443 a.test\n`);
  assert.equal((await get('a.test', undefined, `a.test:${port}`)).body, `on https ${port} a.test:${port}\n`);
  assert.equal(a.cert.subject.CN, 'a.test a');
  const b = await get('b.test');
  assert.equal(b.body, 'on https 443 b.test\n');
  assert.equal(b.cert.subject.CN, 'b.test b');
  assert.equal(
    b.cert.issuer.CN,
    'fcgate test intermediate',
    'the chain file is sent: the client verified b through the intermediate',
  );
  // No SNI (an address): the default site's certificate (the first vhost on the listener).
  const none = await get(null);
  assert.equal(none.cert.subject.CN, 'a.test a');
});

test('TLS 1.2 and 1.3 are served; TLS 1.0 and 1.1 are refused', async () => {
  for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
    const p = await new Promise<string | null>((resolve, reject) => {
      const s = connect(
        { host: '127.0.0.1', port, servername: 'a.test', ca: readFileSync(f('ca.crt')), minVersion: v, maxVersion: v },
        () => {
          const got = s.getProtocol();
          s.end();
          resolve(got);
        },
      );
      s.on('error', reject);
    });
    assert.equal(p, v);
  }
  for (const flag of ['-tls1', '-tls1_1']) {
    // The client is made willing (SECLEVEL=0), so a failure is the server's refusal.
    const r = spawnSync(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'a.test', flag, '-cipher', 'DEFAULT@SECLEVEL=0'],
      { input: '', encoding: 'utf8', timeout: 5000 },
    );
    const out = `${r.stdout}${r.stderr}`;
    assert.notEqual(r.status, 0, `openssl s_client ${flag} connected:\n${out}`);
    assert.doesNotMatch(out, /Protocol\s*:\s*TLSv1(\.1)?\s*$/m);
  }
});

test('SIGHUP-style reload: new connections get the new certificate, an open keep-alive connection goes on', async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const first = await get('a.test', agent);
    assert.equal(first.cert.subject.CN, 'a.test a');
    const reloaded = configText
      .replace(`SSLCertificateFile ${f('a.crt')}`, `SSLCertificateFile ${f('a2.crt')}`)
      .replace(`SSLCertificateKeyFile ${f('a.key')}`, `SSLCertificateKeyFile ${f('a2.key')}`);
    gw.gateway.reload(parseConfig(reloaded, join(dir, 'fcgate.conf')));
    await waitUntil(() => gw.logs.some((l) => l.startsWith('FCGATE_TLS_RELOAD')), 5000, 'the reload line');
    assert.ok(
      gw.logs.some((l) =>
        new RegExp(
          `^FCGATE_TLS_RELOADED listen=127\\.0\\.0\\.1:${port} default_certificate=${f('a2.crt')} names=a\\.test,b\\.test$`,
        ).test(l),
      ),
      gw.logs.join('\n'),
    );
    const again = await get('a.test', agent); // the same connection
    assert.equal(again.status, 200);
    assert.equal(again.cert.subject.CN, 'a.test a', 'the open connection keeps its handshake');
    const fresh = await get('a.test');
    assert.equal(fresh.cert.subject.CN, 'a.test a2');
    assert.equal((await get('b.test')).cert.subject.CN, 'b.test b');
    assert.equal((await get(null)).cert.subject.CN, 'a.test a2', 'the default certificate too');
  } finally {
    agent.destroy();
  }
});

test('a gateway that listens alone (exclusive port) cannot reload certificates: it says so and keeps serving', async () => {
  const p3 = await freePort();
  const text = `Listen 127.0.0.1:${p3} https\nSSLEngine on\nSSLCertificateFile ${f('a.crt')}\nSSLCertificateKeyFile ${f('a.key')}\nProxyPass / ${app.url}/\n`;
  const alone = await startTestGateway({ config: text, probe: false });
  try {
    alone.gateway.reload(parseConfig(text, join(dir, 'alone.conf')));
    assert.ok(
      alone.logs.some((l) =>
        l.startsWith(`FCGATE_TLS_RELOAD_FAILED listen=127.0.0.1:${p3} cause="this gateway listens alone`),
      ),
      alone.logs.join('\n'),
    );
  } finally {
    await alone.stop();
  }
});

test('`fcgate serve` with an https listener says https:// and serves through 2 threads; a wrong key stops startup naming the file', async () => {
  const p2 = await freePort();
  const conf = f('serve.conf');
  writeFileSync(
    conf,
    `Listen 127.0.0.1:${p2} https\nSSLEngine on\nSSLCertificateFile ${f('a.crt')}\n`
      + `SSLCertificateKeyFile ${f('a.key')}\nProxyPass / ${app.url}/\n`,
  );
  const serve = startCli(['serve', '-c', conf], { FCGATE_THREADS: '2' });
  try {
    const line = await serve.waitLine(/^fcgate listening on /, 15_000);
    assert.match(line, new RegExp(`^fcgate listening on https://127\\.0\\.0\\.1:${p2}/ `));
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: p2, path: '/', servername: 'a.test', ca: readFileSync(f('ca.crt')) },
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
    assert.equal(body, `on https ${p2} 127.0.0.1:${p2}\n`);
  } finally {
    await serve.stop();
  }
  writeFileSync(
    conf,
    `Listen 127.0.0.1:${p2} https\nSSLEngine on\nSSLCertificateFile ${f('a.crt')}\n`
      + `SSLCertificateKeyFile ${f('b.key')}\nProxyPass / ${app.url}/\n`,
  );
  const bad = startCli(['serve', '-c', conf]);
  try {
    assert.equal(await bad.exited(), 2);
    assert.ok(
      bad.lines.some((l) => l.includes(`${f('b.key')} is not the private key of the certificate in ${f('a.crt')}`)),
      bad.lines.join('\n'),
    );
  } finally {
    await bad.stop();
  }
});
