// libfcgi's cgi-fcgi, an independent FastCGI client, against src/app's responder server
// (a handler defined here, over TCP and a unix socket) and against the built-in demo app.
// It checks what a client that is not ours sends and expects: params from the environment
// (libfcgi cuts PARAMS records at arbitrary bytes), STDIN, STDOUT/STDERR and appStatus.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createFcgiServer,
  type FcgiRequest,
  type FcgiResponse,
  type FcgiServer,
} from '../../src/app/responder-server.js';
import { formatAddress } from '../../src/app/listen-address.js';
import { BYTES_PATTERN, startDemoApp, type DemoApp } from '../../src/app/demo.js';
import { runCgiFcgi, skipUnlessCgiFcgi, type CgiFcgiResult } from '../helpers/cgi-fcgi.js';
import { splitCgiResponse } from '../helpers/fcgi-client.js';

const skip = skipUnlessCgiFcgi();

/** Deterministic bytes: byte i is (i * 7 + 3) & 0xff, so any slice can be rebuilt. */
function pattern(from: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = ((from + i) * 7 + 3) & 0xff;
  return b;
}

/**
 * The test app. QUERY_STRING picks the behaviour:
 *   (default)        JSON of the params, STDIN length and SHA-256; one STDERR line
 *   big=N            N bytes of pattern() in 64 KiB writes, honouring backpressure
 *   exit=N           an empty 204 and END_REQUEST with appStatus N
 */
async function handler(req: FcgiRequest, res: FcgiResponse): Promise<void> {
  const query = new URLSearchParams(req.param('QUERY_STRING'));
  if (query.has('exit')) {
    res.writeHead(204);
    res.end(Number(query.get('exit')));
    return;
  }
  if (query.has('big')) {
    const total = Number(query.get('big'));
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': total });
    for (let sent = 0; sent < total && !res.finished; ) {
      const n = Math.min(65536, total - sent);
      const ok = res.write(pattern(sent, n));
      sent += n;
      if (!ok) await res.drained();
    }
    res.end();
    return;
  }
  const hash = createHash('sha256');
  let length = 0;
  for await (const chunk of req.stdin) {
    hash.update(chunk as Buffer);
    length += (chunk as Buffer).length;
  }
  res.stderr(`cgi-fcgi test stderr line id=${req.id}\n`);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Set-Cookie': ['a=1; Path=/', 'b=2; Path=/'] });
  res.write(
    JSON.stringify({
      params: Object.fromEntries(req.params),
      length,
      sha256: hash.digest('hex'),
      keepConn: req.keepConn,
    }),
  );
  res.end();
}

interface Echo {
  params: Record<string, string>;
  length: number;
  sha256: string;
  keepConn: boolean;
}

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: 'HTTP/1.1',
    REQUEST_METHOD: 'GET',
    SCRIPT_NAME: '/echo',
    REQUEST_URI: '/echo',
    QUERY_STRING: '',
    REMOTE_ADDR: '127.0.0.1',
    ...extra,
  };
}

function readEcho(r: CgiFcgiResult): Echo {
  assert.equal(r.code, 0, `cgi-fcgi exit code (appStatus); stderr: ${r.stderr.toString()}`);
  const res = splitCgiResponse(r.stdout);
  assert.equal(res.status, 200);
  assert.deepEqual(
    res.headers.filter(([n]) => n === 'Set-Cookie').map(([, v]) => v),
    ['a=1; Path=/', 'b=2; Path=/'],
  );
  return JSON.parse(res.body.toString('utf8')) as Echo;
}

function randomPieces(total: number, piece: number): { pieces: Buffer[]; sha256: string } {
  const pieces: Buffer[] = [];
  const hash = createHash('sha256');
  for (let at = 0; at < total; at += piece) {
    const b = randomFillSync(Buffer.allocUnsafe(Math.min(piece, total - at)));
    hash.update(b);
    pieces.push(b);
  }
  return { pieces, sha256: hash.digest('hex') };
}

