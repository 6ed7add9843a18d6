// Several sites in one configuration (issue 11 §4): Include/IncludeOptional with globs from
// ServerRoot, Define and ${VAR}, <VirtualHost> merged with the main server as Apache merges,
// balancers per vhost, per-vhost logs, mod_ssl and mod_remoteip checks, and every error.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/config-error.js';
import { recordingFiles, replayFiles } from '../../src/config/config-files.js';

const TLS = fileURLToPath(new URL('../../../test/fixtures/tls/', import.meta.url));
let dir = '';

const write = (rel: string, text: string): string => {
  const p = join(dir, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
};

const fails = (text: string, message: string | RegExp, file = 'fcgate.conf'): void => {
  assert.throws(
    () => parseConfig(text, join(dir, file)),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      if (typeof message === 'string') assert.equal(e.message, message.replace(/^fcgate\.conf/, join(dir, file)));
      else assert.match(e.message, message);
      return true;
    },
  );
};

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'fcgate-sites-'));
  write('conf.d/10-a.conf', 'SetEnv FROM_A 1\n');
  write('conf.d/20-b.conf', 'SetEnv FROM_B 1\n');
  write('conf.d/.hidden.conf', 'Bogus line\n');
  write('conf.d/sub/30-c.conf', 'SetEnv FROM_C 1\n');
  write('conf.d/notes.txt', 'Bogus too\n');
  write('loop.conf', 'Include loop.conf\n');
  write('proxies.txt', '# load balancers\n10.0.0.0/8\n192.0.2.10 192.0.2.11  # two more\n');
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('Include: globs from ServerRoot, sorted, hidden files skipped, directories read whole', () => {
  const cfg = parseConfig(`ServerRoot ${dir}\nInclude conf.d/*.conf\n`, join(dir, 'fcgate.conf'));
  assert.deepEqual(
    cfg.server.env.map((e) => e.op === 'set' && e.name),
    ['FROM_A', 'FROM_B'],
  );
  const whole = parseConfig('Include conf.d/sub\n', join(dir, 'fcgate.conf')); // relative to the main file's folder
  assert.deepEqual(
    whole.server.env.map((e) => e.op === 'set' && e.name),
    ['FROM_C'],
  );
  const deep = parseConfig(`Include ${dir}/conf.d/*/*.conf\n`, join(dir, 'fcgate.conf'));
  assert.deepEqual(
    deep.server.env.map((e) => e.op === 'set' && e.name),
    ['FROM_C'],
  );
  // An error inside an included file names that file and line.
  fails('Include conf.d/*.txt\n', `${join(dir, 'conf.d/notes.txt')}:1: Bogus: unknown directive`);
});

test('IncludeOptional accepts nothing; Include does not; a cycle is refused', () => {
  assert.equal(
    parseConfig('IncludeOptional sites-enabled/*.conf\nIncludeOptional none.conf\n', join(dir, 'fcgate.conf')).server
      .env.length,
    0,
  );
  fails(
    'Include sites-enabled/*.conf\n',
    `fcgate.conf:1: Include: no file matches ${dir}/sites-enabled/*.conf (IncludeOptional accepts that)`,
  );
  fails(
    'Include none.conf\n',
    `fcgate.conf:1: Include: ${dir}/none.conf does not exist (IncludeOptional accepts that)`,
  );
  fails('Include loop.conf\n', new RegExp(`loop\\.conf:1: Include: ${dir}/loop\\.conf includes itself`));
  fails('ServerRoot /nonexistent-fcgate\n', 'fcgate.conf:1: ServerRoot: /nonexistent-fcgate is not a directory');
});

test('Define, ${VAR} from Define or the environment, <IfDefine>; an unknown variable is a warning', () => {
  process.env['FCGATE_TEST_SITES_ENV'] = '/from/env';
  try {
    const cfg = parseConfig(
      [
        'Define DOCS /srv/docs',
        'DocumentRoot ${DOCS}',
        'SetEnv E ${FCGATE_TEST_SITES_ENV}',
        'SetEnv U ${NOT_DEFINED_HERE}',
        '<IfDefine DOCS>',
        'SetEnv HAS_DOCS 1',
        '</IfDefine>',
        '<IfDefine !DOCS>',
        'SetEnv NO_DOCS 1',
        '</IfDefine>',
        'UnDefine DOCS',
        '<IfDefine !DOCS>',
        'SetEnv GONE 1',
        '</IfDefine>',
        '',
      ].join('\n'),
      join(dir, 'fcgate.conf'),
    );
    assert.equal(cfg.documentRoot, '/srv/docs');
    assert.deepEqual(
      cfg.server.env.map((e) => e.op === 'set' && [e.name, e.value]),
      [
        ['E', '/from/env'],
        ['U', '${NOT_DEFINED_HERE}'],
        ['HAS_DOCS', '1'],
        ['GONE', '1'],
      ],
    );
    assert.ok(
      cfg.warnings.some((w) => /:4: SetEnv: \$\{NOT_DEFINED_HERE\} is not defined/.test(w)),
      cfg.warnings.join('\n'),
    );
  } finally {
    delete process.env['FCGATE_TEST_SITES_ENV'];
  }
});

