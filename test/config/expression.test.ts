// ProxyFCGISetEnvIf conditions and value templates: every form, the manual's examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FcgiSetEnvIfRule } from '../../src/config/fcgi-setenv.js';
import { parseCondition, testCondition } from '../../src/config/expression.js';
import type { ExpressionContext } from '../../src/config/model.js';

function context(
  params: Record<string, string>,
  headers: Record<string, string> = {},
  vars: Record<string, string> = {},
): ExpressionContext & { read: string[] } {
  const read: string[] = [];
  return {
    read,
    params: new Map(Object.entries(params)),
    header(name: string) {
      read.push(name);
      const k = Object.keys(headers).find((h) => h.toLowerCase() === name.toLowerCase());
      return k === undefined ? undefined : headers[k];
    },
    variable: (name: string) => vars[name],
  };
}

const cond = (src: string, ctx: ExpressionContext): string[] | null => testCondition(parseCondition(src), ctx);
const truth = (src: string, ctx: ExpressionContext): boolean => cond(src, ctx) !== null;

test("manual: reqenv('PATH_TRANSLATED') =~ m|(/.*prefix)(\\d+)(.*)| → $1$3", () => {
  const rule = new FcgiSetEnvIfRule("reqenv('PATH_TRANSLATED') =~ m|(/.*prefix)(\\d+)(.*)|", 'PATH_TRANSLATED', '$1$3');
  const ctx = context({ PATH_TRANSLATED: '/var/www/prefix123/rest' });
  const caps = rule.test(ctx);
  assert.ok(caps !== null);
  assert.equal(caps[0], '/var/www/prefix123/rest');
  assert.equal(rule.value(ctx, caps), '/var/www/prefix/rest');
  assert.equal(rule.name, 'PATH_TRANSLATED');
  assert.equal(rule.unset, false);
  assert.equal(rule.test(context({ PATH_TRANSLATED: '/var/www/other' })), null);
});

test('manual: "true" SCRIPT_FILENAME "%{reqenv:DOCUMENT_ROOT}%{reqenv:SCRIPT_NAME}"', () => {
  const rule = new FcgiSetEnvIfRule('true', 'SCRIPT_FILENAME', '%{reqenv:DOCUMENT_ROOT}%{reqenv:SCRIPT_NAME}');
  const ctx = context({ DOCUMENT_ROOT: '/srv', SCRIPT_NAME: '/fcgisetenv2/word/rest' });
  const caps = rule.test(ctx)!;
  assert.deepEqual(caps, []);
  assert.equal(rule.value(ctx, caps), '/srv/fcgisetenv2/word/rest');
});

test("manual: req('X-Forwarded-Proto') == 'https' → HTTPS on; the header read is recorded", () => {
  const rule = new FcgiSetEnvIfRule("req('X-Forwarded-Proto') == 'https'", 'HTTPS', 'on');
  const yes = context({}, { 'x-forwarded-proto': 'https' });
  assert.ok(rule.test(yes) !== null);
  assert.equal(rule.value(yes, []), 'on');
  const no = context({}, {});
  assert.equal(rule.test(no), null);
  assert.deepEqual(no.read, ['X-Forwarded-Proto']);
});

test('manual: "true" !REMOTE_ADDR unsets', () => {
  const rule = new FcgiSetEnvIfRule('true', '!REMOTE_ADDR', undefined);
  assert.equal(rule.unset, true);
  assert.equal(rule.name, 'REMOTE_ADDR');
  assert.ok(rule.test(context({})) !== null);
});

test('a name without value sets the empty string', () => {
  const rule = new FcgiSetEnvIfRule('true', 'TEST_EMPTY', undefined);
  assert.equal(rule.value(context({}), []), '');
});

test('true, false, !, &&, ||, parentheses, precedence', () => {
  const c = context({});
  assert.ok(truth('true', c));
  assert.ok(!truth('false', c));
  assert.ok(truth('!false', c));
  assert.ok(!truth('true && false', c));
  assert.ok(truth('false || true', c));
  assert.ok(truth('true || false && false', c), '&& binds tighter');
  assert.ok(!truth('(true || false) && false', c));
  assert.ok(truth('!(false && true)', c));
  assert.ok(truth('!!true', c));
});

test('==, !=, =, string and integer comparisons', () => {
  const c = context({ A: 'x', N: '10' });
  assert.ok(truth("reqenv('A') == 'x'", c));
  assert.ok(truth("reqenv('A') = 'x'", c));
  assert.ok(truth("reqenv('A') != 'y'", c));
  assert.ok(truth('%{reqenv:N} -eq 10', c));
  assert.ok(truth('%{reqenv:N} -gt 9 && %{reqenv:N} -le 10 && %{reqenv:N} -ne 3', c));
  assert.ok(truth('%{reqenv:N} -lt 11 && %{reqenv:N} -ge 10', c));
  assert.ok(!truth("reqenv('A') -eq 1", c), 'non-numbers never compare equal');
  assert.ok(truth("'abc' < 'abd' && 'b' > 'a' && 'a' <= 'a' && 'a' >= 'a'", c));
});

