// The PHP-FPM forms of the Apache manual (mod_proxy_fcgi, English page) through the real
// gateway to real PHP-FPM (TCP and a unix socket, started here on a temp docroot holding
// copies of test/fixtures/php/env.php): ProxyPassMatch with the URL appended or $1,
// enablereuse=on, the unix-socket ProxyPassMatch, <FilesMatch> SetHandler with a
// DocumentRoot (static files served by the gateway), ProxyFCGIBackendType GENERIC,
// ProxyFCGISetEnvIf, and proxy-fcgi-pathinfo via SetEnvIf / SetEnv.
// Each asserts the CGI view PHP ended with ($_SERVER) and which script ran (__FILE__).
// PHP-FPM (cgi.fix_pathinfo=1) rewrites what it is sent when SCRIPT_FILENAME has a trailing
// path: it keeps the gateway's values in ORIG_SCRIPT_NAME / ORIG_SCRIPT_FILENAME /
// ORIG_PATH_INFO / ORIG_PATH_TRANSLATED, so those show what the gateway sent
// (test/cgi/path-info.test.ts has Apache's values); without ORIG_* PHP kept the sent value as is.
// The seed's three examples are in gateway-php-seed.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PHP_FIXTURES, skipUnlessPhpFpm, startPhpFpm, type PhpFpm } from '../helpers/php-fpm.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const skip = skipUnlessPhpFpm();

interface Seen {
  status: number;
  file: string;
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
  const j = JSON.parse(text) as { file: string; server: Record<string, string> };
  return { status: r.status, file: j.file, server: j.server };
}

/** Status, content type and body of a response that is not env.php's. */
async function plain(url: string): Promise<{ status: number; type: string | null; body: string }> {
  const r = await fetch(url);
  return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
}

/** Picks the CGI variables the §3 table is about (and their ORIG_ copies). */
function scriptVars(s: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(s).sort()) {
    if (/^(ORIG_)?(SCRIPT_NAME|SCRIPT_FILENAME|PATH_INFO|PATH_TRANSLATED)$|^(REQUEST_URI|QUERY_STRING)$/.test(k))
      out[k] = s[k]!;
  }
  return out;
}

