// examples/ as a user pastes it (issue 13), so the docs cannot rot: PHP-FPM runs the example
// pool file, fcgate runs each example configuration through the real CLI, and the example
// PHP page answers through it. Only what a test machine must change is rewritten: the ports
// (8080, 9000, 9001 → free ones), /run/php/fcgate.sock and /var/www/fcgate (→ a temp dir),
// and, when not root, www-data (→ the current user). As root (CI), `User www-data` really
// drops to www-data, which then connects to the www-data-owned socket.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/free-port.js';
import { skipUnlessPhpFpm, startPhpFpm, type PhpFpm } from '../helpers/php-fpm.js';
import { CLI, get, startCli } from '../threads/cli-process.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));
const isRoot = process.getuid?.() === 0;

/** Each example configuration and the pools its page must come from. */
const CASES: Record<string, { pools: string[]; directoryIndex: boolean; tls?: true }> = {
  'proxypassmatch-tcp.conf': { pools: ['fcgate'], directoryIndex: true },
  'sethandler-unix.conf': { pools: ['fcgate-unix'], directoryIndex: true },
  'balancer.conf': { pools: ['fcgate', 'fcgate-2'], directoryIndex: true },
  // Pages over HTTPS on 8443 (Debian's snakeoil files → the test's self-signed a.example);
  // 8080 redirects to it.
  'tls.conf': { pools: ['fcgate'], directoryIndex: true, tls: true },
};
const TLS_FIXTURES = fileURLToPath(new URL('../../../test/fixtures/tls/', import.meta.url));

