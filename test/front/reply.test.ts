// front/reply.ts (UwsReply) with a recording fake uWS response and a fake UpstreamRequest: the
// lifecycle as one state (each terminal path once, nothing written after an abort), the
// gateway's own answers (sendError: Retry-After, close only when asked, HEAD without a body),
// the app's head and body through the writer, a local redirect captured instead of sent, a
// failure before and after the head, and onFinished exactly once on every path.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CgiHead } from '../../src/cgi/response-head.js';
import { GatewayError } from '../../src/errors.js';
import { ReplyState, UwsReply, type ReplyContext } from '../../src/front/reply.js';
import type { HttpResponse } from '../../src/front/uws.js';
import type { UpstreamRequest } from '../../src/proxy/upstream-request.js';

/** A uWS HttpResponse that records every call in order; writes are always taken whole. */
function fakeResponse() {
  const calls: string[] = [];
  let aborted: (() => void) | null = null;
  const res = {
    cork(fn: () => void) {
      calls.push('cork');
      fn();
      return res;
    },
    writeStatus(s: string) {
      calls.push(`status ${s}`);
      return res;
    },
    writeHeader(k: string, v: string | Buffer) {
      calls.push(`header ${k}: ${v.toString()}`);
      return res;
    },
    write(c: Uint8Array) {
      calls.push(`write ${Buffer.from(c).toString()}`);
      return true;
    },
    tryEnd(c: Uint8Array, total: number) {
      calls.push(`tryEnd ${Buffer.from(c).toString()} /${total}`);
      return [true, true];
    },
    end(body?: string | Uint8Array, close?: boolean) {
      calls.push(`end ${body === undefined ? '' : Buffer.from(body).toString().length}${close ? ' close' : ''}`);
      return res;
    },
    endWithoutBody() {
      calls.push('endWithoutBody');
      return res;
    },
    close() {
      calls.push('close');
      return res;
    },
    onWritable() {
      calls.push('onWritable');
      return res;
    },
    onAborted(cb: () => void) {
      aborted = cb;
      return res;
    },
    getWriteOffset() {
      return 0;
    },
    pause() {
      calls.push('pause');
    },
    resume() {
      calls.push('resume');
    },
  };
  return { res: res as unknown as HttpResponse, calls, abort: () => aborted?.() };
}

function fakeUpstream() {
  const events: string[] = [];
  const up = {
    backend: 'fcgi://127.0.0.1:9000',
    worker: { flushPackets: 'off', flushWaitMs: 0 },
    discardBody() {
      events.push('discardBody');
    },
    abort() {
      events.push('abort');
    },
    finish() {
      events.push('finish');
    },
    resume() {
      events.push('resume');
    },
  };
  return { up: up as unknown as UpstreamRequest, events };
}

function make(method = 'GET') {
  const r = fakeResponse();
  const logs: string[] = [];
  const redirects: string[] = [];
  const ctx: ReplyContext = {
    log: (l) => logs.push(l),
    localRedirect: (_reply, location) => redirects.push(location),
    retryAfterSeconds: 7,
    sendTimeoutMs: 0,
  };
  const reply = new UwsReply(r.res, method, ctx);
  let finished = 0;
  reply.onFinished = () => {
    finished++;
  };
  reply.tag = 'req=t1 GET /x';
  return { reply, ...r, logs, redirects, finished: () => finished };
}

const head = (over: Partial<CgiHead> = {}): CgiHead => ({
  status: 200,
  reason: 'OK',
  statusLine: '200 OK',
  headers: ['Content-Type', 'text/plain'],
  location: null,
  localRedirect: false,
  contentLength: -1,
  hasStatus: false,
  nonAscii: false,
  ...over,
});

describe("the gateway's own answers (sendError)", () => {
  test('503 with Retry-After; the connection stays unless close is asked; onFinished once', () => {
    const t = make();
    t.reply.sendError(503, { retryAfter: true });
    assert.deepEqual(t.calls.slice(0, 4), [
      'cork',
      'status 503 Service Unavailable',
      'header Content-Type: text/html; charset=utf-8',
      'header Retry-After: 7',
    ]);
    assert.match(t.calls.at(-1)!, /^end \d+$/, 'no close flag');
    assert.equal(t.reply.state, ReplyState.Answered);
    assert.equal(t.finished(), 1);
    t.reply.sendError(500); // already answered: nothing more
    assert.equal(t.calls.filter((c) => c.startsWith('status')).length, 1);
    assert.equal(t.finished(), 1);
  });

  test('a header whose value is "close" does not close; close: now does; linger says Connection: close and keeps reading', () => {
    const a = make();
    a.reply.sendError(302, { headers: ['Location', 'close'] });
    assert.ok(a.calls.includes('header Location: close'));
    assert.doesNotMatch(a.calls.at(-1)!, /close$/);
    const b = make();
    b.reply.sendError(400, { close: 'now' });
    assert.match(b.calls.at(-1)!, /^end \d+ close$/);
    const c = make();
    c.reply.sendError(413, { close: 'linger' });
    assert.ok(c.calls.includes('header Connection: close'));
    assert.doesNotMatch(c.calls.at(-1)!, / close$/);
  });

  test("HEAD: the length the page would have, no body; a HEAD that must close ends empty with uWS's close", () => {
    const a = make('HEAD');
    a.reply.sendError(404);
    assert.match(a.calls.at(-2)!, /^header Content-Length: \d+$/);
    assert.equal(a.calls.at(-1), 'endWithoutBody');
    const b = make('HEAD');
    b.reply.sendError(400, { close: 'now' });
    assert.equal(b.calls.at(-1), 'end 0 close');
  });
});

