// request-checks.ts, pure: every branch of checkRequest (Host, '#', Expect, Transfer-Encoding,
// Content-Length, the order in which they are checked), and validHost against a reference
// parser written from the grammar in its comment (RFC 9112 §3.2, RFC 3986 §3.2.2, Apache's
// fix_hostname), by table and by fast-check property.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkRequest, validHost, type BodyFraming, type Refusal } from '../../src/front/request-checks.js';
import type { RequestSnapshot } from '../../src/request.js';

function snap(headers: Array<[string, string]>, path = '/'): RequestSnapshot {
  return {
    method: 'POST',
    path,
    query: '',
    headers,
    remoteAddress: '127.0.0.1',
    remotePort: '',
    localAddress: '127.0.0.1',
    localPort: 80,
    scheme: 'http',
    protocol: 'HTTP/1.1',
  };
}

/** checkRequest with a valid Host first, then `headers`. */
const check = (headers: Array<[string, string]>, path = '/'): Refusal | BodyFraming =>
  checkRequest(snap([['host', 'example.com'], ...headers], path));

function refused(v: Refusal | BodyFraming): Refusal {
  assert.ok('code' in v, `expected a refusal, got ${JSON.stringify(v)}`);
  return v;
}

// --- the reference: a character-by-character reading of the grammar ---------------------

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isAlnum = (c: string): boolean => isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const isHex = (c: string): boolean => isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');

/**
 * host = "" | ( name | "[" 1*( HEXDIG / ":" / "." ) "]" ) [ ":" 0*5DIGIT ], at most 255 characters;
 * name = ( ALPHA / DIGIT / "_" ) *( ALPHA / DIGIT / "." / "_" / "-" ).
 */
function referenceHost(s: string): boolean {
  if (s === '') return true;
  if (s.length > 255) return false;
  let i = 0;
  if (s[0] === '[') {
    i = 1;
    while (i < s.length && (isHex(s[i]!) || s[i] === ':' || s[i] === '.')) i++;
    if (i === 1 || s[i] !== ']') return false;
    i++;
  } else {
    if (!(isAlnum(s[0]!) || s[0] === '_')) return false;
    i = 1;
    while (i < s.length && (isAlnum(s[i]!) || s[i] === '.' || s[i] === '_' || s[i] === '-')) i++;
  }
  if (i === s.length) return true;
  if (s[i] !== ':') return false;
  const port = s.slice(i + 1);
  return port.length <= 5 && [...port].every(isDigit);
}

describe('validHost', () => {
  test('table: names, addresses, ports and what is refused', () => {
    const cases: Array<[string, boolean]> = [
      ['', true], // no authority (RFC 9112 §3.2)
      ['example.com', true],
      ['Example.COM.', true], // a trailing dot (fully qualified)
      ['_srv.local', true],
      ['a-b_c.d', true],
      ['127.0.0.1', true],
      ['127.0.0.1:8080', true],
      ['example.com:', true], // empty port: RFC 3986 allows it
      ['example.com:65535', true],
      ['example.com:123456', false], // six digits
      ['example.com:8a', false],
      ['example.com::80', false],
      ['[::1]', true],
      ['[::1]:443', true],
      ['[2001:db8::ffff:1.2.3.4]', true],
      ['[]', false],
      ['[::1', false],
      ['[v1.x]', false], // IPvFuture: not accepted
      ['[::1]x', false],
      ['-lead.example', false],
      ['.lead', false],
      [':80', false],
      ['a@b:80 x', false], // userinfo, a space
      ['evil.com/../x"><script>', false],
      ['a b', false],
      ['a,b', false],
      ['a, b', false], // two Host headers joined
      ['ex\u00e4mple.com', false], // not ASCII
      ['a'.repeat(255), true],
      ['a'.repeat(256), false],
      ['example.com\n', false], // `$` in a regular expression must not accept a final LF
    ];
    for (const [host, want] of cases) {
      assert.equal(validHost(host), want, JSON.stringify(host));
      assert.equal(referenceHost(host), want, `reference: ${JSON.stringify(host)}`);
    }
  });

  test('property: agrees with the reference on strings over the characters that matter', () => {
    const chars = ['a', 'Z', '0', '9', '_', '-', '.', ':', '[', ']', 'f', 'G', '@', '/', ' ', ',', '\n', '\u00e9', '%'];
    const hostArb = fc.oneof(
      fc.array(fc.constantFrom(...chars), { maxLength: 24 }).map((a) => a.join('')),
      fc.string({ maxLength: 24 }),
      fc.integer({ min: 250, max: 260 }).map((n) => 'h'.repeat(n)),
    );
    fc.assert(
      fc.property(hostArb, (host) => validHost(host) === referenceHost(host)),
      { numRuns: 3000 },
    );
  });

  test('property: every host built from the grammar is valid', () => {
    const nameChar = fc.constantFrom(...'abcxyzABCXYZ0189._-');
    const name = fc
      .tuple(fc.constantFrom(...'aZ09_'), fc.array(nameChar, { maxLength: 20 }))
      .map(([first, rest]) => first + rest.join(''));
    const literal = fc
      .array(fc.constantFrom(...'0123456789abcdefABCDEF:.'), { minLength: 1, maxLength: 39 })
      .map((a) => `[${a.join('')}]`);
    const port = fc.option(
      fc.array(fc.constantFrom(...'0123456789'), { maxLength: 5 }).map((a) => ':' + a.join('')),
      { nil: '' },
    );
    fc.assert(
      fc.property(fc.oneof(name, literal), port, (host, p) => validHost(host + p)),
      { numRuns: 1000 },
    );
  });
});

