// HTTP semantics through the real gateway to real PHP-FPM: HEAD, local and client
// redirects (RFC 3875 §6.2.2/§6.2.3; deliberate differences from Apache:
// docs/apache-differences.md), Set-Cookie and Cookie, and how request headers reach
// PHP (httpoxy, Authorization with and without CGIPassAuth, repeated headers, Host,
// non-ASCII values), statuses and conditional requests. Fixtures: http.php, env.php,
// status.php, etag.php, hello.txt (served by the gateway).
// Header names with '_' are not tried here: uWS drops such a connection (native-notes/uws.md).
// Bodies and streaming: gateway-php-bodies.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingHttpHeaders } from 'node:http';
import { PHP_FIXTURES, skipUnlessPhpFpm, startPhpFpm, type PhpFpm } from '../helpers/php-fpm.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const skip = skipUnlessPhpFpm();
const FX = PHP_FIXTURES.replace(/\/+$/, '');

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * One request with node:http. `headers` may be a flat raw list ([name, value, name, value…])
 * to repeat a header; values are written as latin-1, so a string made with
 * Buffer#toString('latin1') sends those exact bytes.
 */
function send(
  url: string,
  opts: { method?: string; headers?: Record<string, string> | string[]; body?: Buffer } = {},
): Promise<Answer> {
  let headers = opts.headers ?? {};
  // A raw list is sent as is: node adds no Host then.
  if (Array.isArray(headers) && !headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'host')) {
    headers = ['Host', new URL(url).host, ...headers];
  }
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`${url} timed out`)));
    req.end(opts.body);
  });
}

interface EnvAnswer {
  server: Record<string, string>;
  cookie: Record<string, string>;
  get: Record<string, string>;
  body_length: number;
  hex?: string | null;
}

const envOf = (a: Answer): EnvAnswer => {
  assert.equal(
    a.headers['x-fixture'],
    'env',
    `env.php should have answered: ${a.status} ${a.body.toString().slice(0, 300)}`,
  );
  return JSON.parse(a.body.toString('utf8')) as EnvAnswer;
};

const handlerConfig = (port: number, extra = ''): string =>
  [
    `DocumentRoot "${FX}"`,
    '<FilesMatch "\\.php$">',
    `    SetHandler "proxy:fcgi://localhost:${port}"`,
    '</FilesMatch>',
    extra,
    '',
  ].join('\n');

