// Every configuration Apache was observed with (SCRIPT_NAME / PATH_INFO / PATH_TRANSLATED /
// SCRIPT_FILENAME), with ResolvedRequest objects built by hand as the router would. The
// expected strings are what Apache sent, with @DOCROOT@ filled in; where fcgate differs on
// purpose, docs/apache-differences.md says why.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedRequest, WorkerSettings } from '../../src/config/model.js';
import { buildParams } from '../../src/cgi/environment.js';
import { statFileProbe, type FileProbe } from '../../src/cgi/file-probe.js';
import {
  findPathInfoStart,
  fpmPrefixOf,
  normalizeSegments,
  pathInfoModeOf,
  PathInfoMode,
  translatePath,
} from '../../src/cgi/path-info.js';
import { asRecord, DOCROOT, missingProbe, resolved, rule, always, server, snapshot, worker } from './fixtures.js';

interface Expect {
  SCRIPT_NAME: string;
  PATH_INFO?: string;
  PATH_TRANSLATED?: string;
  SCRIPT_FILENAME: string;
}

function check(
  target: string,
  r: ResolvedRequest,
  want: Expect,
  opts: {
    probe?: FileProbe;
    member?: WorkerSettings;
    docroot?: string;
  } = {},
): Record<string, string> {
  const q = target.indexOf('?');
  const req = snapshot({ path: q < 0 ? target : target.slice(0, q), query: q < 0 ? '' : target.slice(q + 1) });
  const p = asRecord(buildParams(req, r, server(opts.probe), opts.member ?? null).list);
  assert.equal(p['SCRIPT_NAME'], want.SCRIPT_NAME, 'SCRIPT_NAME');
  assert.equal(p['PATH_INFO'], want.PATH_INFO, 'PATH_INFO');
  assert.equal(p['PATH_TRANSLATED'], want.PATH_TRANSLATED, 'PATH_TRANSLATED');
  assert.equal(p['SCRIPT_FILENAME'], want.SCRIPT_FILENAME, 'SCRIPT_FILENAME');
  return p;
}

const W4000 = worker('fcgi://localhost:4000');
const UNIX = worker('unix:/run/fcgate-test.sock|fcgi://localhost');
const pathinfo = (v: string): Map<string, string> => new Map([['proxy-fcgi-pathinfo', v]]);

test('§3 seed: ProxyPass /mon_appli/ fcgi://localhost:4000/', () => {
  const p = check(
    '/mon_appli/a/b.php?x=1&y=2',
    resolved({ worker: W4000, targetPath: '/a/b.php', decodedPath: '/mon_appli/a/b.php' }),
    { SCRIPT_NAME: '/mon_appli/a/b.php', SCRIPT_FILENAME: 'proxy:fcgi://localhost:4000/a/b.php' },
  );
  assert.equal(p['QUERY_STRING'], 'x=1&y=2');
  assert.equal(p['REQUEST_URI'], '/mon_appli/a/b.php?x=1&y=2');
});

test('§3 balancer member fcgi://localhost:4000: SCRIPT_FILENAME from the member URL', () => {
  const member = worker('fcgi://localhost:4000', { route: 'r1' });
  const p = check(
    '/myapp/x.php/y?z=1',
    resolved({
      worker: null,
      balancer: 'balancer://myappcluster',
      targetPath: '/x.php/y',
      decodedPath: '/myapp/x.php/y',
    }),
    { SCRIPT_NAME: '/myapp/x.php/y', SCRIPT_FILENAME: 'proxy:fcgi://localhost:4000/x.php/y' },
    { member },
  );
  assert.equal(p['BALANCER_NAME'], 'balancer://myappcluster');
  assert.equal(p['BALANCER_WORKER_NAME'], 'fcgi://localhost:4000');
  assert.equal(p['BALANCER_WORKER_ROUTE'], 'r1');
});

test('§3 ProxyPass … flushpackets=on', () => {
  check(
    '/mon_appli_flush/x.php/y?z=1',
    resolved({
      worker: worker('fcgi://localhost:4004', { flushPackets: 'on' }),
      targetPath: '/x.php/y',
      decodedPath: '/mon_appli_flush/x.php/y',
    }),
    { SCRIPT_NAME: '/mon_appli_flush/x.php/y', SCRIPT_FILENAME: 'proxy:fcgi://localhost:4004/x.php/y' },
  );
});

