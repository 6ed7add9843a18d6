// Stream framing (STDIN/STDOUT…): golden bytes by hand for 0/1/7/8/9 content bytes,
// records of exactly maxRecord and maxRecord+1, end records; frameViews equals
// frameCopy and does not copy the payload.
// biome-ignore-all format: golden bytes laid out by hand, one record field group per line with its comment
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_CONTENT, RecordType } from '../../src/protocol/constants.js';
import { frameCopy, frameViews, framedSize, streamEnd, writeFramed } from '../../src/protocol/stream-writer.js';
import { bytes, join } from './recording-sink.js';

/** 1, 2, 3, … n: content bytes that show where each one lands. */
const counting = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i + 1) & 0xff));

const STDIN_GOLDEN: Array<[number, Buffer]> = [
  [0, Buffer.alloc(0)], // nothing: no record (the empty record only ends a stream)
  [1, bytes(
    0x01, 0x05, 0x00, 0x01, 0x00, 0x01, 0x07, 0x00, // v1 STDIN id=1 len=1 pad=7
    0x01,                                           // content
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,       // padding ×7
  )],
  [7, bytes(
    0x01, 0x05, 0x00, 0x01, 0x00, 0x07, 0x01, 0x00, // v1 STDIN id=1 len=7 pad=1
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,       // content
    0x00,                                           // padding ×1
  )],
  [8, bytes(
    0x01, 0x05, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00, // v1 STDIN id=1 len=8 pad=0
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // content
  )],
  [9, bytes(
    0x01, 0x05, 0x00, 0x01, 0x00, 0x09, 0x07, 0x00, // v1 STDIN id=1 len=9 pad=7
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // content
    0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // content, padding ×7
  )],
];

const STDIN_END = bytes(0x01, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00); // v1 STDIN id=1 len=0 pad=0

for (const [n, golden] of STDIN_GOLDEN) {
  test(`STDIN framing of ${n} bytes`, () => {
    const data = counting(n);
    assert.deepEqual(frameCopy(RecordType.Stdin, 1, data), golden);
    assert.deepEqual(frameCopy(RecordType.Stdin, 1, data, true), join(golden, STDIN_END));
    assert.deepEqual(Buffer.concat(frameViews(RecordType.Stdin, 1, data)), golden);
    assert.deepEqual(Buffer.concat(frameViews(RecordType.Stdin, 1, data, true)), join(golden, STDIN_END));
    assert.equal(framedSize(n), golden.length);
  });
}

test('padding is zero even when the allocation was dirty', () => {
  // allocUnsafe may hand out pooled memory: fill the pool with 0xee first.
  for (let i = 0; i < 64; i++) Buffer.allocUnsafe(64).fill(0xee);
  for (let i = 0; i < 64; i++) {
    const framed = frameCopy(RecordType.Stdout, 1, bytes(0xaa));
    assert.deepEqual(framed.subarray(9), Buffer.alloc(7), 'padding bytes');
  }
});

test('empty end records', () => {
  assert.deepEqual(streamEnd(RecordType.Stdin, 1), STDIN_END);
  // v1 STDOUT id=0x0102 len=0
  assert.deepEqual(streamEnd(RecordType.Stdout, 0x0102), bytes(0x01, 0x06, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00));
  // v1 DATA id=65535 len=0
  assert.deepEqual(streamEnd(RecordType.Data, 0xffff), bytes(0x01, 0x08, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00));
  assert.deepEqual(frameCopy(RecordType.Stderr, 2, Buffer.alloc(0), true),
    bytes(0x01, 0x07, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00)); // v1 STDERR id=2 len=0
  const views = frameViews(RecordType.Stderr, 2, Buffer.alloc(0), true);
  assert.equal(views.length, 1);
  assert.deepEqual(views[0], bytes(0x01, 0x07, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00));
  assert.deepEqual(frameViews(RecordType.Stderr, 2, Buffer.alloc(0)), []);
});

test('stream of exactly maxRecord (8) and maxRecord+1 bytes', () => {
  const eight = bytes(
    0x01, 0x06, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00, // v1 STDOUT id=1 len=8 pad=0
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // content
  );
  assert.deepEqual(frameCopy(RecordType.Stdout, 1, counting(8), false, 8), eight);
  const nine = bytes(
    0x01, 0x06, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00, // v1 STDOUT id=1 len=8 pad=0
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // content
    0x01, 0x06, 0x00, 0x01, 0x00, 0x01, 0x07, 0x00, // v1 STDOUT id=1 len=1 pad=7
    0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // content, padding ×7
  );
  assert.deepEqual(frameCopy(RecordType.Stdout, 1, counting(9), false, 8), nine);
  assert.deepEqual(Buffer.concat(frameViews(RecordType.Stdout, 1, counting(9), false, 8)), nine);
  assert.equal(framedSize(9, 8), 32);
});

