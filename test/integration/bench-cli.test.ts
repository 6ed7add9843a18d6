// `fcgate bench` as a user runs it (issue #14): exit statuses (0, 1 with --fail-on-errors
// or an unreachable target, 2 for bad arguments with a clear message), --json valid
// against the schema docs/bench.md publishes, --compare's table, no live line on a pipe
// (and one on a terminal), --html self-contained, --percentiles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runBenchCli } from '../../src/cli/bench.js';
import { JSON_SCHEMA } from '../../src/loadgen/report-json.js';
import { freePort } from '../helpers/free-port.js';
import { validate } from '../helpers/json-schema.js';
import { MAIN, runCli, startCountingApp } from './bench-kit.js';

const docs = readFileSync(new URL('../../../docs/bench.md', import.meta.url), 'utf8');

/** The JSON schema as docs/bench.md prints it (the ```json block after "## JSON schema"). */
function docsSchema(): Record<string, unknown> {
  const at = docs.indexOf('## JSON schema');
  assert.ok(at >= 0, 'docs/bench.md has a "## JSON schema" section');
  const m = /```json\n([\s\S]*?)\n```/.exec(docs.slice(at));
  assert.ok(m !== null, 'a ```json block in that section');
  return JSON.parse(m[1]!) as Record<string, unknown>;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: a terminal's escape sequences are what it looks for.
const ESC = /\r|\x1b\[/;

test('the schema in docs/bench.md is the one the code writes (and --json-schema prints)', async () => {
  assert.deepEqual(docsSchema(), JSON.parse(JSON.stringify(JSON_SCHEMA)));
  const r = await runCli(['--json-schema']);
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(r.stdout), docsSchema());
});

test('bad arguments: exit 2, a message naming the problem on stderr, nothing on stdout', async () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /no target URL/],
    [['-c', '0', 'http://127.0.0.1:1/'], /-c must be an integer in 1\.\.100000 \(got "0"\)/],
    [['--frobnicate', 'http://127.0.0.1:1/'], /Unknown option '--frobnicate'/],
    [['--rate', 'lots', 'http://127.0.0.1:1/'], /--rate: "lots" is not a rate/],
    [['gopher://x/'], /expected http:\/\/host/],
  ];
  await Promise.all(
    cases.map(async ([argv, why]) => {
      const r = await runCli(argv);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, why);
      assert.match(r.stderr, /see fcgate bench --help/);
      assert.equal(r.stdout, '');
    }),
  );
});

test('--help: the usage, exit 0; fcgate --help lists the bench command', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /--compare URL_A URL_B/);
  assert.match(r.stdout, /--multiplex N/);
  const top = spawnSync(process.execPath, [MAIN, '--help'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(top.status, 0);
  assert.match(top.stdout, /^ +(fcgate )?bench\b/m);
});

