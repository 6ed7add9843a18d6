// Name-value pairs (spec §3.4): golden bytes by hand for 1- and 4-byte lengths and UTF-8,
// decodePairs / PairCollector error cases, utf8Length. Random round trips are in
// properties.test.ts.
// biome-ignore-all format: golden bytes laid out by hand, one record field group per line with its comment
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError, ProtocolErrorCode } from '../../src/protocol/errors.js';
import {
  PairCollector, decodePairs, encodePairs, lengthSize, pairSize, utf8Length, writeLength,
} from '../../src/protocol/pairs.js';
import { ascii, bytes, join } from './recording-sink.js';

const isCode = (code: string) => (err: unknown): boolean => {
  assert.ok(err instanceof ProtocolError, `expected a ProtocolError, got ${String(err)}`);
  assert.equal(err.code, code);
  return true;
};

test('one short pair', () => {
  assert.deepEqual(encodePairs(['a', 'b']), bytes(0x01, 0x01, 0x61, 0x62)); // nlen=1 vlen=1 'a' 'b'
});

test('empty name and value', () => {
  assert.deepEqual(encodePairs(['', '']), bytes(0x00, 0x00)); // nlen=0 vlen=0
  assert.deepEqual(encodePairs([]), Buffer.alloc(0));
});

test('127 bytes take a 1-byte length, 128 a 4-byte one', () => {
  const n127 = 'x'.repeat(127);
  const n128 = 'x'.repeat(128);
  assert.deepEqual(encodePairs([n127, '']), join(bytes(0x7f, 0x00), ascii(n127)));               // nlen=127 vlen=0
  // nlen=0x80000080→128 vlen=0
  assert.deepEqual(encodePairs([n128, '']), join(bytes(0x80, 0x00, 0x00, 0x80, 0x00), ascii(n128)));
  assert.deepEqual(encodePairs(['N', n127]), join(bytes(0x01, 0x7f), ascii('N'), ascii(n127)));   // nlen=1 vlen=127
  assert.deepEqual(encodePairs(['N', n128]),
    join(bytes(0x01, 0x80, 0x00, 0x00, 0x80), ascii('N'), ascii(n128)));             // nlen=1 vlen=128 (4 bytes)
});

test('4-byte lengths: 300 (0x12c) and 0x12345', () => {
  const v300 = 'v'.repeat(300);
  assert.deepEqual(encodePairs(['N', v300]).subarray(0, 6), bytes(
    0x01,                   // nlen=1
    0x80, 0x00, 0x01, 0x2c, // vlen=300 (top bit set)
    0x4e,                   // 'N'
  ));
  const big = 'v'.repeat(0x12345);
  const wire = encodePairs(['N', big]);
  assert.equal(wire.length, 1 + 4 + 1 + 0x12345);
  assert.deepEqual(wire.subarray(0, 6), bytes(
    0x01,                   // nlen=1
    0x80, 0x01, 0x23, 0x45, // vlen=0x12345 = 74565
    0x4e,                   // 'N'
  ));
  assert.deepEqual(decodePairs(wire), ['N', big]);
});

test('a 4-byte length may come from a name too', () => {
  const name = 'H'.repeat(0x100);
  assert.deepEqual(encodePairs([name, 'v']).subarray(0, 5), bytes(
    0x80, 0x00, 0x01, 0x00, // nlen=256
    0x01,                   // vlen=1
  ));
});

test('several pairs in order', () => {
  assert.deepEqual(encodePairs(['A', '1', 'BB', '22', 'C', '']), bytes(
    0x01, 0x01, 0x41, 0x31,             // A=1
    0x02, 0x02, 0x42, 0x42, 0x32, 0x32, // BB=22
    0x01, 0x00, 0x43,                   // C=
  ));
});

test('UTF-8: lengths count bytes, not UTF-16 units', () => {
  assert.deepEqual(encodePairs(['é', '€']), bytes(
    0x02, 0x03,       // nlen=2 vlen=3
    0xc3, 0xa9,       // 'é' U+00E9
    0xe2, 0x82, 0xac, // '€' U+20AC
  ));
  assert.deepEqual(encodePairs(['😀', '']), bytes(
    0x04, 0x00,             // nlen=4 (one code point, two UTF-16 units) vlen=0
    0xf0, 0x9f, 0x98, 0x80, // U+1F600
  ));
  // 63 × 'é' + 'a' is 127 bytes (1-byte length); 64 × 'é' is 128 bytes (4-byte length).
  assert.deepEqual(encodePairs(['é'.repeat(63) + 'a', '']).subarray(0, 2), bytes(0x7f, 0x00));
  assert.deepEqual(encodePairs(['é'.repeat(64), '']).subarray(0, 5), bytes(0x80, 0x00, 0x00, 0x80, 0x00));
});

test('UTF-8 round trip', () => {
  const flat = ['é', '€', '😀', '日本語', 'PATH_INFO', '/ü/ß/𝄞', '', 'ascii', 'é'.repeat(64), 'x'];
  assert.deepEqual(decodePairs(encodePairs(flat)), flat);
});

test('utf8Length agrees with Buffer.byteLength, lone surrogates included', () => {
  const samples = ['', 'a', 'é', '€', '😀', '\ud800', '\udc00', 'a\ud800b', '\ud83d\ude00\ud83d',
    '\udc00\ud800', 'x'.repeat(200), 'ü'.repeat(70)];
  for (const s of samples) assert.equal(utf8Length(s), Buffer.byteLength(s, 'utf8'), JSON.stringify(s));
});

