// Tests for the CGI header block parser (src/cgi/response-head.ts): every rule, every
// split position, limits as parameters, and a fast-check round trip of random heads.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CgiHeadParser,
  HEAD_ERROR,
  HEAD_INCOMPLETE,
  type CgiHead,
  type CgiHeadError,
  type CgiHeadErrorKind,
} from '../../src/cgi/response-head.js';
import { reasonFor } from '../../src/cgi/status-reasons.js';

type Outcome =
  | { ok: true; body: number; head: CgiHead } // body: absolute offset of the body in the input
  | { ok: false; error: CgiHeadError };

const bytes = (s: string | Buffer): Buffer => (typeof s === 'string' ? Buffer.from(s, 'latin1') : s);

/** Pushes `input` cut at `cuts` (sorted offsets), then finish() if the head never completed. */
function run(
  input: string | Buffer,
  cuts: number[] = [],
  maxHead = 8192,
  parser = new CgiHeadParser(maxHead, maxHead),
): Outcome {
  const buf = bytes(input);
  let from = 0;
  for (const to of [...cuts, buf.length]) {
    const r = parser.push(buf.subarray(from, to));
    if (r === HEAD_ERROR) return { ok: false, error: parser.error! };
    if (r >= 0) return { ok: true, body: from + r, head: parser.result() };
    assert.equal(r, HEAD_INCOMPLETE);
    from = to;
  }
  const err = parser.finish();
  assert.ok(err !== null);
  assert.equal(err, parser.error);
  return { ok: false, error: err };
}

function ok(input: string | Buffer, maxHead = 8192): CgiHead & { body: number } {
  const r = run(input, [], maxHead);
  if (!r.ok) assert.fail(`unexpected error ${r.error.kind}: ${r.error.detail}`);
  return { ...r.head, body: r.body };
}

function fails(input: string | Buffer, kind: CgiHeadErrorKind, maxHead = 8192): CgiHeadError {
  const r = run(input, [], maxHead);
  if (r.ok) assert.fail(`expected ${kind}, got a head: ${JSON.stringify(r.head)}`);
  assert.equal(r.error.code, 'FCGATE_BAD_CGI_HEADER');
  assert.equal(r.error.kind, kind, r.error.detail);
  return r.error;
}

/** Same outcome for every 2-way split and for byte-at-a-time pushes. */
function sameForEverySplit(input: string | Buffer, maxHead = 8192, maxLine = maxHead): Outcome {
  const buf = bytes(input);
  const parser = new CgiHeadParser(maxHead, maxLine);
  const whole = run(buf, [], maxHead, parser);
  for (let cut = 0; cut <= buf.length; cut++) {
    parser.reset(); // one parser reused: reset() must forget everything
    assert.deepEqual(run(buf, [cut], maxHead, parser), whole, `split at ${cut}`);
  }
  const everyByte = Array.from({ length: buf.length }, (_, i) => i + 1).slice(0, -1);
  parser.reset();
  assert.deepEqual(run(buf, everyByte, maxHead, parser), whole, 'byte at a time');
  return whole;
}