test('nothing listens: exit 1 at once with "cannot connect"', async () => {
  const port = await freePort();
  const r = await runCli(['-d', '5s', `http://127.0.0.1:${port}/`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
  assert.ok(r.ms < 4000, `took ${r.ms} ms`);
});

test('--json on a pipe: one object valid against the documented schema; no live line anywhere', async (t) => {
  const app = await startCountingApp();
  t.after(() => app.stop());
  const r = await runCli([
    '-c',
    '4',
    '-d',
    '1200ms',
    '--warmup',
    '200ms',
    '--json',
    `fcgi://127.0.0.1:${app.port}/hello`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, ESC);
  assert.doesNotMatch(r.stderr, ESC);
  const doc = JSON.parse(r.stdout) as {
    result: { requests: { responses: number }; timeline: unknown[]; warmup: { responses: number } };
  };
  assert.deepEqual(validate(docsSchema(), doc), []);
  assert.ok(doc.result.timeline.length >= 1);
  assert.equal(doc.result.requests.responses + doc.result.warmup.responses, app.count);
});

test('the text summary on a pipe: no live line; --fail-on-errors turns 404s into exit 1', async (t) => {
  const app = await startCountingApp();
  t.after(() => app.stop());
  const ok = await runCli(['-c', '2', '-d', '1s', `fcgi://127.0.0.1:${app.port}/hello`]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.doesNotMatch(ok.stdout, ESC);
  assert.match(ok.stdout, /Requests +[\d,]+ responses in 1\.\d\d s: [\d,.]+ req\/s/);
  assert.match(ok.stdout, /Latency +mean .*, stdev .*, max /);
  assert.match(ok.stdout, /p50 .* p75 .* p90 .* p99 .* p99\.9 .* p99\.99 /);
  assert.match(ok.stdout, /Status +200: [\d,]+/);
  const missing = await runCli(['-c', '1', '-n', '20', '--fail-on-errors', `fcgi://127.0.0.1:${app.port}/missing`]);
  assert.equal(missing.code, 1);
  assert.match(missing.stdout, /404: 20 +\(20 not 2xx\/3xx\)/);
  const tolerated = await runCli(['-c', '1', '-n', '20', `fcgi://127.0.0.1:${app.port}/missing`]);
  assert.equal(tolerated.code, 0);
});

test('--compare: both rows and the ratio B/A with its spread; --html and --percentiles files', async (t) => {
  const app = await startCountingApp();
  const dir = mkdtempSync(join(tmpdir(), 'fcgate-bench-cli-'));
  t.after(async () => {
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const html = join(dir, 'report.html');
  const r = await runCli([
    '--compare',
    '--rounds',
    '2',
    '-d',
    '400ms',
    '-c',
    '2',
    '--pid-a',
    String(process.pid),
    '--html',
    html,
    '--percentiles',
    join(dir, 'lat.hgrm'),
    `fcgi://127.0.0.1:${app.port}/hello`,
    `fcgi://127.0.0.1:${app.port}/bytes?n=2000`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.ok(
    lines.some((l) => /^ {2}A {2}fcgi:\/\/.*\/hello {2}\(pid \d+\)$/.test(l)),
    r.stdout,
  );
  assert.ok(
    lines.some((l) => /^ {2}A {5,}[\d,.]+ +\d/.test(l)),
    r.stdout,
  );
  assert.ok(
    lines.some((l) => /^ {2}B {5,}[\d,.]+ +\d/.test(l)),
    r.stdout,
  );
  assert.ok(
    lines.some((l) => /^ {2}B\/A +\d+\.\d\d× \(\d+\.\d\d–\d+\.\d\d\)/.test(l)),
    r.stdout,
  );
  assert.match(r.stdout, /req\/s by round: {2}A [\d,.]+ {2}[\d,.]+\n +B [\d,.]+ {2}[\d,.]+/);
  const page = readFileSync(html, 'utf8');
  assert.match(page, /^<!doctype html>/);
  assert.ok((page.match(/<svg /g) ?? []).length >= 2, 'inline SVG charts');
  assert.doesNotMatch(page, /<script|<link|\ssrc=|url\(/i, 'nothing loaded from elsewhere');
  for (const side of ['A', 'B'])
    assert.match(readFileSync(join(dir, `lat-${side}.hgrm`), 'utf8'), /Value +Percentile +TotalCount/);
});

class FakeTty extends Writable {
  isTTY = true;
  columns = 120;
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

test('on a terminal: a live line each second, erased before the summary', async (t) => {
  const app = await startCountingApp();
  t.after(() => app.stop());
  const out = new FakeTty();
  const err = new FakeTty();
  const code = await runBenchCli(['-c', '2', '-d', '2200ms', `fcgi://127.0.0.1:${app.port}/hello`], {
    stdout: out as unknown as NodeJS.WriteStream,
    stderr: err,
  });
  assert.equal(code, 0, err.text);
  const live = out.text
    .split('\r\x1b[2K')
    .filter((s) => /^\d+ s \| [\d,.]+ req\/s now, [\d,.]+ mean \| 0 errors \| p50 .* p99 /.test(s));
  assert.ok(live.length >= 2, JSON.stringify(out.text.slice(0, 500)));
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the erase-line sequence (ESC [2K) is what is checked.
  assert.match(out.text, /\r\x1b\[2Kfcgate bench: fcgi:\/\//, 'the line is erased before the summary');
  const plain = new FakeTty();
  plain.isTTY = false;
  assert.equal(
    await runBenchCli(['-c', '1', '-n', '20', `fcgi://127.0.0.1:${app.port}/hello`], {
      stdout: plain as unknown as NodeJS.WriteStream,
      stderr: err,
    }),
    0,
  );
  assert.doesNotMatch(plain.text, ESC);
});
