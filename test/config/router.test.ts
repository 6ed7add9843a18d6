// The router against Apache's observed mapping (targetPath, decodedPath, the handler form's
// scriptName/pathInfo), its path refusals (docs/apache-differences.md, "What fcgate
// copies"), first-match order, sections and the env merge.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { resolve, memberTargetPath, type RouteResult } from '../../src/config/router.js';
import type { GatewayConfig, ResolvedRequest } from '../../src/config/model.js';
import type { RequestSnapshot } from '../../src/request.js';

let DOCROOT = '';
let cfg: GatewayConfig;

function snap(target: string, headers: Array<[string, string]> = [], method = 'GET'): RequestSnapshot {
  const q = target.indexOf('?');
  return {
    method,
    path: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? '' : target.slice(q + 1),
    headers,
    remoteAddress: '192.0.2.7',
    remotePort: '',
    localAddress: '127.0.0.1',
    localPort: 8181,
    scheme: 'http',
    protocol: 'HTTP/1.1',
  };
}

function proxied(r: RouteResult): ResolvedRequest {
  assert.equal(r.kind, 'proxy', JSON.stringify(r));
  return (r as Extract<RouteResult, { kind: 'proxy' }>).resolved;
}

before(() => {
  DOCROOT = realpathSync(mkdtempSync(join(tmpdir(), 'fcgate-router-')));
  for (const d of ['sh', 'shunix', 'shgeneric', 'withindex', 'sub/deeper', 'app/dir.d'])
    mkdirSync(join(DOCROOT, d), { recursive: true });
  for (const f of [
    'sh/test.php',
    'sh/readme.txt',
    'shunix/test.php',
    'shgeneric/test.php',
    'withindex/index.php',
    'index.html',
    'sub/deeper/page.html',
    'app/dir.d/script.php',
  ])
    writeFileSync(join(DOCROOT, f), 'x');
  cfg = parseConfig(
    `
DocumentRoot "${DOCROOT}"
ServerName gw.example
SetEnv FROM_SERVER s
ProxyPass /mon_appli/ fcgi://localhost:4000/
ProxyPass /myapp/ balancer://myappcluster/
<Proxy balancer://myappcluster/>
    BalancerMember fcgi://localhost:4000
    BalancerMember fcgi://localhost:4001
</Proxy>
ProxyPass /mon_appli_flush/ fcgi://localhost:4004/ flushpackets=on
ProxyPass /unix/ "unix:/run/fcgate-test.sock|fcgi://localhost/"
ProxyPassMatch ^/unixphp/(.*\\.php(/.*)?)$ "unix:/run/fcgate-test.sock|fcgi://localhost${DOCROOT}/app/$1"
ProxyPassMatch ^/ppm/(.*\\.php(/.*)?)$ fcgi://localhost:4000${DOCROOT}/app/$1
ProxyPassMatch ^/ppm_implicit/.*$ fcgi://localhost:4000${DOCROOT}/
ProxyPassMatch ^/ppm_q/([^/]+)/(.*)$ fcgi://localhost:4000/$2?from=$1
ProxyPass /pi_none/ fcgi://localhost:4000/
ProxyPass /pi_1/ fcgi://localhost:4000/
SetEnvIf Request_URI ^/pi_1/ proxy-fcgi-pathinfo=1
ProxyPass /pi_setenv/ fcgi://localhost:4000/
<Location /pi_setenv/>
  SetEnv proxy-fcgi-pathinfo 1
</Location>
ProxyPass /bt_generic/ fcgi://localhost:4000/
<Location /bt_generic/>
  ProxyFCGIBackendType GENERIC
</Location>
ProxyPass /fcgisetenv2/ fcgi://localhost:4000/
<Location /fcgisetenv2/>
  ProxyFCGISetEnvIf "true" SCRIPT_FILENAME "%{reqenv:DOCUMENT_ROOT}%{reqenv:SCRIPT_NAME}"
  ProxyFCGISetEnvIf "true" PATH_INFO "/example"
</Location>
ProxyPass /first/static/ !
ProxyPass /first/ fcgi://localhost:4010/
ProxyPass /first/second/ fcgi://localhost:4011/
<Location /loc/>
  ProxyPass fcgi://localhost:4020/base/
  CGIPassAuth On
</Location>
<FilesMatch "\\.php$">
  SetHandler "proxy:fcgi://localhost:4000"
</FilesMatch>
<Directory "${DOCROOT}/shunix">
  <FilesMatch "\\.php$">
    SetHandler "proxy:unix:/run/fcgate-test.sock|fcgi://localhost/"
  </FilesMatch>
</Directory>
<Directory "${DOCROOT}/shgeneric">
  ProxyFCGIBackendType GENERIC
  SetEnv FROM_DIR d
</Directory>
<Files "test.php">
  SetEnv FROM_FILES f
</Files>
<LocationMatch "^/shgeneric/">
  SetEnv FROM_DIR overridden-by-location
</LocationMatch>
<Directory "${DOCROOT}/withindex">
  DirectoryIndex index.php
</Directory>
`,
    join(DOCROOT, 'fcgate.conf'),
  );
});

