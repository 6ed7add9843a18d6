// Backend URL parsing, canonical worker names, worker keys and their defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FCGI_DEFAULT_PORT, parseTarget } from '../../src/config/worker-url.js';
import { applyBalancerKey, applyWorkerKey, defaultBalancer, defaultWorker } from '../../src/config/worker-keys.js';

const parse = (url: string) => parseTarget(url, (p) => (p.startsWith('/') ? p : '/base/' + p));

test('fcgi://host:port/path → canonical name without path', () => {
  assert.deepEqual(parse('fcgi://LocalHost:4000/a/b'), {
    ok: true,
    target: {
      kind: 'worker',
      name: 'fcgi://localhost:4000',
      address: { kind: 'tcp', host: 'localhost', port: 4000 },
      path: '/a/b',
    },
  });
  assert.deepEqual(parse('FCGI://127.0.0.1:9000'), {
    ok: true,
    target: {
      kind: 'worker',
      name: 'fcgi://127.0.0.1:9000',
      address: { kind: 'tcp', host: '127.0.0.1', port: 9000 },
      path: '',
    },
  });
});

test("default port is Apache's 8000, left out of the name", () => {
  assert.equal(FCGI_DEFAULT_PORT, 8000);
  const r = parse('fcgi://localhost/');
  assert.ok(r.ok && r.target.kind === 'worker');
  assert.equal(r.target.name, 'fcgi://localhost');
  assert.deepEqual(r.target.address, { kind: 'tcp', host: 'localhost', port: 8000 });
  const r2 = parse('fcgi://localhost:8000/');
  assert.ok(r2.ok && r2.target.name === 'fcgi://localhost');
});

test('IPv6 literal', () => {
  const r = parse('fcgi://[::1]:9000/x');
  assert.ok(r.ok && r.target.kind === 'worker');
  assert.equal(r.target.name, 'fcgi://[::1]:9000');
  assert.deepEqual(r.target.address, { kind: 'tcp', host: '::1', port: 9000 });
});

test('unix socket form, relative socket paths resolved', () => {
  const r = parse('unix:/run/php/fpm.sock|fcgi://localhost/var/www/');
  assert.deepEqual(r, {
    ok: true,
    target: {
      kind: 'worker',
      name: 'unix:/run/php/fpm.sock|fcgi://localhost',
      address: { kind: 'unix', path: '/run/php/fpm.sock' },
      path: '/var/www/',
    },
  });
  const r2 = parse('unix:php.sock|fcgi://localhost');
  assert.ok(r2.ok && r2.target.kind === 'worker' && r2.target.address.kind === 'unix');
  assert.equal(r2.target.address.path, '/base/php.sock');
});

test('balancer names', () => {
  assert.deepEqual(parse('balancer://MyAppCluster/'), {
    ok: true,
    target: { kind: 'balancer', name: 'balancer://myappcluster', path: '/' },
  });
  assert.deepEqual(parse('balancer://c'), { ok: true, target: { kind: 'balancer', name: 'balancer://c', path: '' } });
});

