// snapshot.ts: address formatting and method upper-casing by table, header joining with a fake
// request, then takeSnapshot end to end through uWS (IPv4, dual-stack, IPv6, unix socket) and
// a bounded measurement of its per-request cost inside a real handler.

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { copyHeaders, formatAddress, takeSnapshot, upperMethod } from '../../src/front/snapshot.js';
import type { RequestSnapshot } from '../../src/request.js';
import { closeListening, listenApp, listenUnix, type Listening } from '../../src/front/listen.js';
import { loadUws, type HttpRequest, type HttpResponse } from '../../src/front/uws.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));

describe('pure parts', () => {
  test('formatAddress: IPv4, IPv4-mapped, RFC 5952 IPv6', () => {
    const cases: Array<[string, string]> = [
      ['7f000001', '127.0.0.1'],
      ['00000000 00000000 0000ffff c0a80001', '192.168.0.1'], // ::ffff:192.168.0.1
      ['00000000 00000000 00000000 00000001', '::1'],
      ['00000000 00000000 00000000 00000000', '::'],
      ['20010db8 00000000 00000000 00000001', '2001:db8::1'],
      ['20010db8 00000000 00010000 00000001', '2001:db8::1:0:0:1'], // equal runs: the first one
      ['20010db8 00000001 00010001 00010001', '2001:db8:0:1:1:1:1:1'], // one zero group stays
      ['fe800000 00000000 02000000 00000000', 'fe80::200:0:0:0'], // lengths 3 vs 3 → first
      ['00010000 00000000 00000000 00000000', '1::'],
      ['00000000 0000fffe c0a80001 00000000', '::fffe:c0a8:1:0:0'], // not mapped; runs 3 vs 2
      ['', ''], // unix socket: no address
    ];
    for (const [bytes, want] of cases) assert.equal(formatAddress(hex(bytes)), want, bytes);
  });

  test('upperMethod: known methods are constants, others upper-cased', () => {
    assert.equal(upperMethod('get'), 'GET');
    assert.equal(upperMethod('propfind'), 'PROPFIND');
    assert.equal(upperMethod('foobar'), 'FOOBAR');
    assert.equal(upperMethod('constructor'), 'CONSTRUCTOR'); // no prototype lookups
  });

  test('copyHeaders: arrival order, repeated joined with ", ", Cookie with "; "', () => {
    const raw: Array<[string, string]> = [
      ['host', 'a'],
      ['cookie', 'a=1'],
      ['x-m', '1'],
      ['accept', '*/*'],
      ['cookie', 'b=2'],
      ['x-m', '2'],
      ['x-m', ''],
      ['cookie', 'c=3'],
    ];
    const fake = {
      forEach: (cb: (k: string, v: string) => void) => {
        for (const [k, v] of raw) cb(k, v);
      },
    };
    assert.deepEqual(copyHeaders(fake as unknown as HttpRequest), [
      ['host', 'a'],
      ['cookie', 'a=1; b=2; c=3'],
      ['x-m', '1, 2, '],
      ['accept', '*/*'],
    ]);
    assert.deepEqual(copyHeaders({ forEach: () => {} } as unknown as HttpRequest), []);
  });
});

