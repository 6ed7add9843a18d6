// Every directive into GatewayConfig, the seed's examples verbatim, and every error message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/config-error.js';

const fails = (text: string, message: string): void => {
  assert.throws(
    () => parseConfig(text, 'fcgate.conf'),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.message, message);
      return true;
    },
  );
};

test('seed example 1: ProxyPass /mon_appli/ fcgi://localhost:4000/', () => {
  const cfg = parseConfig('ProxyPass /mon_appli/ fcgi://localhost:4000/\n', 'fcgate.conf');
  assert.equal(cfg.routes.length, 1);
  const r = cfg.routes[0]!;
  assert.equal(r.form, 'proxypass');
  assert.equal(r.pattern, '/mon_appli/');
  assert.equal(r.url, 'fcgi://localhost:4000/');
  assert.equal(r.targetPath, '/');
  assert.equal(r.worker!.name, 'fcgi://localhost:4000');
  assert.deepEqual(r.worker!.address, { kind: 'tcp', host: 'localhost', port: 4000 });
  assert.equal(r.worker!.reuse, true);
  assert.equal(cfg.workers.get('fcgi://localhost:4000'), r.worker);
});

test('seed example 2: disablereuse=on', () => {
  const cfg = parseConfig('ProxyPass /mon_appli/ fcgi://localhost:4000/ disablereuse=on\n', 'fcgate.conf');
  assert.equal(cfg.routes[0]!.worker!.reuse, false);
});

test('seed example 3: balancer with two members', () => {
  const cfg = parseConfig(
    [
      'ProxyPass /myapp/ balancer://myappcluster/',
      '<Proxy balancer://myappcluster/>',
      '    BalancerMember fcgi://localhost:4000',
      '    BalancerMember fcgi://localhost:4001',
      '</Proxy>',
      '',
    ].join('\n'),
    'fcgate.conf',
  );
  const r = cfg.routes[0]!;
  assert.equal(r.balancer, 'balancer://myappcluster');
  assert.equal(r.worker, null);
  const b = cfg.balancers.get('balancer://myappcluster')!;
  assert.equal(b.lbMethod, 'byrequests');
  assert.deepEqual(
    b.members.map((m) => [m.url, m.path, m.worker.name, m.worker.address]),
    [
      ['fcgi://localhost:4000', '', 'fcgi://localhost:4000', { kind: 'tcp', host: 'localhost', port: 4000 }],
      ['fcgi://localhost:4001', '', 'fcgi://localhost:4001', { kind: 'tcp', host: 'localhost', port: 4001 }],
    ],
  );
  assert.equal(cfg.sections[0]!.kind, 'proxy');
  assert.equal(cfg.sections[0]!.target, 'balancer://myappcluster');
});

test('Listen, ServerName, ServerAdmin, DocumentRoot, DirectoryIndex', () => {
  const cfg = parseConfig(
    [
      'Listen 8080',
      'Listen 127.0.0.1:8081',
      'Listen [::1]:8082 http',
      'Listen *:8083',
      'ServerName WWW.Example.com:8080',
      'ServerAdmin admin@example.com',
      'DocumentRoot "/srv/www/"',
      'DirectoryIndex index.php index.html',
      '',
    ].join('\n'),
    '/etc/fcgate/fcgate.conf',
  );
  assert.deepEqual(cfg.listen, [
    { host: null, port: 8080 },
    { host: '127.0.0.1', port: 8081 },
    { host: '::1', port: 8082 },
    { host: null, port: 8083 },
  ]);
  assert.equal(cfg.serverName, 'www.example.com');
  assert.equal(cfg.serverAdmin, 'admin@example.com');
  assert.equal(cfg.documentRoot, '/srv/www');
  assert.deepEqual(cfg.directoryIndex, ['index.php', 'index.html']);
  const rel = parseConfig('DocumentRoot htdocs\nDirectoryIndex disabled\n', '/etc/fcgate/fcgate.conf');
  assert.equal(rel.documentRoot, '/etc/fcgate/htdocs');
  assert.deepEqual(rel.directoryIndex, []);
  assert.deepEqual(parseConfig('', 'x.conf').directoryIndex, ['index.html']);
});

