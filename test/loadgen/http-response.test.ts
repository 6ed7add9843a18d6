// The load generator's HTTP/1.1 response parser: hand-written responses (Content-Length,
// chunked with extensions and trailers, close-delimited, HEAD, 204/304, 1xx interim,
// HTTP/1.0 keep-alive) split at every byte position; fast-check properties over generated
// responses under any number of splits; and invalid input failing with a reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HttpResponseParser } from '../../src/loadgen/http-response.js';

interface Outcome {
  status: number;
  bodyBytes: number;
  keepAlive: boolean;
  consumed: number;
  complete: boolean;
  error: string | null;
}

/** Feeds `bytes` cut at `cuts`; stops at completion or failure like a connection does. */
function parse(bytes: Buffer, cuts: number[], head = false, eof = false): Outcome {
  const p = new HttpResponseParser();
  p.begin(head);
  let consumed = 0;
  let from = 0;
  for (const to of [...cuts, bytes.length]) {
    if (to < from) continue;
    // Feed as a view at a non-zero offset of a larger buffer, as onread does.
    const chunk = Buffer.concat([Buffer.from('JUNK'), bytes.subarray(from, to), Buffer.from('\nJUNK')]);
    const end = 4 + (to - from);
    const used = p.push(chunk, 4, end);
    consumed += used - 4;
    from = to;
    if (p.complete || p.failed) break;
  }
  if (eof && !p.complete && !p.failed) p.finishAtEof();
  return {
    status: p.status,
    bodyBytes: p.bodyBytes,
    keepAlive: p.keepAlive,
    consumed,
    complete: p.complete,
    error: p.error,
  };
}

function everySplit(bytes: Buffer, expected: Partial<Outcome>, head = false, eof = false): void {
  for (let i = 0; i <= bytes.length; i++) {
    const got = parse(bytes, [i], head, eof);
    for (const [k, v] of Object.entries(expected)) {
      assert.deepEqual(got[k as keyof Outcome], v, `split at ${i}: ${k} ${JSON.stringify(got)}`);
    }
  }
  const bytewise = parse(
    bytes,
    Array.from({ length: bytes.length }, (_, i) => i),
    head,
    eof,
  );
  for (const [k, v] of Object.entries(expected))
    assert.deepEqual(bytewise[k as keyof Outcome], v, `byte by byte: ${k}`);
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

test('Content-Length: status, body bytes, keep-alive; a following response is not consumed', () => {
  const one = b('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello');
  everySplit(one, { status: 200, bodyBytes: 5, keepAlive: true, complete: true, consumed: one.length, error: null });
  const two = Buffer.concat([one, b('HTTP/1.1 200 OK\r\n')]);
  assert.equal(parse(two, []).consumed, one.length);
});

test('chunked with extensions, bare LF line ends and trailers', () => {
  const r = b(
    'HTTP/1.1 201 Created\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 999\r\n\r\n'
      + '4;name=value\r\nWiki\r\n5\npedia\r\nE \r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\n',
  );
  everySplit(r, { status: 201, bodyBytes: 4 + 5 + 14, keepAlive: true, complete: true, consumed: r.length });
});

test('no Content-Length and no chunked: the body runs until the close (and the connection is not kept)', () => {
  const r = b('HTTP/1.1 200 OK\r\nServer: x\r\n\r\nsome body bytes');
  everySplit(r, { status: 200, bodyBytes: 15, keepAlive: false, complete: true }, false, true);
  const cut = parse(r, [], false, false);
  assert.equal(cut.complete, false, 'not complete before the close');
});

test('HEAD, 204 and 304 have no body whatever the fields say', () => {
  everySplit(b('HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n'), { status: 200, bodyBytes: 0, complete: true }, true);
  everySplit(b('HTTP/1.1 204 No Content\r\n\r\n'), { status: 204, bodyBytes: 0, complete: true, keepAlive: true });
  everySplit(b('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n'), {
    status: 304,
    bodyBytes: 0,
    complete: true,
  });
});

test('1xx interim responses are skipped; their bytes still count as consumed', () => {
  const r = b(
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 404 Not '
      + 'Found\r\nContent-Length: 3\r\n\r\nnop',
  );
  everySplit(r, { status: 404, bodyBytes: 3, complete: true, consumed: r.length });
});

test('Connection: close and HTTP/1.0 (keep-alive only when asked)', () => {
  everySplit(b('HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n'), {
    keepAlive: false,
    complete: true,
  });
  everySplit(b('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok'), { keepAlive: false, complete: true, bodyBytes: 2 });
  everySplit(b('HTTP/1.0 200 OK\r\nconnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok'), {
    keepAlive: true,
    complete: true,
  });
});

test('equal repeated Content-Length values are one length (RFC 9110 §8.6)', () => {
  everySplit(b('HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\ncontent-length: 3\r\n\r\nabc'), {
    bodyBytes: 3,
    complete: true,
  });
});

test('invalid responses fail with a reason, at every split', () => {
  const bad: Array<[string, RegExp]> = [
    ['HTTP/2 200 OK\r\n\r\n', /bad status line/],
    ['HTTP/1.1 2x0 OK\r\n\r\n', /bad status code/],
    ['HTTP/1.1 200OK\r\n\r\n', /bad status code/],
    ['garbage\r\n\r\n', /bad status line/],
    ['HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', /bad header line/],
    ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n', /bad Content-Length/],
    ['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', /bad Content-Length/],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /bad chunk size/],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n', /chunk data longer/],
    ['HTTP/1.1 101 Switching Protocols\r\n\r\n', /101/],
  ];
  for (const [text, why] of bad) {
    for (let i = 0; i <= text.length; i++) {
      const got = parse(b(text), [i]);
      assert.match(got.error ?? '', why, `${JSON.stringify(text)} split at ${i}`);
    }
  }
});