describe('checkRequest', () => {
  test('Host: missing, several, invalid, empty', () => {
    const none = refused(checkRequest(snap([['content-length', '3']])));
    assert.equal(none.code, 'FCGATE_BAD_FRAMING');
    assert.match(none.detail, /no Host header/);

    const two = refused(checkRequest(snap([['host', 'a.example, b.example']])));
    assert.equal(two.code, 'FCGATE_BAD_FRAMING');
    assert.equal(two.detail, 'more than one Host header');

    const bad = refused(checkRequest(snap([['host', 'a b']])));
    assert.equal(bad.code, 'FCGATE_BAD_FRAMING');
    assert.equal(bad.detail, 'invalid Host "a b"');

    // The detail quotes at most 100 characters of a long invalid value.
    const long = refused(checkRequest(snap([['host', '/' + 'x'.repeat(300)]])));
    assert.equal(long.detail, `invalid Host "/${'x'.repeat(99)}"`);

    assert.deepEqual(checkRequest(snap([['host', '']])), { length: -1, chunked: false });
  });

  test("'#' in the target is refused", () => {
    const r = refused(check([], '/a#b'));
    assert.equal(r.code, 'FCGATE_BAD_FRAMING');
    assert.match(r.detail, /'#'/);
  });

  test('Expect: 100-continue in any case passes, anything else is 417', () => {
    assert.deepEqual(check([['expect', '100-continue']]), { length: -1, chunked: false });
    assert.deepEqual(check([['expect', '100-Continue']]), { length: -1, chunked: false });
    const r = refused(check([['expect', '200-ok']]));
    assert.equal(r.code, 'FCGATE_EXPECTATION_FAILED');
    assert.equal(r.detail, 'unsupported Expect "200-ok"');
    const two = refused(check([['expect', '100-continue, 100-continue']]));
    assert.equal(two.code, 'FCGATE_EXPECTATION_FAILED');
  });

  test('Transfer-Encoding: chunked alone, last, once (RFC 9112 §6.1, §6.3)', () => {
    assert.deepEqual(check([['transfer-encoding', 'chunked']]), { length: -1, chunked: true });
    assert.deepEqual(check([['transfer-encoding', ' Chunked ']]), { length: -1, chunked: true });
    for (const te of ['gzip', 'chunked, gzip', 'chunked, chunked', 'chunked,', '']) {
      const r = refused(check([['transfer-encoding', te]]));
      assert.equal(r.code, 'FCGATE_BAD_FRAMING', te);
      assert.equal(r.detail, `Transfer-Encoding ${JSON.stringify(te)}: chunked must be the last coding, once`);
    }
    const other = refused(check([['transfer-encoding', 'gzip, chunked']]));
    assert.equal(other.code, 'FCGATE_UNKNOWN_CODING');
    assert.match(other.detail, /only chunked is supported/);
  });

  test('Transfer-Encoding wins over Content-Length (uWS refuses both; the framing is chunked)', () => {
    assert.deepEqual(
      check([
        ['content-length', '5'],
        ['transfer-encoding', 'chunked'],
      ]),
      { length: -1, chunked: true },
    );
  });

  test('Content-Length: 1 to 15 digits; lists, signs, spaces and 16 digits refused', () => {
    assert.deepEqual(check([['content-length', '0']]), { length: 0, chunked: false });
    assert.deepEqual(check([['content-length', '42']]), { length: 42, chunked: false });
    assert.deepEqual(check([['content-length', '007']]), { length: 7, chunked: false });
    assert.deepEqual(check([['content-length', '999999999999999']]), { length: 999_999_999_999_999, chunked: false });
    for (const cl of ['', '-1', '+1', '1.0', '1e3', ' 1', '0x10', '1000000000000000']) {
      const r = refused(check([['content-length', cl]]));
      assert.equal(r.code, 'FCGATE_BAD_FRAMING', cl);
      assert.equal(r.detail, `invalid Content-Length ${JSON.stringify(cl)}`);
    }
    const two = refused(check([['content-length', '5, 5']]));
    assert.equal(two.detail, 'more than one Content-Length (5, 5)');
  });

  test('no framing header: no body', () => {
    assert.deepEqual(check([['accept', '*/*']]), { length: -1, chunked: false });
  });

  test('order: Host, then the target, then Expect, then the framing', () => {
    const all: Array<[string, string]> = [
      ['expect', 'x'],
      ['transfer-encoding', 'gzip'],
      ['content-length', 'x'],
    ];
    assert.match(refused(checkRequest(snap(all, '/#'))).detail, /no Host/);
    assert.match(refused(checkRequest(snap([['host', 'a b'], ...all], '/#'))).detail, /invalid Host/);
    assert.match(refused(check(all, '/#')).detail, /'#'/);
    assert.equal(refused(check(all)).code, 'FCGATE_EXPECTATION_FAILED');
    assert.match(refused(check(all.slice(1))).detail, /Transfer-Encoding/);
  });

  test('header names are matched lower-case only (the snapshot lower-cases them)', () => {
    const r = refused(checkRequest(snap([['Host', 'example.com']])));
    assert.match(r.detail, /no Host header/);
  });
});

