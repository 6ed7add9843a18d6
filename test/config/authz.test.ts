// Require (authz.ts): providers, `not`, containers, and Apache's startup checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  authorize,
  checkContainer,
  parseRequire,
  type AuthzContainer,
  type AuthzNode,
} from '../../src/config/authz.js';

const req = (remoteAddress: string, method = 'GET', env: Record<string, string> = {}, localAddress = '127.0.0.1') => ({
  remoteAddress,
  localAddress,
  method,
  env: new Map(Object.entries(env)),
});
const R = (line: string): AuthzNode => parseRequire(line.split(' '), 'f', 1);
const any = (...c: AuthzNode[]): AuthzContainer => ({ kind: 'any', children: c, file: 'f', line: 1 });
const all = (...c: AuthzNode[]): AuthzContainer => ({ kind: 'all', children: c, file: 'f', line: 1 });
const none = (...c: AuthzNode[]): AuthzContainer => ({ kind: 'none', children: c, file: 'f', line: 1 });

test('providers: all, ip (several networks), local, method, env; no Require at all grants', () => {
  assert.equal(authorize(any(R('all granted')), req('192.0.2.1')), true);
  assert.equal(authorize(any(R('all denied')), req('192.0.2.1')), false);
  assert.equal(authorize(any(R('ip 10.0.0.0/8 192.0.2.7')), req('192.0.2.7')), true);
  assert.equal(authorize(any(R('ip 10.0.0.0/8 192.0.2.7')), req('192.0.2.8')), false);
  assert.equal(authorize(any(R('local')), req('127.0.0.9')), true);
  assert.equal(authorize(any(R('local')), req('::1')), true);
  // The same address as the server's.
  assert.equal(authorize(any(R('local')), req('192.0.2.5', 'GET', {}, '192.0.2.5')), true);
  assert.equal(authorize(any(R('local')), req('192.0.2.5')), false);
  assert.equal(authorize(any(R('method GET HEAD')), req('1.2.3.4', 'HEAD')), true);
  assert.equal(authorize(any(R('method GET HEAD')), req('1.2.3.4', 'POST')), false);
  assert.equal(authorize(any(R('env let_in')), req('1.2.3.4', 'GET', { let_in: '1' })), true);
  assert.equal(authorize(any(R('env let_in')), req('1.2.3.4')), false);
  assert.equal(authorize(null, req('1.2.3.4')), true);
});

test('the lines of a section are a RequireAny: any granted grants', () => {
  const a = any(R('ip 10.0.0.0/8'), R('ip 192.0.2.0/24'));
  assert.equal(authorize(a, req('192.0.2.99')), true);
  assert.equal(authorize(a, req('198.51.100.1')), false);
});

test('<RequireAll> with Require not ip: the blocklist idiom', () => {
  const a = any(all(R('all granted'), R('not ip 10.0.0.0/8')));
  assert.equal(authorize(a, req('192.0.2.7')), true);
  assert.equal(authorize(a, req('10.1.2.3')), false);
  // A second RequireAll beside it: any of the two granting grants.
  assert.equal(
    authorize(
      any(all(R('all granted'), R('not ip 10.0.0.0/8')), all(R('not ip 192.0.2.0/24'), R('ip 192.0.2.0/23'))),
      req('192.0.3.1'),
    ),
    true,
  );
});

test('<RequireNone> denies what its children grant, and never grants by itself', () => {
  const a = any(all(R('all granted'), none(R('ip 10.0.0.0/8'))));
  assert.equal(authorize(a, req('10.0.0.1')), false);
  assert.equal(authorize(a, req('192.0.2.1')), true);
  assert.equal(authorize(any(none(R('ip 10.0.0.0/8'))), req('192.0.2.1')), false);
});

test('startup checks: a negated Require in a RequireAny, only negations in a RequireAll, unsupported providers', () => {
  assert.throws(
    () => checkContainer(any(R('not ip 10.0.0.0/8')), '<Directory /x>'),
    /has no effect in <Directory \/x>.*AH01635/,
  );
  assert.throws(() => checkContainer(all(R('not ip 10.0.0.0/8')), '<RequireAll>'), /only negated Require lines/);
  assert.throws(() => checkContainer(any(), '<RequireAny>'), /contains no Require line/);
  assert.throws(() => R('valid-user'), /authentication is not implemented/);
  assert.throws(() => R('host example.com'), /DNS lookups/);
  assert.throws(() => R('expr %{REMOTE_ADDR} -ipmatch 10.0.0.0/8'), /"expr" is not supported/);
  assert.throws(() => R('all maybe'), /expected "all granted" or "all denied"/);
  assert.throws(() => R('not all granted'), /not allowed/);
  assert.throws(() => R('ip example.com'), /host names are not supported/);
  assert.throws(() => R('method G/ET'), /is not a method/);
});
