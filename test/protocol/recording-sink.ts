// Test support for the protocol tests: a RecordSink that records every call, a driver
// that feeds chunks (resuming after pauses), and byte builders for hand-written goldens.
// It holds no assertions about the codec; the *.test.ts files do.
import type { RecordSink, ReaderSide, ReaderLimits } from '../../src/protocol/record-reader.js';
import { RecordReader } from '../../src/protocol/record-reader.js';
import type { ProtocolError } from '../../src/protocol/errors.js';
import { RecordType } from '../../src/protocol/constants.js';
import { PairCollector } from '../../src/protocol/pairs.js';

/** One recorded sink call. Stream pieces of one record run are merged (see RecordingSink). */
export type Event =
  | { kind: 'stream'; type: number; id: number; data: Buffer }
  | { kind: 'begin'; id: number; role: number; flags: number }
  | { kind: 'abort'; id: number }
  | { kind: 'end'; id: number; appStatus: number; protocolStatus: number }
  | { kind: 'management'; type: number; content: Buffer }
  | { kind: 'error'; code: string; requestId: number; recordType: number };

export interface SinkOptions {
  /** Ids knowsRequest() answers true for (besides those begun, when trackBegin). */
  known?: readonly number[];
  /** App side: BEGIN_REQUEST makes its id known, as a real application would. */
  trackBegin?: boolean;
  /** Called for each onStream (index counts onStream calls from 0); true = pause. */
  pause?: (index: number, type: number, id: number, data: Buffer) => boolean;
}

/**
 * Records sink calls. Pieces of stream data differ with the chunking, so consecutive
 * non-empty pieces of the same type and id are merged into one event; an empty piece
 * (a stream's closing record) is always its own event. Calls after onProtocolError are
 * counted in `afterError` and otherwise ignored.
 */
export class RecordingSink implements RecordSink {
  private readonly list: Array<Event & { parts?: Buffer[] }> = [];
  private readonly known: Set<number>;
  private readonly trackBegin: boolean;
  private readonly pause: SinkOptions['pause'];
  streamCalls = 0;
  errors: ProtocolError[] = [];
  afterError = 0;
  /** Longest single piece seen by onStream. */
  largestPiece = 0;

  constructor(options: SinkOptions = {}) {
    this.known = new Set(options.known ?? []);
    this.trackBegin = options.trackBegin ?? false;
    this.pause = options.pause;
  }

  /** The recorded events, stream pieces concatenated. */
  get events(): Event[] {
    return this.list.map((e) => {
      if (e.kind !== 'stream' || e.parts === undefined) return e;
      return { kind: 'stream', type: e.type, id: e.id, data: Buffer.concat(e.parts) };
    });
  }

  private note(): boolean {
    if (this.errors.length > 0) {
      this.afterError++;
      return false;
    }
    return true;
  }

  onStream(type: number, id: number, data: Buffer): boolean {
    const index = this.streamCalls++;
    if (!this.note()) return true;
    if (data.length > this.largestPiece) this.largestPiece = data.length;
    const last = this.list[this.list.length - 1];
    if (
      data.length > 0
      && last !== undefined
      && last.kind === 'stream'
      && last.type === type
      && last.id === id
      && last.parts !== undefined
    ) {
      last.parts.push(Buffer.from(data));
    } else if (data.length > 0) {
      this.list.push({ kind: 'stream', type, id, data: Buffer.alloc(0), parts: [Buffer.from(data)] });
    } else {
      this.list.push({ kind: 'stream', type, id, data: Buffer.alloc(0) });
    }
    return this.pause === undefined ? true : !this.pause(index, type, id, data);
  }

  onBeginRequest(id: number, role: number, flags: number): void {
    if (!this.note()) return;
    if (this.trackBegin) this.known.add(id);
    this.list.push({ kind: 'begin', id, role, flags });
  }

  onAbortRequest(id: number): void {
    if (this.note()) this.list.push({ kind: 'abort', id });
  }

  onEndRequest(id: number, appStatus: number, protocolStatus: number): void {
    if (this.note()) this.list.push({ kind: 'end', id, appStatus, protocolStatus });
  }

  onManagement(type: number, content: Buffer): void {
    if (this.note()) this.list.push({ kind: 'management', type, content: Buffer.from(content) });
  }

