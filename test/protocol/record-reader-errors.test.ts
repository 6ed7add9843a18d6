// RecordReader on malformed input: each case yields exactly one onProtocolError with the
// right code (and request id / record type), nothing after it, and later pushes are
// ignored, however the bytes are split. Valid input is in record-reader.test.ts.
// biome-ignore-all format: golden bytes laid out by hand, one record field group per line with its comment
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordType } from '../../src/protocol/constants.js';
import { ProtocolError, ProtocolErrorCode } from '../../src/protocol/errors.js';
import type { ReaderLimits, ReaderSide } from '../../src/protocol/record-reader.js';
import { RecordReader } from '../../src/protocol/record-reader.js';
import { type Event, RecordingSink, ascii, bytes, bytewise, join, rawRecord, splitAt } from './recording-sink.js';

interface Case {
  name: string;
  side: ReaderSide;
  wire: Buffer;
  code: ProtocolErrorCode;
  requestId: number;
  recordType: number;
  limits?: ReaderLimits;
}

const C = ProtocolErrorCode;
const T = RecordType;

const cases: Case[] = [
  { name: 'version 0', side: 'client', code: C.BadVersion, requestId: 1, recordType: T.Stdout,
    wire: bytes(0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00) },  // v0 STDOUT id=1 len=0
  { name: 'version 2', side: 'client', code: C.BadVersion, requestId: 1, recordType: T.Stdout,
    // v2 STDOUT id=1 len=1 pad=7
    wire: bytes(0x02, 0x06, 0x00, 0x01, 0x00, 0x01, 0x07, 0x00, 0x41, 0, 0, 0, 0, 0, 0, 0) },
  { name: 'version 2 on the app side', side: 'app', code: C.BadVersion, requestId: 1, recordType: T.BeginRequest,
    wire: bytes(0x02, 0x01, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0) }, // v2 BEGIN id=1
  { name: 'content over maxRecordContent', side: 'client', code: C.ContentTooLong, requestId: 1,
    recordType: T.Stdout, limits: { maxRecordContent: 16 },
    wire: join(bytes(0x01, 0x06, 0x00, 0x01, 0x00, 0x11, 0x07, 0x00), Buffer.alloc(24)) },  // v1 STDOUT len=17 pad=7
  { name: 'STDOUT for an unknown request', side: 'client', code: C.UnknownRequest, requestId: 2, recordType: T.Stdout,
    wire: bytes(0x01, 0x06, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00) },  // v1 STDOUT id=2 len=0
  { name: 'END_REQUEST for an unknown request', side: 'client', code: C.UnknownRequest, requestId: 0x0102,
    recordType: T.EndRequest,
    wire: join(bytes(0x01, 0x03, 0x01, 0x02, 0x00, 0x08, 0x00, 0x00), Buffer.alloc(8)) }, // v1 END id=0x0102
  { name: 'STDIN before BEGIN_REQUEST (app side)', side: 'app', code: C.UnknownRequest, requestId: 5,
    recordType: T.Stdin,
    wire: bytes(0x01, 0x05, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00) },  // v1 STDIN id=5 len=0
  { name: 'ABORT_REQUEST for an unknown request', side: 'app', code: C.UnknownRequest, requestId: 3,
    recordType: T.AbortRequest,
    wire: bytes(0x01, 0x02, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00) },  // v1 ABORT id=3
  { name: 'STDIN on the client side', side: 'client', code: C.UnexpectedType, requestId: 1, recordType: T.Stdin,
    wire: bytes(0x01, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00) },  // v1 STDIN id=1
  { name: 'STDOUT on the app side', side: 'app', code: C.UnexpectedType, requestId: 1, recordType: T.Stdout,
    wire: bytes(0x01, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00) },  // v1 STDOUT id=1
  { name: 'BEGIN_REQUEST on the client side', side: 'client', code: C.UnexpectedType, requestId: 1,
    recordType: T.BeginRequest,
    wire: join(bytes(0x01, 0x01, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00), Buffer.alloc(8)) },
  { name: 'type 12 with id 1 (client)', side: 'client', code: C.UnexpectedType, requestId: 1, recordType: 12,
    wire: bytes(0x01, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00) },  // v1 type=12 id=1
  { name: 'type 12 with id 1 (app)', side: 'app', code: C.UnexpectedType, requestId: 1, recordType: 12,
    wire: bytes(0x01, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00) },  // v1 type=12 id=1
  { name: 'type 0 with id 1', side: 'app', code: C.UnexpectedType, requestId: 1, recordType: 0,
    wire: bytes(0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00) },  // v1 type=0 id=1
  { name: 'GET_VALUES with id 1', side: 'app', code: C.UnexpectedType, requestId: 1, recordType: T.GetValues,
    wire: bytes(0x01, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00) },  // v1 GET_VALUES id=1
  { name: 'GET_VALUES_RESULT with id 1', side: 'client', code: C.UnexpectedType, requestId: 1,
    recordType: T.GetValuesResult,
    wire: bytes(0x01, 0x0a, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00) },  // v1 GET_VALUES_RESULT id=1
  { name: 'UNKNOWN_TYPE with id 1', side: 'client', code: C.UnexpectedType, requestId: 1, recordType: T.UnknownType,
    wire: join(bytes(0x01, 0x0b, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00), Buffer.alloc(8)) },
  { name: 'END_REQUEST with id 0', side: 'client', code: C.UnexpectedType, requestId: 0, recordType: T.EndRequest,
    wire: join(bytes(0x01, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00), Buffer.alloc(8)) }, // v1 END id=0
  { name: 'STDOUT with id 0', side: 'client', code: C.UnexpectedType, requestId: 0, recordType: T.Stdout,
    wire: bytes(0x01, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00) },  // v1 STDOUT id=0
  { name: 'BEGIN_REQUEST with id 0', side: 'app', code: C.UnexpectedType, requestId: 0, recordType: T.BeginRequest,
    wire: join(bytes(0x01, 0x01, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00), Buffer.alloc(8)) },
  { name: 'GET_VALUES on the client side', side: 'client', code: C.UnexpectedType, requestId: 0,
    recordType: T.GetValues,
    wire: bytes(0x01, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00) },  // v1 GET_VALUES id=0
  { name: 'GET_VALUES_RESULT on the app side', side: 'app', code: C.UnexpectedType, requestId: 0,
    recordType: T.GetValuesResult,
    wire: bytes(0x01, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00) },  // v1 GET_VALUES_RESULT id=0
  { name: 'unknown type 0 with id 0 on the client side', side: 'client', code: C.UnexpectedType, requestId: 0,
    recordType: 0,
    wire: bytes(0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00) },  // v1 type=0 id=0
  { name: 'unknown type 200 with id 0 on the client side', side: 'client', code: C.UnexpectedType, requestId: 0,
    recordType: 200,
    wire: bytes(0x01, 0xc8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00) },  // v1 type=200 id=0
  { name: 'END_REQUEST with 7 content bytes', side: 'client', code: C.BadRecordLength, requestId: 1,
    recordType: T.EndRequest,
    wire: join(bytes(0x01, 0x03, 0x00, 0x01, 0x00, 0x07, 0x01, 0x00), Buffer.alloc(8)) }, // v1 END id=1 len=7 pad=1
  { name: 'END_REQUEST with 9 content bytes', side: 'client', code: C.BadRecordLength, requestId: 1,
    recordType: T.EndRequest,
    wire: join(bytes(0x01, 0x03, 0x00, 0x01, 0x00, 0x09, 0x07, 0x00), Buffer.alloc(16)) },
  { name: 'ABORT_REQUEST with content', side: 'app', code: C.BadRecordLength, requestId: 1, recordType: T.AbortRequest,
    wire: join(bytes(0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0x07, 0x00), Buffer.alloc(8)) }, // v1 ABORT id=1 len=1 pad=7
  { name: 'BEGIN_REQUEST with 16 content bytes', side: 'app', code: C.BadRecordLength, requestId: 1,
    recordType: T.BeginRequest,
    wire: join(bytes(0x01, 0x01, 0x00, 0x01, 0x00, 0x10, 0x00, 0x00), Buffer.alloc(16)) },
  { name: 'UNKNOWN_TYPE with 7 content bytes', side: 'client', code: C.BadRecordLength, requestId: 0,
    recordType: T.UnknownType,
    wire: join(bytes(0x01, 0x0b, 0x00, 0x00, 0x00, 0x07, 0x01, 0x00), Buffer.alloc(8)) },
  { name: 'GET_VALUES over maxManagementContent', side: 'app', code: C.ContentTooLong, requestId: 0,
    recordType: T.GetValues, limits: { maxManagementContent: 8 },
    wire: join(bytes(0x01, 0x09, 0x00, 0x00, 0x00, 0x09, 0x07, 0x00), Buffer.alloc(16)) }, // v1 GET_VALUES len=9 pad=7
  { name: 'unknown management type over maxManagementContent', side: 'app', code: C.ContentTooLong, requestId: 0,
    recordType: 77, limits: { maxManagementContent: 4 },
    wire: join(bytes(0x01, 0x4d, 0x00, 0x00, 0x00, 0x05, 0x03, 0x00), Buffer.alloc(8)) }, // v1 type=77 len=5 pad=3
  { name: 'GET_VALUES_RESULT over maxManagementContent', side: 'client', code: C.ContentTooLong, requestId: 0,
    recordType: T.GetValuesResult, limits: { maxManagementContent: 100 },
    wire: join(bytes(0x01, 0x0a, 0x00, 0x00, 0xff, 0xff, 0x01, 0x00)) },   // len=65535: rejected at the header
];