test('ProxyPass order is kept (first match wins); exclusions; ProxyPassMatch', () => {
  const cfg = parseConfig(
    [
      'ProxyPass /app/static/ !',
      'ProxyPass /app/ fcgi://127.0.0.1:9000/ enablereuse=on max=4 timeout=30 connectiontimeout=2 '
        + 'acquire=100 ttl=5 flushpackets=on flushwait=50',
      'ProxyPassMatch "^/ppm/(.*\\.php(/.*)?)$" "fcgi://localhost:4000/var/www/app/$1"',
      'ProxyPassMatch ^/nomatch/ !',
      '',
    ].join('\n'),
    'fcgate.conf',
  );
  assert.deepEqual(
    cfg.routes.map((r) => [r.form, r.pattern, r.exclude, r.line]),
    [
      ['proxypass', '/app/static/', true, 1],
      ['proxypass', '/app/', false, 2],
      ['proxypassmatch', '^/ppm/(.*\\.php(/.*)?)$', false, 3],
      ['proxypassmatch', '^/nomatch/', true, 4],
    ],
  );
  const w = cfg.routes[1]!.worker!;
  assert.deepEqual(
    [w.reuse, w.max, w.timeoutMs, w.connectTimeoutMs, w.acquireMs, w.ttlMs, w.flushPackets, w.flushWaitMs],
    [true, 4, 30000, 2000, 100, 5000, 'on', 50],
  );
  assert.equal(cfg.routes[2]!.regex!.source, '^\\/ppm\\/(.*\\.php(\\/.*)?)$');
  assert.equal(cfg.routes[2]!.targetPath, '/var/www/app/$1');
});

test('two ProxyPass lines to one worker share one settings object; later keys warn', () => {
  const cfg = parseConfig('ProxyPass /a/ fcgi://h:1/\nProxyPass /b/ fcgi://H:1/x/ max=3\n', 'fcgate.conf');
  assert.equal(cfg.routes[0]!.worker, cfg.routes[1]!.worker);
  assert.equal(cfg.workers.size, 1);
  assert.equal(cfg.routes[0]!.worker!.max, null);
  assert.deepEqual(cfg.warnings, [
    'fcgate.conf:2: ProxyPass: ignoring max=3: worker fcgi://h:1 is already defined and shared (set its keys '
      + 'on its first ProxyPass or with ProxySet in <Proxy>)',
  ]);
});

test('<Proxy fcgi://…> with ProxySet sets keys of the shared worker, before or after', () => {
  const cfg = parseConfig(
    [
      'ProxyPass /a/ fcgi://localhost:9000/',
      '<Proxy "fcgi://localhost:9000/">',
      '  ProxySet enablereuse=off max=2',
      '  ProxyFCGIBackendType GENERIC',
      '</Proxy>',
      'ProxySet fcgi://localhost:9000 timeout=7',
      '',
    ].join('\n'),
    'fcgate.conf',
  );
  const w = cfg.workers.get('fcgi://localhost:9000')!;
  assert.deepEqual([w.reuse, w.max, w.timeoutMs], [false, 2, 7000]);
  assert.equal(cfg.sections[0]!.backendType, 'GENERIC');
});

test('balancer: ProxySet keys, member keys, ProxySet defaults, outside forms', () => {
  const cfg = parseConfig(
    [
      'ProxyPass /x/ balancer://c/ stickysession=SID',
      '<Proxy "balancer://c">',
      '  BalancerMember fcgi://10.0.0.1:9000/base loadfactor=3 route=a status=+H',
      '  BalancerMember "unix:/run/a.sock|fcgi://localhost/" lbset=1 retry=5 ttl=9',
      '  ProxySet lbmethod=bybusyness maxattempts=2 nofailover=On failonstatus=500,502 failontimeout=On '
        + 'forcerecovery=Off timeout=3 disablereuse=on',
      '</Proxy>',
      'BalancerMember balancer://c fcgi://10.0.0.2:9000 loadfactor=1',
      'ProxySet balancer://c max=9',
      '',
    ].join('\n'),
    'fcgate.conf',
  );
  const b = cfg.balancers.get('balancer://c')!;
  assert.deepEqual(
    [
      b.stickySession,
      b.lbMethod,
      b.maxAttempts,
      b.noFailover,
      b.failOnStatus,
      b.failOnTimeout,
      b.forceRecovery,
      b.timeoutMs,
    ],
    ['SID', 'bybusyness', 2, true, [500, 502], true, false, 3000],
  );
  const [m1, m2, m3] = b.members;
  assert.deepEqual(
    [m1!.path, m1!.worker.loadFactor, m1!.worker.route, m1!.worker.status, m1!.worker.reuse, m1!.worker.max],
    ['/base', 3, 'a', 'H', false, 9],
  );
  assert.deepEqual(
    [m2!.worker.name, m2!.path, m2!.worker.lbSet, m2!.worker.retryMs, m2!.worker.ttlMs],
    ['unix:/run/a.sock|fcgi://localhost', '/', 1, 5000, 9000],
  );
  assert.equal(m3!.worker.name, 'fcgi://10.0.0.2:9000');
  assert.equal(cfg.workers.size, 0, 'members are not plain workers');
});

