// The seed's three mod_proxy_fcgi examples, verbatim but for the port numbers, through the
// real gateway (in-process) to real PHP-FPM masters started here: ProxyPass to
// fcgi://localhost:PORT/, the same with disablereuse=on, and the byrequests balancer of two
// members. Each asserts what PHP saw ($_SERVER via test/fixtures/php/env.php), which pool
// answered (env[POOL] per PHP-FPM) and how many backend connections the gateway opened.
// The Apache manual's other forms are in gateway-php-mapping.test.ts.
//
// The seed's target `fcgi://localhost:PORT/` maps `/mon_appli/X` to SCRIPT_FILENAME
// `proxy:fcgi://localhost:PORT/X`; PHP-FPM strips `proxy:fcgi://host:port` and opens `/X`,
// so requests name the fixture by its absolute path: `/mon_appli/<abs fixtures dir>/env.php`.
// PHP-FPM (cgi.fix_pathinfo=1) then splits a trailing path itself: it moves what the gateway
// sent to ORIG_SCRIPT_NAME / ORIG_SCRIPT_FILENAME, and ORIG_PATH_INFO appears only when the
// gateway sent a PATH_INFO (it must not: Apache sends none for the seed's ProxyPass).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PHP_FIXTURES, skipUnlessPhpFpm, startPhpFpm, type PhpFpm } from '../helpers/php-fpm.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const skip = skipUnlessPhpFpm();

/** The fixtures directory without its trailing slash, e.g. /work/main/test/fixtures/php. */
const FIXTURES = PHP_FIXTURES.replace(/\/+$/, '');
/** The same as a URL path (each segment %-encoded, should the checkout path need it). */
const FIXTURES_URL = FIXTURES.split('/')
  .map((s) => encodeURIComponent(s))
  .join('/');
const ENV_PHP = `${FIXTURES}/env.php`;

interface Seen {
  status: number;
  file: string;
  pool: string | false;
  server: Record<string, string>;
}

async function seen(url: string, init?: RequestInit): Promise<Seen> {
  const r = await fetch(url, init);
  const text = await r.text();
  assert.equal(
    r.headers.get('x-fixture'),
    'env',
    `env.php should have answered ${url}: ${r.status} ${text.slice(0, 300)}`,
  );
  const j = JSON.parse(text) as { file: string; pool: string | false; server: Record<string, string> };
  return { status: r.status, file: j.file, pool: j.pool, server: j.server };
}

async function startGateway(config: string): Promise<TestGateway> {
  return startTestGateway({ config });
}

