// ResponseWriter against a recording fake uWS HttpResponse: head then body then end, a
// tryEnd uWS takes only in part (held back, onWritable drains, the app resumes), the chunked
// cork accounting (a chunk past the cork room is cut and the rest goes to a fresh cork), HEAD.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CgiHead } from '../../src/cgi/response-head.js';
import { ResponseWriter, type WriterOwner } from '../../src/front/response-writer.js';
import type { HttpResponse } from '../../src/front/uws.js';

class FakeRes {
  readonly calls: string[] = [];
  readonly body: Buffer[] = [];
  corks = 0;
  depth = 0;
  /** Bytes tryEnd takes per call (Infinity: all). */
  take = Infinity;
  offset = 0;
  writable: ((offset: number) => boolean) | null = null;
  cork(fn: () => void): void {
    this.corks++;
    this.calls.push('cork');
    this.depth++;
    fn();
    this.depth--;
    this.calls.push('uncork');
  }
  writeStatus(s: string): void {
    this.calls.push(`status ${s}`);
  }
  writeHeader(k: string, v: string | Buffer): void {
    this.calls.push(`header ${k}: ${String(v)}`);
  }
  getWriteOffset(): number {
    return this.offset;
  }
  tryEnd(data: Buffer, total: number): [boolean, boolean] {
    const n = Math.min(this.take, data.length);
    this.body.push(Buffer.from(data.subarray(0, n)));
    this.offset += n;
    this.calls.push(`tryEnd ${n}/${data.length}`);
    return [n === data.length, this.offset === total];
  }
  write(data: Buffer): boolean {
    this.body.push(Buffer.from(data));
    this.calls.push(`write ${data.length}${this.depth > 0 ? ' corked' : ''}`);
    return true;
  }
  end(): void {
    this.calls.push('end');
  }
  endWithoutBody(): void {
    this.calls.push('endWithoutBody');
  }
  onWritable(fn: (offset: number) => boolean): void {
    this.writable = fn;
    this.calls.push('onWritable');
  }
}

class Owner implements WriterOwner {
  readonly fake = new FakeRes();
  readonly res = this.fake as unknown as HttpResponse;
  live = true;
  bytesOut = 0;
  events: string[] = [];
  written(): void {
    this.events.push('written');
  }
  resumeApp(): void {
    this.events.push('resumeApp');
  }
  heldBack(): void {
    this.events.push('heldBack');
  }
  tookSome(): void {
    this.events.push('tookSome');
  }
}

function head(contentLength: number, status = 200): CgiHead {
  return {
    status,
    reason: 'OK',
    statusLine: `${status} OK`,
    headers: ['Content-Type', 'text/plain'],
    location: null,
    localRedirect: false,
    contentLength,
    hasStatus: false,
    nonAscii: false,
  } as CgiHead;
}

const bytes = (n: number, seed = 0): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));

describe('ResponseWriter', () => {
  test('known length: head and first body bytes in one cork, then end once', () => {
    const o = new Owner();
    const w = new ResponseWriter(o);
    const data = bytes(10);
    w.start(head(10), [], false, 'auto', 0);
    assert.equal(w.headPending, true);
    assert.equal(w.body(data), true);
    w.end();
    assert.deepEqual(o.fake.calls.slice(0, 4), [
      'cork',
      'status 200 OK',
      'header Content-Type: text/plain',
      'tryEnd 10/10',
    ]);
    assert.deepEqual(Buffer.concat(o.fake.body), data);
    assert.equal(o.bytesOut, 10);
    assert.deepEqual(o.events.filter((e) => e === 'written').length >= 1, true);
  });

  test('a tryEnd uWS takes in part is held back; onWritable sends the rest from the offset and resumes', () => {
    const o = new Owner();
    const w = new ResponseWriter(o);
    const a = bytes(100, 1);
    const b = bytes(50, 2);
    w.start(head(150), [], false, 'auto', 0);
    o.fake.take = 40;
    assert.equal(w.body(a), false, 'the app is held');
    assert.equal(w.blocked, true);
    assert.deepEqual(o.events, ['heldBack']);
    assert.ok(o.fake.writable !== null);
    o.fake.take = Infinity;
    assert.equal(o.fake.writable!(o.fake.offset), true);
    assert.deepEqual(o.events, ['heldBack', 'tookSome', 'resumeApp']);
    assert.equal(w.body(b), true);
    assert.equal(w.blocked, false);
    w.end();
    assert.deepEqual(Buffer.concat(o.fake.body), Buffer.concat([a, b]), 'byte-exact, in order');
    assert.equal(o.events.filter((e) => e === 'written').length >= 1, true);
  });

  // Found by this file: `blocked` stayed true after the drain, so the send watch could time out
  // a client that had taken everything while the app was slow to write more.
  test('known length: once onWritable has drained what was held back, the writer is no longer blocked', () => {
    const o = new Owner();
    const w = new ResponseWriter(o);
    w.start(head(150), [], false, 'auto', 0);
    o.fake.take = 40;
    w.body(bytes(100));
    o.fake.take = Infinity;
    o.fake.writable!(o.fake.offset);
    assert.equal(w.blocked, false);
  });

  test('chunked: a chunk larger than the cork room is cut, the rest written in a fresh cork', () => {
    const o = new Owner();
    const w = new ResponseWriter(o);
    const big = bytes(40_000, 3);
    w.start(head(-1), [], false, 'auto', 0);
    assert.equal(w.body(big), true);
    // No write may push more than the 16 KiB cork buffer into one cork.
    let inCork = 0;
    let corks = 0;
    for (const c of o.fake.calls) {
      if (c === 'cork') {
        inCork = 0;
        corks++;
      }
      const m = /^write (\d+)/.exec(c);
      if (m) {
        inCork += Number(m[1]);
        assert.ok(inCork <= 16 * 1024, `cork ${corks} holds ${inCork} bytes`);
      }
    }
    assert.ok(corks >= 3, 'the rest went to fresh corks');
    assert.deepEqual(Buffer.concat(o.fake.body), big);
    w.end();
    assert.equal(o.fake.calls.at(-2), 'end');
  });

  test("HEAD: the head with the GET's Content-Length, no body, endWithoutBody", async () => {
    const o = new Owner();
    const w = new ResponseWriter(o);
    w.start(head(1234), [], true, 'auto', 0);
    w.end();
    await Promise.resolve();
    assert.ok(o.fake.calls.includes('header Content-Length: 1234'));
    assert.equal(o.fake.calls.filter((c) => c.startsWith('write') || c.startsWith('tryEnd')).length, 0);
    assert.ok(o.fake.calls.includes('endWithoutBody') || o.fake.calls.includes('end'));
  });

  test('nothing is written once the client is gone', async () => {
    const o = new Owner();
    const w = new ResponseWriter(o);
    w.start(head(5), [], false, 'auto', 0);
    o.live = false;
    await Promise.resolve();
    w.end();
    assert.deepEqual(o.fake.calls, []);
  });
});