test('<VirtualHost>: own directives, merged with the main server as Apache merges them', () => {
  const cfg = parseConfig(
    [
      'Listen 8080',
      'ServerName main.example',
      'ServerAdmin root@main.example',
      'DocumentRoot /srv/main',
      'SetEnv FROM_MAIN 1',
      'ProxyPass /shared/ fcgi://127.0.0.1:9000/',
      '<Location /mainloc/>',
      '  ProxyPass fcgi://127.0.0.1:9000/l/',
      '</Location>',
      'Alias /icons /usr/share/icons',
      '<Proxy balancer://pool/>',
      '  BalancerMember fcgi://127.0.0.1:9010',
      '</Proxy>',
      '<VirtualHost *:8080>',
      '  ServerName a.example',
      '  ServerAlias www.a.example *.a.test',
      '  DocumentRoot /srv/a',
      '  SetEnv FROM_A 1',
      '  ProxyPass /app/ balancer://pool/',
      '  <Location /aloc/>',
      '    ProxyPass fcgi://127.0.0.1:9001/',
      '  </Location>',
      '  Alias /icons /srv/a/icons',
      '  <Directory /srv/a>',
      '    Require all granted',
      '  </Directory>',
      '</VirtualHost>',
      '<VirtualHost *:8080>',
      '  ProxyFCGIBackendType GENERIC',
      '</VirtualHost>',
      '',
    ].join('\n'),
    join(dir, 'fcgate.conf'),
  );
  assert.equal(cfg.vhosts.length, 2);
  const [a, b] = cfg.vhosts as [(typeof cfg.vhosts)[0], (typeof cfg.vhosts)[0]];
  assert.deepEqual(a.addresses, [{ host: null, port: 8080 }]);
  assert.deepEqual(
    a.names.map((n) => n.text),
    ['a.example', 'www.a.example', '*.a.test'],
  );
  assert.equal(a.site.serverName, 'a.example');
  assert.equal(a.site.serverAdmin, 'root@main.example'); // inherited
  assert.equal(a.site.documentRoot, '/srv/a');
  assert.deepEqual(
    a.site.server.env.map((e) => e.op === 'set' && e.name),
    ['FROM_MAIN', 'FROM_A'],
  );
  // The vhost's <Location> routes, the main <Location> routes, the main routes, then the vhost's.
  assert.deepEqual(
    a.site.routes.map((r) => r.pattern),
    ['/aloc/', '/mainloc/', '/shared/', '/app/'],
  );
  assert.deepEqual(
    a.site.aliases.map((x) => x.target),
    ['/srv/a/icons', '/usr/share/icons'],
  ); // the vhost's first
  assert.equal(a.site.sections.length, cfg.sections.length + 2);
  // A vhost without ServerName takes the main server's, as Apache.
  assert.deepEqual(
    b.names.map((n) => n.text),
    ['main.example'],
  );
  assert.equal(b.site.backendType, 'GENERIC');
  assert.equal(b.site.documentRoot, '/srv/main');
  // The main server is untouched.
  assert.deepEqual(
    cfg.routes.map((r) => r.pattern),
    ['/mainloc/', '/shared/'],
  );
  assert.equal(cfg.backendType, 'FPM');
});

