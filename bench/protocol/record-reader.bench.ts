// Bench: decoding a 3-record response (STDOUT with a CGI head + 1 KiB body, the empty
// STDOUT, END_REQUEST) that arrives in two socket reads split inside the STDOUT
// content, RecordReader('client') against a naive parser that Buffer.concat's each
// read onto what is left and hands out copied slices. Both feed the same sink.
// Not timed: CGI head parsing (cgi-head has its own concerns) and the socket.
import { type ProtocolError, RecordReader, type RecordSink, RecordType } from '../../src/protocol/index.js';
import { runSuite } from '../harness.js';
import { deepStrictEqual } from 'node:assert/strict';

const ID = 1;

const head =
  'Status: 200 OK\r\nContent-Type: text/html; charset=UTF-8\r\nX-Powered-By: PHP/8.2.7\r\n'
  + 'Cache-Control: no-store, no-cache, must-revalidate\r\n'
  + 'Set-Cookie: PHPSESSID=4f9c2a7be1d04c6f8a3e5b2d7c1a9e60; path=/; HttpOnly\r\n\r\n';
const html = (
  '<!doctype html><html><head><title>Search</title></head><body><ul>' + '<li>Espresso machine, 15 bar</li>'.repeat(40)
).slice(0, 1024);
const stdout = Buffer.from(head + html, 'latin1');

/** The response bytes, by hand: each header is version, type, id (2), length (2), padding, reserved. */
function response(): Buffer {
  const len = stdout.length;
  const pad = (8 - (len % 8)) % 8;
  return Buffer.concat([
    Buffer.from([1, RecordType.Stdout, 0, ID, len >> 8, len & 0xff, pad, 0]),
    stdout,
    Buffer.alloc(pad),
    Buffer.from([1, RecordType.Stdout, 0, ID, 0, 0, 0, 0]), // end of STDOUT
    Buffer.from([1, RecordType.EndRequest, 0, ID, 0, 8, 0, 0]), // END_REQUEST, 8 bytes
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 0]), // appStatus 0, REQUEST_COMPLETE
  ]);
}
const wire = response();
const split = 8 + (stdout.length >> 1);
const reads = [wire.subarray(0, split), wire.subarray(split)];

/** What a consumer does with the content: take its length (the gateway would hand the view on). */
class CountingSink implements RecordSink {
  bytes = 0;
  ends = 0;
  onStream(_type: number, _id: number, data: Buffer): boolean {
    this.bytes += data.length;
    return true;
  }
  onBeginRequest(): void {
    throw new Error('unexpected BEGIN_REQUEST');
  }
  onAbortRequest(): void {
    throw new Error('unexpected ABORT_REQUEST');
  }
  onEndRequest(_id: number, appStatus: number, protocolStatus: number): void {
    this.ends += 1 + appStatus + protocolStatus;
  }
  onManagement(): void {
    throw new Error('unexpected management record');
  }
  knowsRequest(id: number): boolean {
    return id === ID;
  }
  onProtocolError(err: ProtocolError): void {
    throw err;
  }
}

/**
 * Records the decoded content for the same-output check: each stream's bytes joined
 * (the reader hands a record split across reads as two views, the naive parser as
 * one copy), whether it was closed, and END_REQUEST's fields, in arrival order.
 */
class TranscriptSink extends CountingSink {
  readonly streams = new Map<string, Buffer[]>();
  readonly events: string[] = [];
  override onStream(type: number, id: number, data: Buffer): boolean {
    const key = `${type}/${id}`;
    if (!this.streams.has(key)) {
      this.streams.set(key, []);
      this.events.push(`open ${key}`);
    }
    if (data.length === 0) this.events.push(`close ${key}`);
    else this.streams.get(key)!.push(Buffer.from(data));
    return super.onStream(type, id, data);
  }
  override onEndRequest(id: number, appStatus: number, protocolStatus: number): void {
    this.events.push(`end ${id} app=${appStatus} protocol=${protocolStatus}`);
    super.onEndRequest(id, appStatus, protocolStatus);
  }
  decoded(): { events: string[]; streams: Record<string, Buffer> } {
    const streams: Record<string, Buffer> = {};
    for (const [key, parts] of this.streams) streams[key] = Buffer.concat(parts);
    return { events: this.events, streams };
  }
}

/** The naive parser: keep a concatenated backlog, cut whole records off its front. */
class NaiveParser {
  private backlog = Buffer.alloc(0);
  constructor(private readonly sink: RecordSink) {}
  push(chunk: Buffer): void {
    this.backlog = Buffer.concat([this.backlog, chunk]);
    while (this.backlog.length >= 8) {
      const b = this.backlog;
      const type = b[1]!;
      const id = b.readUInt16BE(2);
      const length = b.readUInt16BE(4);
      const total = 8 + length + b[6]!;
      if (b.length < total) break;
      const content = Buffer.from(b.subarray(8, 8 + length));
      this.backlog = b.subarray(total);
      if (type === RecordType.Stdout || type === RecordType.Stderr) this.sink.onStream(type, id, content);
      else if (type === RecordType.EndRequest) this.sink.onEndRequest(id, content.readUInt32BE(0), content[4]!);
      else throw new Error(`naive parser: unexpected type ${type}`);
    }
  }
}

// Same decoded content first: the STDOUT bytes, the closing record, END_REQUEST.
const want = new TranscriptSink();
const candidateCheck = new RecordReader(want, 'client');
for (const r of reads) if (candidateCheck.push(r) !== r.length) throw new Error('reader stopped early');
const got = new TranscriptSink();
const baselineCheck = new NaiveParser(got);
for (const r of reads) baselineCheck.push(r);
deepStrictEqual(got.decoded(), want.decoded());
deepStrictEqual(want.decoded().streams[`${RecordType.Stdout}/${ID}`], stdout);
if (!candidateCheck.atBoundary) throw new Error('reader did not end between records');

const candidateSink = new CountingSink();
const reader = new RecordReader(candidateSink, 'client');
const baselineSink = new CountingSink();
const parser = new NaiveParser(baselineSink);

runSuite({
  suite: 'record-reader',
  input: `3-record response (${stdout.length}-byte STDOUT, empty STDOUT, END_REQUEST), ${wire.length} bytes in 2 reads`,
  candidates: [
    {
      name: 'RecordReader',
      fn: () => {
        candidateSink.bytes = 0;
        reader.push(reads[0]!);
        reader.push(reads[1]!);
        return candidateSink.bytes;
      },
    },
  ],
  baseline: {
    name: 'naive concat',
    fn: () => {
      baselineSink.bytes = 0;
      parser.push(reads[0]!);
      parser.push(reads[1]!);
      return baselineSink.bytes;
    },
  },
});
