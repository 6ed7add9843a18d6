// ProxyFCGISetEnvIf applied by buildParams (the cases Apache was observed with),
// with rules written by hand as config/ would build them from the expressions.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExpressionContext } from '../../src/config/model.js';
import { buildParams } from '../../src/cgi/environment.js';
import { GatewayError } from '../../src/errors.js';
import { always, asRecord, DOCROOT, names, resolved, rule, server, snapshot } from './fixtures.js';

const req = () =>
  snapshot({
    path: '/fcgisetenv/x',
    query: 'orig=1',
    headers: [
      ['host', 'localhost'],
      ['x-remove-me', 'bye'],
      ['x-source', 'src-value'],
      ['x-forwarded-proto', 'http'],
    ],
  });

/** ap_expr `CGI/(.\..)` against a param, as a compiled condition would do it. */
const match =
  (param: string, re: RegExp) =>
  (ctx: ExpressionContext): string[] | null => {
    const m = re.exec(ctx.params.get(param) ?? '');
    return m === null ? null : m.map((s) => s ?? '');
  };

test('set, override in place, empty, false condition, unset, backreference, %{DOCUMENT_ROOT}, %{HTTP:X-Source}', () => {
  const rules = [
    rule('QUERY_STRING', always, () => 'test_value'),
    rule('TEST_EMPTY', always, () => ''),
    rule(
      'TEST_FALSE',
      () => null,
      () => 'never',
    ),
    rule('TEST_DOCROOT', always, (ctx) => ctx.variable('DOCUMENT_ROOT')!),
    rule('TEST_BACKREF', match('GATEWAY_INTERFACE', /CGI\/(.\..)/), (_ctx, caps) => `v${caps[1]}`),
    rule('REMOTE_ADDR', always, null),
    rule('HTTP_X_REMOVE_ME', always, null),
    rule('TEST_SOURCE', always, (ctx) => ctx.header('X-Source')!),
    rule('TEST_SEES_EARLIER', always, (ctx) => ctx.params.get('TEST_BACKREF') ?? 'missing'),
    rule('NOT_THERE', always, null),
  ];
  const before = names(buildParams(req(), resolved({ targetPath: '/x', decodedPath: '/fcgisetenv/x' }), server()).list);
  const { list, vary } = buildParams(
    req(),
    resolved({ targetPath: '/x', decodedPath: '/fcgisetenv/x', fcgiSetEnv: rules }),
    server(),
  );
  const p = asRecord(list);
  assert.equal(p['QUERY_STRING'], 'test_value');
  assert.equal(
    names(list).indexOf('QUERY_STRING'),
    before.indexOf('QUERY_STRING') - 2,
    'in place (one earlier header removed)',
  );
  assert.equal(p['TEST_EMPTY'], '');
  assert.equal(p['TEST_FALSE'], undefined);
  assert.equal(p['TEST_DOCROOT'], DOCROOT);
  assert.equal(p['TEST_BACKREF'], 'v1.1');
  assert.equal(p['REMOTE_ADDR'], undefined);
  assert.equal(p['HTTP_X_REMOVE_ME'], undefined);
  assert.equal(p['TEST_SOURCE'], 'src-value');
  assert.equal(p['TEST_SEES_EARLIER'], 'v1.1');
  assert.equal(p['REQUEST_URI'], '/fcgisetenv/x?orig=1', 'other params untouched');
  // new names go last, in rule order
  assert.deepEqual(names(list).slice(-5), [
    'TEST_EMPTY',
    'TEST_DOCROOT',
    'TEST_BACKREF',
    'TEST_SOURCE',
    'TEST_SEES_EARLIER',
  ]);
  assert.deepEqual(vary, ['X-Source']);
});

test("req('X-Forwarded-Proto') adds Vary even when the condition is false; names deduplicated", () => {
  const rules = [
    rule(
      'HTTPS',
      (ctx) => (ctx.header('X-Forwarded-Proto') === 'https' ? [''] : null),
      () => 'on',
    ),
    rule(
      'OTHER',
      (ctx) => (ctx.header('x-forwarded-proto') === 'ftp' ? [''] : null),
      () => 'x',
    ),
    rule(
      'UA',
      (ctx) => (ctx.variable('HTTP_USER_AGENT') === undefined ? [''] : null),
      () => 'none',
    ),
  ];
  const { list, vary } = buildParams(req(), resolved({ fcgiSetEnv: rules }), server());
  assert.equal(asRecord(list)['HTTPS'], undefined);
  assert.equal(asRecord(list)['UA'], 'none');
  assert.deepEqual(vary, ['X-Forwarded-Proto', 'user-agent']);
});

test("the manual's PATH_TRANSLATED rewrite: @DOCROOT@/prefix123/rest → @DOCROOT@/prefix/rest", () => {
  const rules = [
    rule(
      'PATH_TRANSLATED',
      match('PATH_TRANSLATED', /^(.*)\/prefix\d+(\/.*)$/),
      (_c, caps) => `${caps[1]}/prefix${caps[2]}`,
    ),
  ];
  const p = asRecord(
    buildParams(
      snapshot({ path: '/pt/prefix123/rest' }),
      resolved({
        targetPath: '/prefix123/rest',
        decodedPath: '/pt/prefix123/rest',
        env: new Map([['proxy-fcgi-pathinfo', 'unescape']]),
        fcgiSetEnv: rules,
      }),
      server(),
    ).list,
  );
  assert.equal(p['PATH_INFO'], '/prefix123/rest');
  assert.equal(p['PATH_TRANSLATED'], `${DOCROOT}/prefix/rest`);
});

test('variables read the request as it came, not params rules changed', () => {
  let seen: Array<string | undefined> = [];
  const rules = [
    rule('QUERY_STRING', always, () => 'changed'),
    rule('SCRIPT_FILENAME', always, () => 'changed'),
    rule(
      'CHECK',
      (ctx) => {
        seen = [
          'QUERY_STRING',
          'SCRIPT_FILENAME',
          'REQUEST_FILENAME',
          'REQUEST_URI',
          'SERVER_NAME',
          'HTTPS',
          'THE_REQUEST',
          'NO_SUCH_VAR',
        ].map((n) => ctx.variable(n));
        return null;
      },
      () => '',
    ),
  ];
  buildParams(req(), resolved({ targetPath: '/x', decodedPath: '/fcgisetenv/x', fcgiSetEnv: rules }), server());
  assert.deepEqual(seen, [
    'orig=1',
    'proxy:fcgi://localhost:4000/x',
    'proxy:fcgi://localhost:4000/x',
    '/fcgisetenv/x',
    'localhost',
    'off',
    'GET /fcgisetenv/x?orig=1 HTTP/1.1',
    undefined,
  ]);
});

test('a rule that throws fails the request with FCGATE_INTERNAL', () => {
  const rules = [
    rule(
      'X',
      () => {
        throw new Error('bad regex');
      },
      () => '',
    ),
  ];
  assert.throws(
    () => buildParams(req(), resolved({ fcgiSetEnv: rules }), server()),
    (e: unknown) => e instanceof GatewayError && e.code === 'FCGATE_INTERNAL' && /X failed: bad regex/.test(e.message),
  );
});
