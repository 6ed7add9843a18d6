// A Debian-style tree (issue 11 §4): fcgate.conf in the place of apache2.conf + ports.conf,
// and sites-enabled/a.conf, b.conf as Apache would run them (Debian's php-fpm handler lines,
// the WordPress example's Alias + <Directory>, with FallbackResource instead of .htaccess
// rewrites, ErrorLog/CustomLog with ${APACHE_LOG_DIR}), two PHP sites on two PHP-FPM masters
// (a unix socket and TCP), served by Host through the real gateway. (TLS sites:
// test/integration/tls.test.ts and examples/tls.conf.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { GatewayConfig } from '../../src/config/model.js';
import { Gateway } from '../../src/front/gateway.js';
import { readTuning } from '../../src/tuning.js';
import { freePort } from '../helpers/free-port.js';
import { PHP_FIXTURES, skipUnlessPhpFpm, startPhpFpm, type PhpFpm } from '../helpers/php-fpm.js';

const skip = skipUnlessPhpFpm();

interface Answer {
  status: number;
  type: string | undefined;
  body: string;
  json?: { file: string; pool: string; server: Record<string, string>; body_length: number };
}

function send(port: number, host: string, path: string, method = 'GET', body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host };
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const r = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
      });
      res.on('end', () => {
        const a: Answer = { status: res.statusCode!, type: res.headers['content-type'], body: text };
        if (res.headers['x-fixture'] === 'env') a.json = JSON.parse(text) as NonNullable<Answer['json']>;
        resolve(a);
      });
    });
    r.on('error', reject);
    r.end(body);
  });
}

