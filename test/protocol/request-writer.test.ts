// The request preamble (BEGIN_REQUEST + PARAMS + empty PARAMS [+ empty STDIN]): golden
// bytes by hand, PARAMS split across small records (a pair and a 4-byte length cut in
// two), a PHP-FPM-sized environment and one over 64 KiB decoded back unchanged.
// biome-ignore-all format: golden bytes laid out by hand, one record field group per line with its comment
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordType, Role } from '../../src/protocol/constants.js';
import { measurePreamble, writePreamble } from '../../src/protocol/request-writer.js';
import { ascii, bytes, bytewise, join, readPreamble } from './recording-sink.js';

const BEGIN_1_KEEP = bytes(
  0x01, 0x01, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00, // v1 BEGIN id=1 len=8 pad=0
  0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, // role=responder flags=KEEP_CONN
);
const BEGIN_1 = bytes(
  0x01, 0x01, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00, // v1 BEGIN id=1 len=8 pad=0
  0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // role=responder flags=0
);
const PARAMS_END_1 = bytes(0x01, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00); // v1 PARAMS id=1 len=0
const STDIN_END_1 = bytes(0x01, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00);  // v1 STDIN id=1 len=0

test('preamble for a 2-param request', () => {
  const golden = join(
    BEGIN_1_KEEP,
    bytes(0x01, 0x04, 0x00, 0x01, 0x00, 0x0a, 0x06, 0x00), // v1 PARAMS id=1 len=10 pad=6
    bytes(0x01, 0x01, 0x41, 0x31),                         // A=1
    bytes(0x02, 0x02, 0x42, 0x42, 0x32, 0x32),             // BB=22
    bytes(0x00, 0x00, 0x00, 0x00, 0x00, 0x00),             // padding ×6
    PARAMS_END_1,
  );
  const params = ['A', '1', 'BB', '22'];
  assert.deepEqual(writePreamble(1, params, { keepConn: true }), golden);
  assert.deepEqual(writePreamble(1, params, { keepConn: true, endStdin: true }), join(golden, STDIN_END_1));
  assert.equal(measurePreamble(params), golden.length);
});

test('preamble for a realistic 2-param request, id 0x0102, keep-conn off', () => {
  const golden = join(
    bytes(0x01, 0x01, 0x01, 0x02, 0x00, 0x08, 0x00, 0x00),           // v1 BEGIN id=0x0102 len=8
    bytes(0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00),           // responder flags=0
    bytes(0x01, 0x04, 0x01, 0x02, 0x00, 0x36, 0x02, 0x00),           // v1 PARAMS id=0x0102 len=54 pad=2
    bytes(0x0e, 0x03), ascii('REQUEST_METHOD'), ascii('GET'),        // 14, 3: 19 bytes
    bytes(0x0f, 0x12), ascii('SCRIPT_FILENAME'), ascii('/var/www/index.php'), // 15, 18: 35 bytes
    bytes(0x00, 0x00),                                               // padding ×2
    bytes(0x01, 0x04, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00),           // v1 PARAMS id=0x0102 len=0
  );
  const params = ['REQUEST_METHOD', 'GET', 'SCRIPT_FILENAME', '/var/www/index.php'];
  assert.deepEqual(writePreamble(0x0102, params), golden);
  assert.equal(measurePreamble(params), 88);
});

test('preamble roles: authorizer and filter', () => {
  const auth = writePreamble(1, [], { role: Role.Authorizer });
  assert.deepEqual(auth, join(
    bytes(0x01, 0x01, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00), // v1 BEGIN id=1 len=8
    bytes(0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00), // role=authorizer flags=0
    PARAMS_END_1,
  ));
  const filter = writePreamble(1, [], { role: Role.Filter, keepConn: true });
  // role=filter KEEP_CONN
  assert.deepEqual(filter.subarray(8, 16), bytes(0x00, 0x03, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00));
});

test('preamble with no params: BEGIN and the empty PARAMS record', () => {
  assert.deepEqual(writePreamble(1, []), join(BEGIN_1, PARAMS_END_1));
  assert.deepEqual(writePreamble(1, [], { endStdin: true }), join(BEGIN_1, PARAMS_END_1, STDIN_END_1));
  assert.equal(measurePreamble([]), 24);
});

