// The admin token (issue 9, item 13): digest comparison (no length leak), sessions derived
// from the token by HMAC, with an expiry, refused once altered or once the token changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { digestEqual, SESSION_COOKIE, SESSION_TTL_S, TokenAuth } from '../../src/admin/auth.js';

const TOKEN = 'correct horse battery staple';

test('tokens are compared by digest: any length compares, only the same text matches', () => {
  assert.equal(digestEqual(TOKEN, TOKEN), true);
  assert.equal(digestEqual('', TOKEN), false);
  assert.equal(digestEqual(TOKEN.slice(0, -1), TOKEN), false);
  assert.equal(digestEqual(TOKEN + 'x'.repeat(10_000), TOKEN), false); // no RangeError from timingSafeEqual
  const a = new TokenAuth(TOKEN);
  assert.equal(a.bearerOk(`Bearer ${TOKEN}`), true);
  assert.equal(a.bearerOk(`bearer ${TOKEN}`), true);
  assert.equal(a.bearerOk(`Basic ${TOKEN}`), false);
  assert.equal(a.bearerOk(undefined), false);
});

test('sessions: HMAC of the expiry under the token, never the token, valid until they expire', () => {
  const a = new TokenAuth(TOKEN);
  const now = 1_700_000_000;
  const value = a.session(now);
  assert.match(value, /^\d+\.[A-Za-z0-9_-]{43}$/);
  assert.ok(!value.includes(TOKEN));
  assert.equal(Number(value.split('.')[0]), now + SESSION_TTL_S);
  const cookie = `other=1; ${SESSION_COOKIE}=${value}; x=y`;
  assert.equal(a.cookieOk(cookie, now), true);
  assert.equal(a.cookieOk(cookie, now + SESSION_TTL_S + 1), false); // expired
  const [exp, mac] = value.split('.');
  assert.equal(a.cookieOk(`${SESSION_COOKIE}=${Number(exp) + 3600}.${mac}`, now), false); // a longer life forged
  assert.equal(a.cookieOk(`${SESSION_COOKIE}=${exp}.${mac!.slice(0, -1)}A`, now), false);
  assert.equal(new TokenAuth(TOKEN + '2').cookieOk(cookie, now), false); // the token changed
  assert.equal(a.cookieOk(`${SESSION_COOKIE}=${TOKEN}`, now), false);
  assert.equal(a.cookieOk(undefined, now), false);
});
