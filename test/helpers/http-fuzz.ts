// Odd and malformed HTTP/1.1 requests from a seed, for the front-end fuzz test and the soak
// script: a valid request of a few kinds (GET, HEAD, POST with Content-Length or chunked,
// static files, 404, redirect, 100-continue), then 0 to 3 mutations of its request line,
// headers, framing or body (duplicate and conflicting Content-Length, odd Transfer-Encoding,
// bad Host, bad chunk sizes, bare LF and CR, obs-fold, control and non-ASCII bytes, huge
// fields, pipelined and smuggled followers, random bytes), and sometimes byte flips; the
// bytes are cut into pieces written with small delays. The same seed gives the same case.
// It knows the gateway layout the fuzz test configures (Layout), nothing else.
import { createHash } from 'node:crypto';
import { buildRequest, chunkedBody, rng, type ChunkPart } from './raw-http.js';

/** Paths the gateway under test serves (the fuzz test's configuration). */
export interface Layout {
  /** Proxied to the demo app: `${app}hello`, `${app}echo`, `${app}env`, `${app}bytes`. */
  app: string;
  /** A static file of `staticSize` bytes under DocumentRoot, and a folder without its slash. */
  staticFile: string;
  staticSize: number;
  folder: string;
}

export interface HttpCase {
  seed: number;
  /** The request bytes, cut into pieces written in turn. */
  pieces: Buffer[];
  /** Pause between pieces. */
  delayMs: number;
  /** heads[i]: the i-th request (of those pipelined) is a HEAD. */
  heads: boolean[];
  /** No mutation: the gateway must answer with `expect`. */
  valid: boolean;
  expect: { status: number; body?: (b: Buffer) => boolean } | null;
  /** What was built and done to it, for the failure report. */
  what: string[];
}

interface Model {
  method: string;
  target: string;
  version: string;
  headers: Array<[string, string] | [string]>;
  body: Buffer;
  /** A chunked body's parts (the body is built from them), or null. */
  chunks: ChunkPart[] | null;
  chunkFinal: boolean;
  trailers: string[];
  eol: string;
  /** Requests appended after this one. */
  followers: Buffer[];
  followerHeads: boolean[];
}

