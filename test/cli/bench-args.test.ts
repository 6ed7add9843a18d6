// `fcgate bench` arguments: defaults, every flag turned into BenchOptions, and the clear
// message (BenchArgError → exit 2) for each kind of mistake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchArgError, parseBenchArgs, type BenchCliArgs } from '../../src/cli/bench-args.js';

const parse = (...argv: string[]): BenchCliArgs => {
  const r = parseBenchArgs(argv);
  assert.ok(typeof r === 'object');
  return r;
};
const fails = (argv: string[], why: RegExp): void => {
  assert.throws(
    () => parseBenchArgs(argv),
    (err: Error) => err instanceof BenchArgError && why.test(err.message),
    argv.join(' '),
  );
};

test('defaults: 10 connections, 10 s, no warm-up, closed loop, GET, keep-alive, cores - 1 threads', () => {
  const { options: o, json, html, progress, compare } = parse('http://127.0.0.1:8080/');
  assert.equal(o.connections, 10);
  assert.equal(o.durationMs, 10_000);
  assert.equal(o.requests, null);
  assert.equal(o.warmupMs, 0);
  assert.equal(o.rate, null);
  assert.equal(o.timeoutMs, 10_000);
  assert.equal(o.threads, Math.max(1, availableParallelism() - 1));
  assert.deepEqual(o.request, { method: 'GET', headers: [], body: null, keepAlive: true, docroot: null, params: [] });
  assert.equal(o.multiplex, 1);
  assert.equal(o.failOnErrors, false);
  assert.deepEqual([json, html, progress, compare], [false, null, true, false]);
  assert.equal(o.sets.length, 1);
  assert.equal(o.sets[0]!.entries[0]!.target.path, '/');
});

test('every flag', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fcgate-bench-args-'));
  try {
    writeFileSync(join(dir, 'body.bin'), Buffer.from([1, 2, 3]));
    const {
      options: o,
      json,
      html,
      percentiles,
      progress,
    } = parse(
      '-c',
      '64',
      '-d',
      '30s',
      '--warmup',
      '2s',
      '--rate',
      '100:1000:20s',
      '-t',
      '3',
      '--timeout',
      '500ms',
      '-m',
      'PUT',
      '-H',
      'X-A: 1',
      '--header=X-B:two words',
      '--body-file',
      join(dir, 'body.bin'),
      '--no-keepalive',
      '--docroot',
      '/srv/www',
      '--param',
      'APP=1',
      '--param',
      'SERVER_SOFTWARE',
      '--multiplex',
      '4',
      '--json',
      '--html',
      join(dir, 'r.html'),
      '--percentiles',
      join(dir, 'p.hgrm'),
      '--no-progress',
      '--pid',
      String(process.pid),
      '--fail-on-errors',
      'fcgi://127.0.0.1:9000/index.php',
    );
    assert.equal(o.connections, 64);
    assert.equal(o.durationMs, 30_000);
    assert.equal(o.warmupMs, 2000);
    assert.deepEqual(o.rate, { from: 100, to: 1000, rampMs: 20_000 });
    assert.equal(o.threads, 3);
    assert.equal(o.timeoutMs, 500);
    assert.equal(o.request.method, 'PUT');
    assert.deepEqual(o.request.headers, [
      ['X-A', '1'],
      ['X-B', 'two words'],
    ]);
    assert.deepEqual([...o.request.body!], [1, 2, 3]);
    assert.equal(o.request.keepAlive, false);
    assert.equal(o.request.docroot, '/srv/www');
    assert.deepEqual(o.request.params, [
      ['APP', '1'],
      ['SERVER_SOFTWARE', null],
    ]);
    assert.equal(o.multiplex, 4);
    assert.deepEqual(o.sets[0]!.pids, [process.pid]);
    assert.equal(o.failOnErrors, true);
    assert.deepEqual([json, html, percentiles, progress], [true, join(dir, 'r.html'), join(dir, 'p.hgrm'), false]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('-n instead of -d; --body makes a POST; a ramp alone sets the duration', () => {
  assert.equal(parse('-n', '500', 'http://h/').options.durationMs, null);
  assert.equal(parse('-n', '500', 'http://h/').options.requests, 500);
  assert.equal(parse('--body', 'a=1', 'http://h/').options.request.method, 'POST');
  assert.equal(parse('--rate', '10:100:3s', 'http://h/').options.durationMs, 3000);
});

test('--compare: two URLs, 5 rounds of 5 s by default, --pid-a/--pid-b', () => {
  const { options: o, compare } = parse('--compare', '--pid-b', String(process.pid), 'http://a:1/', 'fcgi://b:2/x.php');
  assert.equal(compare, true);
  assert.equal(o.rounds, 5);
  assert.equal(o.durationMs, 5000);
  assert.deepEqual(
    o.sets.map((s) => [s.label, s.entries[0]!.target.kind, s.pids]),
    [
      ['A', 'http', []],
      ['B', 'fcgi', [process.pid]],
    ],
  );
});

test('help and the schema are texts, not runs', () => {
  assert.equal(parseBenchArgs(['--help']), 'help');
  assert.equal(parseBenchArgs(['-h']), 'help');
  assert.equal(parseBenchArgs(['--json-schema']), 'schema');
});

test('mistakes get a message naming the flag', () => {
  fails([], /no target URL/);
  fails(['http://a/', 'http://b/'], /one target URL expected, got 2/);
  fails(['--bogus', 'http://a/'], /Unknown option '--bogus'/);
  fails(['-c'], /argument missing/);
  fails(['-c', '0', 'http://a/'], /-c must be an integer in 1\.\.100000/);
  fails(['-c', 'ten', 'http://a/'], /-c must be an integer/);
  fails(['-d', 'forever', 'http://a/'], /-d: "forever" is not a duration/);
  fails(['-d', '1s', '-n', '5', 'http://a/'], /either -d or -n/);
  fails(['--rate', 'x', 'http://a/'], /--rate: "x" is not a rate/);
  fails(['-H', 'NoColon', 'http://a/'], /expected 'Name: value'/);
  fails(['-H', 'Content-Length: 5', 'http://a/'], /set by fcgate bench/);
  fails(['--body', 'x', '--body-file', '/x', 'http://a/'], /either --body or --body-file/);
  fails(['--body-file', '/nonexistent/file', 'http://a/'], /--body-file \/nonexistent\/file: ENOENT/);
  fails(['--multiplex', '4', 'http://a/'], /--multiplex is for fcgi:\/\//);
  fails(['--docroot', '/x', 'http://a/'], /--docroot is for fcgi/);
  fails(['--param', '=x', 'fcgi://a/'], /--param "=x"/);
  fails(['--pid', '0', 'http://a/'], /not a process id/);
  fails(['--pid', '999999999', 'http://a/'], /no process 999999999/);
  fails(['--compare', 'http://a/'], /--compare needs two URLs \(got 1\)/);
  fails(['--compare', '--pid', '1', 'http://a/', 'http://b/'], /--pid-a and --pid-b instead/);
  fails(['--rounds', '3', 'http://a/'], /--rounds goes with --compare/);
  fails(['--urls', '/nonexistent.txt'], /--urls \/nonexistent\.txt: ENOENT/);
  fails(['ftp://a/'], /expected http:\/\/host/);
  fails(['--html', '/nonexistent-dir/r.html', 'http://a/'], /--html \/nonexistent-dir\/r\.html: cannot write/);
  fails(['-m', 'HEAD', '--body', 'x', 'http://a/'], /HEAD with a body/);
});
