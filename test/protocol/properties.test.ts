// fast-check properties of the codec: decode(encode(x)) = x for stream records and pair
// lists (through the preamble, the app-side reader and PairCollector); any split and any
// pause pattern decode identically; random bytes never throw, never hang, end in at most
// one protocol error and keep the reader's memory within its limits.
// Run counts are chosen to keep the whole protocol suite within ~20 s on 2 cores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RecordType, Role } from '../../src/protocol/constants.js';
import { decodePairs, encodePairs, utf8Length } from '../../src/protocol/pairs.js';
import { measurePreamble, writePreamble } from '../../src/protocol/request-writer.js';
import { frameCopy, frameViews } from '../../src/protocol/stream-writer.js';
import { RecordReader, type ReaderLimits, type ReaderSide } from '../../src/protocol/record-reader.js';
import { type Event, PreambleSink, RecordingSink, bytewise, feed, rawRecord, splitAt } from './recording-sink.js';

const TIMEOUT = { timeout: 60_000 };

/** Deterministic filler: `len` bytes from a seed (cheaper than fast-check arrays of 70000). */
function filled(len: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(len);
  let x = seed | 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5; // xorshift32
    out[i] = x & 0xff;
  }
  return out;
}

/** Cut offsets for a buffer of `len` bytes from arbitrary naturals. */
const cutsFor = (raw: readonly number[], len: number): number[] => raw.map((n) => n % (len + 1)).sort((a, b) => a - b);

const cutsArb = fc.array(fc.nat(), { maxLength: 8 });
const pausesArb = fc.array(fc.boolean(), { maxLength: 12 });
const pauseFrom =
  (pattern: readonly boolean[]) =>
  (i: number): boolean =>
    pattern.length > 0 && pattern[i % pattern.length]!;

test('stream records: decode(frame(x)) = x for any type, id, size and maxRecord', TIMEOUT, () => {
  fc.assert(
    fc.property(
      fc.record({
        side: fc.constantFrom<ReaderSide>('client', 'app'),
        pick: fc.nat(),
        id: fc.integer({ min: 1, max: 65535 }),
        len: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 70_000 })),
        seed: fc.integer(),
        maxRecord: fc.oneof(fc.integer({ min: 8, max: 64 }), fc.integer({ min: 8, max: 65535 })),
        views: fc.boolean(),
        cuts: cutsArb,
        pauses: pausesArb,
      }),
      ({ side, pick, id, len, seed, maxRecord, views, cuts, pauses }) => {
        const types =
          side === 'client'
            ? [RecordType.Stdout, RecordType.Stderr]
            : [RecordType.Params, RecordType.Stdin, RecordType.Data];
        const type = types[pick % types.length]!;
        const data = filled(len, seed);
        const wire = views
          ? Buffer.concat(frameViews(type, id, data, true, maxRecord))
          : frameCopy(type, id, data, true, maxRecord);
        const want: Event[] =
          len > 0
            ? [
                { kind: 'stream', type, id, data },
                { kind: 'stream', type, id, data: Buffer.alloc(0) },
              ]
            : [{ kind: 'stream', type, id, data: Buffer.alloc(0) }];

        const whole = new RecordingSink({ known: [id] });
        feed(new RecordReader(whole, side), [wire]);
        assert.deepEqual(whole.events, want);
        assert.equal(whole.streamCalls, Math.ceil(len / maxRecord) + 1);
        assert.ok(whole.largestPiece <= maxRecord);

        const split = new RecordingSink({ known: [id], pause: pauseFrom(pauses) });
        feed(new RecordReader(split, side), splitAt(wire, cutsFor(cuts, wire.length)));
        assert.deepEqual(split.events, want);
      },
    ),
    { numRuns: 60 },
  );
});