type Rand = () => number;
const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const chance = (r: Rand, p: number): boolean => r() < p;
const bytesOf = (r: Rand, n: number, lo = 0, hi = 255): Buffer => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = int(r, lo, hi);
  return b;
};
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The demo app's /echo answer for `body`. */
const echoes =
  (body: Buffer) =>
  (b: Buffer): boolean => {
    const m = /^\{"length":(\d+),"sha256":"([0-9a-f]{64})"/.exec(b.toString('latin1'));
    return m !== null && Number(m[1]) === body.length && m[2] === sha(body);
  };

/** A valid request of one of the kinds, with its expected answer. */
function base(r: Rand, L: Layout, what: string[]): { m: Model; expect: HttpCase['expect'] } {
  const m: Model = {
    method: 'GET',
    target: '/',
    version: 'HTTP/1.1',
    headers: [['Host', 'fuzz.example']],
    body: Buffer.alloc(0),
    chunks: null,
    chunkFinal: true,
    trailers: [],
    eol: '\r\n',
    followers: [],
    followerHeads: [],
  };
  if (chance(r, 0.5)) m.headers.push(['User-Agent', 'fcgate-fuzz/1'], ['Accept', '*/*']);
  const kind = int(r, 0, 10);
  let expect: HttpCase['expect'] = null;
  switch (kind) {
    case 0:
      m.target = `${L.app}hello`;
      expect = { status: 200, body: (b) => b.toString() === 'Hello from the fcgate demo app\n' };
      break;
    case 1:
      m.method = 'HEAD';
      m.target = `${L.app}hello`;
      expect = { status: 200, body: (b) => b.length === 0 };
      break;
    case 2:
      m.target = `${L.app}env?x=${int(r, 0, 1e6)}&y=%20z`;
      expect = { status: 200 };
      break;
    case 3:
    case 4: {
      const body = bytesOf(r, chance(r, 0.3) ? int(r, 0, 300_000) : int(r, 0, 4000));
      m.method = pick(r, ['POST', 'PUT', 'PATCH']);
      m.target = `${L.app}echo`;
      m.body = body;
      m.headers.push(['Content-Type', 'application/octet-stream'], ['Content-Length', String(body.length)]);
      if (chance(r, 0.2)) m.headers.push(['Expect', '100-continue']);
      expect = { status: 200, body: echoes(body) };
      break;
    }
    case 5: {
      const parts: ChunkPart[] = Array.from({ length: int(r, 0, 6) }, () => ({
        data: bytesOf(r, int(r, 1, chance(r, 0.2) ? 70_000 : 3000)),
      }));
      m.method = 'POST';
      m.target = `${L.app}echo`;
      m.chunks = parts;
      m.headers.push(['Transfer-Encoding', 'chunked']);
      expect = { status: 200, body: echoes(Buffer.concat(parts.map((p) => p.data))) };
      break;
    }
    case 6:
      m.target = L.staticFile;
      expect = { status: 200, body: (b) => b.length === L.staticSize };
      break;
    case 7:
      m.target = L.staticFile;
      m.headers.push(['Range', 'bytes=10-19']);
      expect = { status: 206, body: (b) => b.length === 10 };
      break;
    case 8:
      m.target = `/nothing-here-${int(r, 0, 999)}.txt`;
      expect = { status: 404 };
      break;
    case 9:
      m.target = L.folder;
      expect = { status: 301 };
      break;
    default:
      m.target = `${L.app}bytes?n=${int(r, 0, 200_000)}`;
      expect = { status: 200 };
      break;
  }
  what.push(
    `${m.method} ${m.target}${m.body.length > 0 ? ` body=${m.body.length}` : ''}${m.chunks ? ` chunks=${m.chunks.length}` : ''}`,
  );
  return { m, expect };
}

const setHeader = (m: Model, name: string, value: string): void => {
  m.headers = m.headers.filter((h) => h[0].toLowerCase() !== name.toLowerCase());
  m.headers.push([name, value]);
};

/** The mutations: each changes the model and says what it did. */
const MUTATIONS: ReadonlyArray<(r: Rand, m: Model, L: Layout) => string> = [
  (r, m) => {
    m.method = pick(r, ['get', 'G ET', '', 'GET\x00', 'PROPFIND', 'CONNECT', 'TRACE', 'X'.repeat(200), 'BREW', 'GET/']);
    return `method ${JSON.stringify(m.method.slice(0, 20))}`;
  },
  (r, m, L) => {
    m.target = pick(r, [
      '*',
      'http://evil.example/x',
      '//x',
      `${L.app}../../../etc/passwd`,
      `${L.app}%2e%2e/%2e%2e/etc/passwd`,
      '/%00',
      `${L.app}hello#frag`,
      '/' + 'a'.repeat(int(r, 1000, 70_000)),
      `${L.app}hello?` + 'q'.repeat(int(r, 100, 20_000)),
      '/\x80\xff\xfe',
      `${L.app}hello\t`,
      '',
      ' /x',
      `${L.app}hello?a=%zz&b=%`,
      'host:443',
      `${L.app}env/%ff%fe`,
    ]);
    return `target ${JSON.stringify(m.target.slice(0, 40))}${m.target.length > 40 ? `… (${m.target.length})` : ''}`;
  },
  (r, m) => {
    m.version = pick(r, ['HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1x', 'HTTP/1', '', 'http/1.1', 'HTTP/9.9', 'HTTP/1.1 extra']);
    return `version ${JSON.stringify(m.version)}`;
  },
  (r, m) => {
    m.eol = pick(r, ['\n', '\r', '\r\r\n']);
    return `line end ${JSON.stringify(m.eol)}`;
  },
  (r, m) => {
    const v = pick(r, [
      'drop',
      'twice',
      'evil.com/../x"><script>',
      'a@b:80 x',
      '',
      ' ',
      '[::1',
      'x'.repeat(300),
      'good.example:99999',
      'h\x00st',
    ]);
    if (v === 'drop') m.headers = m.headers.filter((h) => h[0] !== 'Host');
    else if (v === 'twice') m.headers.push(['Host', 'evil.example']);
    else setHeader(m, 'Host', v);
    return `Host ${JSON.stringify(v.slice(0, 30))}`;
  },
  (r, m) => {
    const v = pick(r, [
      'dup-same',
      'dup-diff',
      '-1',
      '+5',
      ' 5',
      '0x10',
      '99999999999999999999',
      '1,1',
      'abc',
      '',
      '1e3',
      '00010',
    ]);
    const n = String(m.body.length);
    if (v === 'dup-same') m.headers.push(['Content-Length', n], ['Content-Length', n]);
    else if (v === 'dup-diff') {
      setHeader(m, 'Content-Length', n);
      m.headers.push(['Content-Length', String(m.body.length + int(r, 1, 40))]);
    } else setHeader(m, 'Content-Length', v);
    return `Content-Length ${v}`;
  },
  (r, m) => {
    const v = pick(r, [
      'gzip',
      'chunked, chunked',
      'identity',
      'xchunked',
      'Chunked',
      'gzip, chunked',
      '',
      'chunked, gzip',
      ' chunked',
    ]);
    setHeader(m, 'Transfer-Encoding', v);
    if (chance(r, 0.5) && m.chunks === null) m.chunks = [{ data: Buffer.from('hello') }];
    const withLength = chance(r, 0.3);
    if (withLength) setHeader(m, 'Content-Length', String(m.body.length));
    return `Transfer-Encoding ${JSON.stringify(v)}${withLength ? ' with Content-Length' : ''}`;
  },
  (r, m) => {
    const name = pick(r, ['X_Y', 'X Y', 'X.Y', "X'Y", '', 'X\x00Y', 'X\x7fY', '\xe9t\xe9', 'X:Y']);
    m.headers.push([name, 'v']);
    return `header name ${JSON.stringify(name)}`;
  },
  (r, m) => {
    const value = pick(r, [
      'a\x00b',
      'a\x7fb',
      '\x80\xff',
      'a\rb',
      'x'.repeat(int(r, 8000, 100_000)),
      '',
      '\t \t',
      'caf\xe9',
    ]);
    m.headers.push(['X-Odd', value]);
    return `header value ${JSON.stringify(value.slice(0, 16))}${value.length > 16 ? `… (${value.length})` : ''}`;
  },
  (r, m) => {
    m.headers.splice(int(r, 0, m.headers.length), 0, [
      pick(r, [' folded continuation', '\tfolded', 'NoColonHere', ':', ' ']),
    ]);
    return 'odd header line';
  },
  (r, m) => {
    const n = int(r, 50, 150);
    for (let i = 0; i < n; i++) m.headers.push([`X-Many-${i}`, String(i)]);
    return `${n} more headers`;
  },
  (r, m) => {
    const v = pick(r, [
      ['Connection', 'close'],
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade, HTTP2-Settings'],
      ['Expect', 'something-odd'],
      ['Expect', '100-continue'],
      ['Proxy', 'http://evil/'],
      ['X-Forwarded-For', '1.2.3.4, <script>'],
      ['Cookie', 'a=b'.repeat(2000)],
    ] as const);
    m.headers.push([v[0], v[1]]);
    return `${v[0]}: ${v[1].slice(0, 30)}`;
  },
  (r, m) => {
    if (m.body.length > 0 && chance(r, 0.5)) {
      const keep = int(r, 0, m.body.length - 1);
      m.body = m.body.subarray(0, keep);
      return `body cut to ${keep}`;
    }
    const extra = chance(r, 0.5)
      ? Buffer.from(`GET /smuggled-${int(r, 0, 999)} HTTP/1.1\r\nHost: fuzz.example\r\n\r\n`)
      : bytesOf(r, int(r, 1, 500));
    m.body = Buffer.concat([m.body, extra]);
    return `body +${extra.length} bytes`;
  },
  (r, m) => {
    m.chunks ??= [{ data: Buffer.from('hello') }];
    setHeader(m, 'Transfer-Encoding', 'chunked');
    m.headers = m.headers.filter((h) => h[0] !== 'Content-Length');
    const c = m.chunks[int(r, 0, m.chunks.length - 1)] ?? { data: Buffer.from('x') };
    const v = int(r, 0, 7);
    switch (v) {
      case 0:
        c.sizeLine = pick(r, ['g', '-1', 'ffffffffffffffff', ' 5', '5 ', '0x5', '', '+5', '1_0']);
        break;
      case 1:
        c.eol = '\n';
        break;
      case 2:
        m.chunkFinal = false;
        break;
      case 3:
        m.trailers = pick(r, [['X-T: 1'], ['bad trailer'], ['Content-Length: 5'], ['Transfer-Encoding: chunked']]);
        break; // uWS: 505 (fuzz-findings)
      case 4:
        c.sizeLine = (c.data.length + int(r, 1, 10)).toString(16);
        break;
      case 5:
        c.sizeLine = Math.max(0, c.data.length - int(r, 1, 10)).toString(16);
        break;
      case 6:
        c.ext = pick(r, [';name=value', ';a', ';' + 'e'.repeat(int(r, 100, 20_000))]);
        break; // uWS: no answer or 400 (fuzz-findings)
      default:
        m.chunks.push({ data: Buffer.alloc(0), sizeLine: '0' }, { data: Buffer.from('after the end') });
        break;
    }
    return `chunked mutation ${v}`;
  },
  (_r, m, L) => {
    // GET only: after a request whose framing is broken, which response answers which
    // request is unknown, and a HEAD's answer has no body to parse.
    m.followers.push(buildRequest({ target: `${L.app}hello`, headers: [['Host', 'fuzz.example']] }));
    m.followerHeads.push(false);
    return 'pipelined follower';
  },
  (_r, m) => {
    m.target = `\r\n${m.target}`;
    return 'CRLF inside the request line';
  },
];

function serialise(m: Model): Buffer {
  const body = m.chunks !== null ? chunkedBody(m.chunks, { final: m.chunkFinal, trailers: m.trailers }) : m.body;
  return Buffer.concat([
    buildRequest({ method: m.method, target: m.target, version: m.version, headers: m.headers, body, eol: m.eol }),
    ...m.followers,
  ]);
}

/** Flips, inserts, deletes or repeats bytes. */
function byteMutation(r: Rand, b: Buffer): { out: Buffer; what: string } {
  if (b.length === 0) return { out: bytesOf(r, 10), what: 'random bytes' };
  const at = int(r, 0, b.length - 1);
  switch (int(r, 0, 3)) {
    case 0: {
      const out = Buffer.from(b);
      for (let k = int(r, 1, 8); k > 0; k--) out[int(r, 0, out.length - 1)] = int(r, 0, 255);
      return { out, what: 'bytes flipped' };
    }
    case 1:
      return {
        out: Buffer.concat([b.subarray(0, at), bytesOf(r, int(r, 1, 20)), b.subarray(at)]),
        what: `bytes inserted at ${at}`,
      };
    case 2:
      return {
        out: Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + int(r, 1, 50)))]),
        what: `bytes deleted at ${at}`,
      };
    default:
      return {
        out: Buffer.concat([b.subarray(0, at), b.subarray(at, at + 200), b.subarray(at)]),
        what: `bytes repeated at ${at}`,
      };
  }
}

