// Golden record headers (written by hand), read back and written from one table;
// padding and record-size arithmetic. Stream and request framing live in their own tests.
// biome-ignore-all format: golden bytes laid out by hand, one record field group per line with its comment
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HEADER_LEN, MAX_CONTENT, RecordType } from '../../src/protocol/constants.js';
import { paddingFor, readHeader, recordSize, writeHeader } from '../../src/protocol/header.js';
import { bytes } from './recording-sink.js';

interface Row { name: string; type: number; id: number; len: number; pad: number; wire: Buffer }

const table: Row[] = [
  { name: 'STDOUT id=1 len=5 pad=3', type: RecordType.Stdout, id: 1, len: 5, pad: 3,
    wire: bytes(0x01, 0x06, 0x00, 0x01, 0x00, 0x05, 0x03, 0x00) }, // v1 STDOUT id=1 len=5 pad=3 reserved
  { name: 'BEGIN_REQUEST id=0x0102', type: RecordType.BeginRequest, id: 0x0102, len: 8, pad: 0,
    wire: bytes(0x01, 0x01, 0x01, 0x02, 0x00, 0x08, 0x00, 0x00) }, // v1 BEGIN id=0x0102 len=8 pad=0
  { name: 'STDIN id=0xffff len=0xffff pad=1', type: RecordType.Stdin, id: 0xffff, len: 0xffff, pad: 1,
    wire: bytes(0x01, 0x05, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00) }, // v1 STDIN id=65535 len=65535 pad=1
  { name: 'GET_VALUES id=0 len=0x0100', type: RecordType.GetValues, id: 0, len: 0x0100, pad: 0,
    wire: bytes(0x01, 0x09, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00) }, // v1 GET_VALUES id=0 len=256 pad=0
  { name: 'PARAMS id=0x1234 len=255 pad=1', type: RecordType.Params, id: 0x1234, len: 0x00ff, pad: 1,
    wire: bytes(0x01, 0x04, 0x12, 0x34, 0x00, 0xff, 0x01, 0x00) }, // v1 PARAMS id=0x1234 len=255 pad=1
  { name: 'END_REQUEST id=0x8000', type: RecordType.EndRequest, id: 0x8000, len: 8, pad: 0,
    wire: bytes(0x01, 0x03, 0x80, 0x00, 0x00, 0x08, 0x00, 0x00) }, // v1 END id=32768 len=8 pad=0
  { name: 'STDERR id=0x00ff len=0x0100 pad=7', type: RecordType.Stderr, id: 0x00ff, len: 0x0100, pad: 7,
    wire: bytes(0x01, 0x07, 0x00, 0xff, 0x01, 0x00, 0x07, 0x00) }, // v1 STDERR id=255 len=256 pad=7
  { name: 'empty DATA id=2', type: RecordType.Data, id: 2, len: 0, pad: 0,
    wire: bytes(0x01, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00) }, // v1 DATA id=2 len=0 pad=0
];

for (const row of table) {
  test(`writeHeader: ${row.name}`, () => {
    const out = Buffer.alloc(HEADER_LEN + 4, 0xee);
    const next = writeHeader(out, 2, row.type, row.id, row.len, row.pad);
    assert.equal(next, 2 + HEADER_LEN);
    assert.deepEqual(out.subarray(2, 10), row.wire);
    // Bytes around the header are untouched.
    assert.deepEqual([out[0], out[1], out[10], out[11]], [0xee, 0xee, 0xee, 0xee]);
  });

  test(`readHeader: ${row.name}`, () => {
    const src = Buffer.concat([Buffer.from([0xaa, 0xbb, 0xcc]), row.wire]);
    assert.deepEqual(readHeader(src, 3), {
      version: 1, type: row.type, requestId: row.id, contentLength: row.len, paddingLength: row.pad,
    });
  });
}

test('writeHeader into a plain Uint8Array clears the reserved byte', () => {
  const out = new Uint8Array(8).fill(0xff);
  writeHeader(out, 0, RecordType.AbortRequest, 3, 0, 0);
  // v1 ABORT id=3 len=0 pad=0 reserved=0
  assert.deepEqual(Buffer.from(out), bytes(0x01, 0x02, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00));
});

test('paddingFor brings content to a multiple of 8', () => {
  const expected: Array<[number, number]> = [
    [0, 0], [1, 7], [2, 6], [5, 3], [7, 1], [8, 0], [9, 7], [15, 1], [16, 0], [0xfff8, 0], [MAX_CONTENT, 1],
  ];
  for (const [len, pad] of expected) assert.equal(paddingFor(len), pad, `paddingFor(${len})`);
});

test('recordSize = header + content + padding', () => {
  const expected: Array<[number, number]> = [
    [0, 8], [1, 16], [7, 16], [8, 16], [9, 24], [MAX_CONTENT, 8 + 65535 + 1],
  ];
  for (const [len, size] of expected) assert.equal(recordSize(len), size, `recordSize(${len})`);
});