describe('HTTP through the gateway to PHP-FPM', { skip }, () => {
  let fpm: PhpFpm;
  let gw: TestGateway;
  let base = '';
  before(async () => {
    fpm = await startPhpFpm({ docroot: PHP_FIXTURES, maxChildren: 2 });
    gw = await startTestGateway({ config: handlerConfig(fpm.port!) });
    base = gw.base;
  });
  after(async () => {
    await gw?.stop();
    await fpm?.stop();
  });

  test('HEAD: PHP sees REQUEST_METHOD=HEAD, the client gets the head and no body', async () => {
    const get = await send(`${base}/http.php?case=body`);
    assert.equal(get.status, 200);
    assert.equal(get.headers['x-seen-method'], 'GET');
    assert.equal(get.body.length, 1000);
    const head = await send(`${base}/http.php?case=body`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['x-seen-method'], 'HEAD');
    assert.match(head.headers['content-type'] ?? '', /^text\/plain/);
    assert.equal(head.body.length, 0);
    // The connection stays usable: a GET right after on a fresh agent socket works too.
    assert.equal((await send(`${base}/http.php?case=body`)).body.length, 1000);
  });

  test('Location: /path with no Status → served internally as GET (local redirect)', async () => {
    const r = await send(`${base}/http.php?case=local&to=${encodeURIComponent('/env.php?from=r')}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['location'], undefined);
    assert.equal(r.headers['x-seen-method'], undefined, "the first answer's headers are dropped");
    const e = envOf(r);
    assert.equal(e.server['REQUEST_URI'], '/env.php?from=r');
    assert.equal(e.server['QUERY_STRING'], 'from=r');
    assert.equal(e.server['SCRIPT_NAME'], '/env.php');
    assert.equal(e.server['REQUEST_METHOD'], 'GET');

    // POST → the redirect is a GET without the body.
    const p = envOf(
      await send(`${base}/http.php?case=local&to=/env.php`, {
        method: 'POST',
        body: Buffer.from('a=1&b=2'),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      }),
    );
    assert.equal(p.server['REQUEST_METHOD'], 'GET');
    assert.equal(p.server['CONTENT_LENGTH'], undefined);
    assert.equal(p.server['CONTENT_TYPE'], undefined);
    assert.equal(p.body_length, 0);

    // HEAD stays HEAD and gets no body.
    const h = await send(`${base}/http.php?case=local&to=/env.php`, { method: 'HEAD' });
    assert.equal(h.status, 200);
    assert.equal(h.headers['x-fixture'], 'env');
    assert.equal(h.body.length, 0);

    // To a static file served by the gateway.
    const s = await send(`${base}/http.php?case=local&to=/hello.txt`);
    assert.equal(s.status, 200);
    assert.equal(s.body.toString(), 'hello from a static file\n');
  });

  test('a local redirect loop ends in 502 after the limit', async () => {
    const r = await send(`${base}/http.php?case=loop`);
    assert.equal(r.status, 502);
    assert.ok(
      gw.logs.some((l) => l.startsWith('FCGATE_REDIRECT_LOOP')),
      gw.logs.join('\n'),
    );
  });

  test("client redirects: PHP's 302, explicit 301 and 201 kept, absolute Location without Status → 302", async () => {
    const php = await send(`${base}/http.php?case=php&to=/elsewhere`);
    assert.equal(php.status, 302); // PHP adds "Status: 302 Found" itself
    assert.equal(php.headers['location'], '/elsewhere');
    const moved = await send(`${base}/http.php?case=code&code=301&to=${encodeURIComponent('http://example.test/p')}`);
    assert.equal(moved.status, 301);
    assert.equal(moved.headers['location'], 'http://example.test/p');
    assert.equal(moved.body.toString(), 'moved\n');
    const created = await send(`${base}/http.php?case=code&code=201&to=/items/42`);
    assert.equal(created.status, 201);
    assert.equal(created.headers['location'], '/items/42');
    // No Status line from PHP (response code 200) and an absolute URL: 302 (Apache: 200).
    const abs = await send(`${base}/http.php?case=local&to=${encodeURIComponent('http://example.test/x?y=1')}`);
    assert.equal(abs.status, 302);
    assert.equal(abs.headers['location'], 'http://example.test/x?y=1');
  });

  test('status from PHP: code and reason phrase kept; 204 and 304 without a body', async () => {
    const nf = await send(`${base}/status.php?code=404`);
    assert.equal(nf.status, 404);
    assert.equal(nf.body.toString(), 'status 404\n');
    const custom = await new Promise<{ status: number; reason: string }>((resolve, reject) => {
      request(`${base}/status.php?code=599&reason=Custom%20Reason`, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, reason: res.statusMessage ?? '' }));
      })
        .on('error', reject)
        .end();
    });
    assert.deepEqual(custom, { status: 599, reason: 'Custom Reason' });
    for (const code of [204, 304]) {
      const r = await send(`${base}/status.php?code=${code}`);
      assert.equal(r.status, code);
      assert.equal(r.body.length, 0);
    }
  });

  // Apache answers conditional requests for the app as an origin would; so does fcgate.
  test("If-None-Match equal to PHP's ETag → 304 without a body", async () => {
    const full = await send(`${base}/etag.php`);
    assert.equal(full.status, 200);
    assert.equal(full.headers['etag'], '"v1"');
    const cached = await send(`${base}/etag.php`, { headers: { 'If-None-Match': '"v1"' } });
    assert.equal(cached.status, 304);
    assert.equal(cached.body.length, 0);
  });

  test('Range on a proxied answer is ignored: the full 200 (as Apache)', async () => {
    const r = await send(`${base}/etag.php?range=1`, { headers: { Range: 'bytes=0-3' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'etag body\n');
  });

  test('Set-Cookie from PHP stays three headers, in order', async () => {
    const r = await send(`${base}/http.php?case=cookies`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2%203; path=/; HttpOnly', 'c=3; Path=/x; SameSite=Lax']);
  });

  test('Cookie: one header, and two headers joined with "; " so that PHP parses both', async () => {
    const one = envOf(await send(`${base}/env.php`, { headers: { Cookie: 'a=1; b=2' } }));
    assert.equal(one.server['HTTP_COOKIE'], 'a=1; b=2');
    assert.deepEqual(one.cookie, { a: '1', b: '2' });
    const two = envOf(
      await send(`${base}/env.php`, { headers: ['Cookie', 'a=1', 'Cookie', 'b=2', 'Cookie', 'c=x y'] }),
    );
    assert.equal(two.server['HTTP_COOKIE'], 'a=1; b=2; c=x y');
    assert.deepEqual(two.cookie, { a: '1', b: '2', c: 'x y' });
    // Other repeated headers: ", " as Apache.
    const multi = envOf(await send(`${base}/env.php`, { headers: ['X-Multi', 'one', 'X-Multi', 'two'] }));
    assert.equal(multi.server['HTTP_X_MULTI'], 'one, two');
  });

  test('httpoxy: a Proxy header never becomes HTTP_PROXY', async () => {
    const e = envOf(await send(`${base}/env.php`, { headers: { Proxy: 'http://evil.test:1', 'X-Ok': 'yes' } }));
    assert.equal(e.server['HTTP_PROXY'], undefined);
    assert.equal(e.server['HTTP_X_OK'], 'yes');
    const upper = envOf(await send(`${base}/env.php`, { headers: ['PROXY', 'http://evil.test:2'] }));
    assert.equal(upper.server['HTTP_PROXY'], undefined);
  });

  test('Authorization reaches PHP only with CGIPassAuth On', async (t) => {
    const auth = {
      Authorization: 'Basic ' + Buffer.from('user:pw').toString('base64'),
      'Proxy-Authorization': 'Basic eDp5',
    };
    const off = envOf(await send(`${base}/env.php`, { headers: auth }));
    assert.equal(off.server['HTTP_AUTHORIZATION'], undefined);
    assert.equal(off.server['HTTP_PROXY_AUTHORIZATION'], undefined);
    assert.equal(off.server['PHP_AUTH_USER'], undefined);

    const gw2 = await startTestGateway({
      config: handlerConfig(fpm.port!, `<Directory "${FX}">\n    CGIPassAuth On\n</Directory>`),
    });
    t.after(() => gw2.stop());
    const on = envOf(await send(`${gw2.base}/env.php`, { headers: auth }));
    assert.equal(on.server['HTTP_AUTHORIZATION'], auth.Authorization);
    assert.equal(on.server['HTTP_PROXY_AUTHORIZATION'], 'Basic eDp5');
    assert.equal(on.server['PHP_AUTH_USER'], 'user');
    assert.equal(on.server['PHP_AUTH_PW'], 'pw');
  });

  test('Host gives SERVER_NAME and SERVER_PORT', async () => {
    const e = envOf(await send(`${base}/env.php`, { headers: { Host: 'Example.COM:9999' } }));
    assert.equal(e.server['HTTP_HOST'], 'Example.COM:9999');
    assert.equal(e.server['SERVER_NAME'], 'example.com');
    assert.equal(e.server['SERVER_PORT'], '9999');
    const noPort = envOf(await send(`${base}/env.php`, { headers: { Host: 'example.com' } }));
    assert.equal(noPort.server['SERVER_PORT'], '80');
  });

  test('non-ASCII header values: UTF-8 bytes inside the value reach PHP unchanged', async () => {
    const utf8 = Buffer.from('héllo ✓ 東京 end', 'utf8');
    const e = envOf(await send(`${base}/env.php?hex=HTTP_X_NAME`, { headers: { 'X-Name': utf8.toString('latin1') } }));
    assert.equal(e.hex, utf8.toString('hex'));
    assert.equal(e.server['HTTP_X_NAME'], 'héllo ✓ 東京 end');
  });

  // Apache passes header bytes unchanged. uWS (native-notes/uws.md, a documented difference
  // that no JS code can change) strips non-ASCII bytes at either end of a value and decodes
  // the rest as UTF-8, replacing invalid bytes with U+FFFD. This pins that behaviour down.
  test('non-ASCII header values: latin-1 inside becomes U+FFFD, non-ASCII at the edges is stripped (uWS)', async () => {
    const inner = envOf(await send(`${base}/env.php?hex=HTTP_X_NAME`, { headers: { 'X-Name': 'caf\xe9 au lait' } }));
    assert.equal(inner.hex, Buffer.from('caf\ufffd au lait', 'utf8').toString('hex'));
    const edge = envOf(
      await send(`${base}/env.php?hex=HTTP_X_NAME`, {
        headers: { 'X-Name': Buffer.from('東京 x 東京', 'utf8').toString('latin1') },
      }),
    );
    // '東京 x 東京': the non-ASCII runs at both ends go, then the spaces are trimmed.
    assert.equal(edge.hex, Buffer.from('x').toString('hex'));
  });
});