describe('the Apache manual PHP-FPM forms', { skip }, () => {
  let D = ''; // the docroot (realpath: PHP reports __FILE__ resolved)
  let tcp: PhpFpm;
  let unix: PhpFpm;
  let gw: TestGateway | null = null;
  const start = async (config: string): Promise<string> => {
    gw = await startTestGateway({ config: config + '\n' });
    return gw.base;
  };

  before(async () => {
    D = realpathSync(mkdtempSync(join(tmpdir(), 'fcgate-docroot-')));
    for (const d of ['myapp', 'sub', 'prefix123']) mkdirSync(join(D, d));
    for (const f of ['env.php', 'myapp/env.php', 'sub/env.php'])
      copyFileSync(join(PHP_FIXTURES, 'env.php'), join(D, f));
    writeFileSync(join(D, 'static.txt'), 'static file\n');
    [tcp, unix] = await Promise.all([
      startPhpFpm({ docroot: D, maxChildren: 2 }),
      startPhpFpm({ docroot: D, maxChildren: 2, listen: 'unix' }),
    ]);
  });
  after(async () => {
    await Promise.all([tcp?.stop(), unix?.stop()]);
    if (D !== '') rmSync(D, { recursive: true, force: true });
  });
  // One gateway per test, stopped whatever the outcome.
  const stopGateway = async (): Promise<void> => {
    if (gw !== null) {
      await gw.stop();
      gw = null;
    }
  };

  test('ProxyPassMatch "^/myapp/.*\\.php(/.*)?$" "fcgi://localhost:PORT/DOCROOT/" reuse: URL appended', async (t) => {
    t.after(stopGateway);
    const base = await start(
      `ProxyPassMatch "^/myapp/.*\\.php(/.*)?$" "fcgi://localhost:${tcp.port}${D}/" enablereuse=on`,
    );
    const s = await seen(`${base}/myapp/env.php?a=1`);
    assert.equal(s.file, `${D}/myapp/env.php`);
    assert.deepEqual(scriptVars(s.server), {
      QUERY_STRING: 'a=1',
      REQUEST_URI: '/myapp/env.php?a=1',
      SCRIPT_NAME: '/myapp/env.php',
      SCRIPT_FILENAME: `${D}//myapp/env.php`, // the URL appended: a double slash, as Apache
    });
    const p = await seen(`${base}/myapp/env.php/extra/p%20q?a=1`);
    assert.equal(p.file, `${D}/myapp/env.php`);
    assert.deepEqual(scriptVars(p.server), {
      // sent: SCRIPT_NAME whole and decoded, no PATH_INFO (§3 "URL appended" row)
      ORIG_SCRIPT_NAME: '/myapp/env.php/extra/p q',
      ORIG_SCRIPT_FILENAME: `${D}//myapp/env.php/extra/p%20q`,
      // PHP-FPM's own split
      SCRIPT_NAME: '/myapp/env.php',
      SCRIPT_FILENAME: `${D}//myapp/env.php`,
      PATH_INFO: '/extra/p%20q',
      PATH_TRANSLATED: '/extra/p%20q',
      QUERY_STRING: 'a=1',
      REQUEST_URI: '/myapp/env.php/extra/p%20q?a=1',
    });
    // Not a .php: the regex does not match, nothing else serves it.
    assert.equal((await plain(`${base}/myapp/static.txt`)).status, 404);
    const st = gw!.gateway.poolStats()[`fcgi://localhost:${tcp.port}`];
    assert.equal(st?.opened, 1, JSON.stringify(st));
  });

  test('ProxyPass "/myapp/" "fcgi://localhost:PORT/" enablereuse=on: one connection, requests in turn', async (t) => {
    t.after(stopGateway);
    const base = await start(`ProxyPass "/myapp/" "fcgi://localhost:${tcp.port}/" enablereuse=on`);
    for (let i = 0; i < 5; i++) {
      const s = await seen(`${base}/myapp${D}/env.php?i=${i}`);
      assert.equal(s.file, `${D}/env.php`);
      assert.deepEqual(scriptVars(s.server), {
        QUERY_STRING: `i=${i}`,
        REQUEST_URI: `/myapp${D}/env.php?i=${i}`,
        SCRIPT_NAME: `/myapp${D}/env.php`,
        SCRIPT_FILENAME: `${D}/env.php`,
      });
    }
    const st = gw!.gateway.poolStats()[`fcgi://localhost:${tcp.port}`];
    assert.equal(st?.opened, 1, JSON.stringify(st));
    assert.equal(st?.reused, 4);
  });

  test('ProxyPassMatch "^/(.*\\.php(/.*)?)$" "unix:SOCK|fcgi://localhost/DOCROOT/": unix socket', async (t) => {
    t.after(stopGateway);
    const base = await start(`ProxyPassMatch "^/(.*\\.php(/.*)?)$" "unix:${unix.socketPath}|fcgi://localhost${D}/"`);
    const s = await seen(`${base}/sub/env.php/x/y?b`);
    assert.equal(s.file, `${D}/sub/env.php`);
    assert.deepEqual(scriptVars(s.server), {
      ORIG_SCRIPT_NAME: '/sub/env.php/x/y',
      ORIG_SCRIPT_FILENAME: `${D}//sub/env.php/x/y`,
      SCRIPT_NAME: '/sub/env.php',
      SCRIPT_FILENAME: `${D}//sub/env.php`,
      PATH_INFO: '/x/y',
      PATH_TRANSLATED: '/x/y',
      QUERY_STRING: 'b',
      REQUEST_URI: '/sub/env.php/x/y?b',
    });
    // The same with $1 (the common PHP-FPM form): no double slash.
    await stopGateway();
    const base1 = await start(`ProxyPassMatch "^/(.*\\.php(/.*)?)$" "unix:${unix.socketPath}|fcgi://localhost${D}/$1"`);
    const s1 = await seen(`${base1}/sub/env.php?a=1`);
    assert.equal(s1.file, `${D}/sub/env.php`);
    assert.deepEqual(scriptVars(s1.server), {
      SCRIPT_NAME: '/sub/env.php',
      SCRIPT_FILENAME: `${D}/sub/env.php`,
      QUERY_STRING: 'a=1',
      REQUEST_URI: '/sub/env.php?a=1',
    });
    // Falls through to nothing (no DocumentRoot): 404.
    assert.equal((await plain(`${base1}/static.txt`)).status, 404);
  });

  test('<FilesMatch "\\.php$"> SetHandler "proxy:unix:SOCK|fcgi://localhost/" with a DocumentRoot', async (t) => {
    t.after(stopGateway);
    const base = await start(
      [
        `DocumentRoot "${D}"`,
        '<FilesMatch "\\.php$">',
        `    SetHandler "proxy:unix:${unix.socketPath}|fcgi://localhost/"`,
        '</FilesMatch>',
      ].join('\n'),
    );
    const s = await seen(`${base}/sub/env.php/foo/bar?x=1`);
    assert.equal(s.file, `${D}/sub/env.php`);
    // PATH_INFO from the filesystem; sent as PHP shows it (no ORIG_*). SCRIPT_FILENAME has one
    // slash where Apache writes two (deliberate, src/cgi/path-info.ts).
    assert.deepEqual(scriptVars(s.server), {
      SCRIPT_NAME: '/sub/env.php',
      SCRIPT_FILENAME: `${D}/sub/env.php`,
      PATH_INFO: '/foo/bar',
      PATH_TRANSLATED: `${D}/foo/bar`,
      QUERY_STRING: 'x=1',
      REQUEST_URI: '/sub/env.php/foo/bar?x=1',
    });
    assert.equal(s.server['DOCUMENT_ROOT'], D);
    const top = await seen(`${base}/env.php`);
    assert.equal(top.file, `${D}/env.php`);
    assert.equal(top.server['PATH_INFO'], undefined);
    // %73 decodes to 's': the same script; REQUEST_URI stays raw.
    const enc = await seen(`${base}/%73ub/env.php`);
    assert.equal(enc.file, `${D}/sub/env.php`);
    assert.equal(enc.server['SCRIPT_NAME'], '/sub/env.php');
    assert.equal(enc.server['REQUEST_URI'], '/%73ub/env.php');
    // A static file is served by the gateway itself.
    assert.deepEqual(await plain(`${base}/static.txt`), { status: 200, type: 'text/plain', body: 'static file\n' });
    // A .php that does not exist is still proxied: PHP-FPM answers 404 itself.
    const missing = await plain(`${base}/missing.php`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body, 'File not found.\n');
    // FilesMatch is case-sensitive; a directory without an index → 404.
    assert.equal((await plain(`${base}/TEST.PHP`)).status, 404);
    assert.equal((await plain(`${base}/sub/`)).status, 404);
    assert.equal((await plain(`${base}/static.txt/extra`)).status, 404);
  });

  test('ProxyFCGIBackendType GENERIC: SetHandler over TCP, and ProxyPass', async (t) => {
    t.after(stopGateway);
    const base = await start(
      [
        `DocumentRoot "${D}"`,
        'ProxyFCGIBackendType GENERIC',
        '<FilesMatch "\\.php$">',
        `    SetHandler "proxy:fcgi://localhost:${tcp.port}"`,
        '</FilesMatch>',
        `ProxyPass /bt/ fcgi://localhost:${tcp.port}/`,
      ].join('\n'),
    );
    const s = await seen(`${base}/sub/env.php/path/info?q`);
    assert.equal(s.file, `${D}/sub/env.php`);
    assert.deepEqual(scriptVars(s.server), {
      SCRIPT_NAME: '/sub/env.php',
      SCRIPT_FILENAME: `${D}/sub/env.php`,
      PATH_INFO: '/path/info',
      PATH_TRANSLATED: `${D}/path/info`,
      QUERY_STRING: 'q',
      REQUEST_URI: '/sub/env.php/path/info?q',
    });
    // ProxyPass + GENERIC: SCRIPT_FILENAME is the URL path after host:port (§3 bt_generic).
    const p = await seen(`${base}/bt${D}/env.php/extra?q=1`);
    assert.equal(p.file, `${D}/env.php`);
    assert.equal(p.server['ORIG_SCRIPT_FILENAME'], `${D}/env.php/extra`);
    assert.equal(p.server['SCRIPT_FILENAME'], `${D}/env.php`);
    assert.equal(p.server['SCRIPT_NAME'], `/bt${D}/env.php/extra`);
    assert.equal(p.server['ORIG_PATH_INFO'], undefined);
  });

  test('ProxyFCGISetEnvIf: PATH_INFO "/example", SCRIPT_FILENAME from reqenv, !REMOTE_ADDR', async (t) => {
    t.after(stopGateway);
    const base = await start(
      [
        `DocumentRoot "${D}"`,
        'ProxyFCGISetEnvIf "true" PATH_INFO "/example"',
        'ProxyFCGISetEnvIf "true" SCRIPT_FILENAME "%{reqenv:DOCUMENT_ROOT}%{reqenv:SCRIPT_NAME}"',
        'ProxyFCGISetEnvIf "true" !REMOTE_ADDR',
        'ProxyFCGISetEnvIf "false" NEVER_SET "x"',
        `ProxyPass /sub/ fcgi://localhost:${tcp.port}/`,
      ].join('\n'),
    );
    const s = await seen(`${base}/sub/env.php?x=1`);
    assert.equal(s.file, `${D}/sub/env.php`);
    assert.deepEqual(scriptVars(s.server), {
      SCRIPT_NAME: '/sub/env.php',
      SCRIPT_FILENAME: `${D}/sub/env.php`,
      PATH_INFO: '/example',
      QUERY_STRING: 'x=1',
      REQUEST_URI: '/sub/env.php?x=1',
    });
    assert.equal(s.server['REMOTE_ADDR'], undefined);
    assert.equal(s.server['NEVER_SET'], undefined);
  });

  test(`the manual's ProxyFCGISetEnvIf example: PATH_TRANSLATED =~ m|(/.*prefix)(\\d+)(.*)| → "$1$3"`, async (t) => {
    t.after(stopGateway);
    const base = await start(
      [
        `DocumentRoot "${D}"`,
        '<FilesMatch "\\.php$">',
        `    SetHandler "proxy:fcgi://localhost:${tcp.port}"`,
        '</FilesMatch>',
        'ProxyFCGISetEnvIf "reqenv(\'PATH_TRANSLATED\') =~ m|(/.*prefix)(\\d+)(.*)|" PATH_TRANSLATED "$1$3"',
      ].join('\n'),
    );
    const s = await seen(`${base}/sub/env.php/prefix123/rest`);
    assert.equal(s.file, `${D}/sub/env.php`);
    assert.equal(s.server['PATH_INFO'], '/prefix123/rest');
    assert.equal(s.server['PATH_TRANSLATED'], `${D}/prefix/rest`);
    const n = await seen(`${base}/sub/env.php/other/rest`);
    assert.equal(n.server['PATH_TRANSLATED'], `${D}/other/rest`); // condition false: unchanged
  });

  test('SetEnvIf Request_URI . proxy-fcgi-pathinfo=1 and =full; SetEnv works too (deliberate)', async (t) => {
    t.after(stopGateway);
    const base = await start(
      [
        `DocumentRoot "${D}"`,
        '<Location /pi/>',
        '    SetEnvIf Request_URI . proxy-fcgi-pathinfo=1',
        '</Location>',
        '<Location /pif/>',
        '    SetEnvIf Request_URI . proxy-fcgi-pathinfo=full',
        '</Location>',
        '<Location /pis/>',
        '    SetEnv proxy-fcgi-pathinfo unescape',
        '</Location>',
        `ProxyPass /pi/ fcgi://localhost:${tcp.port}${D}/`,
        `ProxyPassMatch ^/pif/(.*)$ fcgi://localhost:${tcp.port}${D}/$1`,
        `ProxyPass /pis/ fcgi://localhost:${tcp.port}${D}/`,
      ].join('\n'),
    );
    const uri = 'sub/env.php/extra/pa%20th.x/more?q=1';

    // =1: PATH_INFO is the raw target path, SCRIPT_NAME cut where it stops matching (⚠ row),
    // PATH_TRANSLATED with the DocumentRoot once (deliberate). PHP-FPM then splits again.
    const one = await seen(`${base}/pi/${uri}`);
    assert.equal(one.file, `${D}/sub/env.php`);
    assert.equal(one.server['ORIG_SCRIPT_NAME'], '/pi/sub/env.php/extra/pa th.x');
    assert.equal(one.server['ORIG_PATH_INFO'], `${D}/sub/env.php/extra/pa%20th.x/more`);
    assert.equal(one.server['ORIG_PATH_TRANSLATED'], `${D}/sub/env.php/extra/pa%20th.x/more`);
    assert.equal(one.server['ORIG_SCRIPT_FILENAME'], `${D}/sub/env.php/extra/pa%20th.x/more`);
    assert.equal(one.server['SCRIPT_FILENAME'], `${D}/sub/env.php`);
    assert.equal(one.server['PATH_INFO'], '/extra/pa%20th.x/more');
    assert.equal(one.server['proxy-fcgi-pathinfo'], undefined, 'control variables are not sent');

    // =full on ProxyPassMatch: the script found on disk, sent as PHP shows it (§3 pim_full).
    const full = await seen(`${base}/pif/${uri}`);
    assert.equal(full.file, `${D}/sub/env.php`);
    assert.deepEqual(scriptVars(full.server), {
      SCRIPT_NAME: '/pif/sub/env.php',
      SCRIPT_FILENAME: `${D}/sub/env.php`,
      PATH_INFO: '/extra/pa th.x/more',
      PATH_TRANSLATED: `${D}/extra/pa th.x/more`,
      QUERY_STRING: 'q=1',
      REQUEST_URI: `/pif/${uri}`,
    });

    // SetEnv (Apache ignores it: too late; fcgate honours it): unescape.
    const un = await seen(`${base}/pis/${uri}`);
    assert.equal(un.file, `${D}/sub/env.php`);
    assert.equal(un.server['ORIG_PATH_INFO'], `${D}/sub/env.php/extra/pa th.x/more`);
    assert.equal(un.server['ORIG_SCRIPT_NAME'], '/pis');
  });
});