/** GET over TLS, trusting the self-signed fixture certificate for a.example. */
function getTls(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        servername: 'a.example',
        ca: readFileSync(join(TLS_FIXTURES, 'a.crt')),
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer`)));
    req.on('error', reject);
    req.end();
  });
}

describe('examples/: the PHP-FPM pool file and every fcgate configuration, as written', {
  skip: skipUnlessPhpFpm(),
}, () => {
  let dir: string;
  let docroot: string;
  let socket: string;
  let ports: [number, number];
  let fpm: PhpFpm;
  let rewrite: (text: string) => string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fcgate-examples-'));
    chmodSync(dir, 0o755); // www-data reads the pages, the config
    docroot = join(dir, 'www');
    mkdirSync(docroot, { mode: 0o755 });
    for (const f of readdirSync(join(EXAMPLES, 'www'))) {
      copyFileSync(join(EXAMPLES, 'www', f), join(docroot, f));
      chmodSync(join(docroot, f), 0o644);
    }
    socket = join(dir, 'fcgate.sock');
    ports = [await freePort(), await freePort()];
    const me = userInfo();
    const myGroup = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim();
    rewrite = (text) => {
      let t = text
        .replaceAll('127.0.0.1:9000', `127.0.0.1:${ports[0]}`)
        .replaceAll('127.0.0.1:9001', `127.0.0.1:${ports[1]}`)
        .replaceAll('/run/php/fcgate.sock', socket)
        .replaceAll('/var/www/fcgate', docroot);
      if (!isRoot)
        t = t
          .replace(/^(user|listen\.owner|User) *=? *www-data$/gm, (l) => l.replace('www-data', me.username))
          .replace(/^(group|listen\.group|Group) *=? *www-data$/gm, (l) => l.replace('www-data', myGroup));
      return t;
    };
    const pools = rewrite(readFileSync(join(EXAMPLES, 'php-fpm', 'fcgate-pool.conf'), 'utf8'));
    assert.doesNotMatch(pools, /\/run\/php|:900[01]\b/, 'every machine-specific value was rewritten');
    fpm = await startPhpFpm({
      docroot,
      pools: {
        text: pools,
        targets: [{ host: '127.0.0.1', port: ports[0] }, { host: '127.0.0.1', port: ports[1] }, { path: socket }],
      },
    });
  });

  after(async () => {
    await fpm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every example configuration has a case here', () => {
    assert.deepEqual(
      readdirSync(EXAMPLES)
        .filter((f) => f.endsWith('.conf'))
        .sort(),
      Object.keys(CASES).sort(),
    );
  });

  for (const [name, c] of Object.entries(CASES)) {
    test(`${name}: fcgate check accepts it; the PHP page, PATH_INFO and a static file through it`, async () => {
      const port = await freePort();
      const tlsPort = await freePort();
      const text = rewrite(readFileSync(join(EXAMPLES, name), 'utf8'))
        .replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`)
        .replaceAll('127.0.0.1:8443', `127.0.0.1:${tlsPort}`)
        .replaceAll('<VirtualHost *:8080>', `<VirtualHost *:${port}>`)
        .replaceAll('<VirtualHost *:8443>', `<VirtualHost *:${tlsPort}>`)
        .replaceAll('/etc/ssl/certs/ssl-cert-snakeoil.pem', join(TLS_FIXTURES, 'a.crt'))
        .replaceAll('/etc/ssl/private/ssl-cert-snakeoil.key', join(TLS_FIXTURES, 'a.key'));
      assert.doesNotMatch(
        text,
        /\/run\/php|\/var\/www|\/etc\/ssl|:(8080|8443|9000|9001)\b/,
        'every machine-specific value was rewritten',
      );
      const fetchPage = c.tls ? (path: string) => getTls(tlsPort, path) : (path: string) => get(port, path);
      const file = join(dir, name);
      writeFileSync(file, text);
      const check = spawnSync(process.execPath, [CLI, 'check', '-c', file], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(check.status, 0, check.stderr);
      assert.match(check.stdout, /Syntax OK\n$/);

      const gw = startCli(['serve', '-c', file], { FCGATE_THREADS: '1', FCGATE_ALLOW_ROOT: '' });
      try {
        await gw.waitLine(/^fcgate listening on /, 15_000);
        if (isRoot)
          assert.ok(
            gw.lines.some((l) => l.includes('FCGATE_PRIVILEGES serving as www-data:www-data')),
            gw.lines.join('\n'),
          );
        const seen = new Set<string>();
        for (let i = 0; i < 2 * c.pools.length; i++) {
          const page = await fetchPage(c.directoryIndex && i === 0 ? '/' : '/index.php');
          assert.equal(page.status, 200, page.body);
          assert.match(page.body, new RegExp(`^Hello from PHP ${fpm.version.replaceAll('.', '\\.')} through fcgate\n`));
          assert.match(page.body, new RegExp(`^SCRIPT_FILENAME  ${docroot}/index\\.php$`, 'm'));
          assert.match(page.body, new RegExp(`^__FILE__         ${docroot}/index\\.php$`, 'm'));
          assert.match(page.body, /^SCRIPT_NAME      \/index\.php$/m);
          seen.add(/^pool +(\S+)$/m.exec(page.body)?.[1] ?? '?');
        }
        assert.deepEqual([...seen].sort(), c.pools);

        const info = await fetchPage('/index.php/extra/path?x=1');
        assert.equal(info.status, 200, info.body);
        assert.match(info.body, /^PATH_INFO        \/extra\/path$/m);
        assert.match(info.body, /^REQUEST_URI      \/index\.php\/extra\/path\?x=1$/m);

        const file404 = await fetchPage('/no-such-script.php');
        assert.equal(file404.status, 404);

        const stat = await fetchPage('/static.txt');
        assert.deepEqual(stat, { status: 200, body: readFileSync(join(EXAMPLES, 'www', 'static.txt'), 'utf8') });

        if (c.tls) {
          const plain = await get(port, '/index.php?x=1');
          assert.equal(plain.status, 301, 'plain HTTP is redirected');
        }

        gw.child.kill('SIGTERM');
        assert.equal(await gw.exited(), 0);
      } finally {
        await gw.stop();
      }
    });
  }
});
