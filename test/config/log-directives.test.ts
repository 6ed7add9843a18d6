// The log directives: what they set, the predefined nicknames, and errors with file and line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/load.js';
import { logSettingsOf } from '../../src/config/log-directives.js';
import { JSON_FORMAT, parseLogFormat, PREDEFINED_FORMATS } from '../../src/config/log-format.js';

const load = (text: string) => parseConfig(text, '/etc/fcgate/fcgate.conf');
const fails = (text: string, re: RegExp): void => {
  assert.throws(
    () => load(text),
    (e: unknown) => e instanceof ConfigError && re.test(e.message),
    text,
  );
};

test('without log directives: one combined access log to stdout, errors to stderr at warn', () => {
  const l = logSettingsOf(load('Listen 8080\n'));
  assert.equal(l.access, null);
  assert.deepEqual(l.errorLog, { kind: 'stderr' });
  assert.equal(l.level, 'warn');
  assert.equal(l.requestIdHeader, 'X-Request-Id');
  assert.equal(l.formats.get('combined'), '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"');
});

test('LogFormat nicknames, CustomLog targets and conditions, TransferLog', () => {
  const l = logSettingsOf(
    load(
      [
        'LogFormat "%h %>s \\"%r\\" %{backend}n" mine',
        'LogFormat "%h %b"',
        'CustomLog logs/access.log mine',
        'CustomLog "|/usr/bin/rotatelogs -l /var/log/fcgate/%Y%m%d 86400" combined env=!dontlog',
        'CustomLog "|$cat >> /tmp/x" json env=keep',
        'CustomLog /dev/stdout "%m %U"',
        'TransferLog /var/log/fcgate/transfer.log',
      ].join('\n'),
    ),
  );
  assert.equal(l.formats.get('mine'), '%h %>s "%r" %{backend}n');
  assert.deepEqual(
    l.access!.map((a) => [a.target, a.format, a.env, a.line]),
    [
      [{ kind: 'file', path: '/etc/fcgate/logs/access.log' }, '%h %>s "%r" %{backend}n', null, 3],
      [
        { kind: 'pipe', command: '/usr/bin/rotatelogs -l /var/log/fcgate/%Y%m%d 86400', shell: false },
        PREDEFINED_FORMATS.get('combined'),
        { name: 'dontlog', negate: true },
        4,
      ],
      [{ kind: 'pipe', command: 'cat >> /tmp/x', shell: true }, JSON_FORMAT, { name: 'keep', negate: false }, 5],
      [{ kind: 'stdout' }, '%m %U', null, 6],
      [{ kind: 'file', path: '/var/log/fcgate/transfer.log' }, '%h %b', null, 7],
    ],
  );
  assert.deepEqual(logSettingsOf(load('CustomLog off\n')).access, []);
});

test('ErrorLog, LogLevel with areas, ErrorLogFormat, RequestIdHeader, BufferedLogs', () => {
  const l = logSettingsOf(
    load(
      [
        'ErrorLog "|/usr/bin/logger -t fcgate"',
        'LogLevel info proxy_fcgi:debug mod_proxy_balancer:trace3 core:crit',
        'ErrorLogFormat json',
        'RequestIdHeader X-Trace-Id',
        'BufferedLogs Off',
      ].join('\n'),
    ),
  );
  assert.deepEqual(l.errorLog, { kind: 'pipe', command: '/usr/bin/logger -t fcgate', shell: false });
  assert.equal(l.level, 'info');
  assert.deepEqual(
    [...l.areaLevels],
    [
      ['proxy_fcgi', 'debug'],
      ['proxy_balancer', 'debug'],
      ['core', 'crit'],
    ],
  );
  assert.equal(l.errorFormat, 'json');
  assert.equal(l.requestIdHeader, 'X-Trace-Id');
  assert.equal(l.buffered, false);
  assert.equal(logSettingsOf(load('RequestIdHeader off\n')).requestIdHeader, null);
  assert.equal(logSettingsOf(load('ErrorLog stderr\n')).errorLog.kind, 'stderr');
  // Apache's own ErrorLogFormat strings load, with a warning: fcgate keeps its layout.
  const warned = load('ErrorLogFormat "[%t] [%l] %M"\n');
  assert.equal(logSettingsOf(warned).errorFormat, 'text');
  assert.match(warned.warnings.join('\n'), /fcgate\.conf:1: ErrorLogFormat/);
  assert.match(load('LogLevel warn ssl:warn\n').warnings.join('\n'), /fcgate logs nothing for "ssl"/);
});

test('mistakes stop the load with file and line', () => {
  fails('Listen 80\nLogFormat "%h %Z" x\n', /fcgate\.conf:2: LogFormat: unrecognized LogFormat directive %Z/);
  fails('CustomLog /tmp/a combinded\n', /fcgate\.conf:1: CustomLog: unknown format nickname "combinded"/);
  fails('CustomLog /tmp/a combined expr=%{REQUEST_STATUS}\n', /expr= conditions are not supported/);
  fails('CustomLog /tmp/a\n', /CustomLog: expected a file/);
  fails('LogFormat "%{User-Agent"\n', /unterminated %\{…\}/);
  fails('LogFormat "%i"\n', /%i needs a name/);
  fails('ErrorLog syslog:local7\n', /syslog is not supported/);
  fails('ErrorLog /dev/stdout\n', /the error log goes to stderr/);
  fails('LogLevel loud\n', /unknown level "loud"/);
  fails('RequestIdHeader "X Bad"\n', /is not a header name/);
  fails('CustomLog "|" combined\n', /needs a command/);
  fails('<Location /x>\nCustomLog /tmp/a combined\n</Location>\n', /fcgate\.conf:2: CustomLog/);
  fails('LogFormat "%!{Referer}i"\n', /"!" goes with a status list/);
});

test('format syntax: escapes, modifiers, literal percent', () => {
  assert.deepEqual(parseLogFormat('a\\tb\\n%%|%>s|%<s|%!200,304{Referer}i|%{ms}T'), [
    { kind: 'text', text: 'a\tb\n%|' },
    { kind: 'field', letter: 's', arg: null, statuses: null, negate: false, which: '>' },
    { kind: 'text', text: '|' },
    { kind: 'field', letter: 's', arg: null, statuses: null, negate: false, which: '<' },
    { kind: 'text', text: '|' },
    { kind: 'field', letter: 'i', arg: 'Referer', statuses: [200, 304], negate: true, which: null },
    { kind: 'text', text: '|' },
    { kind: 'field', letter: 'T', arg: 'ms', statuses: null, negate: false, which: null },
  ]);
});

test('pasted Apache handlers for the manager and mod_status point to AdminListen', () => {
  fails(
    '<Location /server-status>\nSetHandler server-status\n</Location>\n',
    /fcgate\.conf:2: SetHandler: \/server-status is served on fcgate's admin listener: use "AdminListen 127\.0\.0\.1/,
  );
  fails(
    '<Location /balancer-manager>\nSetHandler balancer-manager\n</Location>\n',
    /the balancer manager is served on fcgate's admin listener/,
  );
  assert.deepEqual(load('AdminListen [::1]:8081\n').balancerManager, {
    host: '::1',
    port: 8081,
    tokenRequired: false,
    file: '/etc/fcgate/fcgate.conf',
    line: 1,
  });
  fails(
    'AdminListen 8081\nBalancerManager 8082\n',
    /fcgate\.conf:2: BalancerManager: already set \(AdminListen and BalancerManager name the same listener\)/,
  );
});