describe('CgiHeadParser: basics', () => {
  it('parses a CRLF head and returns the body offset in the same chunk', () => {
    const input = 'Content-Type: text/html\r\nX-A: 1\r\n\r\n<p>hi';
    const h = ok(input);
    assert.equal(h.body, input.indexOf('<p>'));
    assert.equal(h.status, 200);
    assert.equal(h.reason, 'OK');
    assert.equal(h.statusLine, '200 OK');
    assert.equal(h.hasStatus, false);
    assert.deepEqual(h.headers, ['Content-Type', 'text/html', 'X-A', '1']);
    assert.equal(h.location, null);
    assert.equal(h.localRedirect, false);
    assert.equal(h.contentLength, -1);
    assert.equal(h.nonAscii, false);
  });

  it('accepts bare LF line ends, and a mix of both', () => {
    const lf = ok('Content-Type: text/plain\nX-A: 1\n\nbody');
    assert.deepEqual(lf.headers, ['Content-Type', 'text/plain', 'X-A', '1']);
    assert.equal(lf.body, 'Content-Type: text/plain\nX-A: 1\n\n'.length);
    const mixed = ok('Content-Type: text/plain\r\nX-A: 1\n\r\nbody');
    assert.deepEqual(mixed.headers, lf.headers);
    assert.equal(mixed.body, 'Content-Type: text/plain\r\nX-A: 1\n\r\n'.length);
    const mixed2 = ok('Content-Type: text/plain\nX-A: 1\r\n\nbody');
    assert.deepEqual(mixed2.headers, lf.headers);
  });

  it('a head with no body at all ends at the chunk end', () => {
    const h = ok('Status: 204\r\n\r\n');
    assert.equal(h.body, 15);
    assert.equal(h.status, 204);
  });

  it('gives the same result for every split position, CRLF and LF', () => {
    const crlf =
      'Status: 404 Not Found\r\nContent-Type: text/html; charset=utf-8\r\nSet-Cookie: a=1\r\n'
      + 'Set-Cookie: b=2\r\nContent-Length: 5\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nX-Tab:\t v \t\r\n\r\nhello';
    const r = sameForEverySplit(crlf);
    assert.ok(r.ok);
    assert.equal(r.body, crlf.indexOf('hello'));
    assert.deepEqual(r.head.headers, [
      'Content-Type',
      'text/html; charset=utf-8',
      'Set-Cookie',
      'a=1',
      'Set-Cookie',
      'b=2',
      'X-Tab',
      'v',
    ]);
    assert.equal(r.head.contentLength, 5);
    const lf = sameForEverySplit(crlf.replace(/\r\n/g, '\n'));
    assert.ok(lf.ok);
    assert.deepEqual(lf.head, r.head);
    const redirect = sameForEverySplit('Location: /next?x=1\r\n\r\n');
    assert.ok(redirect.ok && redirect.head.localRedirect);
  });

  it('gives the same error for every split position', () => {
    for (const input of [
      'X-A: 1\r\nno colon here\r\n\r\n',
      'X-A: 1\r\n folded\r\n\r\n',
      'Bad Name: 1\r\n\r\n',
      'Status: 1xx\r\n\r\n',
      'Content-Length: 1\r\nContent-Length: 2\r\n\r\n',
      '\r\nbody',
      'X-A: 1\r\nX-B: 2\r\n',
    ]) {
      const r = sameForEverySplit(input);
      assert.equal(r.ok, false, input);
    }
    const big = sameForEverySplit(`X-Big: ${'a'.repeat(100)}\r\n\r\n`, 64);
    assert.ok(!big.ok && big.error.kind === 'too-large');
  });

  it('the head ends at the first empty line; later empty lines are body', () => {
    const input = 'X-A: 1\r\n\r\n\r\nX-B: 2\n\nmore';
    const h = ok(input);
    assert.equal(h.body, 10);
    assert.deepEqual(h.headers, ['X-A', '1']);
  });

  it('keeps nothing that points into a pushed chunk (views are valid only during push)', () => {
    const input = 'Status: 404 Gone Fishing\r\nSet-Cookie: a=1\r\nX-Long-Header-Name: a fairly long value here\r\n\r\n';
    const whole = ok(input);
    for (let cut = 1; cut < input.length; cut++) {
      const p = new CgiHeadParser(8192);
      const first = Buffer.from(input.slice(0, cut), 'latin1');
      const second = Buffer.from(input.slice(cut), 'latin1');
      assert.equal(p.push(first), HEAD_INCOMPLETE);
      first.fill(0x58); // the caller reuses its read buffer
      assert.equal(p.push(second), second.length);
      second.fill(0x58);
      const h = p.result();
      assert.deepEqual({ ...h, body: whole.body }, whole, `split at ${cut}`);
    }
  });

  it('splits in three at every pair of positions (small head)', () => {
    const input = 'Status: 301\r\nLocation: http://x/\n\r\nB';
    const whole = run(input);
    for (let a = 0; a <= input.length; a++) {
      for (let b = a; b <= input.length; b++) assert.deepEqual(run(input, [a, b]), whole, `cuts ${a},${b}`);
    }
  });
});

