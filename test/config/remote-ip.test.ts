// mod_remoteip's right-to-left walk (remote-ip.ts) on the cases its manual and source describe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNetwork } from '../../src/config/cidr.js';
import { applyRemoteIp, isPrivate, walkRemoteIp, type RemoteIpProxy } from '../../src/config/remote-ip.js';
import type { RequestSnapshot } from '../../src/request.js';
import { parseIp } from '../../src/config/cidr.js';

const internal = (n: string): RemoteIpProxy => ({ net: parseNetwork(n), internal: true });
const trusted = (n: string): RemoteIpProxy => ({ net: parseNetwork(n), internal: false });
const LIST = [internal('10.0.0.0/8'), trusted('203.0.113.0/24'), trusted('2001:db8:1::/48')];

test('the worked example: internal → trusted → a private address presented by an external proxy stops', () => {
  assert.deepEqual(walkRemoteIp('10.0.0.5', '198.51.100.9, 192.168.1.4, 203.0.113.7', LIST), {
    client: '203.0.113.7',
    hops: ['10.0.0.5'],
    remaining: '198.51.100.9, 192.168.1.4',
    trusted: [],
  });
});

test('a peer that is not a listed proxy: the header is ignored (no spoofing)', () => {
  const r = walkRemoteIp('198.51.100.20', '1.2.3.4', LIST);
  assert.deepEqual(r, { client: '198.51.100.20', hops: [], remaining: '1.2.3.4', trusted: [] });
  assert.deepEqual(walkRemoteIp('10.0.0.5', undefined, LIST), {
    client: '10.0.0.5',
    hops: [],
    remaining: null,
    trusted: [],
  });
});

test('every entry consumed: the header is gone; trusted proxies listed left to right', () => {
  assert.deepEqual(walkRemoteIp('203.0.113.7', '198.51.100.9, 203.0.113.8', LIST), {
    client: '198.51.100.9',
    hops: ['203.0.113.7', '203.0.113.8'],
    remaining: null,
    trusted: ['203.0.113.8', '203.0.113.7'],
  });
});

test('internal proxies may present private addresses (an office LAN client)', () => {
  assert.deepEqual(walkRemoteIp('10.0.0.5', '192.168.1.4, 10.0.0.9', LIST), {
    client: '192.168.1.4',
    hops: ['10.0.0.5', '10.0.0.9'],
    remaining: null,
    trusted: [],
  });
});

test('the walk stops at the first address that is not a proxy, keeping what is left of it', () => {
  // 198.51.100.9 is the client; 1.1.1.1 left of it was claimed by the client itself.
  assert.deepEqual(walkRemoteIp('10.0.0.5', '1.1.1.1, 198.51.100.9', LIST), {
    client: '198.51.100.9',
    hops: ['10.0.0.5'],
    remaining: '1.1.1.1',
    trusted: [],
  });
});

test('garbage, host names, ports and empty entries stop the walk where they are', () => {
  assert.equal(walkRemoteIp('10.0.0.5', 'unknown', LIST).client, '10.0.0.5');
  assert.equal(walkRemoteIp('10.0.0.5', 'client.example', LIST).client, '10.0.0.5');
  assert.equal(walkRemoteIp('10.0.0.5', '198.51.100.9:4711', LIST).client, '10.0.0.5');
  assert.deepEqual(walkRemoteIp('10.0.0.5', '198.51.100.9, ,', LIST), {
    client: '10.0.0.5',
    hops: [],
    remaining: '198.51.100.9, ,',
    trusted: [],
  });
});

test('IPv6 chains, IPv4-mapped peers, bracketless IPv6 entries', () => {
  assert.deepEqual(walkRemoteIp('2001:db8:1::10', '2001:db8:2::7', LIST).client, '2001:db8:2::7');
  assert.equal(walkRemoteIp('::ffff:10.0.0.5', '198.51.100.9', LIST).client, '198.51.100.9');
  // An external proxy presenting a non-global IPv6 address (fe80::) is not believed.
  assert.equal(walkRemoteIp('2001:db8:1::10', 'fe80::1', LIST).client, '2001:db8:1::10');
  assert.equal(walkRemoteIp('', '198.51.100.9', LIST).client, ''); // a unix socket peer
});

test('private ranges as mod_remoteip lists them', () => {
  for (const p of [
    '10.1.2.3',
    '169.254.0.1',
    '192.168.0.1',
    '127.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    'fe80::1',
    'fc00::1',
    '::1',
  ]) {
    assert.equal(isPrivate(parseIp(p)!), true, p);
  }
  for (const p of ['172.32.0.1', '8.8.8.8', '2001:db8::1', '2a00::1']) assert.equal(isPrivate(parseIp(p)!), false, p);
});

test('applyRemoteIp on a request: REMOTE_ADDR, the header, RemoteIPProxiesHeader, X-Forwarded-Proto; untrusted peers change nothing', () => {
  const settings = { header: 'x-forwarded-for', proxies: LIST, proxiesHeader: 'X-Forwarded-By', file: 'f', line: 1 };
  const snap = (peer: string, headers: Array<[string, string]>): RequestSnapshot => ({
    method: 'GET',
    path: '/',
    query: '',
    headers,
    remoteAddress: peer,
    remotePort: '',
    localAddress: '127.0.0.1',
    localPort: 80,
    scheme: 'http',
    protocol: 'HTTP/1.1',
  });
  // Through an internal proxy then a trusted one: all consumed, the header goes, https from the trusted proxy.
  const a = snap('10.0.0.5', [
    ['host', 'x'],
    ['x-forwarded-for', '198.51.100.9, 203.0.113.7'],
    ['x-forwarded-proto', 'https'],
  ]);
  assert.equal(applyRemoteIp(a, settings), '10.0.0.5');
  assert.equal(a.remoteAddress, '198.51.100.9');
  assert.equal(a.scheme, 'https');
  assert.deepEqual(a.headers, [
    ['host', 'x'],
    ['x-forwarded-proto', 'https'],
    ['x-forwarded-by', '203.0.113.7'],
  ]);
  // Partly consumed: the rest stays in the header.
  const b = snap('10.0.0.5', [['x-forwarded-for', '1.2.3.4, 198.51.100.9']]);
  assert.equal(applyRemoteIp(b, settings), '10.0.0.5');
  assert.equal(b.remoteAddress, '198.51.100.9');
  assert.deepEqual(b.headers, [['x-forwarded-for', '1.2.3.4']]);
  // A client that is not a listed proxy sends both headers: nothing is believed, nothing removed.
  const spoof = snap('198.51.100.20', [
    ['x-forwarded-for', '10.1.1.1'],
    ['x-forwarded-proto', 'https'],
  ]);
  assert.equal(applyRemoteIp(spoof, settings), null);
  assert.equal(spoof.remoteAddress, '198.51.100.20');
  assert.equal(spoof.scheme, 'http');
  assert.deepEqual(spoof.headers, [
    ['x-forwarded-for', '10.1.1.1'],
    ['x-forwarded-proto', 'https'],
  ]);
  // No header: nothing to do.
  assert.equal(applyRemoteIp(snap('10.0.0.5', []), settings), null);
});