test('PARAMS at maxRecord 8: whole pairs per record (PHP-FPM parses each record alone)', () => {
  const golden = join(
    BEGIN_1,
    bytes(0x01, 0x04, 0x00, 0x01, 0x00, 0x04, 0x04, 0x00), // v1 PARAMS id=1 len=4 pad=4
    bytes(0x01, 0x01, 0x41, 0x31, 0x00, 0x00, 0x00, 0x00), // A=1, padding ×4
    bytes(0x01, 0x04, 0x00, 0x01, 0x00, 0x06, 0x02, 0x00), // v1 PARAMS id=1 len=6 pad=2
    bytes(0x02, 0x02, 0x42, 0x42, 0x32, 0x32, 0x00, 0x00), // BB=22, padding ×2
    PARAMS_END_1,
  );
  const params = ['A', '1', 'BB', '22'];
  const wire = writePreamble(1, params, { maxRecord: 8 });
  assert.deepEqual(wire, golden);
  assert.equal(measurePreamble(params, 8), golden.length);
  assert.deepEqual(readPreamble([wire]).params, params);
});

test('PARAMS split at maxRecord 13: records padded, value cut mid-string', () => {
  const golden = join(
    BEGIN_1,
    bytes(0x01, 0x04, 0x00, 0x01, 0x00, 0x0d, 0x03, 0x00),             // v1 PARAMS id=1 len=13 pad=3
    bytes(0x04, 0x10), ascii('NAME'), ascii('value-0'),                // nlen=4 vlen=16 'NAME' 'value-0'
    bytes(0x00, 0x00, 0x00),                                           // padding ×3
    bytes(0x01, 0x04, 0x00, 0x01, 0x00, 0x09, 0x07, 0x00),             // v1 PARAMS id=1 len=9 pad=7
    ascii('123456789'),                                                // rest of the value
    bytes(0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00),                   // padding ×7
    PARAMS_END_1,
  );
  const wire = writePreamble(1, ['NAME', 'value-0123456789'], { maxRecord: 13 });
  assert.deepEqual(wire, golden);
  assert.equal(measurePreamble(['NAME', 'value-0123456789'], 13), 72);
});

test('PARAMS at maxRecord 8: a pair larger than a record is cut, through its 4-byte length', () => {
  const x128 = 'x'.repeat(128);
  const wire = writePreamble(1, ['A', '1', 'N', x128], { maxRecord: 8 });
  // A=1 (4 bytes) has a record of its own; N=x128 is 1 + 4 + 1 + 128 = 134 bytes:
  // 16 records of 8 and one of 6.
  assert.equal(wire.length, 16 + 16 + 16 * 16 + 16 + 8);
  assert.deepEqual(wire.subarray(16, 48), join(
    bytes(0x01, 0x04, 0x00, 0x01, 0x00, 0x04, 0x04, 0x00), // v1 PARAMS id=1 len=4 pad=4
    bytes(0x01, 0x01, 0x41, 0x31, 0x00, 0x00, 0x00, 0x00), // A=1, padding ×4
    bytes(0x01, 0x04, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00), // v1 PARAMS id=1 len=8 pad=0
    bytes(0x01, 0x80, 0x00, 0x00, 0x80, 0x4e, 0x78, 0x78), // nlen=1, vlen=128 (4 bytes), 'N', 'x'×2
  ));
  for (let k = 2; k < 17; k++) {
    const at = 16 + k * 16;
    assert.deepEqual(wire.subarray(at, at + 16), join(
      bytes(0x01, 0x04, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00), // v1 PARAMS id=1 len=8 pad=0
      ascii('xxxxxxxx'),
    ), `record ${k}`);
  }
  assert.deepEqual(wire.subarray(16 + 17 * 16), join(
    bytes(0x01, 0x04, 0x00, 0x01, 0x00, 0x06, 0x02, 0x00), // v1 PARAMS id=1 len=6 pad=2
    bytes(0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x00, 0x00), // 'x'×6, padding ×2
    PARAMS_END_1,
  ));
  assert.deepEqual(readPreamble(bytewise(wire)).params, ['A', '1', 'N', x128]);
});

test('writePreamble refuses bad arguments', () => {
  assert.throws(() => writePreamble(1, ['odd']), RangeError);
  assert.throws(() => writePreamble(1, [], { maxRecord: 7 }), RangeError);
  assert.throws(() => writePreamble(1, [], { maxRecord: 65536 }), RangeError);
});