test("balancers: one declared in a vhost is that vhost's; the top level shares its own", () => {
  const vhostPool = [
    '<VirtualHost *:80>',
    'ProxyPass /a/ balancer://mine/',
    '<Proxy balancer://mine/>',
    'BalancerMember fcgi://127.0.0.1:9001',
    '</Proxy>',
    '</VirtualHost>',
  ];
  assert.equal(parseConfig([...vhostPool, ''].join('\n'), join(dir, 'fcgate.conf')).balancers.size, 1);
  fails(
    [...vhostPool, '<VirtualHost *:80>', 'ProxyPass /b/ balancer://mine/', '</VirtualHost>', ''].join('\n'),
    /fcgate\.conf:8: ProxyPass: balancer:\/\/mine is declared in another <VirtualHost> \(.*fcgate\.conf:2\)/,
  );
  fails(
    [
      ...vhostPool,
      '<VirtualHost *:80>',
      '<Proxy balancer://mine/>',
      'BalancerMember fcgi://127.0.0.1:9002',
      '</Proxy>',
      '</VirtualHost>',
      '',
    ].join('\n'),
    /fcgate\.conf:8: BalancerMember: balancer:\/\/mine is already declared in another <VirtualHost>/,
  );
});

test('vhost addresses need a listener fcgate can tell apart; a port nobody listens on is a warning', () => {
  fails(
    'Listen 8080\n<VirtualHost 127.0.0.2:8080>\n</VirtualHost>\n',
    'fcgate.conf:2: <VirtualHost>: fcgate tells connections apart by their listener only, and no Listen is '
      + 'on 127.0.0.2:8080: add that Listen line, or use *:8080 with ServerName',
  );
  assert.equal(
    parseConfig('Listen 127.0.0.2:8080\n<VirtualHost 127.0.0.2:8080>\n</VirtualHost>\n', join(dir, 'fcgate.conf'))
      .vhosts.length,
    1,
  );
  const w = parseConfig('Listen 8080\n<VirtualHost *:80>\n</VirtualHost>\n', join(dir, 'fcgate.conf')).warnings;
  assert.ok(
    w.some((x) => /<VirtualHost>: no Listen is on port 80/.test(x)),
    w.join('\n'),
  );
});

test('ErrorLog / CustomLog / LogLevel in a vhost: parsed into the site, with a not-applied-yet warning', () => {
  const cfg = parseConfig(
    [
      '<VirtualHost *:80>',
      'ErrorLog /var/log/a-error.log',
      'CustomLog /var/log/a-access.log combined',
      'LogLevel warn',
      '</VirtualHost>',
      '',
    ].join('\n'),
    join(dir, 'fcgate.conf'),
  );
  const logs = cfg.vhosts[0]!.site.siteLogs;
  assert.deepEqual(logs.errorLog?.args, ['/var/log/a-error.log']);
  assert.deepEqual(
    logs.customLogs.map((l) => l.args),
    [['/var/log/a-access.log', 'combined']],
  );
  assert.deepEqual(logs.logLevel?.args, ['warn']);
  assert.equal(cfg.warnings.filter((w) => /per-site logs are not applied yet \(issue 12\)/.test(w)).length, 3);
  // At the top level the same names are fcgate's own logs (src/config/log-directives.ts).
  assert.deepEqual(parseConfig('ErrorLog /var/log/x.log\n', join(dir, 'fcgate.conf')).logs?.errorLog, {
    kind: 'file',
    path: '/var/log/x.log',
  });
});