describe('CgiHeadParser: Status', () => {
  it('code only gets the standard reason', () => {
    const h = ok('Status: 404\r\n\r\n');
    assert.equal(h.status, 404);
    assert.equal(h.reason, 'Not Found');
    assert.equal(h.statusLine, '404 Not Found');
    assert.equal(h.hasStatus, true);
    assert.deepEqual(h.headers, []);
  });

  it("the app's reason is kept as is, custom codes too", () => {
    const a = ok('Status: 404 Not Found\r\n\r\n');
    assert.equal(a.statusLine, '404 Not Found');
    const b = ok('Status: 599 Custom Reason\r\n\r\n');
    assert.equal(b.status, 599);
    assert.equal(b.reason, 'Custom Reason');
    assert.equal(b.statusLine, '599 Custom Reason');
    const c = ok('Status: 200 Fine By Me\r\n\r\n');
    assert.equal(c.reason, 'Fine By Me');
    const d = ok('status:  404 \t  Gone Away  \r\n\r\n'); // extra OWS is normalised
    assert.equal(d.reason, 'Gone Away');
    assert.equal(d.statusLine, '404 Gone Away');
    const e = ok('Status: 418\tTab\r\n\r\n');
    assert.equal(e.statusLine, '418 Tab');
  });

  it('an unknown code without reason gets "" and the status line "599 "', () => {
    const h = ok('Status: 599\r\n\r\n');
    assert.equal(h.status, 599);
    assert.equal(h.reason, '');
    assert.equal(h.statusLine, '599 ');
  });

  it('standard reasons for the common codes', () => {
    const table: Array<[number, string]> = [
      [200, 'OK'],
      [201, 'Created'],
      [204, 'No Content'],
      [206, 'Partial Content'],
      [301, 'Moved Permanently'],
      [302, 'Found'],
      [303, 'See Other'],
      [304, 'Not Modified'],
      [307, 'Temporary Redirect'],
      [308, 'Permanent Redirect'],
      [400, 'Bad Request'],
      [401, 'Unauthorized'],
      [403, 'Forbidden'],
      [404, 'Not Found'],
      [405, 'Method Not Allowed'],
      [409, 'Conflict'],
      [410, 'Gone'],
      [413, 'Content Too Large'],
      [422, 'Unprocessable Content'],
      [429, 'Too Many Requests'],
      [500, 'Internal Server Error'],
      [502, 'Bad Gateway'],
      [503, 'Service Unavailable'],
      [504, 'Gateway Timeout'],
    ];
    for (const [code, reason] of table) {
      assert.equal(reasonFor(code), reason);
      assert.equal(ok(`Status: ${code}\n\n`).statusLine, `${code} ${reason}`);
    }
    assert.equal(reasonFor(299), '');
  });

  it('rejects what is not a 3-digit code', () => {
    for (const v of ['abc', '20', '2000', '200OK', '', '-20', '2x0', '20 0', '099', '000', '+200']) {
      fails(`Status: ${v}\r\n\r\n`, 'bad-status');
    }
  });

  it('rejects codes of 600 and more (issue 9: Apache passes 999 on)', () => {
    for (const v of ['600', '999 X', '700 Custom Reason', '600\tTab']) {
      const e = fails(`Status: ${v}\r\n\r\n`, 'bad-status');
      assert.match(e.detail, /outside 100-599/);
    }
    assert.equal(ok('Status: 599 Edge\r\n\r\n').status, 599);
    assert.equal(sameForEverySplit('X-A: 1\r\nStatus: 999 X\r\n\r\nbody').ok, false);
  });

  it('rejects 1xx (502, the table)', () => {
    for (const v of ['100', '101 Switching Protocols', '103', '199'])
      fails(`Status: ${v}\r\n\r\n`, 'informational-status');
  });

  it('the last Status wins (Apache)', () => {
    assert.equal(ok('Status: 404\r\nStatus: 410\r\n\r\n').status, 410);
  });
});

