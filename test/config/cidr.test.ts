// IP addresses and networks in Apache's forms (cidr.ts), against hand-written cases and, as a
// property, against node:net's BlockList for random addresses and networks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import fc from 'fast-check';
import { formatIp, inNetwork, NetworkList, parseIp, parseNetwork } from '../../src/config/cidr.js';

const has = (net: string, ip: string): boolean => inNetwork(parseIp(ip)!, parseNetwork(net));

test('addresses: IPv4, IPv6 (compressed, embedded IPv4, brackets, zone), IPv4-mapped as IPv4, garbage refused', () => {
  assert.equal(formatIp(parseIp('192.0.2.7')!), '192.0.2.7');
  assert.equal(formatIp(parseIp('2001:DB8:0:0:0:0:0:1')!), '2001:db8::1');
  assert.equal(formatIp(parseIp('[2001:db8::1]')!), '2001:db8::1');
  assert.equal(formatIp(parseIp('fe80::1%eth0')!), 'fe80::1');
  assert.equal(formatIp(parseIp('::')!), '::');
  assert.equal(formatIp(parseIp('2001:db8:0:1:0:0:0:1')!), '2001:db8:0:1::1'); // the longest zero run
  assert.equal(formatIp(parseIp('::ffff:192.0.2.7')!), '192.0.2.7');
  assert.equal(formatIp(parseIp('0000:0000:0000:0000:0000:ffff:7f00:0001')!), '127.0.0.1'); // as uWS writes it
  assert.equal(parseIp('::ffff:192.0.2.7')!.v4, true);
  for (const bad of [
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '1.2.3.04x',
    '::1::',
    '1:2:3:4:5:6:7:8:9',
    'g::1',
    'example.com',
    '1.2.3.4:80',
  ]) {
    assert.equal(parseIp(bad), null, bad);
  }
});

test("networks: CIDR, netmask, Apache's partial form, single addresses, host bits cleared", () => {
  assert.ok(has('10.0.0.0/8', '10.255.1.2'));
  assert.ok(!has('10.0.0.0/8', '11.0.0.1'));
  assert.ok(has('10.0.0.1/8', '10.9.9.9')); // host bits cleared
  assert.ok(has('192.168.1.0/255.255.255.0', '192.168.1.77'));
  assert.ok(!has('192.168.1.0/255.255.255.0', '192.168.2.1'));
  assert.ok(has('10.1', '10.1.200.3')); // = 10.1.0.0/16
  assert.ok(!has('10.1', '10.2.0.1'));
  assert.ok(has('10.1.', '10.1.0.9'));
  assert.ok(has('192.0.2.7', '192.0.2.7'));
  assert.ok(!has('192.0.2.7', '192.0.2.8'));
  assert.ok(has('0.0.0.0/0', '203.0.113.1'));
  assert.ok(has('2001:db8::/32', '2001:db8:ffff::1'));
  assert.ok(!has('2001:db8::/32', '2001:db9::1'));
  assert.ok(has('::1', '::1'));
  assert.ok(has('2001:db8::/127', '2001:db8::1'));
  assert.ok(has('10.0.0.0/8', '::ffff:10.1.2.3')); // a dual-stack listener's IPv4 client
  assert.ok(!has('::/0', '10.1.2.3')); // IPv4 never matches an IPv6 network
  assert.equal(parseNetwork('2001:db8::1/64').bits, 64);
});

test('networks: errors say what is wrong, host names are refused', () => {
  const err = (s: string, m: RegExp): void => assert.throws(() => parseNetwork(s), m);
  err('example.com', /"example.com" is not an IP address or network \(host names are not supported: give addresses\)/);
  err('10.0.0.0/33', /prefix longer than 32 bits/);
  err('2001:db8::/129', /prefix longer than 128 bits/);
  err('10.0.0.0/255.0.255.0', /netmask that is not contiguous/);
  err('10.0.0.0/x', /bad prefix length/);
  err('300.1', /is not an IPv4 address or network/);
});

test('NetworkList.matches parses once per text and never matches what is not an address', () => {
  const l = new NetworkList([parseNetwork('10.0.0.0/8'), parseNetwork('2001:db8::/32')], 2);
  assert.equal(l.matches('10.1.1.1'), true);
  assert.equal(l.matches('2001:db8::5'), true);
  assert.equal(l.matches('192.0.2.1'), false);
  assert.equal(l.matches(''), false); // a unix-socket peer
  assert.equal(l.matches('10.1.1.1'), true); // after the cache was emptied
});

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const ipv6 = fc
  .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
  .map((h) => h.map((x) => x.toString(16)).join(':'));

test('property: IPv4 membership equals node:net BlockList for random networks and addresses', () => {
  fc.assert(
    fc.property(ipv4, fc.nat(32), ipv4, (base, bits, ip) => {
      const bl = new BlockList();
      const net = parseNetwork(`${base}/${bits}`);
      bl.addSubnet(formatIp({ v4: true, w: net.w }), bits, 'ipv4');
      return inNetwork(parseIp(ip)!, net) === bl.check(ip, 'ipv4');
    }),
    { numRuns: 500 },
  );
});

test('property: IPv6 membership equals node:net BlockList; formatting round-trips', () => {
  fc.assert(
    fc.property(ipv6, fc.nat(128), ipv6, (base, bits, ip) => {
      const bl = new BlockList();
      const net = parseNetwork(`${base}/${bits}`);
      const netText = formatIp({ v4: false, w: net.w });
      if (parseIp(netText)!.v4) return true; // ::ffff:x.y.z.w is an IPv4 network here
      bl.addSubnet(netText, bits, 'ipv6');
      const p = parseIp(ip)!;
      if (p.v4) return true;
      assert.equal(formatIp(parseIp(formatIp(p))!), formatIp(p));
      return inNetwork(p, net) === bl.check(ip, 'ipv6');
    }),
    { numRuns: 500 },
  );
});
