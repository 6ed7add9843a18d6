// The error log's layout and LogLevel: level and area by code, the global level and
// per-area ones, notice always written (as Apache), JSON lines, control characters escaped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classify, ErrorLogFormat, escapeControls, fieldOf } from '../../src/log/error-log.js';

const AT = Date.UTC(2024, 4, 1, 12, 0, 0, 123);
const host = { pid: 812, threadId: 2 };

test('a line: ISO time, [area:level], pid and thread, then the line as it was logged', () => {
  const f = new ErrorLogFormat({ level: 'warn', areaLevels: new Map(), errorFormat: 'text' }, host);
  assert.equal(
    f.format('FCGATE_CONNECT_FAILED backend=fcgi://127.0.0.1:9000 req=Ab-1 GET /x cause="connect ECONNREFUSED"', AT),
    '2024-05-01T12:00:00.123Z [proxy_fcgi:error] [pid 812:tid 2] FCGATE_CONNECT_FAILED '
      + 'backend=fcgi://127.0.0.1:9000 req=Ab-1 GET /x cause="connect ECONNREFUSED"\n',
  );
});

test('LogLevel: below the level is dropped, per-area levels win, notice is always written', () => {
  const warn = new ErrorLogFormat({ level: 'warn', areaLevels: new Map(), errorFormat: 'text' }, host);
  assert.equal(warn.format('FCGATE_HEALTH_PASS member=x', AT), null); // proxy_hcheck:info
  assert.notEqual(warn.format('FCGATE_HEALTH_FAIL member=x', AT), null); // warn
  assert.notEqual(warn.format('FCGATE_RELOADED config=x', AT), null); // core:notice
  const crit = new ErrorLogFormat(
    { level: 'crit', areaLevels: new Map([['proxy_fcgi', 'debug']]), errorFormat: 'text' },
    host,
  );
  assert.equal(crit.format('FCGATE_MEMBER_ERROR member=x', AT), null); // proxy_balancer:error > crit
  assert.notEqual(crit.format('FCGATE_APP_STDERR backend=b stderr="x"', AT), null); // proxy_fcgi:debug lets it through
  assert.notEqual(crit.format('FCGATE_PROBE backend=b', AT), null); // notice
  assert.deepEqual(classify('FCGATE_SOMETHING_NEW'), ['error', 'core']);
});

test('ErrorLogFormat json: one object per line with code, request id, backend and cause', () => {
  const f = new ErrorLogFormat({ level: 'warn', areaLevels: new Map(), errorFormat: 'json' }, host);
  const out = f.format('FCGATE_HEADER_TIMEOUT backend=fcgi://h:1 req=Ab-9 GET /slow cause="no answer in 1000 ms"', AT)!;
  assert.ok(out.endsWith('}\n') && !out.slice(0, -1).includes('\n'));
  assert.deepEqual(JSON.parse(out), {
    time: '2024-05-01T12:00:00.123Z',
    level: 'error',
    area: 'proxy_fcgi',
    pid: 812,
    tid: 2,
    code: 'FCGATE_HEADER_TIMEOUT',
    request_id: 'Ab-9',
    backend: 'fcgi://h:1',
    member: null,
    cause: 'no answer in 1000 ms',
    message: 'FCGATE_HEADER_TIMEOUT backend=fcgi://h:1 req=Ab-9 GET /slow cause="no answer in 1000 ms"',
  });
  const plain = JSON.parse(f.format('not a coded line\r\n\x1b[2J', AT)!) as { code: unknown; message: string };
  assert.equal(plain.code, null);
  assert.equal(plain.message, 'not a coded line\r\n\x1b[2J');
});

test('an app cannot forge error-log lines: control characters are escaped', () => {
  const f = new ErrorLogFormat({ level: 'debug', areaLevels: new Map(), errorFormat: 'text' }, host);
  const out = f.format(
    'FCGATE_APP_STDERR backend=b req=1 stderr="boom\r\n2024-05-01T00:00:00.000Z [core:notice] forged\x1b[0m"',
    AT,
  )!;
  assert.equal(out.split('\n').length, 2);
  assert.ok(out.includes('boom\\r\\n2024-05-01T00:00:00.000Z [core:notice] forged\\x1b[0m'));
  assert.equal(escapeControls('tab\there\x7f'), 'tab\\there\\x7f');
  assert.equal(escapeControls('café "ok" €'), 'caf\\xc3\\xa9 "ok" \\xe2\\x82\\xac'); // every line is ASCII
  assert.equal(fieldOf('X a=1 cause="two words" b=2', 'cause'), 'two words');
  assert.equal(fieldOf('X a=1 b=2', 'b'), '2');
  assert.equal(fieldOf('X a=1', 'c'), null);
});
