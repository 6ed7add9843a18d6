// The router for several sites and the safe static defaults (issue 11 §4, issue 9 item 8):
// vhost selection, Alias, Redirect, FallbackResource, Require, ForceType/AddType, `.ht*`
// files, and which symbolic links the handler form follows — on a real tree in a temp dir.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lchownSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { resolve, type RouteResult } from '../../src/config/router.js';
import type { GatewayConfig } from '../../src/config/model.js';
import type { RequestSnapshot } from '../../src/request.js';

let T = '';
const snap = (target: string, host: string | null = null, o: Partial<RequestSnapshot> = {}): RequestSnapshot => {
  const q = target.indexOf('?');
  return {
    method: 'GET',
    path: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? '' : target.slice(q + 1),
    headers: host === null ? [] : [['host', host]],
    remoteAddress: '192.0.2.7',
    remotePort: '',
    localAddress: '0.0.0.0',
    localPort: 8080,
    scheme: 'http',
    protocol: 'HTTP/1.1',
    ...o,
  };
};
const kindOf = (r: RouteResult): string =>
  r.kind === 'proxy'
    ? `proxy ${r.resolved.targetPath}`
    : r.kind === 'static'
      ? `static ${r.filename}`
      : r.kind === 'redirect'
        ? `redirect ${r.status} ${r.location}`
        : r.kind === 'redirect-dir'
          ? `redirect-dir ${r.location}`
          : r.kind === 'forbidden'
            ? `forbidden ${r.reason}`
            : r.kind;
const file = (rel: string, text = 'x'): void => {
  mkdirSync(join(T, rel, '..'), { recursive: true });
  writeFileSync(join(T, rel), text);
};

before(() => {
  T = realpathSync(mkdtempSync(join(tmpdir(), 'fcgate-rsites-')));
  file('a/index.html');
  file('a/.htaccess');
  file('a/.htpasswd');
  file('a/sub/.htfoo.php');
  file('a/page.php');
  file('a/private/secret.txt');
  file('a/files/report');
  file('a/files/data.json');
  file('a/.git/config');
  file('a/.env');
  file('a/index.html~');
  file('a/index.html.bak');
  file('b/index.php');
  file('b/styles.css');
  file('wp/index.php');
  file('wp/wp-login.php');
  file('wp/img/logo.png');
  file('outside/secret.txt');
  file('fav.ico');
  symlinkSync('/etc/passwd', join(T, 'a/pw')); // out of the tree: refused unless allowed
  symlinkSync(join(T, 'outside'), join(T, 'a/out')); // a directory out of the tree
  symlinkSync('index.html', join(T, 'a/home.html')); // inside the tree: followed by default
  symlinkSync('nothing-there.html', join(T, 'a/dangling.html'));
  symlinkSync(join(T, 'outside'), join(T, 'b/out'));
  symlinkSync(join(T, 'outside'), join(T, 'wp/out'));
});

after(() => rmSync(T, { recursive: true, force: true }));