test("Apache's head limits, checked first: LimitRequestLine → 414, LimitRequestFieldSize and LimitRequestFields → 400", () => {
  const limits = { line: 30, fieldSize: 20, fields: 3 };
  const base = (path: string, headers: Array<[string, string]>): RequestSnapshot => ({
    ...snap(headers, path),
    method: 'GET',
    query: '',
  });
  // "GET " + path + " HTTP/1.1": 13 + path.
  assert.deepEqual(checkRequest(base('/' + 'a'.repeat(16), [['host', 'a']]), limits), { length: -1, chunked: false });
  assert.equal(
    (checkRequest(base('/' + 'a'.repeat(17), [['host', 'a']]), limits) as Refusal).code,
    'FCGATE_URI_TOO_LONG',
  );
  // "x-a: " + 15 = 20.
  assert.ok(
    !(
      'code'
      in checkRequest(
        base('/', [
          ['host', 'a'],
          ['x-a', 'v'.repeat(15)],
        ]),
        limits,
      )
    ),
  );
  const big = checkRequest(
    base('/', [
      ['host', 'a'],
      ['x-a', 'v'.repeat(16)],
    ]),
    limits,
  ) as Refusal;
  assert.deepEqual(
    [big.code, big.detail],
    ['FCGATE_HEADER_LIMIT', 'header field x-a of 21 bytes, over LimitRequestFieldSize 20'],
  );
  const four: Array<[string, string]> = [
    ['host', 'a'],
    ['b', '1'],
    ['c', '1'],
    ['d', '1'],
  ];
  assert.equal((checkRequest(base('/', four), limits) as Refusal).code, 'FCGATE_HEADER_LIMIT');
  assert.ok(!('code' in checkRequest(base('/', four), limits, 3)), 'the count is what the client sent');
  // Before anything else: an over-long line with a bad Host is a 414.
  assert.equal((checkRequest(base('/' + 'a'.repeat(40), []), limits) as Refusal).code, 'FCGATE_URI_TOO_LONG');
});
