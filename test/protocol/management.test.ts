// Golden bytes (by hand) for the records outside the byte streams: BEGIN_REQUEST,
// END_REQUEST, ABORT_REQUEST, UNKNOWN_TYPE, GET_VALUES, GET_VALUES_RESULT; and each one
// decoded back through the reader on the side that receives it.
// biome-ignore-all format: golden bytes laid out by hand, one record field group per line with its comment
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLAG_KEEP_CONN, ProtocolStatus, RecordType, Role, ValueName } from '../../src/protocol/constants.js';
import {
  encodeAbortRequest, encodeBeginRequest, encodeEndRequest, encodeGetValues, encodeGetValuesResult,
  encodeUnknownType,
} from '../../src/protocol/management.js';
import { decodePairs } from '../../src/protocol/pairs.js';
import { ascii, bytes, decode, join } from './recording-sink.js';

test('BEGIN_REQUEST: responder, keep-conn off', () => {
  assert.deepEqual(encodeBeginRequest(1, Role.Responder, 0), bytes(
    0x01, 0x01, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00, // v1 BEGIN id=1 len=8 pad=0
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // role=1 (responder) flags=0 reserved×5
  ));
  // The defaults are the same request.
  assert.deepEqual(encodeBeginRequest(1), encodeBeginRequest(1, Role.Responder, 0));
});

test('BEGIN_REQUEST: responder, keep-conn on', () => {
  assert.deepEqual(encodeBeginRequest(1, Role.Responder, FLAG_KEEP_CONN), bytes(
    0x01, 0x01, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00, // v1 BEGIN id=1 len=8 pad=0
    0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, // role=1 flags=KEEP_CONN reserved×5
  ));
});

test('BEGIN_REQUEST: authorizer, id 0x0102', () => {
  assert.deepEqual(encodeBeginRequest(0x0102, Role.Authorizer, 0), bytes(
    0x01, 0x01, 0x01, 0x02, 0x00, 0x08, 0x00, 0x00, // v1 BEGIN id=0x0102 len=8 pad=0
    0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // role=2 (authorizer) flags=0
  ));
});

test('BEGIN_REQUEST: filter, keep-conn on, id 0xffff', () => {
  assert.deepEqual(encodeBeginRequest(0xffff, Role.Filter, FLAG_KEEP_CONN), bytes(
    0x01, 0x01, 0xff, 0xff, 0x00, 0x08, 0x00, 0x00, // v1 BEGIN id=65535 len=8 pad=0
    0x00, 0x03, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, // role=3 (filter) flags=KEEP_CONN
  ));
});

test('END_REQUEST: appStatus 0x01020304, request complete', () => {
  assert.deepEqual(encodeEndRequest(1, 0x01020304, ProtocolStatus.RequestComplete), bytes(
    0x01, 0x03, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00, // v1 END id=1 len=8 pad=0
    0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00, // appStatus=0x01020304 status=0 reserved×3
  ));
});

test('END_REQUEST: each protocol status', () => {
  const statuses: Array<[number, number]> = [
    [ProtocolStatus.RequestComplete, 0x00], [ProtocolStatus.CantMpxConn, 0x01],
    [ProtocolStatus.Overloaded, 0x02], [ProtocolStatus.UnknownRole, 0x03],
  ];
  for (const [status, byte] of statuses) {
    assert.deepEqual(encodeEndRequest(0x0102, 0, status), bytes(
      0x01, 0x03, 0x01, 0x02, 0x00, 0x08, 0x00, 0x00, // v1 END id=0x0102 len=8 pad=0
      0x00, 0x00, 0x00, 0x00, byte, 0x00, 0x00, 0x00, // appStatus=0 status reserved×3
    ), `status ${status}`);
  }
});

test('END_REQUEST: appStatus 0xffffffff and -1 are the same 32 bits', () => {
  const want = bytes(
    0x01, 0x03, 0x00, 0x07, 0x00, 0x08, 0x00, 0x00, // v1 END id=7 len=8 pad=0
    0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, // appStatus=0xffffffff status=OVERLOADED
  );
  assert.deepEqual(encodeEndRequest(7, 0xffffffff, ProtocolStatus.Overloaded), want);
  assert.deepEqual(encodeEndRequest(7, -1, ProtocolStatus.Overloaded), want);
});

test('ABORT_REQUEST', () => {
  // v1 ABORT id=1 len=0 pad=0
  assert.deepEqual(encodeAbortRequest(1), bytes(0x01, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00));
  // v1 ABORT id=0x0102
  assert.deepEqual(encodeAbortRequest(0x0102), bytes(0x01, 0x02, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00));
});

test('UNKNOWN_TYPE answering type 12', () => {
  assert.deepEqual(encodeUnknownType(12), bytes(
    0x01, 0x0b, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, // v1 UNKNOWN_TYPE id=0 len=8 pad=0
    0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // type=12 reserved×7
  ));
});