describe('CgiHeadParser: Location', () => {
  it('a local path without Status is a local redirect with the 302 placeholder', () => {
    const h = ok('Location: /other/page.php?x=1\r\n\r\n');
    assert.equal(h.localRedirect, true);
    assert.equal(h.location, '/other/page.php?x=1');
    assert.equal(h.status, 302);
    assert.equal(h.statusLine, '302 Found');
    assert.equal(h.hasStatus, false);
    assert.deepEqual(h.headers, ['Location', '/other/page.php?x=1']);
  });

  it('an absolute URL without Status is 302 Found (RFC 3875 §6.2.3)', () => {
    const h = ok('Location: https://example.com/x\r\nContent-Type: text/html\r\n\r\n');
    assert.equal(h.localRedirect, false);
    assert.equal(h.status, 302);
    assert.equal(h.reason, 'Found');
    assert.deepEqual(h.headers, ['Location', 'https://example.com/x', 'Content-Type', 'text/html']);
  });

  it('"//host/path" is a network-path reference: a client redirect, not local', () => {
    const h = ok('Location: //evil.example/x\r\n\r\n');
    assert.equal(h.localRedirect, false);
    assert.equal(h.status, 302);
  });

  it('with a Status the status is kept and nothing is local', () => {
    for (const code of [301, 201, 200, 303]) {
      const h = ok(`Status: ${code}\r\nLocation: /x\r\n\r\n`);
      assert.equal(h.status, code);
      assert.equal(h.localRedirect, false);
      assert.equal(h.location, '/x');
    }
    assert.equal(ok('Location: /x\r\nStatus: 301\r\n\r\n').status, 301); // order does not matter
  });

  it('the last Location wins, in the place of the first', () => {
    const h = ok('Location: /a\r\nX-A: 1\r\nlocation: /b\r\n\r\n');
    assert.equal(h.location, '/b');
    assert.deepEqual(h.headers, ['location', '/b', 'X-A', '1']);
  });

  it('an empty Location is ignored', () => {
    const h = ok('Location:  \r\nContent-Type: text/plain\r\n\r\n');
    assert.equal(h.location, null);
    assert.equal(h.status, 200);
    assert.deepEqual(h.headers, ['Content-Type', 'text/plain']);
  });
});

describe('CgiHeadParser: fields', () => {
  it('drops hop-by-hop and framing fields, any case', () => {
    const h = ok(
      'Transfer-Encoding: chunked\r\nCONNECTION: keep-alive\r\nkeep-alive: timeout=5\r\nUpgrade: h2c\r\n'
        + 'Proxy-Connection: close\r\nTE: trailers\r\nTrailer: X-T\r\ncontent-length: 10\r\nX-Keep: yes\r\n\r\n',
    );
    assert.deepEqual(h.headers, ['X-Keep', 'yes']);
    assert.equal(h.contentLength, 10);
  });

  it('drops front-server instructions (X-Sendfile, X-Sendfile2, X-LIGHTTPD-send-file, X-Accel-*), any case (issue 9)', () => {
    const h = ok(
      'X-Sendfile: /etc/passwd\r\nx-accel-redirect: /internal/x\r\nX-LIGHTTPD-send-file: /etc/shadow\r\n'
        + 'X-Sendfile2: /etc/passwd 0-\r\nX-Accel-Buffering: no\r\nX-ACCEL-LIMIT-RATE: 1\r\nX-Accel: kept\r\n'
        + 'X-Sendfile-Type: kept\r\nX-Accelerated: kept\r\nX-Keep: yes\r\n\r\n',
    );
    assert.deepEqual(h.headers, [
      'X-Accel',
      'kept',
      'X-Sendfile-Type',
      'kept',
      'X-Accelerated',
      'kept',
      'X-Keep',
      'yes',
    ]);
    // The same for every split of the head.
    const w = sameForEverySplit('X-Sendfile: /a\r\nX-Accel-Redirect: /b\r\nX-Other: 1\r\n\r\n');
    assert.ok(w.ok && w.head.headers.join() === 'X-Other,1', JSON.stringify(w));
  });

  it('drops the fields Connection names, before or after it; Location stays', () => {
    const h = ok(
      'X-Before: 1\r\nConnection: close, x-before ,X-After\r\nConnection: location\r\nX-After: 2\r\n'
        + 'Location: /x\r\nX-Other: 3\r\n\r\n',
    );
    assert.deepEqual(h.headers, ['Location', '/x', 'X-Other', '3']);
    assert.equal(h.localRedirect, true);
  });

  it('keeps several Set-Cookie in order, and other repeats as separate entries', () => {
    const h = ok(
      'Set-Cookie: a=1; Path=/\r\nX-Multi: one\r\nSet-Cookie: b=2\r\nX-Multi: two\r\nSet-Cookie: c=3\r\n'
        + 'Vary: Cookie\r\nVary: Accept\r\n\r\n',
    );
    assert.deepEqual(h.headers, [
      'Set-Cookie',
      'a=1; Path=/',
      'X-Multi',
      'one',
      'Set-Cookie',
      'b=2',
      'X-Multi',
      'two',
      'Set-Cookie',
      'c=3',
      'Vary',
      'Cookie',
      'Vary',
      'Accept',
    ]);
  });

  it('the last Content-Type wins (Apache), in the place of the first', () => {
    const h = ok('Content-Type: text/plain\r\nX-A: 1\r\ncontent-type: text/html\r\n\r\n');
    assert.deepEqual(h.headers, ['content-type', 'text/html', 'X-A', '1']);
  });

  it('keeps names as written, trims values of OWS, keeps empty values and inner spaces', () => {
    const h = ok('x-LoWeR_Mixed.Name~: \t  a  b\t \r\nX-Empty:\r\nX-Spaces:    \r\nX-Colon: a:b: c\r\n\r\n');
    assert.deepEqual(h.headers, ['x-LoWeR_Mixed.Name~', 'a  b', 'X-Empty', '', 'X-Spaces', '', 'X-Colon', 'a:b: c']);
  });

  it('keeps value bytes >= 0x80 as latin1 chars and says so', () => {
    const raw = Buffer.concat([
      Buffer.from('X-Utf8: caf'),
      Buffer.from([0xc3, 0xa9]),
      Buffer.from('\r\nX-L1: '),
      Buffer.from([0xff, 0x80]),
      Buffer.from('\r\n\r\n'),
    ]);
    const h = ok(raw);
    assert.equal(h.nonAscii, true);
    assert.deepEqual(Buffer.from(h.headers[1]!, 'latin1'), Buffer.from('café')); // the exact UTF-8 bytes back
    assert.deepEqual(Buffer.from(h.headers[3]!, 'latin1'), Buffer.from([0xff, 0x80]));
    const reason = ok(Buffer.concat([Buffer.from('Status: 200 '), Buffer.from([0xe9]), Buffer.from('\n\n')]));
    assert.equal(reason.nonAscii, true);
    assert.equal(reason.reason, '\u00e9');
  });

  it('a head of fields that are all dropped is still a head', () => {
    const h = ok('Content-Length: 0\r\n\r\n');
    assert.deepEqual(h.headers, []);
    assert.equal(h.contentLength, 0);
  });
});