describe('cgi-fcgi against src/app (TCP)', { skip }, () => {
  let server: FcgiServer;
  let address: string;
  before(async () => {
    server = createFcgiServer(handler, { log: () => undefined });
    address = formatAddress(await server.listen({ host: '127.0.0.1', port: 0 }));
  });
  after(async () => {
    await server?.destroyAll();
  });

  test('params from the environment arrive intact: 4-byte lengths, > 64 KiB in all, UTF-8', async () => {
    const extra: Record<string, string> = {
      QUERY_STRING: 'a=1&b=%C3%A9',
      X_LONG: 'v'.repeat(200),
      X_UTF8: 'héllo ✓ 日本',
      X_EMPTY: '',
    };
    for (let i = 0; i < 20; i++) extra[`X_BIG_${i}`] = `${i}:` + 'z'.repeat(4990);
    const echo = readEcho(await runCgiFcgi({ address, env: env(extra) }));
    for (const [name, value] of Object.entries(env(extra))) {
      assert.equal(echo.params[name], value, `param ${name}`);
    }
    assert.equal(echo.length, 0);
    assert.equal(echo.keepConn, false, 'cgi-fcgi does not ask for keep-conn');
  });

  for (const size of [0, 1, 65535, 65536, 1024 * 1024]) {
    test(`a ${size}-byte body on stdin arrives with the same SHA-256`, async () => {
      const body = randomPieces(size, 100_000);
      const echo = readEcho(
        await runCgiFcgi({
          address,
          stdin: body.pieces,
          env: env({ REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(size), CONTENT_TYPE: 'application/octet-stream' }),
        }),
      );
      assert.equal(echo.length, size);
      assert.equal(echo.sha256, body.sha256);
    });
  }

  test('STDERR records come out on cgi-fcgi stderr, never in stdout', async () => {
    const r = await runCgiFcgi({ address, env: env() });
    readEcho(r);
    assert.match(r.stderr.toString('utf8'), /cgi-fcgi test stderr line id=1/);
    assert.ok(!r.stdout.includes('cgi-fcgi test stderr line'));
  });

  test('a 4 MiB response streams through with backpressure', async () => {
    const total = 4 * 1024 * 1024;
    const r = await runCgiFcgi({ address, env: env({ QUERY_STRING: `big=${total}` }) });
    assert.equal(r.code, 0);
    const res = splitCgiResponse(r.stdout);
    assert.equal(res.body.length, total);
    assert.ok(res.body.equals(pattern(0, total)), 'response body bytes');
  });

  test("END_REQUEST appStatus becomes cgi-fcgi's exit code", async () => {
    const r = await runCgiFcgi({ address, env: env({ QUERY_STRING: 'exit=7' }) });
    assert.equal(r.code, 7);
    assert.equal(splitCgiResponse(r.stdout).status, 204);
  });

  test('cgi-fcgi against nothing listening fails (non-zero exit), promptly', async () => {
    const probe = createFcgiServer(handler, { log: () => undefined });
    const bound = await probe.listen({ host: '127.0.0.1', port: 0 });
    await probe.destroyAll(); // the port is now closed
    const r = await runCgiFcgi({ address: formatAddress(bound), env: env() });
    assert.notEqual(r.code, 0);
  });
});

describe('cgi-fcgi against src/app (unix socket)', { skip }, () => {
  let server: FcgiServer;
  let dir: string;
  let path: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fcgate-cgi-fcgi-'));
    path = join(dir, 'app.sock');
    server = createFcgiServer(handler, { log: () => undefined });
    await server.listen({ path });
  });
  after(async () => {
    await server?.destroyAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('params and a 65536-byte body over a unix socket', async () => {
    const body = randomPieces(65536, 65536);
    const echo = readEcho(
      await runCgiFcgi({
        address: path,
        stdin: body.pieces,
        env: env({ REQUEST_METHOD: 'PUT', CONTENT_LENGTH: '65536', X_UTF8: 'héllo ✓ 日本' }),
      }),
    );
    assert.equal(echo.params['X_UTF8'], 'héllo ✓ 日本');
    assert.equal(echo.params['REQUEST_METHOD'], 'PUT');
    assert.equal(echo.sha256, body.sha256);
  });
});