describe('several sites', () => {
  let cfg: GatewayConfig;
  before(() => {
    cfg = parseConfig(
      [
        'Listen 8080',
        'Listen 127.0.0.2:8081',
        'DocumentRoot ' + T + '/a',
        '<VirtualHost *:8080>',
        '  ServerName a.example',
        '  ServerAlias *.a.example',
        '  DocumentRoot ' + T + '/a',
        '  ServerAdmin admin@a.example',
        '  <FilesMatch "\\.php$">',
        '    SetHandler "proxy:fcgi://127.0.0.1:9000"',
        '  </FilesMatch>',
        '  <Directory ' + T + '/a/private>',
        '    Require ip 10.0.0.0/8',
        '  </Directory>',
        '  <Directory ' + T + '/a/files>',
        '    ForceType application/octet-stream',
        '  </Directory>',
        '  AddType text/x-report .report .json',
        '  Redirect permanent /old https://a.example/new',
        '  RedirectMatch 410 ^/gone/',
        '  <Location /moved>',
        '    Redirect seeother https://a.example/here',
        '  </Location>',
        '  <Location /api/>',
        '    <RequireAll>',
        '      Require all granted',
        '      Require not ip 192.0.2.0/24',
        '    </RequireAll>',
        '  </Location>',
        '  ProxyPass /api/ fcgi://127.0.0.1:9002/',
        '</VirtualHost>',
        '<VirtualHost *:8080>',
        '  ServerName b.example',
        '  DocumentRoot ' + T + '/b',
        '  Alias /blog ' + T + '/wp',
        '  Alias /favicon.ico ' + T + '/fav.ico',
        '  <Directory ' + T + '/wp>',
        '    Options FollowSymLinks',
        '    DirectoryIndex index.php',
        '    FallbackResource /blog/index.php',
        '  </Directory>',
        '  <Directory ' + T + '/b>',
        '    Options None',
        '  </Directory>',
        '  <FilesMatch "\\.php$">',
        '    SetHandler "proxy:fcgi://127.0.0.1:9001"',
        '  </FilesMatch>',
        '</VirtualHost>',
        '<VirtualHost 127.0.0.2:8081>',
        '  ServerName ip.example',
        '  ProxyPass / fcgi://127.0.0.1:9003/',
        '</VirtualHost>',
        '',
      ].join('\n'),
      join(T, 'fcgate.conf'),
    );
  });

  test('Host selects the vhost; no match → the first vhost of the address; the IP listener its own', () => {
    assert.equal(kindOf(resolve(cfg, snap('/page.php', 'a.example'))), `proxy ${T}/a/page.php`);
    assert.equal(kindOf(resolve(cfg, snap('/index.php', 'B.EXAMPLE:8080'))), `proxy ${T}/b/index.php`);
    assert.equal(kindOf(resolve(cfg, snap('/page.php', 'www.a.example'))), `proxy ${T}/a/page.php`);
    assert.equal(kindOf(resolve(cfg, snap('/page.php', 'unknown.example'))), `proxy ${T}/a/page.php`);
    assert.equal(kindOf(resolve(cfg, snap('/page.php'))), `proxy ${T}/a/page.php`);
    assert.equal(
      kindOf(resolve(cfg, snap('/x', 'a.example', { localAddress: '127.0.0.2', localPort: 8081 }))),
      'proxy /x',
    );
    const r = resolve(cfg, snap('/page.php', 'a.example'));
    assert.ok(r.kind === 'proxy');
    assert.equal(r.resolved.serverName, 'a.example');
    assert.equal(r.resolved.serverAdmin, 'admin@a.example');
    assert.equal(r.resolved.documentRoot, `${T}/a`);
    assert.equal(r.resolved.worker!.name, 'fcgi://127.0.0.1:9000');
  });

  test('Alias: files outside the DocumentRoot, PHP via the vhost handler, CONTEXT_* as Apache; to a file', () => {
    const r = resolve(cfg, snap('/blog/wp-login.php?x=1', 'b.example'));
    assert.ok(r.kind === 'proxy', kindOf(r));
    assert.equal(r.resolved.targetPath, `${T}/wp/wp-login.php`);
    assert.equal(r.resolved.scriptName, '/blog/wp-login.php');
    assert.equal(r.resolved.contextPrefix, '/blog');
    assert.equal(r.resolved.contextDocumentRoot, `${T}/wp`);
    assert.equal(r.resolved.documentRoot, `${T}/b`);
    assert.equal(kindOf(resolve(cfg, snap('/blog/img/logo.png', 'b.example'))), `static ${T}/wp/img/logo.png`);
    assert.equal(kindOf(resolve(cfg, snap('/blog', 'b.example'))), 'redirect-dir /blog/');
    assert.equal(kindOf(resolve(cfg, snap('/blog/', 'b.example'))), `proxy ${T}/wp/index.php`);
    assert.equal(kindOf(resolve(cfg, snap('/favicon.ico', 'b.example'))), `static ${T}/fav.ico`);
    assert.equal(kindOf(resolve(cfg, snap('/blogx', 'b.example'))), 'not-found');
  });

  test('FallbackResource: a missing file goes to the front controller, which is SCRIPT_NAME', () => {
    const r = resolve(cfg, snap('/blog/2024/05/hello-world/', 'b.example'));
    assert.ok(r.kind === 'proxy', kindOf(r));
    assert.equal(r.resolved.targetPath, `${T}/wp/index.php`);
    assert.equal(r.resolved.scriptName, '/blog/index.php');
    assert.equal(r.resolved.pathInfo, null);
    assert.equal(r.resolved.decodedPath, '/blog/index.php');
    // Existing files are served; a missing .php still goes to its handler (PHP says 404), as Apache.
    assert.equal(kindOf(resolve(cfg, snap('/blog/img/logo.png', 'b.example'))), `static ${T}/wp/img/logo.png`);
    assert.equal(kindOf(resolve(cfg, snap('/blog/missing.php', 'b.example'))), `proxy ${T}/wp/missing.php`);
    // Outside the <Directory> with the fallback: a plain 404.
    assert.equal(kindOf(resolve(cfg, snap('/nothing-here', 'b.example'))), 'not-found');
  });

  test('Redirect, RedirectMatch and a section Redirect', () => {
    assert.equal(kindOf(resolve(cfg, snap('/old/a?b=1', 'a.example'))), 'redirect 301 https://a.example/new/a?b=1');
    assert.equal(kindOf(resolve(cfg, snap('/gone/x', 'a.example'))), 'redirect 410 null');
    assert.equal(kindOf(resolve(cfg, snap('/moved/deep', 'a.example'))), 'redirect 303 https://a.example/here');
    assert.equal(kindOf(resolve(cfg, snap('/old/a', 'b.example'))), 'not-found'); // another vhost's
  });

  test('Require: a denied directory (403), an allowed address; <Location> Require on a ProxyPass', () => {
    assert.equal(kindOf(resolve(cfg, snap('/private/secret.txt', 'a.example'))), 'forbidden require');
    assert.equal(
      kindOf(resolve(cfg, snap('/private/secret.txt', 'a.example', { remoteAddress: '10.1.2.3' }))),
      `static ${T}/a/private/secret.txt`,
    );
    assert.equal(kindOf(resolve(cfg, snap('/private/', 'a.example'))), 'forbidden require');
    assert.equal(kindOf(resolve(cfg, snap('/private', 'a.example'))), 'forbidden require'); // before the slash redirect
    assert.equal(kindOf(resolve(cfg, snap('/api/x', 'a.example'))), 'forbidden require'); // 192.0.2.7 is excluded
    assert.equal(kindOf(resolve(cfg, snap('/api/x', 'a.example', { remoteAddress: '198.51.100.1' }))), 'proxy /x');
  });

  test('ForceType and AddType reach the static result', () => {
    const f = resolve(cfg, snap('/files/report', 'a.example'));
    assert.ok(f.kind === 'static');
    assert.equal(f.contentType, 'application/octet-stream');
    const j = resolve(cfg, snap('/files/data.json', 'a.example'));
    assert.ok(j.kind === 'static');
    assert.equal(j.contentType, 'application/octet-stream'); // ForceType wins over AddType
    const i = resolve(cfg, snap('/index.html', 'a.example'));
    assert.ok(i.kind === 'static');
    assert.equal(i.contentType, undefined); // the default table decides
  });
});