describe('CgiHeadParser: Content-Length', () => {
  it('captures it; identical repeats and lists are fine', () => {
    assert.equal(ok('Content-Length: 1234\r\n\r\n').contentLength, 1234);
    assert.equal(ok('Content-Length: 0\r\n\r\n').contentLength, 0);
    assert.equal(ok('Content-Length: 007\r\n\r\n').contentLength, 7);
    assert.equal(ok('Content-Length: 5\r\ncontent-length: 5\r\n\r\n').contentLength, 5);
    assert.equal(ok('Content-Length: 5, 5 ,5\r\n\r\n').contentLength, 5);
    assert.equal(ok(`Content-Length: ${Number.MAX_SAFE_INTEGER}\r\n\r\n`).contentLength, Number.MAX_SAFE_INTEGER);
  });

  it('rejects conflicting repeats and bad values', () => {
    fails('Content-Length: 5\r\nContent-Length: 6\r\n\r\n', 'bad-content-length');
    for (const v of [
      '',
      'abc',
      '-1',
      '+5',
      '5 6',
      '5,6',
      '5,',
      ',5',
      '1.5',
      '0x10',
      '5;',
      `${Number.MAX_SAFE_INTEGER + 1}`,
      '9'.repeat(30),
    ]) {
      fails(`Content-Length: ${v}\r\n\r\n`, 'bad-content-length');
    }
  });
});