// FCGI_MAX_CONNS is 14 bytes, FCGI_MAX_REQS 13, FCGI_MPXS_CONNS 15.
const GET_VALUES_GOLDEN = join(
  bytes(0x01, 0x09, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00), // v1 GET_VALUES id=0 len=48 pad=0
  bytes(0x0e, 0x00), ascii('FCGI_MAX_CONNS'),           // name len 14, value len 0, name (16 bytes)
  bytes(0x0d, 0x00), ascii('FCGI_MAX_REQS'),            // name len 13, value len 0, name (15 bytes)
  bytes(0x0f, 0x00), ascii('FCGI_MPXS_CONNS'),          // name len 15, value len 0, name (17 bytes)
);

test('GET_VALUES with the three names', () => {
  const got = encodeGetValues([ValueName.MaxConns, ValueName.MaxReqs, ValueName.MpxsConns]);
  assert.equal(got.length, 56);
  assert.deepEqual(got, GET_VALUES_GOLDEN);
});

const GET_VALUES_RESULT_GOLDEN = join(
  bytes(0x01, 0x0a, 0x00, 0x00, 0x00, 0x35, 0x03, 0x00), // v1 GET_VALUES_RESULT id=0 len=53 pad=3
  bytes(0x0e, 0x02), ascii('FCGI_MAX_CONNS'), ascii('10'), // 14, 2: 18 bytes
  bytes(0x0d, 0x02), ascii('FCGI_MAX_REQS'), ascii('50'),  // 13, 2: 17 bytes
  bytes(0x0f, 0x01), ascii('FCGI_MPXS_CONNS'), ascii('0'), // 15, 1: 18 bytes
  bytes(0x00, 0x00, 0x00),                                 // padding
);

test('GET_VALUES_RESULT', () => {
  const got = encodeGetValuesResult([
    [ValueName.MaxConns, '10'], [ValueName.MaxReqs, '50'], [ValueName.MpxsConns, '0'],
  ]);
  assert.equal(got.length, 64);
  assert.deepEqual(got, GET_VALUES_RESULT_GOLDEN);
});

test('GET_VALUES with no names is an empty management record', () => {
  // v1 GET_VALUES id=0 len=0
  assert.deepEqual(encodeGetValues([]), bytes(0x01, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00));
});

test('management content over 65535 bytes is refused', () => {
  assert.throws(() => encodeGetValuesResult([['X', 'y'.repeat(70000)]]), RangeError);
});

test('app side reads GET_VALUES; client side reads GET_VALUES_RESULT and UNKNOWN_TYPE', () => {
  const app = decode('app', [GET_VALUES_GOLDEN]);
  assert.equal(app.errors.length, 0);
  assert.equal(app.events.length, 1);
  const gv = app.events[0]!;
  assert.ok(gv.kind === 'management');
  assert.equal(gv.type, RecordType.GetValues);
  assert.deepEqual(decodePairs(gv.content),
    ['FCGI_MAX_CONNS', '', 'FCGI_MAX_REQS', '', 'FCGI_MPXS_CONNS', '']);

  const client = decode('client', [GET_VALUES_RESULT_GOLDEN, encodeUnknownType(12)]);
  assert.equal(client.errors.length, 0);
  const [res, unk] = client.events;
  assert.ok(res?.kind === 'management' && unk?.kind === 'management');
  assert.equal(res.type, RecordType.GetValuesResult);
  assert.deepEqual(decodePairs(res.content),
    ['FCGI_MAX_CONNS', '10', 'FCGI_MAX_REQS', '50', 'FCGI_MPXS_CONNS', '0']);
  assert.equal(unk.type, RecordType.UnknownType);
  assert.deepEqual(unk.content, bytes(0x0c, 0, 0, 0, 0, 0, 0, 0)); // type=12 reserved×7
});

test('app side reads BEGIN_REQUEST and ABORT_REQUEST; client side reads END_REQUEST', () => {
  const app = decode('app', [encodeBeginRequest(0x0102, Role.Filter, FLAG_KEEP_CONN), encodeAbortRequest(0x0102)],
    { trackBegin: true });
  assert.deepEqual(app.events, [
    { kind: 'begin', id: 0x0102, role: Role.Filter, flags: FLAG_KEEP_CONN },
    { kind: 'abort', id: 0x0102 },
  ]);
  const client = decode('client', [encodeEndRequest(9, 0x01020304, ProtocolStatus.UnknownRole)], { known: [9] });
  assert.deepEqual(client.events, [
    { kind: 'end', id: 9, appStatus: 0x01020304, protocolStatus: ProtocolStatus.UnknownRole },
  ]);
});