/** Strings whose UTF-8 length lands around the 127/128 boundary, short unicode, and a few > 65535 bytes. */
const pairString = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.integer({ min: 118, max: 132 }), fc.string({ unit: 'binary', maxLength: 3 }))
      .map(([n, s]) => 'a'.repeat(n) + s),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 65_530, max: 70_000 }), fc.string({ unit: 'binary', maxLength: 4 }))
      .map(([n, s]) => s + 'z'.repeat(n) + s),
  },
);
const flatPairs = fc.array(fc.tuple(pairString, pairString), { maxLength: 8 }).map((ps) => ps.flat());

test('pairs: decodePairs(encodePairs(x)) = x', TIMEOUT, () => {
  fc.assert(
    fc.property(flatPairs, (flat) => {
      assert.deepEqual(decodePairs(encodePairs(flat), 1 << 23), flat);
    }),
    { numRuns: 150 },
  );
});

test('pairs: utf8Length = Buffer.byteLength for any UTF-16, lone surrogates included', TIMEOUT, () => {
  const unit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit, maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 })), (s) => {
      assert.equal(utf8Length(s), Buffer.byteLength(s, 'utf8'));
    }),
    { numRuns: 500 },
  );
});

test(
  'pairs: any UTF-16 (lone surrogates too) encodes with measured = written, decoding as Buffer does',
  TIMEOUT,
  () => {
    // Lone surrogates go out as U+FFFD (3 bytes), like Buffer.from(s); the writers check
    // their end offset against the measured size and would throw on a mismatch.
    const unit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    const anyString = fc.string({ unit, maxLength: 140 });
    fc.assert(
      fc.property(fc.array(anyString, { maxLength: 8 }), (strings) => {
        const flat = strings.length % 2 === 0 ? strings : [...strings, ''];
        const asBuffer = flat.map((s) => Buffer.from(s, 'utf8').toString('utf8'));
        assert.deepEqual(decodePairs(encodePairs(flat)), asBuffer);
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.array(anyString, { maxLength: 8 }), fc.integer({ min: 8, max: 64 }), (strings, maxRecord) => {
        const flat = strings.length % 2 === 0 ? strings : [...strings, ''];
        const wire = writePreamble(1, flat, { maxRecord });
        assert.equal(wire.length, measurePreamble(flat, maxRecord));
        const sink = new PreambleSink();
        feed(new RecordReader(sink, 'app'), [wire]);
        assert.deepEqual(
          sink.params,
          flat.map((s) => Buffer.from(s, 'utf8').toString('utf8')),
        );
      }),
      { numRuns: 200 },
    );
  },
);

test('preamble → app-side reader → PairCollector gives back the same list', TIMEOUT, () => {
  fc.assert(
    fc.property(
      flatPairs,
      fc.integer({ min: 1, max: 65535 }),
      fc.oneof(fc.integer({ min: 8, max: 40 }), fc.integer({ min: 8, max: 65535 })),
      fc.constantFrom(Role.Responder, Role.Authorizer, Role.Filter),
      fc.boolean(),
      fc.boolean(),
      cutsArb,
      pausesArb,
      (flat, id, maxRecord, role, keepConn, endStdin, cuts, pauses) => {
        const wire = writePreamble(id, flat, { maxRecord, role, keepConn, endStdin });
        assert.equal(wire.length, measurePreamble(flat, maxRecord) + (endStdin ? 8 : 0));
        const sink = new PreambleSink(1 << 23);
        const pattern = pauseFrom(pauses);
        // Pause through the sink's hook without losing PreambleSink's collecting.
        const onStream = sink.onStream.bind(sink);
        let calls = 0;
        sink.onStream = (type, rid, data) => {
          onStream(type, rid, data);
          return !pattern(calls++);
        };
        feed(new RecordReader(sink, 'app'), splitAt(wire, cutsFor(cuts, wire.length)));
        assert.equal(sink.errors.length, 0);
        assert.deepEqual(sink.params, flat);
        assert.deepEqual(sink.events[0], { kind: 'begin', id, role, flags: keepConn ? 1 : 0 });
        const last = sink.events[sink.events.length - 1]!;
        assert.ok(last.kind === 'stream' && last.data.length === 0);
        assert.equal(last.type, endStdin ? RecordType.Stdin : RecordType.Params);
      },
    ),
    { numRuns: 120 },
  );
});

// A model of valid streams: records the test builds itself (random padding included),
// and the calls they must produce.
interface Rec {
  type: number;
  id: number;
  content: Buffer;
  pad: number;
}

const content = (max: number) => fc.tuple(fc.integer({ min: 0, max }), fc.integer()).map(([n, s]) => filled(n, s));
const pad = fc.oneof(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 255 }));
const clientRec: fc.Arbitrary<Rec> = fc.oneof(
  fc.record({
    type: fc.constantFrom(RecordType.Stdout, RecordType.Stderr),
    id: fc.integer({ min: 1, max: 3 }),
    content: content(300),
    pad,
  }),
  fc.record({
    type: fc.constant(RecordType.EndRequest),
    id: fc.integer({ min: 1, max: 3 }),
    content: fc.uint8Array({ minLength: 8, maxLength: 8 }).map((u) => Buffer.from(u)),
    pad,
  }),
  fc.record({ type: fc.constant(RecordType.GetValuesResult), id: fc.constant(0), content: content(40), pad }),
  fc.record({
    type: fc.constant(RecordType.UnknownType),
    id: fc.constant(0),
    content: fc.uint8Array({ minLength: 8, maxLength: 8 }).map((u) => Buffer.from(u)),
    pad,
  }),
);
const appRec: fc.Arbitrary<Rec> = fc.oneof(
  fc.record({
    type: fc.constantFrom(RecordType.Params, RecordType.Stdin, RecordType.Data),
    id: fc.integer({ min: 1, max: 3 }),
    content: content(300),
    pad,
  }),
  fc.record({
    type: fc.constant(RecordType.AbortRequest),
    id: fc.integer({ min: 1, max: 3 }),
    content: content(0),
    pad,
  }),
  fc.record({ type: fc.constant(RecordType.GetValues), id: fc.constant(0), content: content(40), pad }),
  fc.record({
    type: fc.oneof(fc.constant(0), fc.integer({ min: 12, max: 255 })),
    id: fc.constant(0),
    content: content(40),
    pad,
  }),
);

