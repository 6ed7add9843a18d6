// RecordReader on valid input, both sides: a hand-written response split at every byte
// position (two and three chunks) and fed byte by byte; pausing (onStream → false) and
// resuming, the empty record included; management records. Malformed input is in
// record-reader-errors.test.ts.
// biome-ignore-all format: golden bytes laid out by hand, one record field group per line with its comment
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordType, Role } from '../../src/protocol/constants.js';
import { RecordReader } from '../../src/protocol/record-reader.js';
import {
  type Event, RecordingSink, ascii, bytes, bytewise, decode, feed, join, rawRecord, splitAt,
} from './recording-sink.js';

/** A response to request 1: STDOUT 'hello', STDERR 'oops', empty STDOUT, END_REQUEST. */
const RESPONSE = bytes(
  0x01, 0x06, 0x00, 0x01, 0x00, 0x05, 0x03, 0x00, // v1 STDOUT id=1 len=5 pad=3
  0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x00, 0x00, 0x00, // 'hello', padding ×3
  0x01, 0x07, 0x00, 0x01, 0x00, 0x04, 0x04, 0x00, // v1 STDERR id=1 len=4 pad=4
  0x6f, 0x6f, 0x70, 0x73, 0x00, 0x00, 0x00, 0x00, // 'oops', padding ×4
  0x01, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, // v1 STDOUT id=1 len=0: end of STDOUT
  0x01, 0x03, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00, // v1 END id=1 len=8 pad=0
  0x00, 0x00, 0x01, 0x2c, 0x00, 0x00, 0x00, 0x00, // appStatus=300 status=REQUEST_COMPLETE
);
const RESPONSE_EVENTS: Event[] = [
  { kind: 'stream', type: RecordType.Stdout, id: 1, data: ascii('hello') },
  { kind: 'stream', type: RecordType.Stderr, id: 1, data: ascii('oops') },
  { kind: 'stream', type: RecordType.Stdout, id: 1, data: Buffer.alloc(0) },
  { kind: 'end', id: 1, appStatus: 300, protocolStatus: 0 },
];
// Offsets in RESPONSE right after each onStream piece of the whole-buffer run.
const AFTER_HELLO = 13, AFTER_OOPS = 28, AFTER_EMPTY = 40;

/** The app side of a request 0x0102: BEGIN, PARAMS A=1, end PARAMS, STDIN 'body!', end STDIN. */
const REQUEST = bytes(
  0x01, 0x01, 0x01, 0x02, 0x00, 0x08, 0x00, 0x00, // v1 BEGIN id=0x0102 len=8 pad=0
  0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, // role=responder flags=KEEP_CONN
  0x01, 0x04, 0x01, 0x02, 0x00, 0x04, 0x04, 0x00, // v1 PARAMS id=0x0102 len=4 pad=4
  0x01, 0x01, 0x41, 0x31, 0x00, 0x00, 0x00, 0x00, // A=1, padding ×4
  0x01, 0x04, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, // v1 PARAMS id=0x0102 len=0
  0x01, 0x05, 0x01, 0x02, 0x00, 0x05, 0x03, 0x00, // v1 STDIN id=0x0102 len=5 pad=3
  0x62, 0x6f, 0x64, 0x79, 0x21, 0x00, 0x00, 0x00, // 'body!', padding ×3
  0x01, 0x05, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, // v1 STDIN id=0x0102 len=0
);
const REQUEST_EVENTS: Event[] = [
  { kind: 'begin', id: 0x0102, role: Role.Responder, flags: 1 },
  { kind: 'stream', type: RecordType.Params, id: 0x0102, data: bytes(0x01, 0x01, 0x41, 0x31) },
  { kind: 'stream', type: RecordType.Params, id: 0x0102, data: Buffer.alloc(0) },
  { kind: 'stream', type: RecordType.Stdin, id: 0x0102, data: ascii('body!') },
  { kind: 'stream', type: RecordType.Stdin, id: 0x0102, data: Buffer.alloc(0) },
];

const client = (chunks: Buffer[]) => decode('client', chunks, { known: [1] });
const app = (chunks: Buffer[]) => decode('app', chunks, { trackBegin: true });

test('client side: the response in one chunk', () => {
  const sink = client([RESPONSE]);
  assert.deepEqual(sink.events, RESPONSE_EVENTS);
  assert.equal(sink.streamCalls, 3);
});

test('client side: the response split in two at every byte position', () => {
  for (let cut = 0; cut <= RESPONSE.length; cut++) {
    assert.deepEqual(client(splitAt(RESPONSE, [cut])).events, RESPONSE_EVENTS, `cut at ${cut}`);
  }
});

