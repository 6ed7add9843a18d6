// header-names.ts: request header name → HTTP_* param, Apache's http2env rules.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HEADER_CACHE_LIMIT, headerParamName, WELL_KNOWN_HEADERS } from '../../src/cgi/header-names.js';

test('well-known names come ready-made', () => {
  const ua = headerParamName('user-agent')!;
  assert.equal(ua.name, 'HTTP_USER_AGENT');
  assert.equal(ua, WELL_KNOWN_HEADERS.get('user-agent'), 'the same cached object');
  assert.equal(WELL_KNOWN_HEADERS.get('x-forwarded-for')!.name, 'HTTP_X_FORWARDED_FOR');
});

test('Content-Type / Content-Length become CONTENT_TYPE / CONTENT_LENGTH', () => {
  assert.equal(headerParamName('content-type')!.name, 'CONTENT_TYPE');
  assert.equal(headerParamName('content-length')!.name, 'CONTENT_LENGTH');
  assert.equal(headerParamName('Content-Length')!.name, 'CONTENT_LENGTH');
});

test('httpoxy (CVE-2016-5385): Proxy never becomes HTTP_PROXY, any case', () => {
  for (const n of ['proxy', 'Proxy', 'PROXY']) assert.equal(headerParamName(n), null, n);
  assert.equal(headerParamName('proxy-connection')!.name, 'HTTP_PROXY_CONNECTION');
});

test('names with anything but letters, digits and - are dropped', () => {
  for (const n of [
    'x_under_score',
    'x-real_ip',
    'a.b',
    'x~y',
    'wow!',
    'sp ace',
    'tab\t',
    'caf\u00e9',
    '',
    'x:y',
    "it's",
  ]) {
    assert.equal(headerParamName(n), null, JSON.stringify(n));
  }
  assert.equal(headerParamName('x-custom-9')!.name, 'HTTP_X_CUSTOM_9');
  assert.equal(headerParamName('X-Mixed-Case')!.name, 'HTTP_X_MIXED_CASE');
});

test('Authorization and Proxy-Authorization are flagged for CGIPassAuth', () => {
  assert.equal(headerParamName('authorization')!.auth, true);
  assert.equal(headerParamName('proxy-authorization')!.auth, true);
  assert.equal(headerParamName('Authorization')!.auth, true);
  assert.equal(headerParamName('x-authorization')!.auth, false);
});

test('the unknown-name cache stays correct past its limit', () => {
  for (let i = 0; i < HEADER_CACHE_LIMIT * 3; i++) {
    assert.equal(headerParamName(`x-h${i}`)!.name, `HTTP_X_H${i}`);
    assert.equal(headerParamName(`x_h${i}`), null);
  }
  assert.equal(headerParamName('x-h1')!.name, 'HTTP_X_H1');
});
