// Listen addresses as the demo-app CLI takes them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAddress, parseListenAddress } from '../../src/app/listen-address.js';
import { parseDemoAppArgs } from '../../src/cli/demo-app.js';

test('host:port, [v6]:port, a bare port, unix:/path and /path', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:9000'), { host: '127.0.0.1', port: 9000 });
  assert.deepEqual(parseListenAddress('localhost:0'), { host: 'localhost', port: 0 });
  assert.deepEqual(parseListenAddress('[::1]:9001'), { host: '::1', port: 9001 });
  assert.deepEqual(parseListenAddress('9002'), { host: '127.0.0.1', port: 9002 });
  assert.deepEqual(parseListenAddress('unix:/run/app.sock'), { path: '/run/app.sock' });
  assert.deepEqual(parseListenAddress('/run/app.sock'), { path: '/run/app.sock' });
  for (const bad of ['host:99999', 'host:', 'unix:', '::1:9000', 'x:y']) {
    assert.throws(() => parseListenAddress(bad), RangeError, bad);
  }
});

test('formatAddress writes what parseListenAddress reads', () => {
  for (const s of ['127.0.0.1:9000', '[::1]:9001', 'unix:/tmp/a.sock']) {
    assert.equal(formatAddress(parseListenAddress(s)), s);
  }
});

test('demo-app arguments', () => {
  assert.deepEqual(parseDemoAppArgs([]), {
    listen: [{ host: '127.0.0.1', port: 9000 }],
    mpxsConns: true,
    maxConns: undefined,
    testRoutes: false,
  });
  assert.deepEqual(
    parseDemoAppArgs([
      'demo-app',
      '--listen',
      '127.0.0.1:0',
      '--listen=unix:/tmp/x.sock',
      '--mpxs',
      'off',
      '--max-conns=4',
    ]),
    {
      listen: [{ host: '127.0.0.1', port: 0 }, { path: '/tmp/x.sock' }],
      mpxsConns: false,
      maxConns: 4,
      testRoutes: false,
    },
  );
  assert.equal(parseDemoAppArgs(['--help']), 'help');
  assert.throws(() => parseDemoAppArgs(['--mpxs', 'maybe']), /--mpxs must be on or off/);
  assert.throws(() => parseDemoAppArgs(['--max-conns', '0']), /--max-conns must be a positive integer/);
  assert.throws(() => parseDemoAppArgs(['--listen']), /--listen needs a value/);
  assert.throws(() => parseDemoAppArgs(['--bogus']), /unknown option --bogus/);
  assert.throws(() => parseDemoAppArgs(['--listn', 'x']), /unknown option --listn \(did you mean --listen\?\)/);
  assert.throws(
    () => parseDemoAppArgs(['--listen', 'host:99999']),
    /--listen listen address "host:99999": port must be 0..65535/,
  );
});