/**
 * Sent before every bad record: a valid STDOUT for request 1 (client; the sink knows id 1)
 * or a BEGIN_REQUEST for id 1 (app; the sink then knows id 1).
 */
const prefixFor = (side: ReaderSide): { wire: Buffer; events: Event[] } => side === 'client'
  ? { wire: rawRecord(T.Stdout, 1, ascii('ok'), 6),
      events: [{ kind: 'stream', type: T.Stdout, id: 1, data: ascii('ok') }] }
  : { wire: rawRecord(T.BeginRequest, 1, bytes(0, 1, 0, 0, 0, 0, 0, 0)),
      events: [{ kind: 'begin', id: 1, role: 1, flags: 0 }] };

function run(c: Case, chunks: Buffer[]): { sink: RecordingSink; reader: RecordReader; returned: number[] } {
  const sink = new RecordingSink(c.side === 'client' ? { known: [1] } : { trackBegin: true });
  const reader = new RecordReader(sink, c.side, c.limits);
  const returned = chunks.map((chunk) => reader.push(chunk));
  return { sink, reader, returned };
}

function assertOneError(c: Case, sink: RecordingSink, reader: RecordReader, label: string): void {
  assert.equal(sink.errors.length, 1, `${label}: one error`);
  const err = sink.errors[0]!;
  assert.ok(err instanceof ProtocolError, label);
  assert.equal(err.code, c.code, label);
  assert.equal(err.requestId, c.requestId, `${label}: requestId`);
  assert.equal(err.recordType, c.recordType, `${label}: recordType`);
  assert.ok(err.message.startsWith(c.code), label);
  assert.equal(sink.afterError, 0, `${label}: nothing after the error`);
  assert.equal(reader.failed, true, label);
}