test('§3 ProxyPass /unix/ unix:…sock|fcgi://localhost/', () => {
  check('/unix/x?y', resolved({ worker: UNIX, targetPath: '/x', decodedPath: '/unix/x' }), {
    SCRIPT_NAME: '/unix/x',
    SCRIPT_FILENAME: 'proxy:fcgi://localhost/x',
  });
});

test('§3 ProxyPassMatch ^/unixphp/(.*\\.php(/.*)?)$ unix:…|fcgi://localhost@DOCROOT@/app/$1', () => {
  check(
    '/unixphp/dir.d/script.php/extra?q=1',
    resolved({
      form: 'proxypassmatch',
      worker: UNIX,
      targetPath: `${DOCROOT}/app/dir.d/script.php/extra`,
      decodedPath: '/unixphp/dir.d/script.php/extra',
    }),
    {
      SCRIPT_NAME: '/unixphp/dir.d/script.php/extra',
      SCRIPT_FILENAME: `proxy:fcgi://localhost${DOCROOT}/app/dir.d/script.php/extra`,
    },
  );
});

test('§3 ProxyPassMatch ^/ppm/(.*\\.php(/.*)?)$ fcgi://localhost:4000@DOCROOT@/app/$1', () => {
  check(
    '/ppm/dir.d/script.php/extra/info?q=1',
    resolved({
      form: 'proxypassmatch',
      targetPath: `${DOCROOT}/app/dir.d/script.php/extra/info`,
      decodedPath: '/ppm/dir.d/script.php/extra/info',
    }),
    {
      SCRIPT_NAME: '/ppm/dir.d/script.php/extra/info',
      SCRIPT_FILENAME: `proxy:fcgi://localhost:4000${DOCROOT}/app/dir.d/script.php/extra/info`,
    },
  );
});

test('§3 ProxyPassMatch without backreference: URL appended, double slash kept', () => {
  check(
    '/ppm_implicit/sub/x.php/extra?q=1',
    resolved({
      form: 'proxypassmatch',
      targetPath: `${DOCROOT}//ppm_implicit/sub/x.php/extra`,
      decodedPath: '/ppm_implicit/sub/x.php/extra',
    }),
    {
      SCRIPT_NAME: '/ppm_implicit/sub/x.php/extra',
      SCRIPT_FILENAME: `proxy:fcgi://localhost:4000${DOCROOT}//ppm_implicit/sub/x.php/extra`,
    },
  );
});

test('§3 ProxyPassMatch whose target holds a query: ? %-encoded into the path ⚠', () => {
  const p = check(
    '/ppm_q/alpha/rest/of/path?orig=1',
    resolved({
      form: 'proxypassmatch',
      targetPath: '/rest/of/path?from=alpha',
      decodedPath: '/ppm_q/alpha/rest/of/path',
    }),
    {
      SCRIPT_NAME: '/ppm_q/alpha/rest/of/path',
      SCRIPT_FILENAME: 'proxy:fcgi://localhost:4000/rest/of/path%3Ffrom=alpha',
    },
  );
  assert.equal(p['QUERY_STRING'], 'orig=1');
});

// The pathinfo rows share one request; the router gives the target path as received.
const PI_TARGET = '/dir.d/script.php/extra/pa%20th.x/more';
const PI_FILENAME = 'proxy:fcgi://localhost:4000/dir.d/script.php/extra/pa%20th.x/more';
const pi = (prefix: string, env: Map<string, string> = new Map()): ResolvedRequest =>
  resolved({ targetPath: PI_TARGET, decodedPath: `/${prefix}/dir.d/script.php/extra/pa th.x/more`, env });
const piUrl = (prefix: string): string => `/${prefix}/dir.d/script.php/extra/pa%20th.x/more?q=1`;