describe("the app's answer", () => {
  test("head, body, end through the writer; X-Request-Id and Vary after the app's headers; the upstream finished once", () => {
    const t = make();
    const u = fakeUpstream();
    t.reply.upstream = u.up;
    t.reply.extraHeaders.push('X-Request-Id', 't1');
    t.reply.onHead(head());
    assert.equal(t.reply.state, ReplyState.Streaming);
    assert.equal(t.reply.onBody(Buffer.from('hello')), true);
    t.reply.onEnd();
    const joined = t.calls.join('|');
    assert.match(joined, /status 200 OK\|header Content-Type: text\/plain\|header X-Request-Id: t1/);
    assert.match(joined, /hello/);
    assert.deepEqual(u.events, ['finish'], 'the upstream is finished once, when the reply completes');
    assert.equal(t.finished(), 1);
  });

  test('a local redirect (Location: /path, no Status) is captured: nothing is written, the body is discarded, the gateway serves the path', () => {
    const t = make();
    const u = fakeUpstream();
    t.reply.upstream = u.up;
    t.reply.onHead(head({ status: 302, localRedirect: true, location: '/other' }));
    assert.equal(t.reply.state, ReplyState.Redirecting);
    t.reply.onBody(Buffer.from('ignored'));
    t.reply.onEnd();
    assert.deepEqual(t.calls, []);
    assert.deepEqual(u.events, ['discardBody']);
    assert.deepEqual(t.redirects, ['/other']);
  });

  test("HEAD: the app's body is discarded, the head goes with endWithoutBody", async () => {
    const t = make('HEAD');
    const u = fakeUpstream();
    t.reply.upstream = u.up;
    t.reply.onHead(head({ contentLength: 12 }));
    t.reply.onEnd();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(u.events.slice(0, 1), ['discardBody']);
    assert.ok(t.calls.includes('header Content-Length: 12'));
    assert.ok(t.calls.includes('endWithoutBody'));
  });

  test("a failure before the head: the gateway's status page, one log line naming the cause", () => {
    const t = make();
    t.reply.upstream = fakeUpstream().up;
    t.reply.onFailure(
      new GatewayError('FCGATE_CONNECT_FAILED', 'fcgi://127.0.0.1:9000', 'connect ECONNREFUSED'),
      false,
    );
    assert.ok(t.calls.some((c) => /^status 50[23] /.test(c)));
    assert.equal(t.logs.length, 1);
    assert.match(
      t.logs[0]!,
      /^FCGATE_CONNECT_FAILED backend=fcgi:\/\/127\.0\.0\.1:9000 req=t1 GET \/x cause="connect ECONNREFUSED"$/,
    );
    assert.equal(t.finished(), 1);
  });

  test("a failure while the head still waits to be written gets the gateway's answer instead", () => {
    const t = make();
    t.reply.upstream = fakeUpstream().up;
    t.reply.onHead(head()); // the head leaves with the first body bytes or at the end of the turn
    t.reply.onFailure(new GatewayError('FCGATE_BAD_CGI_HEADER', 'fcgi://127.0.0.1:9000', 'x'), true);
    assert.deepEqual(
      t.calls.filter((c) => c.startsWith('status')),
      ['status 502 Bad Gateway'],
    );
  });

  test('a failure after the head went out: no second status; the connection is closed so the truncation shows', async () => {
    const t = make();
    t.reply.upstream = fakeUpstream().up;
    t.reply.onHead(head());
    t.reply.onBody(Buffer.from('part'));
    await new Promise((r) => setImmediate(r));
    t.reply.onFailure(new GatewayError('FCGATE_READ_TIMEOUT', 'fcgi://127.0.0.1:9000', 'no data for 60000 ms'), true);
    await new Promise((r) => queueMicrotask(() => r(null)));
    assert.equal(t.calls.filter((c) => c.startsWith('status')).length, 1);
    assert.equal(t.calls.at(-1), 'close');
    assert.match(t.logs[0]!, / after_head=1 /);
    assert.equal(t.finished(), 1);
  });

  test('the client goes away: the upstream is aborted, nothing is written after, onFinished once', () => {
    const t = make();
    const u = fakeUpstream();
    t.reply.upstream = u.up;
    t.reply.onHead(head());
    const before = t.calls.length;
    t.reply.onAborted();
    assert.equal(t.reply.state, ReplyState.Aborted);
    assert.ok(u.events.includes('abort'));
    t.reply.onBody(Buffer.from('late'));
    t.reply.onEnd();
    t.reply.sendError(500);
    t.reply.onAborted();
    assert.equal(t.calls.length, before, 'nothing written after the abort');
    assert.equal(t.finished(), 1);
  });
});
