// src/protocol against a real PHP-FPM (started privately, TCP loopback and a unix socket):
// params of every length form, multi-record PARAMS, UTF-8, bodies from 0 B to 10 MiB
// streamed with backpressure, STDERR records, END_REQUEST, keep-conn and FCGI_GET_VALUES.
// No gateway here: requests are built by the codec and sent from a node:net socket.
//
// What PHP-FPM (8.2.36, main/fastcgi.c) was seen to require and do, probed by hand:
// - each PARAMS record is parsed on its own: a name-value pair cut across two PARAMS
//   records resets the connection, so a writer must cut PARAMS records at pair boundaries;
// - a PARAMS record's content + padding must fit in 65535: 65535 content bytes with 1 byte of
//   padding resets the connection (65535 with no padding, or 65528 padded, is fine); STDIN
//   records of 65535 + 1 padding are accepted;
// - STDOUT ends with END_REQUEST alone: no empty STDOUT record is sent;
// - FCGI_GET_VALUES is answered with FCGI_MPXS_CONNS=0 only (not MAX_CONNS/MAX_REQS), and the
//   connection stays open and serves a request afterwards (while it is open it holds a worker).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomFillSync } from 'node:crypto';
import { join } from 'node:path';
import { ProtocolStatus, ValueName, measurePreamble } from '../../src/protocol/index.js';
import { PHP_FIXTURES, skipUnlessPhpFpm, startPhpFpm, type PhpFpm } from '../helpers/php-fpm.js';
import {
  FcgiTestClient,
  fcgiRequest,
  splitCgiResponse,
  type BodySource,
  type FcgiReply,
} from '../helpers/fcgi-client.js';
import type { ConnectTarget } from '../helpers/process.js';

const skip = skipUnlessPhpFpm();
const MiB = 1024 * 1024;

/** A CGI environment for fixture `script` as a gateway would send it. */
function cgiParams(
  script: string,
  opts: { method?: string; query?: string; bodyLength?: number; extra?: Record<string, string> } = {},
): Record<string, string> {
  const method = opts.method ?? (opts.bodyLength ? 'POST' : 'GET');
  const query = opts.query ?? '';
  const p: Record<string, string> = {
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_SOFTWARE: 'fcgate-test',
    SERVER_PROTOCOL: 'HTTP/1.1',
    SERVER_NAME: 'localhost',
    SERVER_ADDR: '127.0.0.1',
    SERVER_PORT: '8080',
    REMOTE_ADDR: '127.0.0.1',
    REMOTE_PORT: '40000',
    REQUEST_SCHEME: 'http',
    DOCUMENT_ROOT: PHP_FIXTURES,
    REQUEST_METHOD: method,
    SCRIPT_NAME: `/${script}`,
    SCRIPT_FILENAME: join(PHP_FIXTURES, script),
    REQUEST_URI: `/${script}${query ? '?' + query : ''}`,
    QUERY_STRING: query,
    HTTP_HOST: 'localhost:8080',
  };
  if (opts.bodyLength !== undefined) {
    p['CONTENT_LENGTH'] = String(opts.bodyLength);
    p['CONTENT_TYPE'] = 'application/octet-stream';
  }
  return { ...p, ...opts.extra };
}

interface Dump {
  server: Record<string, string>;
  body_length: number;
  body_sha256: string;
  php_version: string;
  sapi: string;
}

/** Checks END_REQUEST and the CGI head, and returns env.php's JSON. */
function readDump(x: FcgiReply): Dump {
  assert.equal(x.appStatus, 0, 'appStatus');
  assert.equal(x.protocolStatus, ProtocolStatus.RequestComplete, 'protocolStatus');
  const res = splitCgiResponse(x.stdout);
  assert.equal(res.status, null, `no Status line expected; stderr: ${x.stderr.toString()}`);
  assert.ok(
    res.headers.some(([n, v]) => n === 'X-Fixture' && v === 'env'),
    `env.php head expected, got ${JSON.stringify(res.headers)}`,
  );
  return JSON.parse(res.body.toString('utf8')) as Dump;
}