// The built-in demo app (`npm start`), started in-process on a free loopback port.
describe('cgi-fcgi against the built-in demo app', { skip }, () => {
  let demo: DemoApp;
  let address: string;
  before(async () => {
    demo = await startDemoApp({ listen: '127.0.0.1:0', server: { log: () => undefined } });
    address = formatAddress(demo.address);
  });
  after(async () => {
    await demo?.server.destroyAll();
  });

  const get = (path: string, extra: Record<string, string> = {}): Promise<CgiFcgiResult> => {
    const q = path.indexOf('?');
    return runCgiFcgi({
      address,
      env: env({
        SCRIPT_NAME: q >= 0 ? path.slice(0, q) : path,
        REQUEST_URI: path,
        QUERY_STRING: q >= 0 ? path.slice(q + 1) : '',
        ...extra,
      }),
    });
  };

  test('GET /hello', async () => {
    const r = await get('/hello');
    assert.equal(r.code, 0, `stderr: ${r.stderr.toString()}`);
    const res = splitCgiResponse(r.stdout);
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'Hello from the fcgate demo app\n');
  });

  test('GET / shows the environment page with our params', async () => {
    const r = await get('/', { X_FCGATE_MARK: 'mark-4711' });
    assert.equal(r.code, 0);
    const res = splitCgiResponse(r.stdout);
    assert.equal(res.status, 200);
    assert.ok(res.headers.some(([n, v]) => n.toLowerCase() === 'content-type' && v.startsWith('text/html')));
    assert.match(res.body.toString('utf8'), /mark-4711/);
  });

  test('POST /echo: a 1 MiB body comes back as the same length and SHA-256', async () => {
    const body = randomPieces(1024 * 1024, 100_000);
    const r = await runCgiFcgi({
      address,
      stdin: body.pieces,
      env: env({
        REQUEST_METHOD: 'POST',
        SCRIPT_NAME: '/echo',
        REQUEST_URI: '/echo',
        CONTENT_LENGTH: String(1024 * 1024),
        CONTENT_TYPE: 'application/octet-stream',
      }),
    });
    assert.equal(r.code, 0);
    const res = splitCgiResponse(r.stdout);
    assert.deepEqual(JSON.parse(res.body.toString()), {
      length: 1024 * 1024,
      sha256: body.sha256,
      content_length: String(1024 * 1024),
    });
  });

  test('GET /bytes?n=200000: the documented pattern, Content-Length matching', async () => {
    const r = await get('/bytes?n=200000');
    assert.equal(r.code, 0);
    const res = splitCgiResponse(r.stdout);
    assert.equal(res.body.length, 200000);
    assert.ok(res.headers.some(([n, v]) => n.toLowerCase() === 'content-length' && v === '200000'));
    const expected = Buffer.alloc(200000, BYTES_PATTERN, 'latin1');
    assert.ok(res.body.equals(expected), 'body follows BYTES_PATTERN');
  });

  test('GET /stream?chunks=3&interval=0', async () => {
    const r = await get('/stream?chunks=3&interval=0');
    assert.equal(r.code, 0);
    assert.equal(splitCgiResponse(r.stdout).body.toString(), 'chunk 0\nchunk 1\nchunk 2\n');
  });

  test('an unknown path answers 404 with appStatus 0', async () => {
    const r = await get('/no-such-route');
    assert.equal(r.code, 0);
    assert.equal(splitCgiResponse(r.stdout).status, 404);
  });
});