test('client side: the response split in three at every pair of positions', () => {
  for (let a = 0; a <= RESPONSE.length; a++) {
    for (let b = a; b <= RESPONSE.length; b++) {
      assert.deepEqual(client(splitAt(RESPONSE, [a, b])).events, RESPONSE_EVENTS, `cuts ${a}, ${b}`);
    }
  }
});

test('client side: the response one byte at a time', () => {
  assert.deepEqual(client(bytewise(RESPONSE)).events, RESPONSE_EVENTS);
});

test('app side: the request at every split, and byte by byte', () => {
  assert.deepEqual(app([REQUEST]).events, REQUEST_EVENTS);
  for (let cut = 0; cut <= REQUEST.length; cut++) {
    assert.deepEqual(app(splitAt(REQUEST, [cut])).events, REQUEST_EVENTS, `cut at ${cut}`);
  }
  assert.deepEqual(app(bytewise(REQUEST)).events, REQUEST_EVENTS);
});

test('reader state: atBoundary between records only', () => {
  const sink = new RecordingSink({ known: [1] });
  const reader = new RecordReader(sink, 'client');
  assert.equal(reader.side, 'client');
  assert.ok(reader.atBoundary);
  const boundaries: number[] = [];
  for (let i = 0; i < RESPONSE.length; i++) {
    reader.push(RESPONSE.subarray(i, i + 1));
    if (reader.atBoundary) boundaries.push(i + 1);
  }
  assert.deepEqual(boundaries, [16, 32, 40, 56]);
  assert.equal(reader.failed, false);
});

test('padding on an empty record and large padding are skipped', () => {
  const wire = join(
    rawRecord(RecordType.Stdout, 1, ascii('a'), 255),        // len=1 pad=255 (legal, if odd)
    rawRecord(RecordType.Stdout, 1, Buffer.alloc(0), 3),     // empty record with pad=3
    rawRecord(RecordType.EndRequest, 1, Buffer.alloc(8), 0),
  );
  const want: Event[] = [
    { kind: 'stream', type: RecordType.Stdout, id: 1, data: ascii('a') },
    { kind: 'stream', type: RecordType.Stdout, id: 1, data: Buffer.alloc(0) },
    { kind: 'end', id: 1, appStatus: 0, protocolStatus: 0 },
  ];
  for (let cut = 0; cut <= wire.length; cut++) assert.deepEqual(client(splitAt(wire, [cut])).events, want);
});

test('pausing: push returns what it consumed; pushing the rest resumes identically', () => {
  const cases: Array<[number, number]> = [[0, AFTER_HELLO], [1, AFTER_OOPS], [2, AFTER_EMPTY]];
  for (const [pauseAt, consumed] of cases) {
    const sink = new RecordingSink({ known: [1], pause: (i) => i === pauseAt });
    const reader = new RecordReader(sink, 'client');
    assert.equal(reader.push(RESPONSE), consumed, `pause on piece ${pauseAt}`);
    assert.deepEqual(sink.events, RESPONSE_EVENTS.slice(0, pauseAt + 1));
    assert.equal(reader.push(RESPONSE.subarray(consumed)), RESPONSE.length - consumed);
    assert.deepEqual(sink.events, RESPONSE_EVENTS, `resumed after piece ${pauseAt}`);
  }
});

test('pausing on the empty record returns right after its header', () => {
  const sink = new RecordingSink({ known: [1], pause: (_i, _t, _id, data) => data.length === 0 });
  const reader = new RecordReader(sink, 'client');
  assert.equal(reader.push(RESPONSE), AFTER_EMPTY);
  assert.equal(sink.events.length, 3);
  assert.ok(reader.atBoundary);
  assert.equal(reader.push(RESPONSE.subarray(AFTER_EMPTY)), 16);
  assert.deepEqual(sink.events, RESPONSE_EVENTS);
});

test('pausing on every piece, at every split, gives the same calls', () => {
  for (let cut = 0; cut <= RESPONSE.length; cut++) {
    const sink = new RecordingSink({ known: [1], pause: () => true });
    const returned = feed(new RecordReader(sink, 'client'), splitAt(RESPONSE, [cut]));
    assert.deepEqual(sink.events, RESPONSE_EVENTS, `cut at ${cut}`);
    assert.ok(returned.length >= 2, 'paused at least once');
  }
  const sink = new RecordingSink({ trackBegin: true, pause: () => true });
  feed(new RecordReader(sink, 'app'), bytewise(REQUEST));
  assert.deepEqual(sink.events, REQUEST_EVENTS);
});