test('ProxyTimeout and Timeout give the default worker timeout', () => {
  const cfg = parseConfig(
    'Timeout 20\nProxyTimeout 10\nProxyPass /a/ fcgi://h:1/\nProxyPass /b/ fcgi://h:2/ timeout=3\n',
    'f',
  );
  assert.equal(cfg.workers.get('fcgi://h:1')!.timeoutMs, 10000);
  assert.equal(cfg.workers.get('fcgi://h:2')!.timeoutMs, 3000);
  assert.equal(parseConfig('Timeout 20\nProxyPass /a/ fcgi://h:1/\n', 'f').workers.get('fcgi://h:1')!.timeoutMs, 20000);
});

test('sections, SetHandler, env directives, CGIPassAuth, backend type, ProxyFCGISetEnvIf', () => {
  const cfg = parseConfig(
    [
      'SetEnv A 1',
      'SetEnv EMPTY',
      'UnsetEnv B C',
      'SetEnvIf Request_URI "\\.php$" proxy-fcgi-pathinfo=1 !X',
      'SetEnvIfNoCase User-Agent ^curl IS_CURL',
      'BrowserMatch "MSIE" old',
      'BrowserMatchNoCase "bot" bot=yes',
      'CGIPassAuth On',
      'ProxyFCGIBackendType generic',
      'ProxyFCGISetEnvIf "true" !REMOTE_ADDR',
      '<Directory /srv/www>',
      '  <FilesMatch "\\.php$">',
      '    SetHandler "proxy:unix:/run/php.sock|fcgi://localhost/"',
      '  </FilesMatch>',
      '  AllowOverride None',
      '  Require all granted',
      '  DirectoryIndex index.php',
      '</Directory>',
      '<Files "*.txt">',
      '  SetHandler None',
      '</Files>',
      '<Location /api/>',
      '  ProxyPass fcgi://h:2/api/',
      '  SetEnv proxy-sendcl 1',
      '</Location>',
      '<LocationMatch "^/lm/(.*)$">',
      '  ProxyPassMatch fcgi://h:3/$1',
      '</LocationMatch>',
      '<Directory ~ "^/srv/x">',
      '  CGIPassAuth Off',
      '</Directory>',
      '<DirectoryMatch "^/srv/y">',
      '</DirectoryMatch>',
      '',
    ].join('\n'),
    'fcgate.conf',
  );
  assert.deepEqual(
    cfg.server.env.map((d) => d.op),
    ['set', 'set', 'unset', 'setif', 'setif', 'setif', 'setif'],
  );
  assert.deepEqual(cfg.server.env[1], { op: 'set', name: 'EMPTY', value: '' });
  const si = cfg.server.env[3]!;
  assert.ok(si.op === 'setif');
  assert.equal(si.source, 'uri');
  assert.deepEqual(si.assignments, [
    { name: 'proxy-fcgi-pathinfo', value: '1' },
    { name: 'X', value: null },
  ]);
  const bm = cfg.server.env[5]!;
  assert.ok(bm.op === 'setif' && bm.source === 'header' && bm.headerName === 'user-agent');
  assert.equal(cfg.cgiPassAuth, true);
  assert.equal(cfg.backendType, 'GENERIC');
  assert.equal(cfg.fcgiSetEnvIf.length, 1);
  assert.equal(cfg.fcgiSetEnvIf[0]!.unset, true);
  assert.deepEqual(
    cfg.sections.map((s) => [s.kind, s.pattern, s.matchForm, s.parent?.pattern ?? null]),
    [
      ['directory', '/srv/www', false, null],
      ['files', '\\.php$', true, '/srv/www'],
      ['files', '*.txt', false, null],
      ['location', '/api/', false, null],
      ['location', '^/lm/(.*)$', true, null],
      ['directory', '^/srv/x', true, null],
      ['directory', '^/srv/y', true, null],
    ],
  );
  const php = cfg.sections[1]!;
  assert.equal(php.handler!.worker!.name, 'unix:/run/php.sock|fcgi://localhost');
  assert.equal(php.handler!.urlPath, '/');
  assert.equal(cfg.sections[2]!.handler, null);
  assert.deepEqual(cfg.sections[0]!.directoryIndex, ['index.php']);
  assert.equal(cfg.sections[3]!.env.length, 1);
  // Location routes come first.
  assert.deepEqual(
    cfg.routes.map((r) => [r.form, r.pattern, r.url]),
    [
      ['proxypassmatch', '^/lm/(.*)$', 'fcgi://h:3/$1'],
      ['proxypass', '/api/', 'fcgi://h:2/api/'],
    ],
  );
  assert.deepEqual([...new Set(cfg.ignored)], ['AllowOverride None']);
  assert.deepEqual(
    cfg.sections[0]!.authz?.children.map((c) => c.kind === 'require' && c.text),
    ['all granted'],
  );
});