  knowsRequest(id: number): boolean {
    this.note();
    return this.known.has(id);
  }

  onProtocolError(err: ProtocolError): void {
    this.note();
    this.errors.push(err);
    this.list.push({ kind: 'error', code: err.code, requestId: err.requestId, recordType: err.recordType });
  }
}

/**
 * Pushes each chunk; when push() returns less than the chunk (the sink paused), pushes
 * the rest, as a connection does on resume. Returns the values push() returned, in order.
 */
export function feed(reader: RecordReader, chunks: readonly Buffer[]): number[] {
  const returned: number[] = [];
  for (const chunk of chunks) {
    let rest = chunk;
    for (;;) {
      const used = reader.push(rest);
      returned.push(used);
      if (used > rest.length || used < 0) throw new Error(`push returned ${used} for ${rest.length} bytes`);
      if (used === rest.length) break;
      if (used === 0) throw new Error('push made no progress');
      rest = rest.subarray(used);
    }
  }
  return returned;
}

/** A reader with a fresh recording sink, fed `chunks`; returns the sink. */
export function decode(
  side: ReaderSide,
  chunks: readonly Buffer[],
  options: SinkOptions = {},
  limits: ReaderLimits = {},
): RecordingSink {
  const sink = new RecordingSink(options);
  feed(new RecordReader(sink, side, limits), chunks);
  return sink;
}

/** `buf` cut at the given offsets (sorted, duplicates allowed: empty chunks are kept). */
export function splitAt(buf: Buffer, cuts: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const c of cuts) {
    out.push(buf.subarray(from, c));
    from = c;
  }
  out.push(buf.subarray(from));
  return out;
}

/** `buf` as one-byte chunks. */
export function bytewise(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i++) out.push(buf.subarray(i, i + 1));
  return out;
}

/** Bytes written by hand in a test. */
export const bytes = (...b: number[]): Buffer => Buffer.from(b);

/** ASCII text inside a golden (one byte per character, checked to be ASCII). */
export function ascii(s: string): Buffer {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) throw new Error(`ascii(): non-ASCII in ${JSON.stringify(s)}`);
  }
  return Buffer.from(s, 'latin1');
}

/** Golden pieces joined into one Buffer. */
export const join = (...parts: Uint8Array[]): Buffer => Buffer.concat(parts);

/**
 * A record built by the test, independent of src/protocol (used where a test needs
 * arbitrary padding or invalid fields the writers never produce).
 */
export function rawRecord(type: number, id: number, content: Uint8Array, padding = 0, version = 1): Buffer {
  const out = Buffer.alloc(8 + content.length + padding);
  out[0] = version;
  out[1] = type;
  out[2] = (id >> 8) & 0xff;
  out[3] = id & 0xff;
  out[4] = (content.length >> 8) & 0xff;
  out[5] = content.length & 0xff;
  out[6] = padding;
  out.set(content, 8);
  return out;
}

/**
 * App side of a request preamble: records like RecordingSink and also feeds PARAMS
 * content through a PairCollector, decoding at the empty PARAMS record.
 */
export class PreambleSink extends RecordingSink {
  private readonly collector: PairCollector;
  /** The decoded params, once the empty PARAMS record arrived. */
  params: string[] | null = null;
  /** Content length of each PARAMS piece (one per record when pushed in one chunk). */
  readonly paramsPieces: number[] = [];

  constructor(maxParamsBytes = 1 << 24) {
    super({ trackBegin: true });
    this.collector = new PairCollector(maxParamsBytes);
  }

  override onStream(type: number, id: number, data: Buffer): boolean {
    if (type === RecordType.Params && this.errors.length === 0) {
      if (data.length === 0) this.params = this.collector.finish();
      else {
        this.collector.push(data);
        this.paramsPieces.push(data.length);
      }
    }
    return super.onStream(type, id, data);
  }
}

/** Reads a preamble on the app side; returns the sink. */
export function readPreamble(chunks: readonly Buffer[], maxParamsBytes?: number): PreambleSink {
  const sink = new PreambleSink(maxParamsBytes);
  feed(new RecordReader(sink, 'app'), chunks);
  return sink;
}