function modelEvents(recs: readonly Rec[]): Event[] {
  const out: Event[] = [];
  for (const r of recs) {
    const c = r.content;
    switch (r.type) {
      case RecordType.BeginRequest:
        out.push({ kind: 'begin', id: r.id, role: (c[0]! << 8) | c[1]!, flags: c[2]! });
        break;
      case RecordType.AbortRequest:
        out.push({ kind: 'abort', id: r.id });
        break;
      case RecordType.EndRequest:
        out.push({ kind: 'end', id: r.id, appStatus: c.readUInt32BE(0), protocolStatus: c[4]! });
        break;
      case RecordType.Stdout:
      case RecordType.Stderr:
      case RecordType.Params:
      case RecordType.Stdin:
      case RecordType.Data: {
        const last = out[out.length - 1];
        if (
          c.length > 0
          && last?.kind === 'stream'
          && last.type === r.type
          && last.id === r.id
          && last.data.length > 0
        ) {
          last.data = Buffer.concat([last.data, c]);
        } else {
          out.push({ kind: 'stream', type: r.type, id: r.id, data: c });
        }
        break;
      }
      default:
        out.push({ kind: 'management', type: r.type, content: c });
    }
  }
  return out;
}

test('valid streams: the model calls at every split and any pause pattern', TIMEOUT, () => {
  const begins: Rec[] = [1, 2, 3].map((id) => ({
    type: RecordType.BeginRequest,
    id,
    content: Buffer.from([0, 1, 1, 0, 0, 0, 0, 0]),
    pad: 0,
  }));
  fc.assert(
    fc.property(
      fc.constantFrom<ReaderSide>('client', 'app'),
      fc.array(clientRec, { maxLength: 12 }),
      fc.array(appRec, { maxLength: 12 }),
      cutsArb,
      pausesArb,
      (side, clientRecs, appRecs, cuts, pauses) => {
        const recs = side === 'client' ? clientRecs : [...begins, ...appRecs];
        const wire = Buffer.concat(recs.map((r) => rawRecord(r.type, r.id, r.content, r.pad)));
        const want = modelEvents(recs);
        const options = side === 'client' ? { known: [1, 2, 3] } : { trackBegin: true };
        const whole = new RecordingSink(options);
        feed(new RecordReader(whole, side), [wire]);
        assert.deepEqual(whole.events, want);
        const split = new RecordingSink({ ...options, pause: pauseFrom(pauses) });
        feed(new RecordReader(split, side), splitAt(wire, cutsFor(cuts, wire.length)));
        assert.deepEqual(split.events, want);
      },
    ),
    { numRuns: 200 },
  );
});