/** Random pieces of `total` bytes (each new, never reused) and, once drained, their SHA-256. */
function randomBody(total: number, pieceSize: number): { pieces: Iterable<Buffer>; sha256: () => string } {
  const hash = createHash('sha256');
  function* gen(): Generator<Buffer> {
    for (let sent = 0; sent < total; ) {
      const n = Math.min(pieceSize, total - sent);
      const piece = randomFillSync(Buffer.allocUnsafe(n));
      hash.update(piece);
      sent += n;
      yield piece;
    }
  }
  let digest: string | null = null;
  return { pieces: gen(), sha256: () => (digest ??= hash.digest('hex')) };
}

/** Params that exercise every length form: > 127 bytes (4-byte lengths), > 64 KiB in all, UTF-8. */
function bigParams(): Record<string, string> {
  const extra: Record<string, string> = {
    X_FCGATE_LONG_VALUE: 'v'.repeat(200), // 4-byte value length
    ['X_FCGATE_LONG_NAME_' + 'N'.repeat(140)]: 'short', // 4-byte name length
    X_FCGATE_EDGE_127: 'e'.repeat(127), // last 1-byte length
    X_FCGATE_EDGE_128: 'f'.repeat(128), // first 4-byte length
    X_FCGATE_UTF8: 'héllo ✓ 日本',
    X_FCGATE_EMOJI: 'a😀b', // surrogate pair → 4 bytes
    X_FCGATE_EMPTY: '',
    HTTP_USER_AGENT: 'fcgate-codec-test/1.0',
  };
  for (let i = 0; i < 20; i++) {
    const tag = String(i).padStart(2, '0');
    extra[`X_FCGATE_BIG_${tag}`] = `${tag}:` + String.fromCharCode(65 + i).repeat(4997);
  }
  return extra;
}

function checkBigParams(server: Record<string, string>, sent: Record<string, string>): void {
  for (const [name, value] of Object.entries(sent)) {
    assert.equal(server[name], value, `param ${name.slice(0, 40)} arrived intact`);
  }
}

async function postBody(target: ConnectTarget, total: number, pieceSize: number, maxRecord?: number): Promise<void> {
  const body = randomBody(total, pieceSize);
  const x = await fcgiRequest(
    target,
    cgiParams('env.php', { method: 'POST', query: `size=${total}`, bodyLength: total }),
    {
      stdin: body.pieces as BodySource,
      timeoutMs: 60_000,
      ...(maxRecord !== undefined ? { maxRecord } : {}),
    },
  );
  assert.equal(x.stdinBytes, total);
  const dump = readDump(x);
  assert.equal(dump.body_length, total, 'PHP read the whole body');
  assert.equal(dump.body_sha256, body.sha256(), 'body SHA-256');
  assert.equal(dump.server['CONTENT_LENGTH'], String(total));
}