after(() => rmSync(DOCROOT, { recursive: true, force: true }));

test('§3 seed ProxyPass: /mon_appli/a/b.php?x=1&y=2', () => {
  const r = proxied(resolve(cfg, snap('/mon_appli/a/b.php?x=1&y=2')));
  assert.equal(r.form, 'proxypass');
  assert.equal(r.worker!.name, 'fcgi://localhost:4000');
  assert.equal(r.targetPath, '/a/b.php');
  assert.equal(r.decodedPath, '/mon_appli/a/b.php');
  assert.equal(r.scriptName, null);
  assert.equal(r.pathInfo, null);
  assert.equal(r.documentRoot, DOCROOT);
  assert.equal(r.contextPrefix, '');
  assert.equal(r.contextDocumentRoot, DOCROOT);
  assert.equal(r.serverName, 'gw.example');
  assert.equal(r.backendType, 'FPM');
  assert.equal(r.cgiPassAuth, false);
  assert.equal(r.env.get('FROM_SERVER'), 's');
});

test('§3 balancer member fcgi://localhost:4000: /myapp/x.php/y?z=1', () => {
  const res = resolve(cfg, snap('/myapp/x.php/y?z=1'));
  const r = proxied(res);
  assert.equal(r.worker, null);
  assert.equal(r.balancer, 'balancer://myappcluster');
  assert.equal(r.targetPath, '/x.php/y');
  assert.equal(r.decodedPath, '/myapp/x.php/y');
  const member = cfg.balancers.get('balancer://myappcluster')!.members[0]!;
  assert.equal(memberTargetPath(member.path, r.targetPath), '/x.php/y');
  assert.equal(memberTargetPath('/base/', '/x'), '/base/x');
  assert.equal(memberTargetPath('/base', '/x'), '/base/x');
});

test('§3 flushpackets=on and unix socket rows', () => {
  const f = proxied(resolve(cfg, snap('/mon_appli_flush/x.php/y?z=1')));
  assert.equal(f.targetPath, '/x.php/y');
  assert.equal(f.decodedPath, '/mon_appli_flush/x.php/y');
  assert.equal(f.worker!.flushPackets, 'on');
  const u = proxied(resolve(cfg, snap('/unix/x?y')));
  assert.equal(u.worker!.name, 'unix:/run/fcgate-test.sock|fcgi://localhost');
  assert.deepEqual(u.worker!.address, { kind: 'unix', path: '/run/fcgate-test.sock' });
  assert.equal(u.targetPath, '/x');
  assert.equal(u.decodedPath, '/unix/x');
});