describe('CgiHeadParser: syntax errors', () => {
  it('line without colon', () => {
    fails('Content-Type: text/html\r\nHello world\r\n\r\n', 'no-colon');
    fails('<html><body>hi</body></html>\n\n', 'no-colon');
    fails('HTTP/1.1 200 OK\r\n\r\n', 'no-colon');
    const e = fails('X-A: 1\r\nHello\r\n\r\n', 'no-colon');
    assert.match(e.detail, /line 2/);
    assert.match(e.detail, /"Hello"/);
  });

  it('obs-fold (a line starting with SP or HTAB)', () => {
    fails('X-A: 1\r\n continued\r\n\r\n', 'obs-fold');
    fails('X-A: 1\r\n\tcontinued\r\n\r\n', 'obs-fold');
    fails(' X-A: 1\r\n\r\n', 'obs-fold');
  });

  it('names with a space, a control char, a separator, or a space before the colon', () => {
    fails('Bad Name: 1\r\n\r\n', 'bad-name');
    fails('X-A : 1\r\n\r\n', 'bad-name');
    fails('X-A\t: 1\r\n\r\n', 'bad-name');
    fails('X\x01A: 1\r\n\r\n', 'bad-name');
    fails('X(A): 1\r\n\r\n', 'bad-name');
    fails('X\u00e9: 1\r\n\r\n', 'bad-name');
  });

  it('empty name', () => {
    fails(': value\r\n\r\n', 'empty-name');
    fails('X-A: 1\r\n:\r\n\r\n', 'empty-name');
  });

  it('control characters in a value (CR and NUL would split the response)', () => {
    fails('X-A: a\rb\r\n\r\n', 'bad-value');
    fails('X-A: a\x00b\r\n\r\n', 'bad-value');
    fails('X-A: a\x7fb\r\n\r\n', 'bad-value');
    fails('X-A: a\x1bb\r\n\r\n', 'bad-value');
    assert.deepEqual(ok('X-A: a\tb\r\n\r\n').headers, ['X-A', 'a\tb']);
  });

  it('a bare CR as the line end is a control char in the value, not a line end', () => {
    fails('X-A: 1\rX-B: 2\r\n\r\n', 'bad-value');
  });
});

describe('CgiHeadParser: missing or unterminated head', () => {
  it('no STDOUT at all → finish() error', () => {
    const p = new CgiHeadParser(8192);
    assert.equal(p.finish()?.kind, 'no-output');
    const q = new CgiHeadParser(8192);
    assert.equal(q.push(Buffer.alloc(0)), HEAD_INCOMPLETE);
    assert.equal(q.finish()?.kind, 'no-output');
  });

  it('an unterminated head or output without a head block → finish() error', () => {
    fails('Content-Type: text/plain\r\nX-A: 1\r\n', 'unterminated');
    fails('Content-Type: text/plain', 'unterminated');
    fails('just some text without a line end', 'unterminated');
    fails('Content-Type: text/plain\r\n\r', 'unterminated');
  });

  it('a head that starts with the blank line is an error (RFC 3875 §6.2: at least one field)', () => {
    fails('\r\nbody', 'empty-head');
    fails('\nbody', 'empty-head');
  });

  it('finish() after a complete head returns null; push() after it says all is body', () => {
    const p = new CgiHeadParser(8192);
    assert.equal(p.push(Buffer.from('X-A: 1\n\nab')), 8);
    assert.equal(p.complete, true);
    assert.equal(p.finish(), null);
    assert.equal(p.push(Buffer.from('more body\n\n')), 0);
    assert.equal(p.error, null);
  });

  it('after an error push() keeps returning -2 and finish() the same error', () => {
    const p = new CgiHeadParser(8192);
    assert.equal(p.push(Buffer.from('nope\n')), HEAD_ERROR);
    const e = p.error;
    assert.equal(e?.kind, 'no-colon');
    assert.equal(p.push(Buffer.from('X-A: 1\n\n')), HEAD_ERROR);
    assert.equal(p.finish(), e);
    assert.throws(() => p.result());
  });

  it('reset() makes the parser reusable after an error and after a head; results survive it', () => {
    const p = new CgiHeadParser(64);
    assert.equal(p.push(Buffer.from(`X-Big: ${'a'.repeat(80)}`)), HEAD_ERROR);
    p.reset();
    assert.equal(p.error, null);
    assert.equal(p.push(Buffer.from('Status: 404\r\nX-A: ')), HEAD_INCOMPLETE);
    assert.equal(p.push(Buffer.from('1\r\n\r\n')), 5);
    const first = p.result();
    p.reset();
    assert.equal(p.push(Buffer.from('Location: /a\n\n')), 14);
    const second = p.result();
    assert.deepEqual(first.headers, ['X-A', '1']);
    assert.equal(first.status, 404);
    assert.equal(second.status, 302);
    assert.equal(second.localRedirect, true);
    assert.equal(second.contentLength, -1);
  });

  it('rejects a maxHead that is not a positive integer', () => {
    assert.throws(() => new CgiHeadParser(0), RangeError);
    assert.throws(() => new CgiHeadParser(1.5), RangeError);
  });
});