/** A PHP-FPM request environment of 30 variables, as mod_proxy_fcgi sends one. */
function phpFpmEnv(): string[] {
  return [
    'GATEWAY_INTERFACE', 'CGI/1.1',
    'SERVER_SOFTWARE', 'fcgate/0.1.0',
    'SERVER_NAME', 'www.example.test',
    'SERVER_ADDR', '127.0.0.1',
    'SERVER_PORT', '8080',
    'SERVER_PROTOCOL', 'HTTP/1.1',
    'SERVER_ADMIN', 'webmaster@example.test',
    'SERVER_SIGNATURE', '',
    'REMOTE_ADDR', '127.0.0.1',
    'REMOTE_PORT', '53422',
    'REQUEST_METHOD', 'POST',
    'REQUEST_SCHEME', 'http',
    'REQUEST_URI', '/app/index.php/users/42?sort=name&page=2',
    'QUERY_STRING', 'sort=name&page=2',
    'SCRIPT_NAME', '/app/index.php',
    'SCRIPT_FILENAME', '/var/www/html/app/index.php',
    'PATH_INFO', '/users/42',
    'PATH_TRANSLATED', '/var/www/html/users/42',
    'DOCUMENT_ROOT', '/var/www/html',
    'CONTEXT_DOCUMENT_ROOT', '/var/www/html',
    'CONTEXT_PREFIX', '',
    'CONTENT_TYPE', 'application/x-www-form-urlencoded; charset=UTF-8',
    'CONTENT_LENGTH', '1234',
    'HTTP_HOST', 'www.example.test:8080',
    'HTTP_USER_AGENT', 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
    'HTTP_ACCEPT', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'HTTP_ACCEPT_LANGUAGE', 'en-GB,en;q=0.7,fr;q=0.3',
    'HTTP_ACCEPT_ENCODING', 'gzip, deflate, br, zstd',
    'HTTP_COOKIE', 'session=' + 'c0ffee'.repeat(30) + '; théme=sombre',
    'PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  ];
}

test('PHP-FPM-sized environment of 30 variables: one PARAMS record, decoded back', () => {
  const env = phpFpmEnv();
  assert.equal(env.length, 60);
  const wire = writePreamble(1, env, { keepConn: true, endStdin: true });
  assert.equal(wire.length, measurePreamble(env) + 8);
  const whole = readPreamble([wire]);
  assert.equal(whole.errors.length, 0);
  assert.deepEqual(whole.params, env);
  assert.equal(whole.paramsPieces.length, 1);
  assert.deepEqual(whole.events[0], { kind: 'begin', id: 1, role: Role.Responder, flags: 1 });
  const last = whole.events[whole.events.length - 1]!;
  assert.ok(last.kind === 'stream' && last.type === RecordType.Stdin && last.data.length === 0);
  assert.deepEqual(readPreamble(bytewise(wire)).params, env);
});

test('environment over 64 KiB (12 × 7000-byte values): several PARAMS records, nothing truncated', () => {
  const env: string[] = [];
  for (let i = 0; i < 12; i++) {
    const value = String.fromCharCode(0x61 + i).repeat(6990) + `-end-${i}`.padStart(10, '.');
    env.push(`HTTP_X_BIG_${String(i).padStart(2, '0')}`, value);
  }
  for (let i = 1; i < env.length; i += 2) assert.equal(env[i]!.length, 7000);
  const pairBytes = 12 * (1 + 4 + 13 + 7000);  // nlen, 4-byte vlen, name, value = 84216
  for (const maxRecord of [65535, 16384, 4096, 8]) {
    const wire = writePreamble(0x0102, env, { maxRecord });
    assert.equal(wire.length, measurePreamble(env, maxRecord), `maxRecord ${maxRecord}`);
    const sink = readPreamble([wire]);
    assert.equal(sink.errors.length, 0);
    assert.deepEqual(sink.params, env, `maxRecord ${maxRecord}`);
    // Each pair is 7018 bytes: 9 per record at 65535, 2 at 16384; at 4096 every pair is cut
    // in two (4096 + 2922); at 8 into 877 records of 8 and one of 2.
    const expected: Record<number, number> = { 65535: 2, 16384: 6, 4096: 24, 8: 12 * 878 };
    assert.equal(sink.paramsPieces.length, expected[maxRecord], `records at maxRecord ${maxRecord}`);
    if (maxRecord === 65535) assert.deepEqual(sink.paramsPieces, [9 * 7018, 3 * 7018]);
    assert.equal(sink.paramsPieces.reduce((a, b) => a + b, 0), pairBytes);
    assert.ok(sink.paramsPieces.every((n) => n <= maxRecord));
  }
  // Default layout (records of at most 65528 bytes, whole pairs): 9 pairs, then 3.
  const wire = writePreamble(0x0102, env);
  // v1 PARAMS id=0x0102 len=63162 pad=6
  assert.deepEqual(wire.subarray(16, 24), bytes(0x01, 0x04, 0x01, 0x02, 0xf6, 0xba, 0x06, 0x00));
  const second = 16 + 8 + 63162 + 6;
  // v1 PARAMS len=21054 pad=2
  assert.deepEqual(wire.subarray(second, second + 8), bytes(0x01, 0x04, 0x01, 0x02, 0x52, 0x3e, 0x02, 0x00));
  assert.equal(wire.length, second + 8 + 21054 + 2 + 8);
});
