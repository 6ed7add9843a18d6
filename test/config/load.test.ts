// loadConfig, configFromFlags, describeConfig, and <Proxy> section blocks on proxied requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromFlags, loadConfig, parseConfig } from '../../src/config/load.js';
import { describeConfig } from '../../src/config/describe.js';
import { ConfigError } from '../../src/config/config-error.js';
import { resolve } from '../../src/config/router.js';
import type { RequestSnapshot } from '../../src/request.js';

const snap = (path: string): RequestSnapshot => ({
  method: 'GET',
  path,
  query: '',
  headers: [],
  remoteAddress: '127.0.0.1',
  remotePort: '',
  localAddress: '127.0.0.1',
  localPort: 80,
  scheme: 'http',
  protocol: 'HTTP/1.1',
});

test('loadConfig reads a file; errors carry its path and line; a missing file is a ConfigError', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fcgate-load-'));
  try {
    const good = join(dir, 'fcgate.conf');
    writeFileSync(good, 'Listen 8080\nProxyPass /app/ fcgi://127.0.0.1:9000/\nDocumentRoot www\n');
    const cfg = loadConfig(good);
    assert.equal(cfg.source, good);
    assert.equal(cfg.documentRoot, join(dir, 'www'));
    assert.deepEqual(cfg.warnings, [`${good}: DocumentRoot ${join(dir, 'www')} is not an existing directory`]);
    writeFileSync(good, `DocumentRoot ${dir}\n`);
    assert.deepEqual(loadConfig(good).warnings, []);
    const bad = join(dir, 'bad.conf');
    writeFileSync(bad, 'Listen 8080\n\n# c\nProxyPass /app/\n');
    assert.throws(
      () => loadConfig(bad),
      (e: unknown) =>
        e instanceof ConfigError
        && e.message === `${bad}:4: ProxyPass: expected a path and a URL`
        && e.line === 4
        && e.file === bad,
    );
    assert.throws(
      () => loadConfig(join(dir, 'none.conf')),
      (e: unknown) => e instanceof ConfigError && /cannot read the configuration/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('configFromFlags builds the same config as the directives', () => {
  const cfg = configFromFlags({
    listen: ['8080', '127.0.0.1:8081'],
    pass: ['/app/=fcgi://127.0.0.1:9000/', '/b/=fcgi://127.0.0.1:9001/ disablereuse=on'],
    documentRoot: '/srv',
  });
  assert.equal(cfg.source, 'command line');
  assert.deepEqual(cfg.listen, [
    { host: null, port: 8080 },
    { host: '127.0.0.1', port: 8081 },
  ]);
  assert.deepEqual(
    cfg.routes.map((r) => [r.pattern, r.worker!.name, r.worker!.reuse]),
    [
      ['/app/', 'fcgi://127.0.0.1:9000', true],
      ['/b/', 'fcgi://127.0.0.1:9001', false],
    ],
  );
  assert.equal(cfg.documentRoot, '/srv');
  // Errors name the flag, with no file label (issue 13: no `<flags>:` prefix).
  assert.throws(
    () => configFromFlags({ listen: [], pass: ['/app/'] }),
    /^ConfigError: --pass \/app\/: expected PATH=URL/,
  );
  assert.throws(
    () => configFromFlags({ listen: ['x'], pass: [] }),
    (e: unknown) => e instanceof ConfigError && e.message === '--listen x: expected [address:]port, got "x"',
  );
  assert.throws(
    () => configFromFlags({ listen: [], pass: ['/a/=http://h/'] }),
    /^ConfigError: --pass \/a\/ http:\/\/h\/: /,
  );
  assert.throws(
    () => configFromFlags({ listen: [], pass: [], user: 'a b' }),
    /^ConfigError: --user a b: "a b" is not a user name or #id$/,
  );
  const run = configFromFlags({
    listen: [],
    pass: [],
    user: 'www-data',
    group: '#33',
    pidFile: '/run/fcgate/fcgate.pid',
  });
  assert.deepEqual([run.user, run.group, run.pidFile], ['www-data', '#33', '/run/fcgate/fcgate.pid']);
});

test('describeConfig summarises routes, workers, balancers, ignored directives and warnings', () => {
  const cfg = parseConfig(
    [
      'LoadModule proxy_module x.so',
      'Listen 8080',
      'Listen [::1]:8081',
      'ProxyPass /mon_appli/ fcgi://localhost:4000/',
      'ProxyPass /dup/ fcgi://localhost:4000/ max=2',
      'ProxyPass /myapp/ balancer://myappcluster/',
      '<Proxy balancer://myappcluster/>',
      '    BalancerMember fcgi://localhost:4000',
      '    BalancerMember fcgi://localhost:4001 route=b',
      '</Proxy>',
      '<FilesMatch "\\.php$">',
      'SetHandler proxy:fcgi://localhost:4000',
      '</FilesMatch>',
      '',
    ].join('\n'),
    'fcgate.conf',
  );
  const text = describeConfig(cfg);
  assert.match(text, /^configuration: fcgate.conf$/m);
  assert.match(text, /^listen: \*:8080, \[::1\]:8081$/m);
  assert.match(text, /^ {2}ProxyPass \/mon_appli\/ fcgi:\/\/localhost:4000\/ {3}\(fcgate.conf:4\)$/m);
  assert.match(text, /^ {2}fcgi:\/\/localhost:4000 reuse=on max=auto timeout=60000ms/m);
  assert.match(text, /^balancer balancer:\/\/myappcluster lbmethod=byrequests:$/m);
  assert.match(text, /member fcgi:\/\/localhost:4001 loadfactor=1 lbset=0 route=b/);
  assert.match(text, /<files \\.php\$> SetHandler proxy:fcgi:\/\/localhost:4000/);
  assert.match(text, /^warning: fcgate.conf:5: ProxyPass: ignoring max=2/m);
  assert.match(text, /^accepted and ignored: LoadModule proxy_module$/m);
});

test('<Proxy fcgi://…> sections apply to requests routed to that worker (and <Proxy *> to all)', () => {
  const cfg = parseConfig(
    [
      'ProxyPass /a/ fcgi://h:1/',
      'ProxyPass /b/ fcgi://h:2/',
      '<Proxy "fcgi://h:1/">',
      '  SetEnv ONLY_A 1',
      '  ProxyFCGIBackendType GENERIC',
      '</Proxy>',
      '<Proxy *>',
      '  Require all granted',
      '  SetEnv ALL 1',
      '</Proxy>',
      '',
    ].join('\n'),
    'f.conf',
  );
  const a = resolve(cfg, snap('/a/x'));
  const b = resolve(cfg, snap('/b/x'));
  assert.ok(a.kind === 'proxy' && b.kind === 'proxy');
  assert.equal(a.resolved.env.get('ONLY_A'), '1');
  assert.equal(a.resolved.backendType, 'GENERIC');
  assert.equal(b.resolved.env.has('ONLY_A'), false);
  assert.equal(b.resolved.backendType, 'FPM');
  assert.equal(a.resolved.env.get('ALL'), '1');
  assert.equal(b.resolved.env.get('ALL'), '1');
});