describe('the seed examples against PHP-FPM', { skip }, () => {
  let a: PhpFpm;
  let b: PhpFpm;
  before(async () => {
    [a, b] = await Promise.all([
      startPhpFpm({ docroot: PHP_FIXTURES, maxChildren: 2, poolLines: ['env[POOL] = a'] }),
      startPhpFpm({ docroot: PHP_FIXTURES, maxChildren: 2, poolLines: ['env[POOL] = b'] }),
    ]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test('ProxyPass /mon_appli/ fcgi://localhost:PORT/: script by path, whole SCRIPT_NAME, no PATH_INFO', async (t) => {
    const gw = await startGateway(`ProxyPass /mon_appli/ fcgi://localhost:${a.port}/\n`);
    t.after(() => gw.stop());

    const s = await seen(`${gw.base}/mon_appli${FIXTURES_URL}/env.php?x=1&y=2`);
    assert.equal(s.status, 200);
    assert.equal(s.file, ENV_PHP);
    assert.equal(s.pool, 'a');
    assert.equal(s.server['SCRIPT_FILENAME'], ENV_PHP); // sent as proxy:fcgi://localhost:PORT/…
    assert.equal(s.server['SCRIPT_NAME'], `/mon_appli${FIXTURES}/env.php`);
    assert.equal(s.server['REQUEST_URI'], `/mon_appli${FIXTURES_URL}/env.php?x=1&y=2`);
    assert.equal(s.server['QUERY_STRING'], 'x=1&y=2');
    assert.equal(s.server['PATH_INFO'], undefined);
    assert.equal(s.server['PATH_TRANSLATED'], undefined);
    assert.equal(s.server['ORIG_SCRIPT_FILENAME'], undefined, 'PHP-FPM found the script as sent');

    // A trailing path: the gateway sends it all in SCRIPT_NAME / SCRIPT_FILENAME (no
    // PATH_INFO, as Apache); PHP-FPM splits it itself and keeps the originals in ORIG_*.
    const p = await seen(`${gw.base}/mon_appli${FIXTURES_URL}/env.php/extra/p%20q?z=1`);
    assert.equal(p.file, ENV_PHP);
    assert.equal(p.server['ORIG_SCRIPT_NAME'], `/mon_appli${FIXTURES}/env.php/extra/p q`);
    assert.equal(p.server['ORIG_SCRIPT_FILENAME'], `${FIXTURES}/env.php/extra/p%20q`);
    assert.equal(p.server['ORIG_PATH_INFO'], undefined, 'the gateway sent no PATH_INFO');
    assert.equal(p.server['SCRIPT_FILENAME'], ENV_PHP);
    assert.equal(p.server['PATH_INFO'], '/extra/p%20q'); // PHP-FPM's own split
    assert.equal(p.server['REQUEST_URI'], `/mon_appli${FIXTURES_URL}/env.php/extra/p%20q?z=1`);

    // No such script: PHP-FPM's own 404 comes through.
    const missing = await fetch(`${gw.base}/mon_appli${FIXTURES_URL}/no-such.php`);
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();

    for (let i = 0; i < 3; i++) assert.equal((await seen(`${gw.base}/mon_appli${FIXTURES_URL}/env.php`)).status, 200);
    const st = gw.gateway.poolStats()[`fcgi://localhost:${a.port}`];
    assert.ok(st !== undefined, JSON.stringify(gw.gateway.poolStats()));
    assert.equal(st.opened, 1, `reuse is on by default: ${JSON.stringify(st)}`);
    assert.equal(st.reused, 5);
  });

  test('ProxyPass /mon_appli/ fcgi://localhost:PORT/ disablereuse=on: same params, one connection each', async (t) => {
    const gw = await startGateway(`ProxyPass /mon_appli/ fcgi://localhost:${a.port}/ disablereuse=on\n`);
    t.after(() => gw.stop());
    for (let i = 0; i < 4; i++) {
      const s = await seen(`${gw.base}/mon_appli${FIXTURES_URL}/env.php?i=${i}`);
      assert.equal(s.status, 200);
      assert.equal(s.file, ENV_PHP);
      assert.equal(s.server['SCRIPT_NAME'], `/mon_appli${FIXTURES}/env.php`);
      assert.equal(s.server['QUERY_STRING'], `i=${i}`);
      assert.equal(s.server['PATH_INFO'], undefined);
    }
    const st = gw.gateway.poolStats()[`fcgi://localhost:${a.port}`];
    assert.ok(st !== undefined);
    assert.equal(st.opened, 4, JSON.stringify(st));
    assert.equal(st.reused, 0);
  });

  test('ProxyPass /myapp/ balancer://myappcluster/, two members: byrequests alternates a, b, a, b', async (t) => {
    const gw = await startGateway(
      [
        'ProxyPass /myapp/ balancer://myappcluster/',
        '<Proxy balancer://myappcluster/>',
        `    BalancerMember fcgi://localhost:${a.port}`,
        `    BalancerMember fcgi://localhost:${b.port}`,
        '</Proxy>',
        '',
      ].join('\n'),
    );
    t.after(() => gw.stop());
    const pools: Array<string | false> = [];
    for (let i = 0; i < 6; i++) {
      const s = await seen(`${gw.base}/myapp${FIXTURES_URL}/env.php/y?z=${i}`);
      assert.equal(s.status, 200);
      assert.equal(s.file, ENV_PHP);
      pools.push(s.pool);
      const port = s.pool === 'a' ? a.port : b.port;
      assert.equal(s.server['BALANCER_NAME'], 'balancer://myappcluster');
      assert.equal(s.server['BALANCER_WORKER_NAME'], `fcgi://localhost:${port}`);
      assert.equal(s.server['BALANCER_WORKER_ROUTE'], '');
      // Sent: SCRIPT_NAME /myapp/…/env.php/y, SCRIPT_FILENAME proxy:fcgi://localhost:PORT/…/env.php/y.
      assert.equal(s.server['ORIG_SCRIPT_NAME'], `/myapp${FIXTURES}/env.php/y`);
      assert.equal(s.server['ORIG_SCRIPT_FILENAME'], `${FIXTURES}/env.php/y`);
      assert.equal(s.server['ORIG_PATH_INFO'], undefined);
      assert.equal(s.server['QUERY_STRING'], `z=${i}`);
      assert.equal(s.server['REQUEST_URI'], `/myapp${FIXTURES_URL}/env.php/y?z=${i}`);
    }
    assert.deepEqual(pools, ['a', 'b', 'a', 'b', 'a', 'b']);
  });

  // Apache fails over to the live member: so does the gateway.
  test('a balancer member that is down: the live one answers every request', async (t) => {
    const dead = await startPhpFpm({ docroot: PHP_FIXTURES, maxChildren: 1 });
    const deadPort = dead.port!;
    await dead.stop();
    const gw = await startTestGateway({
      probe: false,
      config: [
        'ProxyPass /myapp/ balancer://myappcluster/',
        '<Proxy balancer://myappcluster/>',
        `    BalancerMember fcgi://localhost:${a.port}`,
        `    BalancerMember fcgi://localhost:${deadPort}`,
        '</Proxy>',
        '',
      ].join('\n'),
    });
    t.after(() => gw.stop());
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`${gw.base}/myapp${FIXTURES_URL}/env.php`);
      statuses.push(r.status);
      await r.arrayBuffer();
    }
    // Apache: all 6 answered 200 by the live member.
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200], gw.logs.join('\n'));
  });
});