test('lengthSize, pairSize and writeLength', () => {
  assert.equal(lengthSize(0), 1);
  assert.equal(lengthSize(127), 1);
  assert.equal(lengthSize(128), 4);
  assert.equal(pairSize(1, 128), 1 + 4 + 1 + 128);
  const out = Buffer.alloc(6, 0xee);
  assert.equal(writeLength(out, 1, 0x7fffffff), 5);
  assert.deepEqual(out, bytes(0xee, 0xff, 0xff, 0xff, 0xff, 0xee)); // 2^31-1 with the top bit set
  assert.equal(writeLength(out, 0, 5), 1);
  assert.equal(out[0], 0x05);
});

test('encodePairs refuses an odd list', () => {
  assert.throws(() => encodePairs(['lonely']), RangeError);
});

test('decodePairs: truncated input is BadPairs', () => {
  const cases: Array<[string, Buffer]> = [
    ['name length only', bytes(0x01)],                                  // nlen=1, no vlen
    ['truncated 4-byte name length', bytes(0x80, 0x00, 0x00)],          // 3 of 4 length bytes
    ['truncated 4-byte value length', bytes(0x01, 0x80, 0x00)],         // nlen=1, 2 of 4 vlen bytes
    ['name cut short', bytes(0x03, 0x00, 0x41, 0x42)],                  // nlen=3 vlen=0 'AB'
    ['value cut short', bytes(0x01, 0x02, 0x41, 0x31)],                 // nlen=1 vlen=2 'A' '1'
    ['4-byte value length past the end', bytes(0x01, 0x80, 0x00, 0x00, 0x05, 0x41)], // vlen=5, 0 present
    ['huge 4-byte length', bytes(0x01, 0xff, 0xff, 0xff, 0xff, 0x41)],  // vlen=2^31-1
    ['good pair then a stray byte', bytes(0x01, 0x01, 0x41, 0x31, 0x02)],
  ];
  for (const [name, wire] of cases) {
    assert.throws(() => decodePairs(wire), isCode(ProtocolErrorCode.BadPairs), name);
  }
});

test('decodePairs: more bytes than the limit is PairsTooLong; exactly the limit is fine', () => {
  const wire = bytes(0x01, 0x01, 0x41, 0x31, 0x01, 0x01, 0x42, 0x32); // A=1 B=2: 8 bytes
  assert.deepEqual(decodePairs(wire, 8), ['A', '1', 'B', '2']);
  assert.throws(() => decodePairs(wire, 7), isCode(ProtocolErrorCode.PairsTooLong));
});

test('decodePairs accepts a plain Uint8Array view at an offset', () => {
  const backing = new Uint8Array([0xee, 0x01, 0x01, 0x41, 0x31, 0xee]);
  assert.deepEqual(decodePairs(backing.subarray(1, 5)), ['A', '1']);
});

test('PairCollector gathers pieces split inside lengths and strings', () => {
  const wire = encodePairs(['SCRIPT_NAME', '/index.php', 'N', 'v'.repeat(200), 'é', '😀']);
  for (let cut = 0; cut <= wire.length; cut++) {
    const c = new PairCollector(1024);
    c.push(wire.subarray(0, cut));
    c.push(wire.subarray(cut));
    assert.deepEqual(c.finish(), ['SCRIPT_NAME', '/index.php', 'N', 'v'.repeat(200), 'é', '😀'], `cut ${cut}`);
  }
});

test('PairCollector copies each piece (reader views are reused)', () => {
  const piece = Buffer.from(bytes(0x01, 0x01, 0x41, 0x31)); // A=1
  const c = new PairCollector(64);
  c.push(piece);
  piece.fill(0);
  assert.deepEqual(c.finish(), ['A', '1']);
});

test('PairCollector is empty after finish and can be reused', () => {
  const c = new PairCollector(16);
  c.push(bytes(0x01, 0x01, 0x41, 0x31)); // A=1
  assert.deepEqual(c.finish(), ['A', '1']);
  assert.deepEqual(c.finish(), []);
  c.push(bytes(0x01, 0x01, 0x42, 0x32)); // B=2
  c.push(bytes(0x01, 0x01, 0x43, 0x33)); // C=3
  assert.deepEqual(c.finish(), ['B', '2', 'C', '3']);
});

test('PairCollector: over the limit is PairsTooLong, at the limit is fine', () => {
  const c = new PairCollector(8);
  c.push(bytes(0x01, 0x01, 0x41, 0x31));
  c.push(bytes(0x01, 0x01, 0x42, 0x32)); // 8 bytes: at the limit
  assert.deepEqual(c.finish(), ['A', '1', 'B', '2']);
  const d = new PairCollector(8);
  d.push(bytes(0x01, 0x01, 0x41, 0x31, 0x01));
  assert.throws(() => d.push(bytes(0x01, 0x42, 0x32, 0x00)), isCode(ProtocolErrorCode.PairsTooLong));
});

test('PairCollector: truncated stream is BadPairs at finish', () => {
  const c = new PairCollector(64);
  c.push(bytes(0x01, 0x05, 0x41)); // nlen=1 vlen=5 'A', value missing
  assert.throws(() => c.finish(), isCode(ProtocolErrorCode.BadPairs));
});