test('§3 ProxyPassMatch rows: $1 substitution, unix, URL appended (double slash), target query → %3F', () => {
  const up = proxied(resolve(cfg, snap('/unixphp/dir.d/script.php/extra?q=1')));
  assert.equal(up.form, 'proxypassmatch');
  assert.equal(up.targetPath, `${DOCROOT}/app/dir.d/script.php/extra`);
  assert.equal(up.decodedPath, '/unixphp/dir.d/script.php/extra');
  const ppm = proxied(resolve(cfg, snap('/ppm/dir.d/script.php/extra/info?q=1')));
  assert.equal(ppm.targetPath, `${DOCROOT}/app/dir.d/script.php/extra/info`);
  assert.equal(ppm.decodedPath, '/ppm/dir.d/script.php/extra/info');
  const imp = proxied(resolve(cfg, snap('/ppm_implicit/sub/x.php/extra?q=1')));
  assert.equal(imp.targetPath, `${DOCROOT}//ppm_implicit/sub/x.php/extra`);
  const q = proxied(resolve(cfg, snap('/ppm_q/alpha/rest/of/path?orig=1')));
  assert.equal(q.targetPath, '/rest/of/path%3Ffrom=alpha');
  assert.equal(q.decodedPath, '/ppm_q/alpha/rest/of/path');
});

test('§3 pi_none: decoded SCRIPT_NAME, %-encoded target path; no PATH_INFO from the router', () => {
  const r = proxied(resolve(cfg, snap('/pi_none/dir.d/script.php/extra/pa%20th.x/more?q=1')));
  assert.equal(r.decodedPath, '/pi_none/dir.d/script.php/extra/pa th.x/more');
  assert.equal(r.targetPath, '/dir.d/script.php/extra/pa%20th.x/more');
  assert.equal(r.pathInfo, null);
  assert.equal(r.env.has('proxy-fcgi-pathinfo'), false);
});

test('§3 SetEnvIf proxy-fcgi-pathinfo=1, and SetEnv works too (fcgate does better)', () => {
  const r = proxied(resolve(cfg, snap('/pi_1/dir.d/script.php/extra/pa%20th.x/more?q=1')));
  assert.equal(r.env.get('proxy-fcgi-pathinfo'), '1');
  assert.equal(r.targetPath, '/dir.d/script.php/extra/pa%20th.x/more');
  const s = proxied(resolve(cfg, snap('/pi_setenv/a')));
  assert.equal(s.env.get('proxy-fcgi-pathinfo'), '1');
});

test('§3 ProxyPass + GENERIC, ProxyFCGISetEnvIf rules from the matching <Location>', () => {
  const g = proxied(resolve(cfg, snap('/bt_generic/x.php/extra?q=1')));
  assert.equal(g.backendType, 'GENERIC');
  assert.equal(g.targetPath, '/x.php/extra');
  const f = proxied(resolve(cfg, snap('/fcgisetenv2/word/rest?x=1')));
  assert.deepEqual(
    f.fcgiSetEnv.map((x) => x.name),
    ['SCRIPT_FILENAME', 'PATH_INFO'],
  );
  assert.equal(proxied(resolve(cfg, snap('/mon_appli/x'))).fcgiSetEnv.length, 0);
});

test('§3 handler form: <FilesMatch \\.php$> SetHandler proxy:fcgi://localhost:4000', () => {
  const res = resolve(cfg, snap('/sh/test.php/foo/bar?x=1'));
  const r = proxied(res);
  assert.equal(r.form, 'handler');
  assert.equal(r.worker!.name, 'fcgi://localhost:4000');
  assert.equal(r.targetPath, `${DOCROOT}/sh/test.php`);
  assert.equal(r.scriptName, '/sh/test.php');
  assert.equal(r.pathInfo, '/foo/bar');
  assert.equal(r.decodedPath, '/sh/test.php/foo/bar');
  assert.ok(res.kind === 'proxy' && res.handlerUrlPath === '' && res.route === null);
  const plain = proxied(resolve(cfg, snap('/sh/test.php')));
  assert.equal(plain.pathInfo, null);
  assert.equal(plain.scriptName, '/sh/test.php');
});