test('§3 ProxyPass, proxy-fcgi-pathinfo unset', () => {
  check(piUrl('pi_none'), pi('pi_none'), {
    SCRIPT_NAME: '/pi_none/dir.d/script.php/extra/pa th.x/more',
    SCRIPT_FILENAME: PI_FILENAME,
  });
  // Same when the router hands the target path decoded: the filename is re-encoded.
  check(
    piUrl('pi_none'),
    resolved({
      targetPath: '/dir.d/script.php/extra/pa th.x/more',
      decodedPath: '/pi_none/dir.d/script.php/extra/pa th.x/more',
    }),
    { SCRIPT_NAME: '/pi_none/dir.d/script.php/extra/pa th.x/more', SCRIPT_FILENAME: PI_FILENAME },
  );
});

for (const v of ['1', 'On', 'yes']) {
  test(`§3 SetEnvIf … proxy-fcgi-pathinfo=${v}: SCRIPT_NAME up to the first encoded difference ⚠`, () => {
    check(piUrl('pi_1'), pi('pi_1', pathinfo(v)), {
      SCRIPT_NAME: '/pi_1/dir.d/script.php/extra/pa th.x',
      PATH_INFO: '/dir.d/script.php/extra/pa%20th.x/more',
      PATH_TRANSLATED: `${DOCROOT}/dir.d/script.php/extra/pa%20th.x/more`,
      SCRIPT_FILENAME: PI_FILENAME,
    });
  });
}

test('§3 other observations: pathinfo=1 with nothing encoded gives SCRIPT_NAME = the prefix ⚠', () => {
  check('/pi_1/a/b.php/c', resolved({ targetPath: '/a/b.php/c', decodedPath: '/pi_1/a/b.php/c', env: pathinfo('1') }), {
    SCRIPT_NAME: '/pi_1',
    PATH_INFO: '/a/b.php/c',
    PATH_TRANSLATED: `${DOCROOT}/a/b.php/c`,
    SCRIPT_FILENAME: 'proxy:fcgi://localhost:4000/a/b.php/c',
  });
});

test('§3 pathinfo=first-dot', () => {
  check(piUrl('pi_firstdot'), pi('pi_firstdot', pathinfo('first-dot')), {
    SCRIPT_NAME: '/pi_firstdot/dir.d',
    PATH_INFO: '/script.php/extra/pa th.x/more',
    PATH_TRANSLATED: `${DOCROOT}/script.php/extra/pa th.x/more`,
    SCRIPT_FILENAME: PI_FILENAME,
  });
});

test('§3 pathinfo=last-dot', () => {
  check(piUrl('pi_lastdot'), pi('pi_lastdot', pathinfo('LAST-DOT')), {
    SCRIPT_NAME: '/pi_lastdot/dir.d/script.php/extra/pa th.x',
    PATH_INFO: '/more',
    PATH_TRANSLATED: `${DOCROOT}/more`,
    SCRIPT_FILENAME: PI_FILENAME,
  });
});

test('§3 other observations: first-dot/last-dot without a dot leave PATH_INFO unset; x.php/ gives /', () => {
  for (const mode of ['first-dot', 'last-dot']) {
    check(
      '/pd/noext/path',
      resolved({ targetPath: '/noext/path', decodedPath: '/pd/noext/path', env: pathinfo(mode) }),
      { SCRIPT_NAME: '/pd/noext/path', SCRIPT_FILENAME: 'proxy:fcgi://localhost:4000/noext/path' },
    );
    check('/pd/x.php/', resolved({ targetPath: '/x.php/', decodedPath: '/pd/x.php/', env: pathinfo(mode) }), {
      SCRIPT_NAME: '/pd/x.php',
      PATH_INFO: '/',
      PATH_TRANSLATED: `${DOCROOT}/`,
      SCRIPT_FILENAME: 'proxy:fcgi://localhost:4000/x.php/',
    });
  }
});

test('§3 pathinfo=full on ProxyPass: the target path is not on disk, so like unset', () => {
  const probe = missingProbe();
  check(
    piUrl('pi_full'),
    pi('pi_full', pathinfo('full')),
    { SCRIPT_NAME: '/pi_full/dir.d/script.php/extra/pa th.x/more', SCRIPT_FILENAME: PI_FILENAME },
    { probe },
  );
  assert.equal(probe.calls, 1, 'stops at the first missing segment (/dir.d)');
});