for (const c of cases) {
  test(`protocol error: ${c.name} → ${c.code}`, () => {
    const prefix = prefixFor(c.side);
    // In one chunk; then a valid record and more garbage are ignored.
    const one = run(c, [join(prefix.wire, c.wire)]);
    assertOneError(c, one.sink, one.reader, 'one chunk');
    const trailing = rawRecord(c.side === 'client' ? T.Stdout : T.Stdin, 1, ascii('late'));
    assert.equal(one.reader.push(trailing), trailing.length, 'later pushes are consumed whole');
    assert.equal(one.reader.push(Buffer.alloc(3, 0xff)), 3);
    assertOneError(c, one.sink, one.reader, 'after later pushes');
    const lastEvent = one.sink.events[one.sink.events.length - 1];
    assert.equal(lastEvent?.kind, 'error');

    // Split at every position and byte by byte: same calls.
    const wire = join(prefix.wire, c.wire, trailing);
    const error: Event = { kind: 'error', code: c.code, requestId: c.requestId, recordType: c.recordType };
    const want: Event[] = [...prefix.events, error];
    for (let cut = 0; cut <= wire.length; cut++) {
      const r = run(c, splitAt(wire, [cut]));
      assert.deepEqual(r.sink.events, want, `cut at ${cut}`);
      assertOneError(c, r.sink, r.reader, `cut at ${cut}`);
      assert.deepEqual(r.returned, [cut, wire.length - cut], `cut at ${cut}: push consumes everything`);
    }
    const r = run(c, bytewise(wire));
    assert.deepEqual(r.sink.events, want, 'byte by byte');
  });
}

test('the error is reported once the header is complete, before any content', () => {
  // END_REQUEST with 7 bytes: the error comes with the 8th header byte.
  const sink = new RecordingSink({ known: [1] });
  const reader = new RecordReader(sink, 'client');
  const wire = bytes(0x01, 0x03, 0x00, 0x01, 0x00, 0x07, 0x01, 0x00); // v1 END id=1 len=7 pad=1
  for (let i = 0; i < 7; i++) {
    reader.push(wire.subarray(i, i + 1));
    assert.equal(sink.errors.length, 0, `byte ${i}`);
  }
  reader.push(wire.subarray(7));
  assert.equal(sink.errors.length, 1);
});

test('an error raised while a pause is pending still ends the stream', () => {
  // The sink pauses on 'ok'; the next push meets a bad version.
  const sink = new RecordingSink({ known: [1], pause: () => true });
  const reader = new RecordReader(sink, 'client');
  const wire = join(rawRecord(T.Stdout, 1, ascii('ok'), 6), bytes(0x09, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00));
  const used = reader.push(wire);
  assert.equal(used, 10);
  assert.equal(reader.push(wire.subarray(used)), wire.length - used);
  assert.equal(sink.errors.length, 1);
  assert.equal(sink.errors[0]!.code, C.BadVersion);
});