test('§3 handler form over a unix socket with a trailing slash: handlerUrlPath "/"', () => {
  const res = resolve(cfg, snap('/shunix/test.php/x?y=1'));
  const r = proxied(res);
  assert.equal(r.worker!.name, 'unix:/run/fcgate-test.sock|fcgi://localhost');
  assert.equal(r.targetPath, `${DOCROOT}/shunix/test.php`);
  assert.equal(r.scriptName, '/shunix/test.php');
  assert.equal(r.pathInfo, '/x');
  assert.ok(res.kind === 'proxy' && res.handlerUrlPath === '/');
});

test('§3 handler form + GENERIC; env merge order server < Directory < Files < Location', () => {
  const r = proxied(resolve(cfg, snap('/shgeneric/test.php/path/info?q')));
  assert.equal(r.backendType, 'GENERIC');
  assert.equal(r.scriptName, '/shgeneric/test.php');
  assert.equal(r.pathInfo, '/path/info');
  assert.equal(r.env.get('FROM_SERVER'), 's');
  assert.equal(r.env.get('FROM_FILES'), 'f');
  assert.equal(r.env.get('FROM_DIR'), 'overridden-by-location');
});

test('§3 handler: missing .php proxied, case-sensitive FilesMatch, %74est.php, static, directory 404', () => {
  const missing = proxied(resolve(cfg, snap('/sh/nosuch.php/extra')));
  assert.equal(missing.targetPath, `${DOCROOT}/sh/nosuch.php`);
  assert.equal(missing.scriptName, '/sh/nosuch.php');
  assert.equal(missing.pathInfo, '/extra');
  assert.deepEqual(resolve(cfg, snap('/sh/TEST.PHP')), {
    kind: 'not-found',
    reason: 'no-file',
    code: 'FCGATE_NOT_FOUND',
  });
  assert.equal(proxied(resolve(cfg, snap('/sh/%74est.php'))).targetPath, `${DOCROOT}/sh/test.php`);
  assert.deepEqual(resolve(cfg, snap('/sh/readme.txt')), {
    kind: 'static',
    filename: `${DOCROOT}/sh/readme.txt`,
    decodedPath: '/sh/readme.txt',
  });
  assert.deepEqual(resolve(cfg, snap('/sh/readme.txt/more')), {
    kind: 'not-found',
    reason: 'path-info',
    code: 'FCGATE_NOT_FOUND',
  });
  assert.deepEqual(resolve(cfg, snap('/sh/')), { kind: 'not-found', reason: 'directory', code: 'FCGATE_NOT_FOUND' });
  assert.deepEqual(resolve(cfg, snap('/nodir/x.php')).kind, 'not-found');
});

test('directories: redirect without trailing slash, DirectoryIndex (server and per directory)', () => {
  assert.deepEqual(resolve(cfg, snap('/withindex?a=1')), { kind: 'redirect-dir', location: '/withindex/?a=1' });
  const idx = proxied(resolve(cfg, snap('/withindex/')));
  assert.equal(idx.targetPath, `${DOCROOT}/withindex/index.php`);
  assert.equal(idx.scriptName, '/withindex/index.php');
  assert.equal(idx.decodedPath, '/withindex/');
  assert.deepEqual(resolve(cfg, snap('/')), { kind: 'static', filename: `${DOCROOT}/index.html`, decodedPath: '/' });
  assert.deepEqual(resolve(cfg, snap('/sub/deeper/page.html')).kind, 'static');
});

