// static-files.ts: the pure helpers by table (and fast-check for Range), then serveStatic end
// to end through uWS on port 0: validators, 304/412/416/206, HEAD, 405, directories, a large
// file through a slow reader (backpressure), and a client that leaves mid-transfer.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import {
  contentTypeFor,
  etagFor,
  httpDate,
  parseRange,
  serveStatic,
  type StaticOutcome,
} from '../../src/front/static-files.js';
import { etagListMatches, evaluatePreconditions, ifRangeAllows } from '../../src/front/conditional.js';
import { copyHeaders, upperMethod } from '../../src/front/snapshot.js';
import { closeListening, listenApp, type Listening } from '../../src/front/listen.js';
import { loadUws, type TemplatedApp } from '../../src/front/uws.js';

describe('pure helpers', () => {
  test('contentTypeFor: last extension, case-insensitive; none for unknown, no extension, dot-files', () => {
    const cases: Array<[string, string | undefined]> = [
      ['/d/index.html', 'text/html'],
      ['/d/A.PNG', 'image/png'],
      ['/d/x.tar.gz', 'application/gzip'],
      ['/d/app.js', 'text/javascript'],
      ['/d/README', undefined],
      ['/d/.htaccess', undefined],
      ['/d.dir/file', undefined],
      ['/d/x.unknownext', undefined],
    ];
    for (const [f, t] of cases) assert.equal(contentTypeFor(f), t, f);
  });

  test('etagFor: Apache\'s "size hex-mtime µs hex"', () => {
    // 45 bytes = 0x2d; 1700000000.123456 s = 1700000000123456 µs = 0x60a2418202240 (python3 hex())
    assert.equal(etagFor(45, 1700000000123.456), '"2d-60a2418202240"');
    assert.equal(etagFor(0, 0), '"0-0"');
  });

  test('httpDate: IMF-fixdate at whole seconds', () => {
    assert.equal(httpDate(1700000000999), 'Tue, 14 Nov 2023 22:13:20 GMT');
  });

  test('parseRange: table', () => {
    const size = 1000;
    const cases: Array<[string | undefined, ReturnType<typeof parseRange>]> = [
      [undefined, { kind: 'whole' }],
      ['bytes=0-99', { kind: 'range', start: 0, end: 99 }],
      ['bytes=900-', { kind: 'range', start: 900, end: 999 }],
      ['bytes=-100', { kind: 'range', start: 900, end: 999 }],
      ['bytes=-5000', { kind: 'range', start: 0, end: 999 }],
      ['bytes=990-5000', { kind: 'range', start: 990, end: 999 }],
      ['BYTES = 1 - 2', { kind: 'range', start: 1, end: 2 }],
      ['bytes=1000-', { kind: 'unsatisfiable' }],
      ['bytes=1000-2000', { kind: 'unsatisfiable' }],
      ['bytes=-0', { kind: 'unsatisfiable' }],
      ['bytes=5-2', { kind: 'whole' }], // invalid: ignored
      ['bytes=0-1,5-6', { kind: 'whole' }], // several ranges: whole file
      ['bytes=-', { kind: 'whole' }],
      ['items=0-1', { kind: 'whole' }],
      ['bytes=a-b', { kind: 'whole' }],
    ];
    for (const [h, want] of cases) assert.deepEqual(parseRange(h, size), want, String(h));
    assert.deepEqual(parseRange('bytes=0-0', 0), { kind: 'whole' }); // empty file ignores Range
  });

  test('parseRange: a served range always lies inside the file (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e9 }),
        fc.nat(),
        fc.option(fc.nat()),
        fc.boolean(),
        (size, a, b, suffix) => {
          const h = suffix ? `bytes=-${a}` : `bytes=${a}-${b ?? ''}`;
          const r = parseRange(h, size);
          if (r.kind === 'range') {
            assert.ok(r.start >= 0 && r.start <= r.end && r.end < size, `${h} ${size} ${JSON.stringify(r)}`);
          }
        },
      ),
    );
  });

  test('etagListMatches: strong vs weak comparison, *, lists', () => {
    const e = '"2d-1"';
    assert.equal(etagListMatches('"x", "2d-1"', e, false), true);
    assert.equal(etagListMatches('W/"2d-1"', e, false), false);
    assert.equal(etagListMatches('W/"2d-1"', e, true), true);
    assert.equal(etagListMatches('*', e, false), true);
    assert.equal(etagListMatches('"2d-2"', e, true), false);
  });

  test('evaluatePreconditions: RFC 9110 §13.2.2 order', () => {
    const etag = '"5-1"';
    const mtime = Date.parse('Tue, 14 Nov 2023 22:13:20 GMT') + 500;
    const h = (...pairs: Array<[string, string]>) => ({ headers: pairs });
    const later = 'Wed, 15 Nov 2023 00:00:00 GMT';
    const earlier = 'Mon, 13 Nov 2023 00:00:00 GMT';
    const same = 'Tue, 14 Nov 2023 22:13:20 GMT';
    const cases: Array<[ReturnType<typeof h>, number]> = [
      [h(), 200],
      [h(['if-none-match', etag]), 304],
      [h(['if-none-match', 'W/"5-1"']), 304], // weak comparison for If-None-Match
      [h(['if-none-match', '"other"']), 200],
      [h(['if-none-match', '"other"'], ['if-modified-since', later]), 200], // INM wins over IMS
      [h(['if-modified-since', same]), 304], // second granularity
      [h(['if-modified-since', later]), 304],
      [h(['if-modified-since', earlier]), 200],
      [h(['if-modified-since', 'garbage']), 200],
      [h(['if-match', '"other"']), 412],
      [h(['if-match', etag], ['if-none-match', etag]), 304],
      [h(['if-unmodified-since', earlier]), 412],
      [h(['if-unmodified-since', later]), 200],
      [h(['if-match', etag], ['if-unmodified-since', earlier]), 200], // If-Match wins
    ];
    for (const [req, want] of cases) assert.equal(evaluatePreconditions(req, etag, mtime), want, JSON.stringify(req));
  });

  test('ifRangeAllows: strong ETag or exact date only', () => {
    const mtime = Date.parse('Tue, 14 Nov 2023 22:13:20 GMT');
    assert.equal(ifRangeAllows(undefined, '"a"', mtime), true);
    assert.equal(ifRangeAllows('"a"', '"a"', mtime), true);
    assert.equal(ifRangeAllows('"b"', '"a"', mtime), false);
    assert.equal(ifRangeAllows('W/"a"', '"a"', mtime), false);
    assert.equal(ifRangeAllows('Tue, 14 Nov 2023 22:13:20 GMT', '"a"', mtime), true);
    assert.equal(ifRangeAllows('Tue, 14 Nov 2023 22:13:21 GMT', '"a"', mtime), false);
  });
});