test('a head longer than maxHead fails, however it arrives', () => {
  const long = b(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(300)}\r\n\r\n`);
  for (const cuts of [[], [5], [20, 200]]) {
    const p = new HttpResponseParser(256);
    p.begin(false);
    let from = 0;
    for (const to of [...cuts, long.length]) {
      p.push(long, from, to);
      from = to;
      if (p.failed) break;
    }
    assert.match(p.error ?? '', /head longer than 256/);
  }
});

test('describeCut says where a close cut the response', () => {
  const p = new HttpResponseParser();
  p.begin(false);
  assert.equal(p.describeCut(), 'no response');
  const cut = b('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
  p.push(cut, 0, cut.length);
  assert.equal(p.describeCut(), 'inside the body after 3 bytes');
  assert.equal(p.finishAtEof(), false);
});

// Properties: any generated response, cut anywhere any number of times, parses the same.

interface Gen {
  status: number;
  reason: string;
  headers: Array<[string, string]>;
  body: Buffer;
  framing: 'length' | 'chunked' | 'close';
  chunkSizes: number[];
  interim: boolean;
  lf: boolean;
}

const genArb: fc.Arbitrary<Gen> = fc.record({
  status: fc.integer({ min: 200, max: 599 }).filter((s) => s !== 204 && s !== 304),
  reason: fc.stringMatching(/^[A-Za-z ]{0,12}$/),
  headers: fc.array(
    fc.tuple(
      fc.stringMatching(/^X-[A-Za-z0-9-]{1,10}$/),
      fc.stringMatching(/^[ -~]{0,30}$/).map((s) => s.trim()),
    ),
    { maxLength: 5 },
  ),
  body: fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
  framing: fc.constantFrom<'length' | 'chunked' | 'close'>('length', 'chunked', 'close'),
  chunkSizes: fc.array(fc.integer({ min: 1, max: 70 }), { minLength: 1, maxLength: 6 }),
  interim: fc.boolean(),
  lf: fc.boolean(),
});

function serialize(g: Gen): Buffer {
  const nl = g.lf ? '\n' : '\r\n';
  let head = g.interim ? `HTTP/1.1 100 Continue${nl}${nl}` : '';
  head += `HTTP/1.1 ${g.status}${g.reason === '' ? '' : ` ${g.reason}`}${nl}`;
  for (const [n, v] of g.headers) head += `${n}: ${v}${nl}`;
  if (g.framing === 'length') head += `Content-Length: ${g.body.length}${nl}`;
  if (g.framing === 'chunked') head += `Transfer-Encoding: chunked${nl}`;
  head += nl;
  if (g.framing !== 'chunked') return Buffer.concat([b(head), g.body]);
  const parts = [b(head)];
  let at = 0;
  let k = 0;
  while (at < g.body.length) {
    const n = Math.min(g.chunkSizes[k++ % g.chunkSizes.length]!, g.body.length - at);
    parts.push(b(`${n.toString(16)}${nl}`), g.body.subarray(at, at + n), b(nl));
    at += n;
  }
  parts.push(b(`0${nl}${nl}`));
  return Buffer.concat(parts);
}

test('property: any response, cut at any points, gives the same status, body length and framing', {
  timeout: 60_000,
}, () => {
  fc.assert(
    fc.property(genArb, fc.array(fc.nat(), { maxLength: 10 }), (g, raw) => {
      const bytes = serialize(g);
      const cuts = raw.map((n) => n % (bytes.length + 1)).sort((x, y) => x - y);
      const got = parse(bytes, cuts, false, g.framing === 'close');
      assert.equal(got.error, null);
      assert.equal(got.complete, true);
      assert.equal(got.status, g.status);
      assert.equal(got.bodyBytes, g.body.length);
      assert.equal(got.keepAlive, g.framing !== 'close');
      if (g.framing !== 'close') assert.equal(got.consumed, bytes.length);
    }),
    { numRuns: 400 },
  );
});

test('property: every single split point of a generated response parses identically', { timeout: 60_000 }, () => {
  fc.assert(
    fc.property(genArb, (g) => {
      const bytes = serialize(g);
      const whole = parse(bytes, [], false, g.framing === 'close');
      for (let i = 0; i <= bytes.length; i++)
        assert.deepEqual(parse(bytes, [i], false, g.framing === 'close'), whole, `split at ${i}`);
    }),
    { numRuns: 60 },
  );
});

test('property: arbitrary bytes never throw and end complete, failed or waiting', { timeout: 60_000 }, () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 4 }), (u, raw) => {
      const bytes = Buffer.concat([b('HTTP/1.1 200 OK\r\n'), Buffer.from(u)]);
      const cuts = raw.map((n) => n % (bytes.length + 1)).sort((x, y) => x - y);
      const got = parse(bytes, cuts);
      assert.ok(got.consumed <= bytes.length);
      if (got.complete) assert.equal(got.error, null);
    }),
    { numRuns: 300 },
  );
});