test('§3/§7: ProxyPassMatch non-match falls through to DocumentRoot; .. resolved before matching', () => {
  assert.equal(resolve(cfg, snap('/ppm/not-php')).kind, 'not-found');
  const r = proxied(resolve(cfg, snap('/mon_appli/../sh/test.php')));
  assert.equal(r.form, 'handler');
  assert.equal(r.scriptName, '/sh/test.php');
  const esc = resolve(cfg, snap('/mon_appli/../../../../etc/passwd'));
  assert.equal(esc.kind, 'not-found');
});

test('§2 decodedPath normalisation through the router', () => {
  assert.equal(proxied(resolve(cfg, snap('/mon_appli/a/./b/../c'))).decodedPath, '/mon_appli/a/c');
  assert.equal(proxied(resolve(cfg, snap('//mon_appli/a'))).decodedPath, '/mon_appli/a');
  assert.equal(proxied(resolve(cfg, snap('/mon_appli/%41%42%43'))).decodedPath, '/mon_appli/ABC');
  assert.equal(proxied(resolve(cfg, snap('/mon_appli/%41%42%43'))).targetPath, '/ABC');
  assert.equal(proxied(resolve(cfg, snap('/mon_appli/a/b/..'))).decodedPath, '/mon_appli/a/');
});

test('§7 refusals: %2F and %00 → 404, %zz → 400', () => {
  assert.deepEqual(resolve(cfg, snap('/mon_appli/a%2Fb')), {
    kind: 'not-found',
    reason: 'encoded-slash',
    code: 'FCGATE_NOT_FOUND',
  });
  assert.deepEqual(resolve(cfg, snap('/mon_appli/a%00')), {
    kind: 'not-found',
    reason: 'nul',
    code: 'FCGATE_NOT_FOUND',
  });
  assert.deepEqual(resolve(cfg, snap('/mon_appli/%zz')), {
    kind: 'bad-request',
    reason: 'bad-escape',
    code: 'FCGATE_BAD_REQUEST',
  });
});

test('first match in config order wins (not the longest prefix); ! excludes', () => {
  const r = proxied(resolve(cfg, snap('/first/second/x')));
  assert.equal(r.worker!.name, 'fcgi://localhost:4010');
  assert.equal(r.targetPath, '/second/x');
  assert.equal(resolve(cfg, snap('/first/static/x.css')).kind, 'not-found');
  assert.equal(resolve(cfg, snap('/first/static/../x')).kind, 'proxy');
});

test("ProxyPass inside <Location>, with that Location's CGIPassAuth", () => {
  const r = proxied(resolve(cfg, snap('/loc/a/b')));
  assert.equal(r.worker!.name, 'fcgi://localhost:4020');
  assert.equal(r.targetPath, '/base/a/b');
  assert.equal(r.cgiPassAuth, true);
});

test('no DocumentRoot: unmatched requests have no route; ProxyPass still works', () => {
  const c = parseConfig('ProxyPass /a/ fcgi://h:1/\n', 'f.conf');
  assert.deepEqual(resolve(c, snap('/b')), { kind: 'not-found', reason: 'no-route', code: 'FCGATE_NO_ROUTE' });
  const r = proxied(resolve(c, snap('/a/x')));
  assert.equal(r.documentRoot, '');
});