describe('serveStatic through uWS', () => {
  const uws = loadUws();
  let dir: string;
  let app: TemplatedApp;
  let listening: Listening;
  let port = 0;
  const outcomes: StaticOutcome[] = [];
  let outcomeWaiter: ((o: StaticOutcome) => void) | null = null;
  const BIG = 8 << 20;
  let writableCalls = 0;
  let onBlocked: (() => void) | null = null;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fcgate-static-'));
    writeFileSync(join(dir, 'hello.txt'), 'hello world\n');
    writeFileSync(join(dir, 'empty.txt'), '');
    const big = Buffer.allocUnsafe(BIG);
    for (let i = 0; i < BIG; i++) big[i] = (i * 7 + (i >>> 11)) & 0xff;
    writeFileSync(join(dir, 'big.bin'), big);
    mkdirSync(join(dir, 'sub'));
    utimesSync(join(dir, 'hello.txt'), 1700000000, 1700000000);
    app = uws.App();
    app.any('/*', (res, req) => {
      const snap = { method: upperMethod(req.getMethod()), headers: copyHeaders(req) };
      const file = join(dir, req.getUrl());
      // Like the router: stat asynchronously, so onAborted must be set before returning.
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      // Count onWritable events, to prove the big transfer met backpressure.
      const orig = res.onWritable;
      res.onWritable = (h: (offset: number) => boolean) =>
        orig.call(res, (offset: number) => {
          writableCalls++;
          return h(offset);
        });
      const origTry = res.tryEnd;
      res.tryEnd = (chunk: Parameters<typeof origTry>[0], total: number) => {
        const r = origTry.call(res, chunk, total);
        if (!r[0]) onBlocked?.();
        return r;
      };
      setImmediate(() => {
        if (aborted) return;
        const st = statSync(file, { throwIfNoEntry: false });
        if (st === undefined) {
          res.cork(() => res.writeStatus('404 Not Found').end());
          return;
        }
        serveStatic(res, snap, file, st, {
          chunkSize: 16 * 1024,
          onDone: (o) => {
            outcomes.push(o);
            outcomeWaiter?.(o);
          },
        });
      });
    });
    listening = await listenApp(app, '127.0.0.1', 0);
    port = listening.port;
  });

  after(() => {
    closeListening(listening);
    app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  interface Got {
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: Buffer;
  }
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Got> =>
    new Promise((resolve, reject) => {
      const r = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
      });
      r.on('error', reject);
      r.end();
    });

  test('GET: 200 with validators, type, length', async () => {
    const g = await get('/hello.txt');
    assert.equal(g.status, 200);
    assert.equal(g.body.toString(), 'hello world\n');
    assert.equal(g.headers['content-type'], 'text/plain');
    assert.equal(g.headers['content-length'], '12');
    assert.equal(g.headers['last-modified'], 'Tue, 14 Nov 2023 22:13:20 GMT');
    assert.equal(g.headers['etag'], '"c-60a24181e4000"'); // 12 bytes; 1700000000 s in µs, hex
    assert.equal(g.headers['accept-ranges'], 'bytes');
  });

  test('HEAD: same head, exact Content-Length, no body; connection stays usable', async () => {
    const g = await get('/hello.txt', {}, 'HEAD');
    assert.equal(g.status, 200);
    assert.equal(g.headers['content-length'], '12');
    assert.equal(g.body.length, 0);
    // Raw: one Content-Length only, and a pipelined GET after it is answered.
    const raw = await new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1');
      let data = '';
      s.setEncoding('latin1');
      s.on('data', (d: string) => {
        data += d;
        if (data.endsWith('hello world\n')) {
          s.destroy();
          resolve(data);
        }
      });
      s.write('HEAD /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n');
      s.once('data', () => s.write('GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n'));
    });
    assert.equal(raw.match(/Content-Length:/gi)!.length, 2);
    assert.ok(!/\r\n\r\nhello world\n.*HTTP\/1\.1 200/s.test(raw));
  });

  test('conditional: If-None-Match → 304 without body; If-Modified-Since → 304; If-Match mismatch → 412', async () => {
    const first = await get('/hello.txt');
    const inm = await get('/hello.txt', { 'If-None-Match': String(first.headers['etag']) });
    assert.equal(inm.status, 304);
    assert.equal(inm.body.length, 0);
    assert.equal(inm.headers['etag'], first.headers['etag']);
    const ims = await get('/hello.txt', { 'If-Modified-Since': 'Tue, 14 Nov 2023 22:13:20 GMT' });
    assert.equal(ims.status, 304);
    const im = await get('/hello.txt', { 'If-Match': '"nope"' });
    assert.equal(im.status, 412);
  });

  test('Range: 206 with Content-Range; suffix; unsatisfiable 416; several ranges → 200', async () => {
    const r = await get('/hello.txt', { Range: 'bytes=0-4' });
    assert.equal(r.status, 206);
    assert.equal(r.body.toString(), 'hello');
    assert.equal(r.headers['content-range'], 'bytes 0-4/12');
    const s = await get('/hello.txt', { Range: 'bytes=-6' });
    assert.equal(s.body.toString(), 'world\n');
    const u = await get('/hello.txt', { Range: 'bytes=100-' });
    assert.equal(u.status, 416);
    assert.equal(u.headers['content-range'], 'bytes */12');
    const m = await get('/hello.txt', { Range: 'bytes=0-1,3-4' });
    assert.equal(m.status, 200);
    assert.equal(m.body.length, 12);
    const stale = await get('/hello.txt', { Range: 'bytes=0-4', 'If-Range': '"stale"' });
    assert.equal(stale.status, 200);
  });

  test('methods other than GET/HEAD → 405 with Allow; a directory → 404; empty file → 200 empty', async () => {
    const p = await get('/hello.txt', {}, 'POST');
    assert.equal(p.status, 405);
    assert.equal(p.headers['allow'], 'GET, HEAD');
    const d = await get('/sub');
    assert.equal(d.status, 404);
    const e = await get('/empty.txt');
    assert.equal(e.status, 200);
    assert.equal(e.headers['content-length'], '0');
  });

  test('a large file to a reader that stalls: tryEnd fails, onWritable resumes, byte-exact', async () => {
    const done = new Promise<StaticOutcome>((r) => {
      outcomeWaiter = r;
    });
    writableCalls = 0;
    const parts: Buffer[] = [];
    let total = 0;
    await new Promise<void>((resolve) => {
      const s = connect(port, '127.0.0.1');
      // Stop reading at the first bytes; resume once uWS reports a full socket (tryEnd false).
      s.once('data', () => {
        s.pause();
      });
      onBlocked = () => {
        onBlocked = null;
        s.resume();
      };
      let need = Infinity; // head + body, known after the first chunk
      s.on('data', (d: Buffer) => {
        if (parts.length === 0) need = d.indexOf('\r\n\r\n') + 4 + BIG;
        parts.push(d);
        total += d.length;
        if (total >= need) {
          s.destroy();
          resolve();
        }
      });
      s.write('GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n');
    });
    const o = await done;
    outcomeWaiter = null;
    const all = Buffer.concat(parts);
    const body = all.subarray(all.indexOf('\r\n\r\n') + 4);
    assert.match(all.subarray(0, 200).toString('latin1'), new RegExp(`Content-Length: ${BIG}\r\n`));
    assert.equal(body.length, BIG);
    for (let i = 0; i < BIG; i += 4093) assert.equal(body[i], (i * 7 + (i >>> 11)) & 0xff, `byte ${i}`);
    assert.deepEqual(o, { status: 200, bytes: BIG, aborted: false });
    assert.ok(writableCalls > 0, 'uWS never reported backpressure: the test did not exercise onWritable');
  });

  test('a file that shrinks mid-transfer: connection closed (truncation shows), outcome carries the error', async () => {
    const file = join(dir, 'shrink.bin');
    writeFileSync(file, Buffer.alloc(BIG, 1));
    const done = new Promise<StaticOutcome>((r) => {
      outcomeWaiter = r;
    });
    let got = 0;
    const closed = new Promise<void>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('data', () => {
        s.pause();
      });
      onBlocked = () => {
        onBlocked = null;
        truncateSync(file, 1 << 20);
        s.resume();
      };
      s.on('data', (d: Buffer) => {
        got += d.length;
      });
      s.on('close', () => resolve());
      s.write('GET /shrink.bin HTTP/1.1\r\nHost: a\r\n\r\n');
    });
    const o = await done;
    outcomeWaiter = null;
    await closed;
    assert.equal(o.status, 200);
    assert.equal(o.aborted, false);
    assert.match(String(o.error?.message), /ended \d+ bytes early/);
    assert.ok(got < BIG);
  });

  test('a client that leaves mid-transfer: onAborted, outcome aborted, nothing touched after', async () => {
    const done = new Promise<StaticOutcome>((r) => {
      outcomeWaiter = r;
    });
    const s = connect(port, '127.0.0.1');
    s.write('GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n');
    let got = 0;
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got > 100_000) s.destroy();
    });
    const o = await done;
    outcomeWaiter = null;
    assert.equal(o.aborted, true);
    assert.ok(o.bytes < BIG);
    // The server still answers afterwards.
    assert.equal((await get('/hello.txt')).status, 200);
  });
});