test('LoadModule, IfModule (content read), IfModule ! (content skipped), ProxyRequests Off', () => {
  const cfg = parseConfig(
    [
      'LoadModule proxy_module modules/mod_proxy.so',
      'LoadModule proxy_fcgi_module modules/mod_proxy_fcgi.so',
      '<IfModule mod_proxy_fcgi.c>',
      '  ProxyPass /a/ fcgi://h:1/',
      '  <IfModule !mod_proxy.c>',
      '    ThisWouldFail here',
      '  </IfModule>',
      '</IfModule>',
      'ProxyRequests Off',
      '',
    ].join('\n'),
    'f',
  );
  assert.equal(cfg.routes.length, 1);
  assert.deepEqual(cfg.ignored, ['LoadModule proxy_module', 'LoadModule proxy_fcgi_module', 'ProxyRequests Off']);
});

test('error messages: file, line, directive, what is wrong', () => {
  fails('Listen 80\nFooBar x\n', 'fcgate.conf:2: FooBar: unknown directive');
  fails('ProxyPass /a/\n', 'fcgate.conf:1: ProxyPass: expected a path and a URL');
  fails('ProxyPassMatch ^/a\n', 'fcgate.conf:1: ProxyPassMatch: expected a regex and a URL');
  fails('ProxyPass a/ fcgi://h/\n', `fcgate.conf:1: ProxyPass: the path must start with '/', got "a/"`);
  fails(
    'ProxyPass /a/ http://h/\n',
    'fcgate.conf:1: ProxyPass: http://h/: scheme "http" is not supported (fcgi://, unix:…|fcgi:// and balancer:// are)',
  );
  fails('ProxyPass /a/ fcgi://h:0/\n', 'fcgate.conf:1: ProxyPass: fcgi://h:0/: bad port "0"');
  fails('ProxyPass /a/ fcgi://h/ max\n', 'fcgate.conf:1: ProxyPass: expected key=value, got "max"');
  fails('ProxyPass /a/ fcgi://h/ max=x\n', 'fcgate.conf:1: ProxyPass: max: expected a whole number >= 1, got "x"');
  fails(
    'ProxyPass /a/ fcgi://h/ timeout=1.5\n',
    'fcgate.conf:1: ProxyPass: timeout: expected a duration (a whole number, optionally with ms, s, mi or '
      + 'h), got "1.5"',
  );
  fails('ProxyPass /a/ fcgi://h/ nocanon=on\n', 'fcgate.conf:1: ProxyPass: unknown worker key "nocanon"');
  fails('ProxyPass /a/ ! max=1\n', 'fcgate.conf:1: ProxyPass: "!" takes no key=value parameters');
  fails(
    'ProxyPass /a/ fcgi://h/$1\n',
    'fcgate.conf:1: ProxyPass: "$N" in the URL only has a meaning with ProxyPassMatch',
  );
  fails(
    'ProxyPassMatch "^/(a" fcgi://h/\n',
    'fcgate.conf:1: ProxyPassMatch: bad regular expression "^/(a": Unterminated group',
  );
  fails(
    'ProxyPass /x/ balancer://none/\n',
    'fcgate.conf:1: ProxyPass: balancer://none has no BalancerMember (declare it in <Proxy "balancer://none/">)',
  );
  fails(
    'ProxyPass /x/ balancer://c/ max=1\n<Proxy balancer://c>\nBalancerMember fcgi://h\n</Proxy>\n',
    'fcgate.conf:1: ProxyPass: "max" is not a balancer key (put worker keys on BalancerMember or ProxySet)',
  );
  fails('<Proxy balancer://c>\n</Proxy>\n', 'fcgate.conf:1: <Proxy>: balancer://c has no BalancerMember');
  fails(
    '<Proxy balancer://c>\nBalancerMember balancer://d\n</Proxy>\n',
    'fcgate.conf:2: BalancerMember: a member must be an fcgi:// or unix: URL, not a balancer',
  );
  fails(
    '<Proxy balancer://c>\nBalancerMember fcgi://h lbmethod=x\n</Proxy>\n',
    'fcgate.conf:2: BalancerMember: "lbmethod" is a balancer key (use ProxySet)',
  );
  fails(
    'BalancerMember fcgi://h\n',
    'fcgate.conf:1: BalancerMember: outside <Proxy balancer://…> expected a balancer://name and a URL',
  );
  fails(
    '<Proxy balancer://c>\nBalancerMember fcgi://h\nProxySet lbmethod=random\n</Proxy>\n',
    'fcgate.conf:3: ProxySet: lbmethod: expected byrequests, bytraffic, bybusyness or heartbeat, got "random"',
  );
  fails('ProxySet fcgi://h\n', 'fcgate.conf:1: ProxySet: expected a URL and key=value parameters');
  fails('<Proxy fcgi://h/>\nProxySet max\n</Proxy>\n', 'fcgate.conf:2: ProxySet: expected key=value, got "max"');
  fails('Listen\n', 'fcgate.conf:1: Listen: expected [address:]port [protocol]');
  fails('Listen 99999\n', 'fcgate.conf:1: Listen: expected [address:]port, got "99999"');
  fails('Listen 80\nListen 80\n', 'fcgate.conf:2: Listen: 80 is already listed');
  fails('Listen 443 spdy\n', 'fcgate.conf:1: Listen: protocol "spdy" is not supported (http or https)');
  fails(
    'Listen 443 https\n',
    'fcgate.conf:1: Listen *:443 https: the main server has no "SSLEngine on" (write "Listen … http" for '
      + 'plain HTTP on that port)',
  );
  fails('ServerName\n', 'fcgate.conf:1: ServerName: takes one argument, [scheme://]name[:port]');
  fails('DocumentRoot\n', 'fcgate.conf:1: DocumentRoot: takes one argument, a directory');
  fails('DirectoryIndex ../x\n', 'fcgate.conf:1: DirectoryIndex: "../x" must be a plain file name');
  fails('SetEnv\n', 'fcgate.conf:1: SetEnv: expected a variable and an optional value');
  fails('UnsetEnv\n', 'fcgate.conf:1: UnsetEnv: expected one or more variables');
  fails(
    'SetEnvIf Request_URI x\n',
    'fcgate.conf:1: SetEnvIf: expected an attribute, a regex and at least one variable',
  );
  fails('SetEnvIf Request_URI "(" A\n', 'fcgate.conf:1: SetEnvIf: bad regular expression "(": Unterminated group');
  fails('SetEnvIf Request_URI x =v\n', 'fcgate.conf:1: SetEnvIf: bad variable "=v"');
  fails('BrowserMatch x\n', 'fcgate.conf:1: BrowserMatch: expected a regex and at least one variable');
  fails('CGIPassAuth yes\n', 'fcgate.conf:1: CGIPassAuth: expected On or Off, got "yes"');
  fails('ProxyFCGIBackendType PHP\n', 'fcgate.conf:1: ProxyFCGIBackendType: expected FPM or GENERIC, got "PHP"');
  fails(
    'ProxyFCGISetEnvIf "true"\n',
    'fcgate.conf:1: ProxyFCGISetEnvIf: expected a condition, [!]variable and an optional value',
  );
  fails(
    `ProxyFCGISetEnvIf "reqenv('X') ==" A\n`,
    `fcgate.conf:1: ProxyFCGISetEnvIf: expected a string, %{…}, $N or a function call, found end of `
      + `expression in "reqenv('X') =="`,
  );
  fails('ProxyFCGISetEnvIf "true" !A b\n', 'fcgate.conf:1: ProxyFCGISetEnvIf: !A takes no value');
  fails(
    'SetHandler php-script\n',
    'fcgate.conf:1: SetHandler: only "proxy:fcgi://…", "proxy:unix:…|fcgi://…", "proxy:balancer://…" and '
      + 'none are supported, got "php-script"',
  );
  fails(
    'SetHandler proxy:http://h/\n',
    'fcgate.conf:1: SetHandler: http://h/: scheme "http" is not supported (fcgi://, unix:…|fcgi:// and '
      + 'balancer:// are)',
  );
  fails(
    '<Location /a>\nListen 80\n</Location>\n',
    'fcgate.conf:2: Listen: not allowed inside <Location> (allowed: the top level)',
  );
  fails(
    '<Directory /a>\nProxyPass /b fcgi://h/\n</Directory>\n',
    'fcgate.conf:2: ProxyPass: only allowed at server level or inside <Location> / <LocationMatch>',
  );
  fails(
    '<Location /a>\n<Directory /b>\n</Directory>\n</Location>\n',
    'fcgate.conf:2: <Directory>: cannot occur within <Location> section',
  );
  fails(
    '<Location /a>\n<Files x>\n</Files>\n</Location>\n',
    'fcgate.conf:2: <Files>: cannot occur within <Location> section',
  );
  fails('<Location a>\n</Location>\n', `fcgate.conf:1: <Location>: the path must start with '/', got "a"`);
  fails(
    '<FilesMatch "(">\n</FilesMatch>\n',
    'fcgate.conf:1: <FilesMatch>: bad regular expression "(": Unterminated group',
  );
  fails('<Directory>\n</Directory>\n', 'fcgate.conf:1: <Directory>: expected one argument');
  fails(
    '<VirtualHost www.example.com:80>\n</VirtualHost>\n',
    'fcgate.conf:1: <VirtualHost>: "www.example.com:80": give an IP address or *, not a host name (Apache '
      + 'would resolve it with DNS at startup; use *:port and ServerName instead)',
  );
  fails(
    '<VirtualHost *:80>\n<VirtualHost *:81>\n</VirtualHost>\n</VirtualHost>\n',
    'fcgate.conf:2: <VirtualHost>: cannot occur within <VirtualHost> section',
  );
  fails(
    '<VirtualHost *:80>\nListen 81\n</VirtualHost>\n',
    'fcgate.conf:2: Listen: not allowed inside <VirtualHost> (allowed: the top level)',
  );
  fails('<Limit GET>\n</Limit>\n', 'fcgate.conf:1: <Limit>: unknown section');
  fails(
    '<Proxy ftp://x/>\n</Proxy>\n',
    'fcgate.conf:1: <Proxy>: ftp://x/: scheme "ftp" is not supported (fcgi://, unix:…|fcgi:// and balancer:// are)',
  );
  fails('ProxyRequests On\n', 'fcgate.conf:1: ProxyRequests: fcgate is never a forward proxy (only Off is accepted)');
  fails(
    '<Directory /a>\nAllowOverride Everything\n</Directory>\n',
    'fcgate.conf:2: AllowOverride: unknown value "Everything"',
  );
  fails(
    '<Directory /a>\nRequire valid-user\n</Directory>\n',
    'fcgate.conf:2: Require: "valid-user": authentication is not implemented in fcgate (let the application '
      + 'authenticate, with CGIPassAuth On to pass the Authorization header)',
  );
  fails(
    'Require all granted\n',
    'fcgate.conf:1: Require: only allowed inside <Directory>, <Files>, <Location>, <Proxy>',
  );
  fails('AllowOverride None\n', 'fcgate.conf:1: AllowOverride: only allowed inside <Directory>');
  fails(
    '<Proxy fcgi://h/>\nSetHandler none\n</Proxy>\n',
    'fcgate.conf:2: SetHandler: not allowed inside <Proxy> (allowed: the top level, <VirtualHost>, '
      + '<Directory>, <Files>, <Location>)',
  );
  fails('LoadModule x\n', 'fcgate.conf:1: LoadModule: expected a module name and a file');
  fails(
    'ProxyTimeout x\n',
    'fcgate.conf:1: ProxyTimeout: expected a duration (a whole number, optionally with ms, s, mi or h), got "x"',
  );
  fails(
    '<Location /a>\nProxyPassMatch fcgi://h/\n</Location>\n',
    'fcgate.conf:2: ProxyPassMatch: inside <Location> use ProxyPass, or put ProxyPassMatch in <LocationMatch>',
  );
});

