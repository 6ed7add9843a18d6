// Bench: demultiplexing one read from a multiplexing app (issue 15 §1): 64 requests open
// on one connection, one chunk carrying each one's STDOUT (head and body), empty STDOUT and
// END_REQUEST, records of different requests interleaved as an app writing concurrently
// sends them; every request ends and gives its id back. Candidate: MuxConnection (runs of
// one id pushed under one cork of that request's client, views of the read, no copy).
// Baseline: the naive way to few corks (parse the read whole, copy each request's bytes
// aside in a Map entry, then one cork per request). Same bytes to the same requests (checked
// first). A naive cork per record costs more corks than both: uWS sends once per cork.
// Not timed: the socket (a stub that takes writes); uWS's corks are counted, not run.
import type net from 'node:net';
import { deepStrictEqual } from 'node:assert/strict';
import { RecordType } from '../../src/protocol/constants.js';
import { encodeEndRequest } from '../../src/protocol/management.js';
import { RecordReader, type RecordSink } from '../../src/protocol/record-reader.js';
import { frameCopy } from '../../src/protocol/stream-writer.js';
import type { ConnectionUser } from '../../src/upstream/connection.js';
import { MuxConnection, type MuxStream } from '../../src/upstream/mux-connection.js';
import { runSuite } from '../harness.js';

const REQUESTS = 64;
const HEAD = Buffer.from('Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\n', 'latin1');
const BODY = Buffer.from('Hello world\n', 'latin1');

/** The chunk for requests 0…63 (ids patched in per round: idAt), interleaved two by two. */
function chunkFor(ids: number[]): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < ids.length; i += 2) {
    const pair = ids.slice(i, i + 2);
    for (const id of pair) parts.push(frameCopy(RecordType.Stdout, id, HEAD));
    for (const id of pair) parts.push(frameCopy(RecordType.Stdout, id, BODY, true), encodeEndRequest(id, 0, 0));
  }
  return Buffer.concat(parts);
}

/** Offsets of every record's id field in a chunk, with the request (0…63) it belongs to. */
function idFields(chunk: Buffer, ids: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let at = 0; at < chunk.length; at += 8 + chunk.readUInt16BE(at + 4) + chunk[at + 6]!) {
    out.push([at + 2, ids.indexOf(chunk.readUInt16BE(at + 2))]);
  }
  return out;
}

/** Both contenders get ids that move on each round, as a connection hands them out: the chunk is re-stamped (same cost both sides). */
function stamp(chunk: Buffer, fields: Array<[number, number]>, ids: ArrayLike<number>): void {
  for (const [at, req] of fields) chunk.writeUInt16BE(ids[req]!, at);
}

/** A socket stub: MuxConnection registers listeners and writes; nothing is sent. */
function stubSocket(): net.Socket {
  const stub = {
    on: () => stub,
    once: () => stub,
    setNoDelay: () => stub,
    pause: () => stub,
    resume: () => stub,
    cork: () => undefined,
    uncork: () => undefined,
    write: () => true,
    destroy: () => stub,
    destroyed: false,
  };
  return stub as unknown as net.Socket;
}

class User implements ConnectionUser {
  bytes = 0;
  corks = 0;
  ended = false;
  release: () => void = () => undefined;
  onStdout(data: Buffer): boolean {
    this.bytes += data.length;
    return true;
  }
  onStdoutEnd(): void {
    /* END_REQUEST decides */
  }
  onStderr(): void {
    /* none here */
  }
  onEndRequest(): void {
    this.ended = true;
    this.release();
  }
  corked(fn: () => void): void {
    this.corks++;
    fn();
  }
  onConnectionFailed(): void {
    throw new Error('no failure expected');
  }
  onWritable(): void {
    /* no writes here */
  }
}

const users = Array.from({ length: REQUESTS }, () => new User());