describe('CgiHeadParser: limits', () => {
  const header = (size: number): string => `X-Big: ${'v'.repeat(size - 'X-Big: '.length)}\r\n`;

  it('an 8000-byte header is fine and a 10 000-byte one is not (maxHead 8192)', () => {
    const h = ok(`${header(8000)}Content-Type: text/plain\r\n\r\nbody`, 8192);
    assert.equal(h.headers[1]!.length, 8000 - 'X-Big: '.length);
    fails(`${header(10_000)}\r\n`, 'too-large', 8192);
    fails(`${header(70_000)}\r\n`, 'too-large', 8192);
    const split = run(`${header(10_000)}\r\n`, [100, 5000, 9000], 8192);
    assert.ok(!split.ok && split.error.kind === 'too-large');
  });

  it('the limit counts every head byte, line ends and the closing blank line included', () => {
    const head = 'X-A: 12345\r\n\r\n'; // 14 bytes
    for (const cuts of [[], [3], [12], [13], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]]) {
      const at = run(`${head}body`, cuts, 14);
      assert.ok(at.ok, `cuts ${cuts}`);
      assert.equal(at.body, 14);
      const over = run(`${head}body`, cuts, 13);
      assert.ok(!over.ok && over.error.kind === 'too-large', `cuts ${cuts}`);
    }
    assert.equal(run('X-A: 12345\n\n', [], 12).ok, true);
    assert.equal(run('X-A: 12345\n\n', [], 11).ok, false);
  });

  it("a line over maxLine (8192 by default, Apache's) fails even when the head limit is larger", () => {
    const p = (): CgiHeadParser => new CgiHeadParser(65_536);
    assert.equal(p().maxLine, 8192);
    assert.ok(run(`${header(8000)}X-A: 1\r\n\r\n`, [], 0, p()).ok);
    assert.ok(run(`${header(8190)}\r\n`, [], 0, p()).ok); // exactly 8192 bytes with its CRLF
    for (const size of [8191, 10_000, 70_000]) {
      const r = run(`X-A: 1\r\n${header(size)}\r\n`, [], 0, p());
      assert.ok(!r.ok && r.error.kind === 'line-too-long', `${size}`);
      assert.match(r.error.detail, /line 2/);
    }
    let many = '';
    for (let i = 0; i < 200; i++) many += header(100);
    const big = run(`${many}\r\n`, [], 0, p());
    assert.ok(big.ok && big.head.headers.length === 400); // 20 000 bytes of head, short lines
    assert.equal(new CgiHeadParser(100, 8192).maxLine, 100); // capped at maxHead
  });

  it('with both limits, every split reports the one that trips first', () => {
    const line = (n: number): string => `X-L: ${'a'.repeat(n - 7)}\r\n`;
    const cases: Array<[string, CgiHeadErrorKind | null]> = [
      [`${line(30)}${line(30)}${line(30)}\r\n`, null], // 92 bytes, lines of 30
      [`${line(31)}\r\n`, 'line-too-long'],
      [`${line(30)}${line(30)}${line(31)}\r\n`, 'line-too-long'], // 91 bytes taken at the end of it
      [`${line(30)}${line(30)}${line(30)}${line(12)}\r\n`, 'too-large'],
      [`${line(30)}${line(30)}${line(30)}${line(12)}`, 'too-large'], // unterminated
      [`${line(30)}${line(30)}${line(30)}${line(8)}\r\n`, null], // exactly 100
      [`${line(30)}${line(30)}${line(30)}${line(9)}\r\n`, 'too-large'], // the blank line ends at byte 101
    ];
    for (const [input, kind] of cases) {
      const r = sameForEverySplit(`${input}body`, 100, 30);
      if (kind === null) assert.ok(r.ok, input);
      else assert.ok(!r.ok && r.error.kind === kind, `${input}: ${r.ok ? 'ok' : r.error.kind}`);
    }
    assert.throws(() => new CgiHeadParser(100, 0), RangeError);
  });

  it('a split line never grows past the limit, even without its line end', () => {
    const p = new CgiHeadParser(32);
    assert.equal(p.push(Buffer.from('X-A: ')), HEAD_INCOMPLETE);
    for (let i = 0; i < 5; i++) assert.equal(p.push(Buffer.from('aaaa')), HEAD_INCOMPLETE); // 25 bytes so far
    assert.equal(p.push(Buffer.from('aaaaaaaa')), HEAD_ERROR);
    assert.equal(p.error?.kind, 'too-large');
  });

  it('200 headers are fine with a larger limit', () => {
    let input = '';
    const expected: string[] = [];
    for (let i = 0; i < 200; i++) {
      input += `X-Header-${i}: value number ${i}\r\n`;
      expected.push(`X-Header-${i}`, `value number ${i}`);
    }
    const h = ok(`${input}\r\n`, 16_384);
    assert.deepEqual(h.headers, expected);
    fails(`${input}\r\n`, 'too-large', 4096);
  });
});