test('-n and -z', () => {
  const c = context({ A: 'x', E: '' });
  assert.ok(truth("-n reqenv('A')", c));
  assert.ok(truth("-z reqenv('E')", c));
  assert.ok(truth("-z reqenv('MISSING')", c));
  assert.ok(!truth('-n %{reqenv:E}', c));
  assert.ok(truth('-z %{HTTP:X-None}', c));
});

test('=~ and !~ with /…/, m#…#, flag i; captures of the last successful match', () => {
  const c = context({ SERVER_PROTOCOL: 'HTTP/1.1', GATEWAY_INTERFACE: 'CGI/1.1' });
  const caps = cond("reqenv('GATEWAY_INTERFACE') =~ /CGI\\/(.\\..)/", c)!;
  assert.equal(caps[1], '1.1');
  assert.ok(truth("reqenv('SERVER_PROTOCOL') =~ m#^http/#i", c));
  assert.ok(!truth("reqenv('SERVER_PROTOCOL') =~ m#^http/#", c));
  assert.ok(truth("reqenv('SERVER_PROTOCOL') !~ /^FTP/", c));
  const both = cond("reqenv('GATEWAY_INTERFACE') =~ /(CGI)/ && reqenv('SERVER_PROTOCOL') =~ /(HTTP)\\/(\\d)/", c)!;
  assert.deepEqual(both.slice(0, 3), ['HTTP/1', 'HTTP', '1']);
  assert.equal(both.length, 10);
  assert.equal(both[9], '');
});

test('%{VAR}, %{HTTP:…}, http(), env(), tolower/toupper, concatenation, "…" strings with %{}', () => {
  const c = context({ QUERY_STRING: 'q=1' }, { 'X-Source': 'Edge' }, { DOCUMENT_ROOT: '/srv', REQUEST_URI: '/a?b' });
  assert.ok(truth("%{DOCUMENT_ROOT} == '/srv'", c));
  assert.ok(truth("%{QUERY_STRING} == 'q=1'", c), '%{VAR} falls back to the params');
  assert.ok(truth("%{HTTP:X-Source} == 'Edge'", c));
  assert.ok(truth("http('x-source') == 'Edge'", c));
  assert.ok(truth("env('QUERY_STRING') == 'q=1'", c));
  assert.ok(truth("tolower(req('X-Source')) == 'edge' && toupper('a') == 'A'", c));
  assert.ok(truth('%{DOCUMENT_ROOT} . \'/x\' == "%{DOCUMENT_ROOT}/x"', c));
  assert.ok(truth("'it\\'s' == \"it's\"", c));
});

test('value templates: $N, escapes, %{HTTP:…}, %{VAR}, unknown → empty', () => {
  const r = new FcgiSetEnvIfRule('true', 'V', 'a-$1-\\$2-%{HTTP:X-Source}-%{DOCUMENT_ROOT}-%{NOPE}-$9');
  const c = context({}, { 'x-source': 's' }, { DOCUMENT_ROOT: '/d' });
  assert.equal(r.value(c, ['all', 'one']), 'a-one-$2-s-/d--');
});

test('syntax errors are sentences', () => {
  const bad = (src: string, re: RegExp): void => assert.throws(() => parseCondition(src), re);
  bad('', /expected a string, %\{…\}, \$N or a function call, found end of expression/);
  bad("reqenv('A')", /expected a comparison operator, found end of expression/);
  bad("reqenv('A') =~ 'x'", /expected a regular expression/);
  bad("reqenv('A') =~ /x", /unterminated regular expression/);
  bad("reqenv('A') =~ /x/g", /unknown regular expression flag "g"/);
  bad("reqenv('A') =~ /(/", /bad regular expression "\(": Unterminated group/);
  bad("nosuch('A') == 'x'", /unknown function "nosuch"/);
  bad("'a' == 'b' &&", /found end of expression/);
  bad("('a' == 'b'", /expected \)/);
  bad("'a == 'b'", /unterminated string|expected/);
  bad('%{A == 1', /unterminated %\{/);
  bad('true false', /expected && or \|\| or the end/);
  bad('-x a', /unknown operator/);
  bad('%{bad:x} == 1', /unknown function %\{bad:…\}/);
  bad('# == 1', /unexpected "#"/);
});