test('SetEnvIf attributes, captures, negation, NoCase, header regex, BrowserMatch, SetEnv, UnsetEnv', () => {
  const c = parseConfig(
    [
      'ProxyPass / fcgi://h:1/',
      'SetEnvIf Remote_Addr ^192\\.0\\.2\\. LAN',
      'SetEnvIf Remote_Host ^192 RHOST',
      'SetEnvIf Server_Addr ^127 LOCAL',
      'SetEnvIf Request_Method ^POST$ IS_POST',
      'SetEnvIf Request_Protocol ^HTTP/1\\.1$ H11',
      'SetEnvIf Request_URI ^/shop/([a-z]+)/(\\d+) section=$1 item=$2 whole=$0',
      'SetEnvIf X-Forwarded-Proto ^https$ HTTPS=on',
      'SetEnvIfNoCase user-agent CURL is_curl',
      'SetEnvIf ^X-Debug ^1$ debug',
      'BrowserMatch ^Mozilla mozilla',
      'SetEnvIf Request_URI . TMP=1 GONE=1',
      'SetEnvIf Request_URI ^/shop/ !TMP',
      'SetEnvIf section ^book$ is_book',
      'SetEnv section fixed',
      'UnsetEnv GONE',
      'SetEnvIf Request_URI ^/nomatch never',
      '',
    ].join('\n'),
    'f.conf',
  );
  const r = proxied(
    resolve(
      c,
      snap(
        '/shop/book/42',
        [
          ['user-agent', 'curl/8.0'],
          ['x-forwarded-proto', 'https'],
          ['x-debug-level', '1'],
        ],
        'POST',
      ),
    ),
  );
  const env = Object.fromEntries(r.env);
  assert.deepEqual(env, {
    LAN: '1',
    RHOST: '1',
    LOCAL: '1',
    IS_POST: '1',
    H11: '1',
    section: 'fixed',
    item: '42',
    whole: '/shop/book/42',
    HTTPS: 'on',
    is_curl: '1',
    debug: '1',
    is_book: '1',
  });
  const m = proxied(resolve(c, snap('/x', [['user-agent', 'Mozilla/5.0']])));
  assert.equal(m.env.get('mozilla'), '1');
  assert.equal(m.env.get('TMP'), '1');
  assert.equal(m.env.has('GONE'), false);
});

test('fcgi default worker port and shared worker objects through routes', () => {
  const c = parseConfig('ProxyPass /a/ fcgi://localhost/\nProxyPass /b/ fcgi://localhost:8000/x/\n', 'f.conf');
  const a = proxied(resolve(c, snap('/a/1')));
  const b = proxied(resolve(c, snap('/b/1')));
  assert.equal(a.worker, b.worker);
  assert.deepEqual(a.worker!.address, { kind: 'tcp', host: 'localhost', port: 8000 });
  assert.equal(b.targetPath, '/x/1');
});

// Issue 13: with the ProxyPass forms, `DirectoryIndex index.php` served the PHP source of
// index.php as a static file. Apache's mod_dir tries the index as a sub-request, which
// ProxyPassMatch maps: PHP runs it (REQUEST_URI stays `/`, SCRIPT_NAME is `/index.php`).
test('DirectoryIndex names that a ProxyPassMatch maps are proxied, never served as files', () => {
  const c = parseConfig(
    `DocumentRoot "${DOCROOT}"
DirectoryIndex index.php index.html
ProxyPassMatch "^/(.*\\.php(/.*)?)$" "fcgi://127.0.0.1:9000${DOCROOT}/$1"
`,
    'f.conf',
  );
  const root = proxied(resolve(c, snap('/withindex/')));
  assert.equal(root.targetPath, `${DOCROOT}/withindex/index.php`);
  assert.equal(root.decodedPath, '/withindex/index.php');
  assert.equal(root.worker!.name, 'fcgi://127.0.0.1:9000');
  // index.php is tried first even where only index.html exists on disk (as Apache: the
  // sub-request is proxied whether or not the file is local); PHP-FPM answers 404 then.
  assert.equal(proxied(resolve(c, snap('/'))).targetPath, `${DOCROOT}/index.php`);
  const htmlFirst = parseConfig(
    `DocumentRoot "${DOCROOT}"
DirectoryIndex index.html index.php
ProxyPassMatch "^/(.*\\.php(/.*)?)$" "fcgi://127.0.0.1:9000${DOCROOT}/$1"
`,
    'f.conf',
  );
  assert.deepEqual(resolve(htmlFirst, snap('/')), {
    kind: 'static',
    filename: `${DOCROOT}/index.html`,
    decodedPath: '/',
  });
  assert.equal(proxied(resolve(htmlFirst, snap('/withindex/'))).targetPath, `${DOCROOT}/withindex/index.php`);
});