test('bad URLs say what is wrong', () => {
  const err = (u: string): string => {
    const r = parse(u);
    assert.ok(!r.ok);
    return r.error;
  };
  assert.match(err('http://h/'), /scheme "http" is not supported/);
  assert.match(err('localhost:9000'), /not a URL/);
  assert.match(err('fcgi://h:99999/'), /bad port "99999"/);
  assert.match(err('fcgi://h:x/'), /bad port "x"/);
  assert.match(err('fcgi:///x'), /bad host/);
  assert.match(err('unix:/a.sock'), /needs "\|fcgi:\/\/host/);
  assert.match(err('fcgi://[::1/'), /unterminated IPv6/);
  assert.match(err('fcgi://u@h/'), /user info/);
});

test('worker defaults', () => {
  assert.deepEqual(defaultWorker('fcgi://h:1', { kind: 'tcp', host: 'h', port: 1 }), {
    name: 'fcgi://h:1',
    address: { kind: 'tcp', host: 'h', port: 1 },
    reuse: true,
    max: null,
    timeoutMs: 60000,
    connectTimeoutMs: 5000,
    acquireMs: 5000,
    ttlMs: 2000,
    flushPackets: 'auto',
    flushWaitMs: 10,
    requestBuffering: true,
    loadFactor: 1,
    lbSet: 0,
    route: '',
    retryMs: 60000,
    status: '',
  });
});

test('worker keys with units and their errors', () => {
  const w = defaultWorker('n', { kind: 'tcp', host: 'h', port: 1 });
  applyWorkerKey(w, 'disablereuse', 'On');
  assert.equal(w.reuse, false);
  applyWorkerKey(w, 'enablereuse', 'on');
  assert.equal(w.reuse, true);
  applyWorkerKey(w, 'enablereuse', 'off');
  assert.equal(w.reuse, false);
  applyWorkerKey(w, 'max', '10');
  assert.equal(w.max, 10);
  applyWorkerKey(w, 'timeout', '30');
  assert.equal(w.timeoutMs, 30000);
  applyWorkerKey(w, 'timeout', '1500ms');
  assert.equal(w.timeoutMs, 1500);
  applyWorkerKey(w, 'connectiontimeout', '2');
  assert.equal(w.connectTimeoutMs, 2000);
  applyWorkerKey(w, 'acquire', '250');
  assert.equal(w.acquireMs, 250);
  applyWorkerKey(w, 'ttl', '2mi');
  assert.equal(w.ttlMs, 120000);
  applyWorkerKey(w, 'retry', '0');
  assert.equal(w.retryMs, 0);
  applyWorkerKey(w, 'flushpackets', 'On');
  assert.equal(w.flushPackets, 'on');
  applyWorkerKey(w, 'flushwait', '20');
  assert.equal(w.flushWaitMs, 20);
  applyWorkerKey(w, 'loadfactor', '2.5');
  assert.equal(w.loadFactor, 2.5);
  applyWorkerKey(w, 'lbset', '1');
  assert.equal(w.lbSet, 1);
  applyWorkerKey(w, 'route', 'node1');
  assert.equal(w.route, 'node1');
  applyWorkerKey(w, 'status', '+H');
  assert.equal(w.status, 'H');
  applyWorkerKey(w, 'status', '+D-H');
  assert.equal(w.status, 'D');
  assert.throws(() => applyWorkerKey(w, 'max', '-1'), /max: expected a whole number >= 1, got "-1"/);
  assert.throws(() => applyWorkerKey(w, 'timeout', 'soon'), /timeout: expected a duration/);
  assert.throws(() => applyWorkerKey(w, 'flushpackets', 'maybe'), /expected on, off or auto/);
  assert.throws(() => applyWorkerKey(w, 'enablereuse', 'yes'), /expected On or Off, got "yes"/);
  assert.throws(() => applyWorkerKey(w, 'loadfactor', '0'), /loadfactor: expected a number from 1 to 100/);
  assert.throws(() => applyWorkerKey(w, 'status', '+X'), /status: expected flags/);
  assert.throws(() => applyWorkerKey(w, 'keepalive', 'on'), /unknown worker key "keepalive"/);
});

test('balancer keys', () => {
  const b = defaultBalancer();
  applyBalancerKey(b, 'lbmethod', 'bybusyness');
  assert.equal(b.lbMethod, 'bybusyness');
  applyBalancerKey(b, 'stickysession', 'JSESSIONID');
  assert.equal(b.stickySession, 'JSESSIONID');
  applyBalancerKey(b, 'maxattempts', '3');
  assert.equal(b.maxAttempts, 3);
  applyBalancerKey(b, 'nofailover', 'On');
  assert.equal(b.noFailover, true);
  applyBalancerKey(b, 'failonstatus', '500,503');
  assert.deepEqual(b.failOnStatus, [500, 503]);
  applyBalancerKey(b, 'failontimeout', 'on');
  assert.equal(b.failOnTimeout, true);
  applyBalancerKey(b, 'forcerecovery', 'off');
  assert.equal(b.forceRecovery, false);
  applyBalancerKey(b, 'timeout', '5');
  assert.equal(b.timeoutMs, 5000);
  assert.throws(() => applyBalancerKey(b, 'lbmethod', 'random'), /lbmethod: expected byrequests/);
  assert.throws(() => applyBalancerKey(b, 'failonstatus', '500,x'), /failonstatus/);
  assert.throws(() => applyBalancerKey(b, 'growth', '2'), /unknown balancer key "growth"/);
});