test('mod_remoteip: trust lists (also from a file) parsed; RemoteIPHeader without any is refused', () => {
  const cfg = parseConfig(
    [
      'RemoteIPHeader X-Forwarded-For',
      'RemoteIPInternalProxy 10.0.0.0/8 192.168.0.0/16',
      'RemoteIPTrustedProxy 203.0.113.7 2001:db8::/32',
      `RemoteIPTrustedProxyList ${dir}/proxies.txt`,
      'RemoteIPProxiesHeader X-Forwarded-By',
      '<VirtualHost *:80>',
      'RemoteIPHeader X-Real-IP',
      '</VirtualHost>',
      '',
    ].join('\n'),
    join(dir, 'fcgate.conf'),
  );
  const r = cfg.remoteIp!;
  assert.equal(r.header, 'x-forwarded-for');
  assert.deepEqual(
    r.proxies.map((p) => [p.net.text, p.internal]),
    [
      ['10.0.0.0/8', true],
      ['192.168.0.0/16', true],
      ['203.0.113.7', false],
      ['2001:db8::/32', false],
      ['10.0.0.0/8', false],
      ['192.0.2.10', false],
      ['192.0.2.11', false],
    ],
  );
  assert.equal(r.proxiesHeader, 'X-Forwarded-By');
  const v = cfg.vhosts[0]!.site.remoteIp!;
  assert.equal(v.header, 'x-real-ip');
  assert.equal(v.proxies, r.proxies); // inherited
  fails(
    'RemoteIPHeader X-Forwarded-For\n',
    /fcgate\.conf:1: RemoteIPHeader: x-forwarded-for would be believed from any client.*Apache trusts every peer/,
  );
  fails(
    'RemoteIPTrustedProxy proxy.example\n',
    /RemoteIPTrustedProxy: "proxy.example" is not an IP address or network \(host names are not supported/,
  );
  fails('RemoteIPHeader X Y\n', 'fcgate.conf:1: RemoteIPHeader: takes one header name');
});

test('mod_ssl: files read and checked; Listen 443 (https) needs a site with SSLEngine on, certificate and key', () => {
  const ssl = [
    'SSLEngine on',
    `SSLCertificateFile ${TLS}a.crt`,
    `SSLCertificateKeyFile ${TLS}a.key`,
    `SSLCertificateChainFile ${TLS}b.crt`,
    'SSLProtocol all -TLSv1 -TLSv1.1',
    'SSLCipherSuite HIGH:!aNULL',
  ];
  const cfg = parseConfig(
    ['Listen 443', '<VirtualHost *:443>', 'ServerName a.example', ...ssl, '</VirtualHost>', ''].join('\n'),
    join(dir, 'fcgate.conf'),
  );
  // 443 is https without a protocol, as in Apache.
  assert.deepEqual(cfg.listen, [{ host: null, port: 443, protocol: 'https' }]);
  const s = cfg.vhosts[0]!.site.ssl!;
  assert.equal(s.engine, true);
  assert.equal(s.certificateFile?.path, `${TLS}a.crt`);
  assert.deepEqual(s.protocols, ['TLSv1.2', 'TLSv1.3']);
  assert.equal(s.cipherSuite, 'HIGH:!aNULL');
  assert.equal(s.cipherSuiteTls13, null);
  // Parsed anywhere; refused where TLS is served (uWebSockets.js has no setting for it).
  assert.equal(
    parseConfig('SSLCipherSuite TLSv1.3 TLS_AES_256_GCM_SHA384\n', join(dir, 'fcgate.conf')).ssl?.cipherSuiteTls13,
    'TLS_AES_256_GCM_SHA384',
  );
  const onHttps = (extra: string): string =>
    `Listen 443\nSSLEngine on\nSSLCertificateFile ${TLS}a.crt\nSSLCertificateKeyFile ${TLS}a.key\n${extra}\n`;
  fails(
    onHttps('SSLCipherSuite TLSv1.3 TLS_AES_256_GCM_SHA384'),
    /fcgate\.conf:2: SSLCipherSuite TLSv1\.3: the main server: uWebSockets\.js has no setting for TLS 1\.3 cipher suites/,
  );
  fails(
    onHttps('SSLProtocol -all +TLSv1.2'),
    /fcgate\.conf:2: SSLProtocol: the main server enables TLSv1\.2; fcgate \(uWebSockets\.js\) serves TLSv1\.2 and TLSv1\.3 together/,
  );
  assert.match(
    parseConfig(onHttps('SSLProtocol all'), join(dir, 'fcgate.conf')).warnings.join('\n'),
    /SSLProtocol: the main server: TLSv1 and TLSv1\.1 are never served/,
  );
  assert.deepEqual(parseConfig('Listen 443 http\n', join(dir, 'fcgate.conf')).listen, [{ host: null, port: 443 }]);
  fails(
    `Listen 443\n<VirtualHost *:443>\nSSLEngine on\nSSLCertificateFile ${TLS}a.crt\nSSLCertificateKeyFile `
      + `${TLS}b.key\n</VirtualHost>\n`,
    `fcgate.conf:5: SSLCertificateKeyFile: ${TLS}b.key is not the private key of the certificate in ${TLS}a.crt`,
  );
  fails(
    `SSLCertificateFile ${TLS}missing.crt\n`,
    `fcgate.conf:1: SSLCertificateFile: ${TLS}missing.crt does not exist or is not a file`,
  );
  fails(`SSLCertificateFile ${TLS}a.key\n`, `fcgate.conf:1: SSLCertificateFile: ${TLS}a.key holds no PEM certificate`);
  fails(
    `SSLCertificateKeyFile ${TLS}encrypted.key\n`,
    `fcgate.conf:1: SSLCertificateKeyFile: ${TLS}encrypted.key: the key is encrypted; fcgate needs it `
      + `unencrypted (no SSLPassPhraseDialog)`,
  );
  fails(
    'Listen 443\n<VirtualHost *:443>\nSSLEngine on\n</VirtualHost>\n',
    /fcgate\.conf:3: SSLEngine on: <VirtualHost> at .*:2 needs SSLCertificateFile and SSLCertificateKeyFile/,
  );
  fails(
    'Listen 8443 https\n',
    'fcgate.conf:1: Listen *:8443 https: the main server has no "SSLEngine on" (write "Listen … http" for '
      + 'plain HTTP on that port)',
  );
  fails(
    'SSLProtocol +SSLv3\n',
    'fcgate.conf:1: SSLProtocol: SSLv3 is not supported (insecure; only "-SSLv3" is accepted)',
  );
  fails(
    'SSLProtocol all -TLSv1 -TLSv1.1 -TLSv1.2 -TLSv1.3\n',
    'fcgate.conf:1: SSLProtocol: "all -TLSv1 -TLSv1.1 -TLSv1.2 -TLSv1.3" enables no protocol',
  );
  fails('SSLEngine optional\n', /SSLEngine: optional \(TLS upgrade, RFC 2817\) is not supported/);
  fails(
    'SSLCipherSuite TLSv1.2 HIGH\n',
    'fcgate.conf:1: SSLCipherSuite: the protocol must be SSL or TLSv1.3, got "TLSv1.2"',
  );
});

test('the files a load read can be recorded and replayed (what serving threads parse)', () => {
  const main = write('rec/fcgate.conf', `Include ${dir}/conf.d/*.conf\nSSLCertificateFile ${TLS}a.crt\n`);
  const rec = recordingFiles();
  const first = parseConfig(readFileSync(main, 'utf8'), main, rec);
  // The disk changes after the read; the replay still gives what main saw.
  write('conf.d/15-late.conf', 'SetEnv LATE 1\n');
  const again = parseConfig(readFileSync(main, 'utf8'), main, replayFiles(JSON.parse(JSON.stringify(rec.recording))));
  assert.deepEqual(again.server.env, first.server.env);
  rmSync(join(dir, 'conf.d/15-late.conf'));
  assert.throws(
    () => parseConfig(`Include ${dir}/loop.conf\n`, main, replayFiles(rec.recording)),
    /not in the configuration read at startup/,
  );
  assert.equal(loadConfig(main).server.env.length, 2);
});

test('Options, Require and Order lines: where they may be, and the messages', () => {
  fails(
    '<Directory /x>\nOptions FollowSymLinks -Indexes\n</Directory>\n',
    'fcgate.conf:2: Options: either all options must start with + or -, or none may (Apache AH00134)',
  );
  fails(
    '<Directory /x>\nRequire not ip 10.0.0.0/8\n</Directory>\n',
    /fcgate\.conf:1: <Directory \/x>: "Require not ip 10\.0\.0\.0\/8" has no effect in <Directory \/x>/,
  );
  fails(
    '<Directory /x>\n<RequireAll>\nRequire not ip 10.0.0.0/8\n</RequireAll>\n</Directory>\n',
    'fcgate.conf:2: <RequireAll>: contains only negated Require lines, which can never grant access',
  );
  fails(
    '<RequireAll>\nRequire all granted\n</RequireAll>\n',
    'fcgate.conf:1: <RequireAll>: only inside <Directory>, <Files>, <Location> or <Proxy>',
  );
  fails(
    '<Directory /x>\nOrder allow,deny\n</Directory>\n',
    /fcgate\.conf:2: Order: Apache 2\.2 access control \(mod_access_compat\) is not supported: use Require/,
  );
  fails(
    'FallbackResource index.php\n',
    /fcgate\.conf:1: FallbackResource: expected a local URL-path starting with '\/'/,
  );
  fails('<Location /x>\nRedirectMatch ^/x https://y/\n</Location>\n', /RedirectMatch: not allowed inside <Location>/);
  fails('AddType text/html\n', 'fcgate.conf:1: AddType: expected a media type and one or more extensions');
  fails('<Files x>\nForceType nonsense\n</Files>\n', 'fcgate.conf:2: ForceType: "nonsense" is not a media type');
  const w = parseConfig(
    '<Directory /x>\nOptions Indexes FollowSymLinks\n</Directory>\n',
    join(dir, 'fcgate.conf'),
  ).warnings;
  assert.ok(
    w.some((x) => /Options: Indexes \(fcgate never lists directories\): not implemented in fcgate, no effect/.test(x)),
    w.join('\n'),
  );
});