test('pausing mid-record: the rest of the content comes on the next push', () => {
  const sink = new RecordingSink({ known: [1], pause: (i) => i === 0 });
  const reader = new RecordReader(sink, 'client');
  assert.equal(reader.push(RESPONSE.subarray(0, 10)), 10); // header + 'he'; paused, all consumed
  assert.equal(reader.push(RESPONSE.subarray(10)), RESPONSE.length - 10);
  assert.deepEqual(sink.events, RESPONSE_EVENTS);
});

test('requests are told apart by id', () => {
  const wire = join(
    rawRecord(RecordType.Stdout, 1, ascii('one')),
    rawRecord(RecordType.Stdout, 0x0102, ascii('two')),
    rawRecord(RecordType.Stdout, 1, ascii('ONE')),
  );
  assert.deepEqual(decode('client', bytewise(wire), { known: [1, 0x0102] }).events, [
    { kind: 'stream', type: RecordType.Stdout, id: 1, data: ascii('one') },
    { kind: 'stream', type: RecordType.Stdout, id: 0x0102, data: ascii('two') },
    { kind: 'stream', type: RecordType.Stdout, id: 1, data: ascii('ONE') },
  ]);
});

test('app side: GET_VALUES and unknown management types reach onManagement', () => {
  const wire = join(
    bytes(0x01, 0x09, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00), // v1 GET_VALUES id=0 len=16 pad=0
    bytes(0x0e, 0x00), ascii('FCGI_MAX_CONNS'),           // FCGI_MAX_CONNS=
    bytes(0x01, 0x00, 0x00, 0x00, 0x00, 0x02, 0x06, 0x00), // v1 type=0 id=0 len=2 pad=6
    bytes(0xab, 0xcd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00), // content, padding ×6
    bytes(0x01, 0xc8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00), // v1 type=200 id=0 len=0
  );
  const want: Event[] = [
    { kind: 'management', type: RecordType.GetValues, content: join(bytes(0x0e, 0x00), ascii('FCGI_MAX_CONNS')) },
    { kind: 'management', type: 0, content: bytes(0xab, 0xcd) },
    { kind: 'management', type: 200, content: Buffer.alloc(0) },
  ];
  for (let cut = 0; cut <= wire.length; cut++) assert.deepEqual(decode('app', splitAt(wire, [cut])).events, want);
  assert.deepEqual(decode('app', bytewise(wire)).events, want);
});

test('client side: GET_VALUES_RESULT and UNKNOWN_TYPE reach onManagement', () => {
  const wire = join(
    bytes(0x01, 0x0a, 0x00, 0x00, 0x00, 0x12, 0x06, 0x00),  // v1 GET_VALUES_RESULT id=0 len=18 pad=6
    bytes(0x0e, 0x02), ascii('FCGI_MAX_CONNS'), ascii('10'), // FCGI_MAX_CONNS=10
    bytes(0x00, 0x00, 0x00, 0x00, 0x00, 0x00),              // padding ×6
    bytes(0x01, 0x0b, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00),  // v1 UNKNOWN_TYPE id=0 len=8
    bytes(0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00),  // type=42 reserved×7
  );
  const want: Event[] = [
    { kind: 'management', type: RecordType.GetValuesResult,
      content: join(bytes(0x0e, 0x02), ascii('FCGI_MAX_CONNS'), ascii('10')) },
    { kind: 'management', type: RecordType.UnknownType, content: bytes(0x2a, 0, 0, 0, 0, 0, 0, 0) },
  ];
  for (let cut = 0; cut <= wire.length; cut++) assert.deepEqual(decode('client', splitAt(wire, [cut])).events, want);
});

test('management content handed out is a whole record and stays valid after the call', () => {
  const sink = new RecordingSink();
  const reader = new RecordReader(sink, 'app');
  const wire = Buffer.from(join(
    bytes(0x01, 0x09, 0x00, 0x00, 0x00, 0x02, 0x06, 0x00),   // v1 GET_VALUES id=0 len=2 pad=6
    bytes(0x00, 0x00), Buffer.alloc(6)));
  let seen: Buffer | null = null;
  sink.onManagement = (_type, content) => { seen = content; };
  reader.push(wire);
  wire.fill(0xff);
  assert.deepEqual(seen, bytes(0x00, 0x00));
});

test('limits at their edge are accepted', () => {
  const stdout16 = rawRecord(RecordType.Stdout, 1, Buffer.alloc(16, 0x41));
  const sink = decode('client', [stdout16], { known: [1] }, { maxRecordContent: 16 });
  assert.equal(sink.errors.length, 0);
  assert.equal(sink.events.length, 1);
  const gv = rawRecord(RecordType.GetValues, 0, Buffer.alloc(8));
  assert.equal(decode('app', [gv], {}, { maxManagementContent: 8 }).errors.length, 0);
});