/** Random garbage, and garbage behind plausible headers (version mostly 1, small ids and lengths). */
const noise = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ maxLength: 4096, size: 'max' }),
  fc
    .array(
      fc.record({
        version: fc.constantFrom(1, 1, 1, 1, 0, 2),
        type: fc.integer({ min: 0, max: 255 }),
        id: fc.integer({ min: 0, max: 3 }),
        len: fc.integer({ min: 0, max: 80 }),
        pad: fc.integer({ min: 0, max: 16 }),
        tail: fc.uint8Array({ maxLength: 100 }),
      }),
      { maxLength: 30 },
    )
    .map((hs) => {
      const parts: Uint8Array[] = [];
      for (const h of hs) {
        parts.push(Uint8Array.from([h.version, h.type, 0, h.id, 0, h.len, h.pad, 0]), h.tail);
      }
      return Uint8Array.from(Buffer.concat(parts));
    }),
);

test('random bytes: no throw, no hang, at most one error, memory within limits', TIMEOUT, () => {
  fc.assert(
    fc.property(
      noise,
      fc.constantFrom<ReaderSide>('client', 'app'),
      fc.boolean(),
      fc.integer({ min: 0, max: 120 }),
      fc.integer({ min: 0, max: 64 }),
      cutsArb,
      pausesArb,
      (raw, side, trackBegin, maxRecordContent, maxManagementContent, cuts, pauses) => {
        const wire = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
        const limits: ReaderLimits = { maxRecordContent, maxManagementContent };
        const runOnce = (chunks: Buffer[], pausing: boolean): RecordingSink => {
          const sink = new RecordingSink({
            known: [1, 2],
            trackBegin,
            ...(pausing ? { pause: pauseFrom(pauses) } : {}),
          });
          const reader = new RecordReader(sink, side, limits);
          // Peeks at the reader's one buffered management record: the only memory that
          // grows with the input. It must never exceed the limit.
          const held = () => (reader as unknown as { management: Buffer | null }).management?.length ?? 0;
          for (const chunk of chunks) {
            let rest = chunk;
            for (let guard = 0; ; guard++) {
              const used = reader.push(rest);
              assert.ok(used >= 0 && used <= rest.length);
              assert.ok(held() <= maxManagementContent, `management buffer ${held()} > ${maxManagementContent}`);
              if (used === rest.length) break;
              assert.ok(used > 0 && guard < rest.length, 'push makes progress');
              rest = rest.subarray(used);
            }
          }
          assert.ok(sink.errors.length <= 1);
          assert.equal(sink.afterError, 0);
          assert.equal(reader.failed, sink.errors.length === 1);
          assert.ok(sink.largestPiece <= maxRecordContent);
          for (const e of sink.events) {
            if (e.kind === 'management') assert.ok(e.content.length <= maxManagementContent);
          }
          return sink;
        };
        const whole = runOnce([wire], false);
        const split = runOnce(splitAt(wire, cutsFor(cuts, wire.length)), true);
        assert.deepEqual(split.events, whole.events);
        if (wire.length <= 512) assert.deepEqual(runOnce(bytewise(wire), false).events, whole.events);
      },
    ),
    { numRuns: 300 },
  );
});