describe('takeSnapshot through uWS', () => {
  const uws = loadUws();

  async function snapOne(host: string, clientHost: string, raw: string): Promise<RequestSnapshot> {
    const app = uws.App();
    let snap: RequestSnapshot | null = null;
    let l: Listening | null = null;
    app.any('/*', (res, req) => {
      snap = takeSnapshot(req, res, { address: host, port: l!.port }, 'http');
      res.end('ok');
    });
    l = await listenApp(app, host, 0);
    try {
      await new Promise<void>((resolve) => {
        const s = connect(l!.port, clientHost);
        s.on('data', () => {
          s.destroy();
          resolve();
        });
        s.write(raw);
      });
    } finally {
      closeListening(l);
      app.close();
    }
    return snap!;
  }

  test('all fields, IPv4 listener', async () => {
    const s = await snapOne(
      '127.0.0.1',
      '127.0.0.1',
      'post /a/%7e/../b?x=1&y HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\nCookie: b=2\r\nContent-Length: 0\r\n\r\n',
    );
    assert.deepEqual(s, {
      method: 'POST',
      path: '/a/%7e/../b',
      query: 'x=1&y',
      headers: [
        ['host', 'h'],
        ['cookie', 'a=1; b=2'],
        ['content-length', '0'],
      ],
      remoteAddress: '127.0.0.1',
      remotePort: '',
      localAddress: '127.0.0.1',
      localPort: s.localPort,
      scheme: 'http',
      protocol: 'HTTP/1.1',
    });
    assert.ok(s.localPort > 0);
  });

  test('no "?" → query ""; trailing "?" → query ""', async () => {
    assert.equal((await snapOne('127.0.0.1', '127.0.0.1', 'GET /a HTTP/1.1\r\nHost: h\r\n\r\n')).query, '');
    assert.equal((await snapOne('127.0.0.1', '127.0.0.1', 'GET /a? HTTP/1.1\r\nHost: h\r\n\r\n')).query, '');
  });

  test('dual-stack "::" listener: an IPv4 client is 127.0.0.1, an IPv6 one ::1', async () => {
    const v4 = await snapOne('::', '127.0.0.1', 'GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    assert.equal(v4.remoteAddress, '127.0.0.1');
    const v6 = await snapOne('::1', '::1', 'GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    assert.equal(v6.remoteAddress, '::1');
  });

  test('unix socket listener: remoteAddress ""', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fcgate-snap-'));
    const path = join(dir, 's.sock');
    const app = uws.App();
    let snap: RequestSnapshot | null = null;
    app.any('/*', (res, req) => {
      snap = takeSnapshot(req, res, { address: path, port: 0 }, 'http');
      res.end('ok');
    });
    const l = await listenUnix(app, path);
    try {
      await new Promise<void>((resolve) => {
        const s = connect(path);
        s.on('data', () => {
          s.destroy();
          resolve();
        });
        s.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
      });
      assert.equal(snap!.remoteAddress, '');
    } finally {
      closeListening(l);
      app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('cost per request inside a real handler (12 browser-like header lines), bounded', async () => {
    const app = uws.App();
    const N = 4000;
    const ns: number[] = [];
    let count = 0,
      headerCount = 0;
    app.any('/*', (res: HttpResponse, req: HttpRequest) => {
      const t = process.hrtime.bigint();
      const s = takeSnapshot(req, res, { address: '127.0.0.1', port: 1 }, 'http');
      ns.push(Number(process.hrtime.bigint() - t));
      count++;
      headerCount = s.headers.length;
      res.end();
    });
    const l = await listenApp(app, '127.0.0.1', 0);
    const one =
      'GET /index.php?id=42 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n'
      + 'Accept: text/html,application/xhtml+xml\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\n'
      + 'Connection: keep-alive\r\nCookie: session=abc123\r\nCookie: theme=dark\r\nUpgrade-Insecure-Requests: 1\r\n'
      + 'Sec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\nCache-Control: max-age=0\r\n\r\n';
    try {
      await new Promise<void>((resolve) => {
        const s = connect(l.port, '127.0.0.1');
        let sent = 0;
        const burst = (): void => {
          const n = Math.min(100, N - sent);
          sent += n;
          s.write(one.repeat(n));
        };
        let answered = 0;
        s.setEncoding('latin1');
        s.on('data', (d: string) => {
          answered += d.split('HTTP/1.1 200').length - 1;
          if (answered >= N) {
            s.destroy();
            resolve();
          } else if (answered === sent) burst();
        });
        burst();
      });
    } finally {
      closeListening(l);
      app.close();
    }
    assert.equal(count, N);
    assert.equal(headerCount, 11); // 12 lines, Cookie twice
    // Median: the machine is shared and the first requests run unoptimised code.
    ns.sort((a, b) => a - b);
    const medianUs = ns[ns.length >> 1]! / 1000;
    console.log(
      `takeSnapshot: median ${medianUs.toFixed(2)} µs over ${N} requests (12 header lines, incl. getpeername)`,
    );
    assert.ok(medianUs < 50, `${medianUs} µs`);
  });
});