describe('PHP-FPM over TCP, requests from src/protocol', { skip }, () => {
  let fpm: PhpFpm;
  before(async () => {
    fpm = await startPhpFpm({ docroot: PHP_FIXTURES, maxChildren: 2 });
  });
  after(async () => {
    await fpm?.stop();
  });

  test('a plain GET: CGI params arrive, END_REQUEST says complete', async (t) => {
    const x = await fcgiRequest(fpm.target, cgiParams('env.php', { query: 'a=1&b=%C3%A9' }));
    const dump = readDump(x);
    t.diagnostic(
      `php ${dump.php_version} sapi ${dump.sapi} (${fpm.binary}); `
        + `empty STDOUT record before END_REQUEST: ${x.stdoutEnded ? 'sent' : 'not sent'}`,
    );
    assert.equal(dump.sapi, 'fpm-fcgi');
    assert.equal(dump.server['REQUEST_METHOD'], 'GET');
    assert.equal(dump.server['QUERY_STRING'], 'a=1&b=%C3%A9');
    assert.equal(dump.server['REQUEST_URI'], '/env.php?a=1&b=%C3%A9');
    assert.equal(dump.server['SCRIPT_FILENAME'], join(PHP_FIXTURES, 'env.php'));
    assert.equal(dump.server['HTTP_HOST'], 'localhost:8080');
    assert.equal(dump.body_length, 0);
  });

  test('long names and values, > 64 KiB of params over several PARAMS records, UTF-8', async () => {
    const sent = bigParams();
    const params = cgiParams('env.php', { extra: sent });
    // The pairs alone exceed one record, so the writer must split them.
    assert.ok(measurePreamble(Object.entries(params).flat()) > (2 * 65535) / 2 + 16 + 8 + 8);
    const dump = readDump(await fcgiRequest(fpm.target, params));
    checkBigParams(dump.server, sent);
  });

  test('small records (maxRecord 1001: odd sizes, padding on every record) for PARAMS and STDIN', async () => {
    // Every pair fits in one 1001-byte record: PHP-FPM cannot take a pair cut across records.
    const sent: Record<string, string> = { X_FCGATE_UTF8: 'héllo ✓ 日本', X_FCGATE_LONG_VALUE: 'v'.repeat(200) };
    for (let i = 0; i < 100; i++) sent[`X_FCGATE_SMALL_${i}`] = `${i}:` + 'q'.repeat(300 + i);
    const body = randomBody(65536 + 3, 10_000);
    const x = await fcgiRequest(fpm.target, cgiParams('env.php', { bodyLength: 65539, extra: sent }), {
      stdin: body.pieces as BodySource,
      maxRecord: 1001,
    });
    const dump = readDump(x);
    checkBigParams(dump.server, sent);
    assert.equal(dump.body_length, 65539);
    assert.equal(dump.body_sha256, body.sha256());
  });

  for (const size of [0, 1, 65535, 65536]) {
    test(`a ${size}-byte body arrives with the same SHA-256`, async () => {
      await postBody(fpm.target, size, 65536);
    });
  }

  test('a 10 MiB body streamed in 256 KiB + 3 pieces with backpressure', { timeout: 60_000 }, async () => {
    await postBody(fpm.target, 10 * MiB, 256 * 1024 + 3);
  });

  test('error_log() comes back as STDERR records, apart from STDOUT', async () => {
    const x = await fcgiRequest(fpm.target, cgiParams('env.php', { query: 'stderr=1' }));
    readDump(x);
    assert.ok(x.stderrRecords >= 1, 'at least one STDERR record');
    assert.match(x.stderr.toString('utf8'), /fcgate-env stderr line uri=\/env\.php\?stderr=1/);
    assert.ok(!x.stdout.includes('fcgate-env stderr line'), 'STDERR text never in STDOUT');
    const quiet = await fcgiRequest(fpm.target, cgiParams('env.php', { query: 'x=1' }));
    readDump(quiet);
    assert.equal(quiet.stderrRecords, 0);
  });

  test('keep-conn: two requests (ids 1 and 2) on one connection', async () => {
    const conn = await FcgiTestClient.connect(fpm.target);
    try {
      const a = readDump(await conn.request(cgiParams('env.php', { query: 'n=1' }), { id: 1, keepConn: true }));
      assert.equal(conn.ended, false, 'PHP-FPM kept the connection open');
      const body = Buffer.from('second request body');
      const b = readDump(
        await conn.request(cgiParams('env.php', { query: 'n=2', bodyLength: body.length }), {
          id: 2,
          keepConn: true,
          stdin: body,
        }),
      );
      assert.equal(a.server['QUERY_STRING'], 'n=1');
      assert.equal(b.server['QUERY_STRING'], 'n=2');
      assert.equal(b.body_sha256, createHash('sha256').update(body).digest('hex'));
    } finally {
      await conn.close();
    }
  });

  test('without keep-conn PHP-FPM closes the connection after END_REQUEST', async () => {
    const conn = await FcgiTestClient.connect(fpm.target);
    readDump(await conn.request(cgiParams('env.php')));
    await conn.closed; // resolves only when the app closes it
    assert.equal(conn.ended, true, 'closed by a FIN from PHP-FPM');
  });

  test('stream.php: each flush() is its own STDOUT record', async () => {
    const x = await fcgiRequest(fpm.target, cgiParams('stream.php', { query: 'n=4&ms=0' }));
    assert.equal(x.appStatus, 0);
    const res = splitCgiResponse(x.stdout);
    assert.equal(res.body.toString(), 'chunk 0\nchunk 1\nchunk 2\nchunk 3\n');
    assert.ok(x.stdoutRecords >= 4, `${x.stdoutRecords} STDOUT records`);
  });

  test('fixtures answer as their headers say (gateway tests rely on these heads)', async () => {
    const head = async (script: string, query: string): Promise<ReturnType<typeof splitCgiResponse>> => {
      const x = await fcgiRequest(fpm.target, cgiParams(script, { query }));
      assert.equal(x.appStatus, 0);
      return splitCgiResponse(x.stdout);
    };
    const values = (r: ReturnType<typeof splitCgiResponse>, name: string): string[] =>
      r.headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);

    const cookies = await head('headers.php', 'case=cookies');
    assert.deepEqual(values(cookies, 'Set-Cookie'), [
      'a=1; Path=/',
      'b=2; Path=/; HttpOnly',
      'c=3; Path=/; Secure; SameSite=Lax',
    ]);
    const local = await head('headers.php', 'case=local'); // RFC 3875 §6.2.2 local redirect
    assert.equal(local.status, null);
    assert.deepEqual(values(local, 'Location'), ['/env.php?from=headers']);
    const client = await head('headers.php', 'case=client');
    assert.equal(client.status, 302);
    assert.deepEqual(values(client, 'Location'), ['http://example.test/elsewhere']);
    assert.equal((await head('headers.php', 'case=client301')).status, 301);
    const created = await head('headers.php', 'case=created');
    assert.equal(created.status, 201);
    assert.equal(created.body.toString(), 'created\n');
    const multi = await head('headers.php', 'case=multi');
    assert.deepEqual(values(multi, 'X-Multi'), ['one', 'two']);
    assert.equal(values(multi, 'X-Long')[0]?.length, 4000);
    const nope = await head('status.php', 'code=404&reason=Nope');
    assert.equal(nope.status, 404);
    assert.equal(nope.body.toString(), 'status 404\n');
    const empty = await head('status.php', 'code=204&body=0');
    assert.equal(empty.status, 204);
    assert.equal(empty.body.length, 0);
  });

  test('FCGI_GET_VALUES: PHP-FPM does not multiplex (FCGI_MPXS_CONNS = 0)', async (t) => {
    const conn = await FcgiTestClient.connect(fpm.target);
    try {
      const answer = await conn.getValues([ValueName.MaxConns, ValueName.MaxReqs, ValueName.MpxsConns]);
      t.diagnostic(`PHP-FPM ${fpm.version} answers GET_VALUES with ${JSON.stringify([...answer])}`);
      assert.equal(answer.get(ValueName.MpxsConns), '0');
      // The connection stays open and takes a request afterwards.
      assert.equal(conn.ended, false);
      readDump(await conn.request(cgiParams('env.php', { query: 'after=get-values' })));
    } finally {
      await conn.close();
    }
  });
});

describe('PHP-FPM over a unix socket, requests from src/protocol', { skip }, () => {
  let fpm: PhpFpm;
  before(async () => {
    fpm = await startPhpFpm({ docroot: PHP_FIXTURES, listen: 'unix', maxChildren: 1 });
  });
  after(async () => {
    await fpm?.stop();
  });

  test('big params and a 65536-byte body', async () => {
    assert.ok(fpm.socketPath !== undefined && fpm.address === fpm.socketPath);
    const sent = bigParams();
    const body = randomBody(65536, 65536);
    const dump = readDump(
      await fcgiRequest(fpm.target, cgiParams('env.php', { bodyLength: 65536, extra: sent }), {
        stdin: body.pieces as BodySource,
      }),
    );
    checkBigParams(dump.server, sent);
    assert.equal(dump.body_sha256, body.sha256());
  });
});