test('§3 pathinfo=unescape', () => {
  check(piUrl('pi_unescape'), pi('pi_unescape', pathinfo('unescape')), {
    SCRIPT_NAME: '/pi_unescape',
    PATH_INFO: '/dir.d/script.php/extra/pa th.x/more',
    PATH_TRANSLATED: `${DOCROOT}/dir.d/script.php/extra/pa th.x/more`,
    SCRIPT_FILENAME: PI_FILENAME,
  });
});

test('§3 SetEnv proxy-fcgi-pathinfo 1: deliberate difference, works as SetEnvIf', () => {
  // Apache ignores SetEnv here (too late); fcgate's router puts SetEnv and SetEnvIf into env alike.
  check(piUrl('pi_setenv'), pi('pi_setenv', pathinfo('1')), {
    SCRIPT_NAME: '/pi_setenv/dir.d/script.php/extra/pa th.x',
    PATH_INFO: '/dir.d/script.php/extra/pa%20th.x/more',
    PATH_TRANSLATED: `${DOCROOT}/dir.d/script.php/extra/pa%20th.x/more`,
    SCRIPT_FILENAME: PI_FILENAME,
  });
});

const PIM_TARGET = `${DOCROOT}/app/dir.d/script.php/extra/pa%20th.x/more`;
const pim = (prefix: string, mode: string, docroot = DOCROOT, target = PIM_TARGET): ResolvedRequest =>
  resolved({
    form: 'proxypassmatch',
    targetPath: target,
    documentRoot: docroot,
    contextDocumentRoot: docroot,
    decodedPath: `/${prefix}/dir.d/script.php/extra/pa th.x/more`,
    env: pathinfo(mode),
  });

test('§3 ProxyPassMatch to @DOCROOT@/app/$1, pathinfo=1 (PATH_TRANSLATED: DocumentRoot once, deliberate)', () => {
  check(piUrl('pim_1'), pim('pim_1', '1'), {
    SCRIPT_NAME: '/pim_1/dir.d/script.php/extra/pa th.x',
    PATH_INFO: PIM_TARGET,
    PATH_TRANSLATED: PIM_TARGET,
    SCRIPT_FILENAME: `proxy:fcgi://localhost:4000${PIM_TARGET}`,
  });
});

test('§3 ProxyPassMatch, pathinfo=unescape', () => {
  const decoded = `${DOCROOT}/app/dir.d/script.php/extra/pa th.x/more`;
  check(piUrl('pim_unescape'), pim('pim_unescape', 'unescape'), {
    SCRIPT_NAME: '/pim_unescape',
    PATH_INFO: decoded,
    PATH_TRANSLATED: decoded,
    SCRIPT_FILENAME: `proxy:fcgi://localhost:4000${PIM_TARGET}`,
  });
});

test('§3 ProxyPassMatch, pathinfo=full, against a real DocumentRoot', (t) => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'fcgate-cgi-')));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'app', 'dir.d'), { recursive: true });
  writeFileSync(join(root, 'app', 'dir.d', 'script.php'), '<?php\n');
  const target = `${root}/app/dir.d/script.php/extra/pa%20th.x/more`;

  // file exists: prefix stripped, PATH_INFO decoded, SCRIPT_NAME up to the script
  check(
    piUrl('pim_full'),
    pim('pim_full', 'full', root, target),
    {
      SCRIPT_NAME: '/pim_full/dir.d/script.php',
      PATH_INFO: '/extra/pa th.x/more',
      PATH_TRANSLATED: `${root}/extra/pa th.x/more`,
      SCRIPT_FILENAME: `${root}/app/dir.d/script.php`,
    },
    { probe: statFileProbe },
  );

  // no such file: everything as unset
  check(
    '/pim_full/noext/path/here',
    resolved({
      form: 'proxypassmatch',
      targetPath: `${root}/app/noext/path/here`,
      documentRoot: root,
      decodedPath: '/pim_full/noext/path/here',
      env: pathinfo('full'),
    }),
    {
      SCRIPT_NAME: '/pim_full/noext/path/here',
      SCRIPT_FILENAME: `proxy:fcgi://localhost:4000${root}/app/noext/path/here`,
    },
    { probe: statFileProbe },
  );

  // the script itself, no path info: filename stripped, no PATH_INFO
  check(
    '/pim_full/dir.d/script.php',
    resolved({
      form: 'proxypassmatch',
      targetPath: `${root}/app/dir.d/script.php`,
      documentRoot: root,
      decodedPath: '/pim_full/dir.d/script.php',
      env: pathinfo('full'),
    }),
    { SCRIPT_NAME: '/pim_full/dir.d/script.php', SCRIPT_FILENAME: `${root}/app/dir.d/script.php` },
    { probe: statFileProbe },
  );
});

