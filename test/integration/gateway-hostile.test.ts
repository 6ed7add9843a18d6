// The real gateway in front of the hostile FastCGI app (test/helpers/hostile-app.ts): what the
// client gets and what the error log says for each scripted misbehaviour, and that the next
// request is served normally after it; what the startup probe makes of GET_VALUES answered,
// unanswered, garbled or refused. (Bytes after END_REQUEST and STDERR floods are issue 8 §3
// and issue 9 item 5: their fixes bring their own tests; here only what holds today.)
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { HostileApp, type HostileAppOptions } from '../helpers/hostile-app.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { RawConnection, buildRequest, headerIn } from '../helpers/raw-http.js';

interface Expect {
  status: number;
  /** The body is cut short (the head was out when the app failed). */
  truncated?: boolean;
  /** The one error-log line's code, or null when none is expected. */
  code: string | null;
  body?: string;
}

/** Behaviour → what the client and the log get (read timeout 1 s). */
const TABLE: Record<string, Expect> = {
  ok: { status: 200, code: null, body: 'ok /ok stdin=0\n' },
  'other-id': { status: 502, code: 'FCGATE_PROTOCOL' },
  'flood-stdout?bytes=3000000': { status: 200, code: null },
  'stall-head': { status: 504, code: 'FCGATE_HEADER_TIMEOUT' },
  'stall-body': { status: 200, truncated: true, code: 'FCGATE_READ_TIMEOUT' },
  'reset-head': { status: 502, code: 'FCGATE_APP_CLOSED' },
  'reset-body': { status: 200, truncated: true, code: 'FCGATE_APP_CLOSED' },
  'reset-stdin': { status: 502, code: 'FCGATE_APP_CLOSED' },
  'close-head': { status: 502, code: 'FCGATE_APP_CLOSED' },
  'close-body': { status: 200, truncated: true, code: 'FCGATE_APP_CLOSED' },
  'bad-version': { status: 502, code: 'FCGATE_PROTOCOL' },
  'huge-padding': { status: 200, code: null, body: 'padded\n' },
  'unknown-type': { status: 502, code: 'FCGATE_PROTOCOL' },
  truncated: { status: 502, code: 'FCGATE_APP_CLOSED' },
  'bad-status': { status: 502, code: 'FCGATE_BAD_CGI_HEADER' },
  sendfile: { status: 200, code: null, body: 'sendfile\n' },
  overloaded: { status: 503, code: 'FCGATE_BACKEND_OVERLOADED' },
};

describe('the gateway in front of a hostile app', () => {
  let app: HostileApp;
  let gw: TestGateway;
  before(async () => {
    app = await HostileApp.start();
    gw = await startTestGateway({ config: `ProxyPass / ${app.url}/ timeout=1\n` });
  });
  after(async () => {
    await gw.stop();
    await app.close();
  });

  for (const [what, want] of Object.entries(TABLE)) {
    test(`${what}: ${want.status}${want.truncated ? ' cut short' : ''}${want.code ? `, ${want.code}` : ''}; the next request is served`, async () => {
      const from = gw.logs.length;
      const c = await RawConnection.connect(gw.port);
      try {
        await c.send(buildRequest({ target: `/${what}`, headers: [['Host', 'h']] }));
        const v = await c.read({ timeoutMs: 5000, keepBody: want.body !== undefined });
        assert.equal(v.error, null);
        assert.equal(v.response?.status, want.status);
        assert.equal(v.response!.complete, want.truncated !== true, 'complete or cut short');
        if (want.truncated === true) assert.ok(v.closed, 'a cut-short response closes the connection');
        if (want.body !== undefined) assert.equal(v.response!.body.toString(), want.body);
        if (what === 'sendfile') {
          for (const h of ['x-sendfile', 'x-accel-redirect', 'x-lighttpd-send-file'])
            assert.equal(headerIn(v.response!, h), undefined, h);
        }
      } finally {
        c.close();
      }
      const lines = gw.logs.slice(from).filter((l) => !l.startsWith('FCGATE_CLIENT_ABORTED'));
      if (want.code === null) assert.deepEqual(lines, []);
      else {
        assert.equal(lines.length, 1, lines.join('\n'));
        assert.match(
          lines[0]!,
          new RegExp(`^${want.code} backend=${app.url} req=\\S+ GET /${what.replace(/[?]/g, '\\?')} `),
        );
      }
      const next = await RawConnection.connect(gw.port);
      try {
        await next.send(buildRequest({ target: '/ok', headers: [['Host', 'h']] }));
        const v = await next.read({ timeoutMs: 5000, keepBody: true });
        assert.equal(v.response?.status, 200);
        assert.equal(v.response!.body.toString(), 'ok /ok stdin=0\n');
      } finally {
        next.close();
      }
    });
  }

  test('an app that reads STDIN at its own pace (2 MB/s, paused between reads) gets the whole body', async () => {
    const body = Buffer.alloc(150_000, 0x73);
    const c = await RawConnection.connect(gw.port);
    try {
      await c.send(
        buildRequest({
          method: 'POST',
          target: '/slow-stdin?rate=2000000',
          headers: [
            ['Host', 'h'],
            ['Content-Length', String(body.length)],
          ],
          body,
        }),
      );
      const v = await c.read({ timeoutMs: 5000, keepBody: true });
      assert.equal(v.response?.status, 200);
      assert.equal(v.response!.body.toString(), `read ${body.length} bytes slowly\n`);
    } finally {
      c.close();
    }
  });
});

describe('the startup probe (FCGI_GET_VALUES) against hostile answers', () => {
  const cases: Array<[string, HostileAppOptions['values'], RegExp]> = [
    [
      'FCGI_MAX_CONNS=2 is the cap',
      { FCGI_MAX_CONNS: '2', FCGI_MPXS_CONNS: '0' },
      /get_values="FCGI_MAX_CONNS=2 FCGI_MPXS_CONNS=0" max_conns=2 \(FCGI_MAX_CONNS\)/,
    ],
    [
      'no answer: the default cap, after the probe timeout',
      'none',
      /get_values="no answer \([^)]+\)" max_conns=16 \(default\)/,
    ],
    ['garbage: the default cap', 'garbage', /get_values="no answer \([^)]+\)" max_conns=16 \(default\)/],
    ['the connection closed: the default cap', 'close', /get_values="no answer \([^)]+\)" max_conns=16 \(default\)/],
  ];
  for (const [name, values, line] of cases) {
    test(`${name}; requests are served`, async () => {
      const app = await HostileApp.start(values === undefined ? {} : { values });
      const gw = await startTestGateway({ config: `ProxyPass / ${app.url}/\n`, tuning: { FCGATE_PROBE_TIMEOUT: 300 } });
      try {
        assert.equal(app.getValues, 1);
        assert.match(gw.logs.find((l) => l.startsWith('FCGATE_PROBE'))!, line);
        const c = await RawConnection.connect(gw.port);
        try {
          await c.send(buildRequest({ target: '/ok', headers: [['Host', 'h']] }));
          assert.equal((await c.read({ timeoutMs: 5000 })).response?.status, 200);
        } finally {
          c.close();
        }
      } finally {
        await gw.stop();
        await app.close();
      }
    });
  }
});
