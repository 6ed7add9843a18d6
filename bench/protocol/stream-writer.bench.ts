// Bench: framing a 64 KiB request body as STDIN records (65535 + 1 content bytes,
// so two records with padding), frameCopy (one copy into the wire Buffer) and
// frameViews (headers around views, no copy) against a naive Buffer.concat per
// record and of the records. Not timed: the socket write that follows.
import { RecordType, frameCopy, frameViews } from '../../src/protocol/index.js';
import { assertSameBytes, runSuite } from '../harness.js';

const ID = 1;
const BODY_LEN = 64 * 1024;

/** A fixed pseudo-random body (an upload), the same on every run. */
const body = Buffer.allocUnsafe(BODY_LEN);
let seed = 0x2545f491;
for (let i = 0; i < BODY_LEN; i++) {
  seed = (seed * 1103515245 + 12345) >>> 0;
  body[i] = seed >>> 24;
}

/** The naive framer: header, payload slice and padding concatenated per record, then the records. */
function naiveFrame(type: number, id: number, data: Buffer): Buffer {
  const records: Buffer[] = [];
  for (let at = 0; at < data.length; at += 0xffff) {
    const part = data.subarray(at, at + 0xffff);
    const padding = (8 - (part.length % 8)) % 8;
    const header = Buffer.from([1, type, id >> 8, id & 0xff, part.length >> 8, part.length & 0xff, padding, 0]);
    records.push(Buffer.concat([header, part, Buffer.alloc(padding)]));
  }
  return Buffer.concat(records);
}

const copy = (): Buffer => frameCopy(RecordType.Stdin, ID, body);
const views = (): Buffer[] => frameViews(RecordType.Stdin, ID, body);
const baseline = (): Buffer => naiveFrame(RecordType.Stdin, ID, body);

const expected = baseline();
assertSameBytes('frameCopy vs naive framing', copy(), expected);
assertSameBytes('frameViews (joined) vs naive framing', Buffer.concat(views()), expected);

runSuite({
  suite: 'stream-writer',
  input: `STDIN framing of a ${BODY_LEN}-byte body, ${expected.length} wire bytes`,
  candidates: [
    { name: 'frameCopy', fn: () => copy().length },
    { name: 'frameViews', fn: () => views().length },
  ],
  baseline: { name: 'naive concat', fn: () => baseline().length },
});
