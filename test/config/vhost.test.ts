// <VirtualHost> addresses, ServerName/ServerAlias patterns and Apache's selection (vhost.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  hostName,
  namePattern,
  parseVHostAddress,
  selectVirtualHost,
  type VHostCandidate,
} from '../../src/config/vhost.js';

interface V extends VHostCandidate {
  id: string;
}
const vh = (id: string, addrs: string[], names: string[]): V => ({
  id,
  addresses: addrs.map(parseVHostAddress),
  names: names.map(namePattern),
});

test('addresses: *:80, *, _default_:443, an IPv4 or IPv6 address; host names refused', () => {
  assert.deepEqual(parseVHostAddress('*:80'), { host: null, port: 80 });
  assert.deepEqual(parseVHostAddress('*'), { host: null, port: null });
  assert.deepEqual(parseVHostAddress('*:*'), { host: null, port: null });
  assert.deepEqual(parseVHostAddress('_default_:443'), { host: null, port: 443 });
  assert.deepEqual(parseVHostAddress('192.0.2.1:8080'), { host: '192.0.2.1', port: 8080 });
  assert.deepEqual(parseVHostAddress('[2001:DB8::1]:80'), { host: '2001:db8::1', port: 80 });
  assert.throws(() => parseVHostAddress('www.example.com:80'), /not a host name/);
  assert.throws(() => parseVHostAddress('*:70000'), /out of range/);
  assert.throws(() => parseVHostAddress('*:http'), /is not an address:port/);
});

test('Host names: port, one trailing dot and case removed; IPv6 literals kept in brackets', () => {
  assert.equal(hostName('WWW.Example.COM.:8080'), 'www.example.com');
  assert.equal(hostName('[::1]:8080'), '[::1]');
  assert.equal(hostName(undefined), '');
});

const SITES = [
  vh('a', ['*:80'], ['a.example', 'www.a.example']),
  vh('b', ['*:80'], ['b.example', '*.b.example', 'b?.example']),
  vh('ip', ['127.0.0.2:80'], ['ip.example']),
  vh('any', ['*'], ['any.example']),
  vh('tls', ['*:443'], ['a.example']),
];
const pick = (address: string, port: number, host?: string): string | null =>
  selectVirtualHost(SITES, { address, port }, host)?.id ?? null;

test('selection: by Host among the vhosts of the address, wildcards, first one is the default', () => {
  assert.equal(pick('0.0.0.0', 80, 'a.example'), 'a');
  assert.equal(pick('0.0.0.0', 80, 'WWW.A.EXAMPLE:80'), 'a');
  assert.equal(pick('0.0.0.0', 80, 'x.y.b.example'), 'b'); // *.b.example
  assert.equal(pick('0.0.0.0', 80, 'b.example.'), 'b');
  assert.equal(pick('0.0.0.0', 80, 'b1.example'), 'b'); // b?.example
  assert.equal(pick('0.0.0.0', 80, 'b.example.org'), 'a'); // no match: the first vhost of *:80
  assert.equal(pick('0.0.0.0', 80, undefined), 'a'); // no Host (HTTP/1.0): the default
  assert.equal(pick('0.0.0.0', 80, 'any.example'), 'any'); // <VirtualHost *> answers on every port
  assert.equal(pick('0.0.0.0', 443, 'a.example'), 'tls');
  assert.equal(pick('0.0.0.0', 8080, 'a.example'), 'any');
});

test('selection: an exact IP:port beats the wildcards, even when no name matches there', () => {
  assert.equal(pick('127.0.0.2', 80, 'ip.example'), 'ip');
  assert.equal(pick('127.0.0.2', 80, 'a.example'), 'ip');
  assert.equal(pick('127.0.0.3', 80, 'a.example'), 'a');
});

test('selection: no vhost for the listener → the main server (null)', () => {
  assert.equal(
    selectVirtualHost([vh('a', ['*:80'], ['a.example'])], { address: '0.0.0.0', port: 8080 }, 'a.example'),
    null,
  );
  assert.equal(selectVirtualHost([], { address: '0.0.0.0', port: 80 }, 'a.example'), null);
});