test('§3 <FilesMatch \\.php$> SetHandler proxy:fcgi://localhost:4000', () => {
  check(
    '/sh/test.php/foo/bar?x=1',
    resolved({
      form: 'handler',
      targetPath: `${DOCROOT}/sh/test.php`,
      decodedPath: '/sh/test.php/foo/bar',
      scriptName: '/sh/test.php',
      pathInfo: '/foo/bar',
    }),
    {
      SCRIPT_NAME: '/sh/test.php',
      PATH_INFO: '/foo/bar',
      PATH_TRANSLATED: `${DOCROOT}/foo/bar`,
      SCRIPT_FILENAME: `proxy:fcgi://localhost:4000${DOCROOT}/sh/test.php`,
    },
  );
});

test('§3 SetHandler proxy:unix:…|fcgi://localhost/ (double slash not copied: deliberate)', () => {
  check(
    '/shunix/test.php/x?y=1',
    resolved({
      form: 'handler',
      worker: UNIX,
      targetPath: `${DOCROOT}/shunix/test.php`,
      decodedPath: '/shunix/test.php/x',
      scriptName: '/shunix/test.php',
      pathInfo: '/x',
    }),
    {
      SCRIPT_NAME: '/shunix/test.php',
      PATH_INFO: '/x',
      PATH_TRANSLATED: `${DOCROOT}/x`,
      SCRIPT_FILENAME: `proxy:fcgi://localhost${DOCROOT}/shunix/test.php`,
    },
  );
});

test('§3 SetHandler + ProxyFCGIBackendType GENERIC', () => {
  check(
    '/shgeneric/test.php/path/info?q',
    resolved({
      form: 'handler',
      backendType: 'GENERIC',
      targetPath: `${DOCROOT}/shgeneric/test.php`,
      decodedPath: '/shgeneric/test.php/path/info',
      scriptName: '/shgeneric/test.php',
      pathInfo: '/path/info',
    }),
    {
      SCRIPT_NAME: '/shgeneric/test.php',
      PATH_INFO: '/path/info',
      PATH_TRANSLATED: `${DOCROOT}/path/info`,
      SCRIPT_FILENAME: `${DOCROOT}/shgeneric/test.php`,
    },
  );
});

test('§3 ProxyPass + GENERIC: the URL path after host:port', () => {
  check(
    '/bt_generic/x.php/extra?q=1',
    resolved({ backendType: 'GENERIC', targetPath: '/x.php/extra', decodedPath: '/bt_generic/x.php/extra' }),
    { SCRIPT_NAME: '/bt_generic/x.php/extra', SCRIPT_FILENAME: '/x.php/extra' },
  );
});

test('§3 ProxyPassMatch + GENERIC', () => {
  check(
    '/btm_generic/dir.d/script.php/extra?q=1',
    resolved({
      form: 'proxypassmatch',
      backendType: 'GENERIC',
      targetPath: `${DOCROOT}/app/dir.d/script.php/extra`,
      decodedPath: '/btm_generic/dir.d/script.php/extra',
    }),
    { SCRIPT_NAME: '/btm_generic/dir.d/script.php/extra', SCRIPT_FILENAME: `${DOCROOT}/app/dir.d/script.php/extra` },
  );
});

test('§3 FPM is the default: proxy:fcgi:// prefix kept', () => {
  check('/x/a.php', resolved({ targetPath: '/a.php', decodedPath: '/x/a.php' }), {
    SCRIPT_NAME: '/x/a.php',
    SCRIPT_FILENAME: 'proxy:fcgi://localhost:4000/a.php',
  });
});