// Issue 13: misspelt names get the closest known one; unrelated ones get nothing.
test('unknown directives, sections and keys: "did you mean" when one is close', () => {
  fails(
    'ProxyPazz /x/ fcgi://localhost:4000/\n',
    'fcgate.conf:1: ProxyPazz: unknown directive (did you mean ProxyPass?)',
  );
  fails('documentroot /srv\nLisen 80\n', 'fcgate.conf:2: Lisen: unknown directive (did you mean Listen?)');
  fails('ProxyPassReverse /a/ fcgi://h/\n', 'fcgate.conf:1: ProxyPassReverse: unknown directive');
  fails(
    '<FileMatch "\\.php$">\n</FileMatch>\n',
    'fcgate.conf:1: <FileMatch>: unknown section (did you mean FilesMatch?)',
  );
  fails(
    'ProxyPass /a/ fcgi://h/ flushpacket=on\n',
    'fcgate.conf:1: ProxyPass: unknown worker key "flushpacket" (did you mean flushpackets?)',
  );
  fails(
    'ProxyPass /a/ fcgi://h/ timout=5\n',
    'fcgate.conf:1: ProxyPass: unknown worker key "timout" (did you mean timeout?)',
  );
  fails(
    'ProxyPass /a/ balancer://b/ lbmetod=bybusyness\n<Proxy balancer://b/>\nBalancerMember fcgi://h:1\n</Proxy>\n',
    'fcgate.conf:1: ProxyPass: unknown balancer key "lbmetod" (did you mean lbmethod?)',
  );
  fails(
    '<Proxy balancer://b/>\nBalancerMember fcgi://h:1 loadfacter=2\n</Proxy>\nProxyPass /a/ balancer://b/\n',
    'fcgate.conf:2: BalancerMember: unknown worker key "loadfacter" (did you mean loadfactor?)',
  );
});

test('User, Group and PidFile (Apache mpm_common): names or #id, server level only', () => {
  const cfg = parseConfig('User www-data\nGroup #33\nPidFile run/fcgate.pid\n', '/etc/fcgate/fcgate.conf');
  assert.equal(cfg.user, 'www-data');
  assert.equal(cfg.group, '#33');
  assert.equal(cfg.pidFile, '/etc/fcgate/run/fcgate.pid'); // relative to the file's folder
  assert.equal(parseConfig('Listen 80\n', 'f').user, undefined);
  fails('User\n', 'fcgate.conf:1: User: takes one argument, a user name or #id');
  fails('User a b\n', 'fcgate.conf:1: User: takes one argument, a user name or #id');
  fails('Group "we ird"\n', 'fcgate.conf:1: Group: "we ird" is not a group name or #id');
  fails(
    '<Location /x>\nUser nobody\n</Location>\n',
    'fcgate.conf:2: User: not allowed inside <Location> (allowed: the top level)',
  );
  fails('PidFile\n', 'fcgate.conf:1: PidFile: takes one argument, a file');
});