// Candidate: one MuxConnection for the whole run; each round opens 64 streams, reads one chunk.
const mux = new MuxConnection(stubSocket(), 'bench', REQUESTS, 1 << 20, true);
const streams: MuxStream[] = new Array(REQUESTS);
const first = Array.from({ length: REQUESTS }, (_, i) => i + 1);
const chunk = chunkFor(first);
const fields = idFields(chunk, first);
const muxIds = new Uint16Array(REQUESTS);
for (let i = 0; i < REQUESTS; i++) users[i]!.release = () => mux.release(streams[i]!);

function muxRound(): number {
  for (let i = 0; i < REQUESTS; i++) {
    const s = mux.open();
    streams[i] = s;
    muxIds[i] = s.id;
    s.attach(users[i]!, s.id, 30_000);
  }
  stamp(chunk, fields, muxIds);
  mux.onRead(chunk.length, chunk);
  return mux.streams.size;
}

// Baseline: the naive way to the same end (one cork per request for what one read carries):
// a Map from id to an object per request, ids from a counter; the read is parsed whole, each
// request's STDOUT copied aside, then every request gets its bytes and its end under one cork.
interface Entry {
  user: User;
  lastActive: number;
  out: Buffer[];
  ended: boolean;
}
class NaiveDemux implements RecordSink {
  readonly reader = new RecordReader(this, 'client');
  readonly byId = new Map<number, Entry>();
  nextId = 1;
  private touched: Entry[] = [];
  onStream(type: number, id: number, data: Buffer): boolean {
    const e = this.byId.get(id);
    if (e === undefined) return true;
    e.lastActive = Date.now();
    if (type === RecordType.Stdout && data.length > 0) {
      if (e.out.length === 0 && !e.ended) this.touched.push(e);
      e.out.push(Buffer.from(data));
    }
    return true;
  }
  onEndRequest(id: number): void {
    const e = this.byId.get(id);
    if (e === undefined) return;
    this.byId.delete(id);
    if (e.out.length === 0) this.touched.push(e);
    e.ended = true;
  }
  read(chunk: Buffer): void {
    this.reader.push(chunk);
    for (const e of this.touched) {
      e.user.corked(() => {
        for (const b of e.out) e.user.onStdout(b);
        if (e.ended) e.user.onEndRequest();
      });
    }
    this.touched = [];
  }
  knowsRequest(id: number): boolean {
    return this.byId.has(id);
  }
  onBeginRequest(): void {
    /* client side */
  }
  onAbortRequest(): void {
    /* client side */
  }
  onManagement(): void {
    /* none */
  }
  onProtocolError(): void {
    throw new Error('no protocol error expected');
  }
}
const naive = new NaiveDemux();
const naiveUsers = Array.from({ length: REQUESTS }, () => new User());
const naiveChunk = chunkFor(first);
const naiveIds = new Uint16Array(REQUESTS);

function naiveRound(): number {
  for (let i = 0; i < REQUESTS; i++) {
    const id = naive.nextId;
    naive.nextId = id === 0xffff ? 1 : id + 1;
    naiveIds[i] = id;
    naive.byId.set(id, { user: naiveUsers[i]!, lastActive: Date.now(), out: [], ended: false });
  }
  stamp(naiveChunk, fields, naiveIds);
  naive.read(naiveChunk);
  return naive.byId.size;
}

// Same bytes to the same requests, every request ended, both ways.
muxRound();
naiveRound();
deepStrictEqual(
  users.map((u) => [u.bytes, u.ended]),
  naiveUsers.map((u) => [u.bytes, u.ended]),
);
deepStrictEqual(
  users.every((u) => u.bytes === HEAD.length + BODY.length && u.ended),
  true,
);
deepStrictEqual(mux.streams.size, 0);
console.log(
  `# corks per round: MuxConnection ${users.reduce((n, u) => n + u.corks, 0)}, naive ${naiveUsers.reduce((n, u) => n + u.corks, 0)}`,
);

runSuite({
  suite: 'mux-connection',
  input: `one read carrying ${REQUESTS} requests' STDOUT (head + 12-byte body), empty STDOUT and END_REQUEST, interleaved`,
  candidates: [{ name: 'MuxConnection', fn: muxRound }],
  baseline: { name: 'Map + copies regrouped by id', fn: naiveRound },
});