/** The case for `seed`. */
export function httpCase(seed: number, L: Layout): HttpCase {
  const r = rng(seed * 2654435761 + 1);
  const what: string[] = [];
  let bytes: Buffer;
  let heads: boolean[];
  let valid = false;
  let expect: HttpCase['expect'] = null;
  if (chance(r, 0.01)) {
    bytes = bytesOf(r, int(r, 1, 2000));
    heads = [false];
    what.push('random bytes');
  } else {
    const b = base(r, L, what);
    const n = chance(r, 0.25) ? 0 : int(r, 1, 3);
    for (let i = 0; i < n; i++) what.push(pick(r, MUTATIONS)(r, b.m, L));
    bytes = serialise(b.m);
    heads = [b.m.method === 'HEAD', ...b.m.followerHeads];
    if (chance(r, 0.08)) {
      const x = byteMutation(r, bytes);
      bytes = x.out;
      what.push(x.what);
    } else if (n === 0) {
      valid = true;
      expect = b.expect;
    }
  }
  // Cut into pieces; a few cases trickle. A read that ends inside the request line, 4 bytes
  // or more into it, is a known uWS failure (505, test/integration/fuzz-findings.test.ts):
  // the case is then not held to the valid request's answer.
  // Most cuts fall after the request line, so that the cases reach the gateway.
  const lineEnd = bytes.indexOf(0x0a);
  const cutFrom = lineEnd > 0 && lineEnd < bytes.length - 2 && chance(r, 0.9) ? lineEnd + 1 : 1;
  const cuts = Array.from({ length: chance(r, 0.5) ? 0 : int(r, 1, 4) }, () =>
    int(r, cutFrom, Math.max(cutFrom, bytes.length - 1)),
  ).sort((a, b) => a - b);
  if (valid && cuts.some((c) => c >= 4 && c <= lineEnd)) {
    valid = false;
    expect = null;
    what.push('request line split across reads (uWS: 505)');
  }
  const pieces: Buffer[] = [];
  let from = 0;
  for (const c of cuts) {
    if (c > from && c < bytes.length) {
      pieces.push(bytes.subarray(from, c));
      from = c;
    }
  }
  pieces.push(bytes.subarray(from));
  const delayMs = pieces.length > 1 && chance(r, 0.3) ? int(r, 1, 5) : 0;
  if (pieces.length > 1) what.push(`${pieces.length} pieces${delayMs > 0 ? ` ${delayMs} ms apart` : ''}`);
  return { seed, pieces, delayMs, heads, valid, expect, what };
}