test('stream with maxRecord 13 (not a multiple of 8) pads every record', () => {
  const framed = frameCopy(RecordType.Stdout, 1, counting(14), true, 13);
  assert.deepEqual(framed, bytes(
    0x01, 0x06, 0x00, 0x01, 0x00, 0x0d, 0x03, 0x00, // v1 STDOUT id=1 len=13 pad=3
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // content
    0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x00, 0x00, 0x00, // content ×5, padding ×3
    0x01, 0x06, 0x00, 0x01, 0x00, 0x01, 0x07, 0x00, // v1 STDOUT id=1 len=1 pad=7
    0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // content, padding ×7
    0x01, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, // v1 STDOUT id=1 len=0: end
  ));
});

test('stream of exactly 65535 and 65536 bytes (default maxRecord)', () => {
  const full = Buffer.alloc(MAX_CONTENT, 0x5a);
  const one = frameCopy(RecordType.Stdin, 1, full);
  assert.equal(one.length, 8 + 65535 + 1);
  // v1 STDIN id=1 len=65535 pad=1
  assert.deepEqual(one.subarray(0, 8), bytes(0x01, 0x05, 0x00, 0x01, 0xff, 0xff, 0x01, 0x00));
  assert.equal(one[8 + 65535], 0x00);                                                         // padding
  assert.ok(one.subarray(8, 8 + 65535).every((b) => b === 0x5a));

  const more = Buffer.alloc(MAX_CONTENT + 1, 0x5a);
  const two = frameCopy(RecordType.Stdin, 1, more, true);
  assert.equal(two.length, 65544 + 16 + 8);
  // v1 STDIN id=1 len=65535 pad=1
  assert.deepEqual(two.subarray(0, 8), bytes(0x01, 0x05, 0x00, 0x01, 0xff, 0xff, 0x01, 0x00));
  assert.deepEqual(two.subarray(65544), bytes(
    0x01, 0x05, 0x00, 0x01, 0x00, 0x01, 0x07, 0x00, // v1 STDIN id=1 len=1 pad=7
    0x5a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // content, padding ×7
    0x01, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, // v1 STDIN id=1 len=0: end
  ));
  assert.deepEqual(Buffer.concat(frameViews(RecordType.Stdin, 1, more, true)), two);
});

test('frameViews equals frameCopy across sizes and record limits, without copying', () => {
  const sizes = [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 100, 1000];
  const limits = [8, 9, 13, 16, 64, 100, 65535];
  for (const n of sizes) {
    const data = counting(n);
    for (const max of limits) {
      for (const end of [false, true]) {
        const copy = frameCopy(RecordType.Stdout, 0x0102, data, end, max);
        const views = frameViews(RecordType.Stdout, 0x0102, data, end, max);
        assert.deepEqual(Buffer.concat(views), copy, `n=${n} max=${max} end=${end}`);
        assert.equal(copy.length, framedSize(n, max) + (end ? 8 : 0));
        // Payload parts are views of `data`, not copies.
        // (Small Buffers share a pool slab, so compare ranges, not just the ArrayBuffer.)
        const payload = views.filter((v) => v.buffer === data.buffer && v.length > 0
          && v.byteOffset >= data.byteOffset && v.byteOffset + v.length <= data.byteOffset + data.length);
        assert.equal(payload.reduce((s, v) => s + v.length, 0), n, `payload views n=${n} max=${max}`);
      }
    }
  }
});

test('writeFramed writes at an offset and returns the end', () => {
  const out = Buffer.alloc(3 + 16 + 2, 0xee);
  const end = writeFramed(out, 3, RecordType.Data, 4, counting(10), 2, 3);
  assert.equal(end, 3 + 16);
  assert.deepEqual(out, bytes(
    0xee, 0xee, 0xee,                               // before `at`: untouched
    0x01, 0x08, 0x00, 0x04, 0x00, 0x03, 0x05, 0x00, // v1 DATA id=4 len=3 pad=5
    0x03, 0x04, 0x05,                               // src[2..5)
    0x00, 0x00, 0x00, 0x00, 0x00,                   // padding ×5
    0xee, 0xee,                                     // after: untouched
  ));
});