// --- property: random valid heads round trip through any split -------------------------

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const SPECIAL = new Set([
  'status',
  'location',
  'content-type',
  'content-length',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'te',
  'trailer',
]);
const nameArb = fc
  .string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 20 })
  .filter((n) => !SPECIAL.has(n.toLowerCase()));
/** VCHAR and obs-text, with inner SP/HTAB, never at the edges (those are trimmed). */
const valueCharArb = fc.oneof(
  fc.integer({ min: 0x21, max: 0x7e }),
  fc.integer({ min: 0x80, max: 0xff }),
  fc.constantFrom(0x20, 0x09),
);
const valueArb = fc
  .array(valueCharArb, { maxLength: 40 })
  .map((cs) => String.fromCharCode(...cs).replace(/^[ \t]+|[ \t]+$/g, ''));
const owsArb = fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: 3 });
const fieldArb = fc.record({
  name: fc.oneof(nameArb, fc.constantFrom('Set-Cookie', 'set-cookie', 'Vary', 'X-Dup')),
  value: valueArb,
  before: owsArb,
  after: owsArb,
  crlf: fc.boolean(),
});
const statusArb = fc.option(
  fc.record({
    code: fc.integer({ min: 200, max: 599 }),
    reason: fc.option(fc.constantFrom('OK', 'Custom Reason', 'x')),
  }),
);

describe('CgiHeadParser: property', () => {
  it('random valid heads parse to the fields written, for any split', () => {
    fc.assert(
      fc.property(
        fc.array(fieldArb, { minLength: 1, maxLength: 12 }),
        statusArb,
        fc.boolean(),
        fc.uint8Array({ maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (fields, status, endCrlf, body, rawCuts) => {
          let text = '';
          const expected: string[] = [];
          for (const f of fields) {
            text += `${f.name}:${f.before}${f.value}${f.after}${f.crlf ? '\r\n' : '\n'}`;
            expected.push(f.name, f.value);
          }
          if (status !== null) text += `Status: ${status.code}${status.reason === null ? '' : ' ' + status.reason}\n`;
          text += endCrlf ? '\r\n' : '\n';
          const head = Buffer.from(text, 'latin1');
          const input = Buffer.concat([head, body]);
          const cuts = [...new Set(rawCuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
          const r = run(input, cuts, 1 << 16);
          if (!r.ok) throw new Error(`${r.error.kind}: ${r.error.detail}`);
          assert.equal(r.body, head.length);
          assert.deepEqual(r.head.headers, expected);
          assert.equal(
            r.head.nonAscii,
            expected.some((s) => /[\x80-\xff]/.test(s)),
          );
          assert.equal(r.head.status, status?.code ?? 200);
          if (status !== null && status.reason !== null)
            assert.equal(r.head.statusLine, `${status.code} ${status.reason}`);
          // too small a limit fails the same way for every split
          const small = run(input, cuts, head.length - 1);
          assert.ok(!small.ok && small.error.kind === 'too-large');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('arbitrary bytes never throw, and every split agrees with the whole', () => {
    fc.assert(
      fc.property(
        fc
          .array(
            fc.oneof(fc.constantFrom(0x0a, 0x0d, 0x3a, 0x20, 0x09, 0x61, 0x00), fc.integer({ min: 0, max: 255 })),
            { maxLength: 80 },
          )
          .map((a) => Buffer.from(a)),
        fc.array(fc.nat(), { maxLength: 4 }),
        (input, rawCuts) => {
          const cuts = [...new Set(rawCuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
          assert.deepEqual(run(input, cuts, 64), run(input, [], 64));
        },
      ),
      { numRuns: 500 },
    );
  });
});