test('§3 ProxyFCGISetEnvIf examples of the manual (/fcgisetenv2)', () => {
  const rules = [
    rule('SCRIPT_FILENAME', always, (ctx) => `${ctx.params.get('DOCUMENT_ROOT')}${ctx.params.get('SCRIPT_NAME')}`),
    rule('PATH_INFO', always, () => '/example'),
  ];
  check(
    '/fcgisetenv2/word/rest?x=1',
    resolved({
      form: 'proxypassmatch',
      targetPath: '/word/rest',
      decodedPath: '/fcgisetenv2/word/rest',
      fcgiSetEnv: rules,
    }),
    {
      SCRIPT_NAME: '/fcgisetenv2/word/rest',
      PATH_INFO: '/example',
      SCRIPT_FILENAME: `${DOCROOT}/fcgisetenv2/word/rest`,
    },
  );
});

test('non-ASCII and raw bytes: raw in SCRIPT_NAME, %-encoded (UTF-8) in SCRIPT_FILENAME', () => {
  check('/u/caf%C3%A9/%E9.php', resolved({ targetPath: '/café/%E9.php', decodedPath: '/u/café/\uFFFD.php' }), {
    SCRIPT_NAME: '/u/café/\uFFFD.php',
    SCRIPT_FILENAME: 'proxy:fcgi://localhost:4000/caf%C3%A9/%E9.php',
  });
});

test('findPathInfoStart follows ap_find_path_info', () => {
  const cases: Array<[string, string, string]> = [
    [
      '/pi_1/dir.d/script.php/extra/pa th.x/more',
      '/dir.d/script.php/extra/pa%20th.x/more',
      '/pi_1/dir.d/script.php/extra/pa th.x',
    ],
    ['/pi_1/a/b', '/a/b', '/pi_1'],
    ['/a/b', '/a/b', ''], // PATH_INFO is the whole URI
    ['/x//y/z', '/y/z', '/x'], // repeated slashes in the URI are skipped
    ['/s/x.php/', '/', '/s/x.php'],
    ['/abc', '/zzz', '/abc'], // nothing shared: the whole URI
  ];
  for (const [uri, info, want] of cases)
    assert.equal(uri.slice(0, findPathInfoStart(uri, info)), want, `${uri} - ${info}`);
});

test('pathInfoModeOf: names case-insensitive, anything else is raw', () => {
  assert.equal(pathInfoModeOf(undefined), PathInfoMode.None);
  assert.equal(pathInfoModeOf('Full'), PathInfoMode.Full);
  assert.equal(pathInfoModeOf('First-Dot'), PathInfoMode.FirstDot);
  assert.equal(pathInfoModeOf('last-dot'), PathInfoMode.LastDot);
  assert.equal(pathInfoModeOf('UNESCAPE'), PathInfoMode.Unescape);
  for (const v of ['1', 'On', '', '0', 'off']) assert.equal(pathInfoModeOf(v), PathInfoMode.Raw, v);
});

test('translatePath and normalizeSegments', () => {
  assert.equal(translatePath('/var/www', '/a/b'), '/var/www/a/b');
  assert.equal(translatePath('/var/www/', '/a/b'), '/var/www/a/b');
  assert.equal(translatePath('/var/www', '/var/www/app/x'), '/var/www/app/x'); // once
  assert.equal(translatePath('/var/www', '/var/wwwx/a'), '/var/www/var/wwwx/a'); // not a segment prefix
  assert.equal(translatePath('/var/www', '/a//b/./c/../d'), '/var/www/a/b/d');
  assert.equal(normalizeSegments('/a/b/..'), '/a/');
  assert.equal(normalizeSegments('/'), '/');
  assert.equal(normalizeSegments('/../x'), '/x');
});

test('fpmPrefixOf: host lower-cased, default port 8000 left out, IPv6 bracketed, unix → localhost', () => {
  assert.equal(fpmPrefixOf(worker('fcgi://LocalHost:4000')), 'proxy:fcgi://localhost:4000');
  assert.equal(fpmPrefixOf(worker('fcgi://localhost:8000')), 'proxy:fcgi://localhost');
  assert.equal(fpmPrefixOf(worker('fcgi://[::1]:9000')), 'proxy:fcgi://[::1]:9000');
  assert.equal(fpmPrefixOf(worker('unix:/run/php.sock|fcgi://localhost/')), 'proxy:fcgi://localhost');
  assert.equal(
    fpmPrefixOf(worker('app1', { address: { kind: 'tcp', host: '::1', port: 9000 } })),
    'proxy:fcgi://[::1]:9000',
  );
});