describe('safe static defaults (issue 9 item 8)', () => {
  const at = (cfgText: string): GatewayConfig => parseConfig(cfgText, join(T, 'fcgate.conf'));

  test('.ht* files are never served: 403 (also .ht*.php, also through a handler); a FilesMatch can grant them', () => {
    const cfg = at(
      `DocumentRoot ${T}/a\n<FilesMatch "\\.php$">\nSetHandler "proxy:fcgi://127.0.0.1:9000"\n</FilesMatch>\n`,
    );
    for (const p of ['/.htaccess', '/.htpasswd', '/sub/.htfoo.php'])
      assert.equal(kindOf(resolve(cfg, snap(p))), 'forbidden require', p);
    const r = resolve(cfg, snap('/.htpasswd'));
    assert.ok(r.kind === 'forbidden');
    assert.match(r.detail, /built-in: \.ht\* files are never served/);
    const granted = at(`DocumentRoot ${T}/a\n<FilesMatch "^\\.ht">\nRequire all granted\n</FilesMatch>\n`);
    assert.equal(kindOf(resolve(granted, snap('/.htaccess'))), `static ${T}/a/.htaccess`);
  });

  test('symbolic links by default: inside the tree followed, out of it refused (403), dangling 404', () => {
    const cfg = at(`DocumentRoot ${T}/a\n`);
    assert.equal(kindOf(resolve(cfg, snap('/dangling.html'))), 'not-found');
    assert.equal(kindOf(resolve(cfg, snap('/home.html'))), `static ${T}/a/home.html`);
    assert.equal(kindOf(resolve(cfg, snap('/pw'))), 'forbidden symlink');
    assert.equal(kindOf(resolve(cfg, snap('/out/secret.txt'))), 'forbidden symlink');
    assert.equal(kindOf(resolve(cfg, snap('/out/'))), 'forbidden symlink');
  });

  test("FollowSymLinks follows any link, None and -FollowSymLinks none; the link's Directory decides", () => {
    assert.equal(
      kindOf(
        resolve(at(`DocumentRoot ${T}/a\n<Directory ${T}/a>\nOptions FollowSymLinks\n</Directory>\n`), snap('/pw')),
      ),
      `static ${T}/a/pw`,
    );
    assert.equal(
      kindOf(resolve(at(`DocumentRoot ${T}/a\nOptions +FollowSymLinks\n`), snap('/out/secret.txt'))),
      `static ${T}/a/out/secret.txt`,
    );
    assert.equal(
      kindOf(resolve(at(`DocumentRoot ${T}/a\n<Directory ${T}/a>\nOptions None\n</Directory>\n`), snap('/home.html'))),
      'forbidden symlink',
    );
    assert.equal(
      kindOf(resolve(at(`DocumentRoot ${T}/a\nOptions -FollowSymLinks\n`), snap('/home.html'))),
      'forbidden symlink',
    );
    // The options of another directory do not apply to a link in this one.
    assert.equal(
      kindOf(
        resolve(at(`DocumentRoot ${T}/a\n<Directory ${T}/a/sub>\nOptions FollowSymLinks\n</Directory>\n`), snap('/pw')),
      ),
      'forbidden symlink',
    );
  });

  test("SymLinksIfOwnerMatch: a link owned by its target's owner only", {
    skip: process.getuid?.() !== 0 && 'needs root to chown a link',
  }, () => {
    const cfg = at(`DocumentRoot ${T}/a\n<Directory ${T}/a>\nOptions SymLinksIfOwnerMatch\n</Directory>\n`);
    assert.equal(kindOf(resolve(cfg, snap('/home.html'))), `static ${T}/a/home.html`); // both owned by root here
    symlinkSync('index.html', join(T, 'a/theirs.html'));
    lchownSync(join(T, 'a/theirs.html'), 4242, 4242); // a link someone else made
    assert.equal(kindOf(resolve(cfg, snap('/theirs.html'))), 'forbidden symlink');
  });

  test('a link out of an Alias target: refused by default, followed with FollowSymLinks there', () => {
    const plain = at(`DocumentRoot ${T}/b\nAlias /blog ${T}/wp\n`);
    assert.equal(kindOf(resolve(plain, snap('/blog/out/secret.txt'))), 'forbidden symlink');
    const follow = at(
      `DocumentRoot ${T}/b\nAlias /blog ${T}/wp\n<Directory ${T}/wp>\nOptions FollowSymLinks\n</Directory>\n`,
    );
    assert.equal(kindOf(resolve(follow, snap('/blog/out/secret.txt'))), `static ${T}/wp/out/secret.txt`);
  });

  test('Require all denied, and the docs/security.md recipe for .git and .env', () => {
    const cfg = at(
      [
        `DocumentRoot ${T}/a`,
        `<Directory ${T}/a/private>`,
        'Require all denied',
        '</Directory>',
        '# docs/security.md, as written there',
        '<DirectoryMatch "/\\.(git|svn|hg)(/|$)">',
        '    Require all denied',
        '</DirectoryMatch>',
        '<FilesMatch "^\\.(env|git)|~$|\\.(bak|swp|orig)$">',
        '    Require all denied',
        '</FilesMatch>',
        '',
      ].join('\n'),
    );
    assert.equal(kindOf(resolve(cfg, snap('/private/secret.txt'))), 'forbidden require');
    assert.equal(kindOf(resolve(cfg, snap('/.git/config'))), 'forbidden require');
    assert.equal(kindOf(resolve(cfg, snap('/.git/'))), 'forbidden require');
    assert.equal(kindOf(resolve(cfg, snap('/.env'))), 'forbidden require');
    assert.equal(kindOf(resolve(cfg, snap('/index.html~'))), 'forbidden require');
    assert.equal(kindOf(resolve(cfg, snap('/index.html.bak'))), 'forbidden require');
    assert.equal(kindOf(resolve(cfg, snap('/index.html'))), `static ${T}/a/index.html`);
    const hidden = at(`DocumentRoot ${T}/a\nRedirectMatch 404 /\\.(git|env|svn|hg)(/|$)\n`);
    assert.equal(kindOf(resolve(hidden, snap('/.git/config'))), 'redirect 404 null');
  });
});