describe('a Debian-style tree: two PHP sites by Host', { skip }, () => {
  let root = '';
  let fpmA: PhpFpm;
  let fpmB: PhpFpm;
  let gateway: Gateway;
  let config: GatewayConfig;
  let port = 0;
  const logs: string[] = [];

  before(async () => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'fcgate-debian-')));
    const www = (rel: string): string => {
      const p = join(root, rel);
      mkdirSync(join(p, '..'), { recursive: true });
      return p;
    };
    copyFileSync(join(PHP_FIXTURES, 'env.php'), www('var/www/a/index.php'));
    writeFileSync(www('var/www/a/style.css'), 'body{}');
    writeFileSync(www('var/www/a/.htaccess'), 'Require all denied\n');
    writeFileSync(www('var/www/a/source.phps'), '<?php // source');
    writeFileSync(www('var/www/b/index.html'), 'b home\n');
    copyFileSync(join(PHP_FIXTURES, 'env.php'), www('usr/share/wordpress/index.php'));
    copyFileSync(join(PHP_FIXTURES, 'env.php'), www('usr/share/wordpress/wp-login.php'));
    writeFileSync(www('usr/share/wordpress/wp-includes/css/dashicons.css'), '.dashicons{}');
    [fpmA, fpmB] = await Promise.all([
      startPhpFpm({ docroot: join(root, 'var/www/a'), listen: 'unix', maxChildren: 2, poolLines: ['env[POOL] = a'] }),
      startPhpFpm({ docroot: join(root, 'usr/share/wordpress'), maxChildren: 2, poolLines: ['env[POOL] = b'] }),
    ]);
    port = await freePort();
    const etc = join(root, 'etc/fcgate');
    mkdirSync(join(etc, 'sites-enabled'), { recursive: true });
    writeFileSync(
      join(etc, 'fcgate.conf'),
      [
        '# fcgate.conf: what apache2.conf and ports.conf say, for fcgate',
        `ServerRoot "${etc}"`,
        `Listen 127.0.0.1:${port}`,
        `Define APACHE_LOG_DIR ${root}/var/log/fcgate`,
        '',
        '# Include the virtual host configurations:',
        'IncludeOptional sites-enabled/*.conf',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(etc, 'sites-enabled/a.conf'),
      [
        `<VirtualHost *:${port}>`,
        '\tServerName a.example',
        '\tServerAdmin webmaster@a.example',
        `\tDocumentRoot ${root}/var/www/a`,
        '',
        "\t# from Debian's php-fpm conf (conf-available/php8.x-fpm.conf)",
        '\t<FilesMatch ".+\\.ph(?:ar|p|tml)$">',
        `\t\tSetHandler "proxy:unix:${fpmA.socketPath}|fcgi://localhost"`,
        '\t</FilesMatch>',
        '\t<FilesMatch ".+\\.phps$">',
        '\t\t# Deny access to raw php sources by default',
        '\t\tRequire all denied',
        '\t</FilesMatch>',
        '\t<FilesMatch "^\\.ph(?:ar|p|ps|tml)$">',
        '\t\tRequire all denied',
        '\t</FilesMatch>',
        '',
        '\tErrorLog ${APACHE_LOG_DIR}/a-error.log',
        '\tCustomLog ${APACHE_LOG_DIR}/a-access.log combined',
        '</VirtualHost>',
        '',
        '# vim: syntax=apache ts=4 sw=4 sts=4 sr noet',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(etc, 'sites-enabled/b.conf'),
      [
        `<VirtualHost *:${port}>`,
        '\tServerName b.example',
        '\tServerAlias www.b.example',
        `\tDocumentRoot ${root}/var/www/b`,
        '',
        "\t# from Debian's wordpress example (usr/share/doc/wordpress/examples/apache.conf)",
        `\tAlias /blog ${root}/usr/share/wordpress`,
        `\t<Directory ${root}/usr/share/wordpress>`,
        '\t\tOptions FollowSymLinks',
        '\t\tAllowOverride Limit Options FileInfo',
        '\t\tDirectoryIndex index.php',
        '\t\tRequire all granted',
        '\t\t# pretty permalinks, instead of the rewrite rules of its .htaccess',
        '\t\tFallbackResource /blog/index.php',
        '\t</Directory>',
        '',
        '\t<FilesMatch "\\.php$">',
        `\t\tSetHandler "proxy:fcgi://127.0.0.1:${fpmB.port}"`,
        '\t</FilesMatch>',
        '',
        '\tErrorLog ${APACHE_LOG_DIR}/b-error.log',
        '\tCustomLog ${APACHE_LOG_DIR}/b-access.log combined',
        '</VirtualHost>',
        '',
      ].join('\n'),
    );
    config = loadConfig(join(etc, 'fcgate.conf'));
    gateway = new Gateway({ config, tuning: readTuning({}), log: (l) => logs.push(l) });
    await gateway.listen();
  });

  after(async () => {
    gateway?.close();
    await Promise.all([fpmA?.stop(), fpmB?.stop()]);
    if (root !== '') rmSync(root, { recursive: true, force: true });
  });

  test('the tree loads: two vhosts from sites-enabled, ${APACHE_LOG_DIR} expanded, logs parsed, warned', () => {
    assert.deepEqual(
      config.vhosts.map((v) => v.names.map((n) => n.text)),
      [['a.example'], ['b.example', 'www.b.example']],
    );
    assert.equal(config.vhosts[0]!.site.siteLogs.errorLog?.args[0], `${root}/var/log/fcgate/a-error.log`);
    assert.equal(config.warnings.filter((w) => /per-site logs are not applied yet/.test(w)).length, 4);
    assert.equal(
      config.warnings.filter((w) => /AllowOverride: Limit Options FileInfo: fcgate never reads \.htaccess/.test(w))
        .length,
      1,
    );
  });

  test('site a: PHP through its unix-socket pool, with its own SERVER_NAME, SERVER_ADMIN, DOCUMENT_ROOT', async () => {
    const r = await send(port, 'a.example', '/index.php?x=1');
    assert.equal(r.status, 200, r.body);
    const s = r.json!.server;
    assert.equal(r.json!.pool, 'a');
    assert.equal(r.json!.file, `${root}/var/www/a/index.php`);
    assert.equal(s['SCRIPT_NAME'], '/index.php');
    assert.equal(s['SERVER_NAME'], 'a.example');
    assert.equal(s['SERVER_ADMIN'], 'webmaster@a.example');
    assert.equal(s['DOCUMENT_ROOT'], `${root}/var/www/a`);
    assert.equal(s['REQUEST_URI'], '/index.php?x=1');
    const css = await send(port, 'a.example', '/style.css');
    assert.equal(css.status, 200);
    assert.equal(css.type, 'text/css');
  });

  test('site b: the Alias to WordPress, its own pool; CONTEXT_PREFIX, CONTEXT_DOCUMENT_ROOT as Apache', async () => {
    const r = await send(port, 'b.example', '/blog/');
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json!.pool, 'b');
    assert.equal(r.json!.file, `${root}/usr/share/wordpress/index.php`);
    const s = r.json!.server;
    assert.equal(s['SCRIPT_NAME'], '/blog/index.php');
    assert.equal(s['CONTEXT_PREFIX'], '/blog');
    assert.equal(s['CONTEXT_DOCUMENT_ROOT'], `${root}/usr/share/wordpress`);
    assert.equal(s['DOCUMENT_ROOT'], `${root}/var/www/b`);
    assert.equal(s['SERVER_NAME'], 'b.example');
    const login = await send(port, 'www.b.example', '/blog/wp-login.php');
    assert.equal(login.json!.file, `${root}/usr/share/wordpress/wp-login.php`);
    const css = await send(port, 'b.example', '/blog/wp-includes/css/dashicons.css');
    assert.equal(css.status, 200);
    assert.equal(css.body, '.dashicons{}');
    assert.equal((await send(port, 'b.example', '/')).body, 'b home\n');
    assert.equal((await send(port, 'b.example', '/blog')).status, 301);
  });

  test('pretty permalinks: FallbackResource sends a missing path to index.php, REQUEST_URI kept', async () => {
    const r = await send(port, 'b.example', '/blog/2024/05/hello-world/?replytocom=7');
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json!.file, `${root}/usr/share/wordpress/index.php`);
    assert.equal(r.json!.server['REQUEST_URI'], '/blog/2024/05/hello-world/?replytocom=7');
    assert.equal(r.json!.server['SCRIPT_NAME'], '/blog/index.php');
    assert.equal(r.json!.server['QUERY_STRING'], 'replytocom=7');
    const post = await send(port, 'b.example', '/blog/wp-json/wp/v2/comments', 'POST', 'author=1&content=hi');
    assert.equal(post.status, 200, post.body);
    assert.equal(post.json!.server['REQUEST_METHOD'], 'POST');
    assert.equal(post.json!.body_length, 'author=1&content=hi'.length);
  });

  test("Host selection: an unknown Host gets the first site; a.example never reaches b's alias", async () => {
    const r = await send(port, 'unknown.example', '/index.php');
    assert.equal(r.json!.pool, 'a');
    assert.equal((await send(port, 'a.example', '/blog/')).status, 404);
  });

  test('the safe defaults of the pasted files: .htaccess and .phps denied (403), each logged once', async () => {
    const before = logs.length;
    assert.equal((await send(port, 'a.example', '/.htaccess')).status, 403);
    assert.equal((await send(port, 'a.example', '/source.phps')).status, 403);
    assert.equal(logs.slice(before).filter((l) => l.startsWith('FCGATE_FORBIDDEN')).length, 2);
  });
});
