// The log outputs: appending to files, SIGUSR1's reopen after logrotate moved a file, a
// full disk (/dev/full: every write fails with ENOSPC), a piped command that stops reading,
// and a piped command that dies and is started again. Lines are dropped and counted, with
// one warning, never held without bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once, EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogHub, splitArgs } from '../../src/log/hub.js';

const lines = (from: number, n: number): Buffer =>
  Buffer.from(Array.from({ length: n }, (_, i) => `line ${from + i}\n`).join(''));

function tmp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'fcgate-hub-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const settled = (hub: LogHub, key: string): Promise<void> => hub.flushed(key);

test('files are appended to; reopen() (SIGUSR1) moves to a new file after logrotate renamed the old', async (t) => {
  const dir = tmp(t);
  const file = join(dir, 'access.log');
  const warnings: string[] = [];
  const hub = new LogHub({ limit: 1 << 20, warn: (l) => warnings.push(l) });
  t.after(() => hub.close());
  hub.use([{ kind: 'file', path: file }], { kind: 'stderr' });
  hub.write(file, lines(1, 2), 2);
  hub.write(file, lines(3, 1), 1);
  await settled(hub, file);
  assert.equal(readFileSync(file, 'utf8'), 'line 1\nline 2\nline 3\n');
  renameSync(file, file + '.1'); // logrotate
  hub.write(file, lines(4, 1), 1); // still the old file until SIGUSR1
  await settled(hub, file);
  hub.reopen();
  hub.write(file, lines(5, 2), 2);
  await settled(hub, file);
  assert.equal(readFileSync(file + '.1', 'utf8'), 'line 1\nline 2\nline 3\nline 4\n');
  assert.equal(readFileSync(file, 'utf8'), 'line 5\nline 6\n');
  assert.deepEqual(warnings, []);
  assert.deepEqual(
    hub.stats().find((s) => s.log === file),
    { log: file, written: 6, dropped: 0, queuedBytes: 0, restarts: 0 },
  );
});

test('a full disk (/dev/full): lines are dropped and counted, one warning for the whole episode', async (t) => {
  const warnings: string[] = [];
  const hub = new LogHub({ limit: 1 << 20, warn: (l) => warnings.push(l) });
  t.after(() => hub.close());
  hub.use([{ kind: 'file', path: '/dev/full' }], { kind: 'stderr' });
  for (let i = 0; i < 5; i++) {
    hub.write('/dev/full', lines(i * 10, 10), 10);
    await settled(hub, '/dev/full');
  }
  const s = hub.stats().find((x) => x.log === '/dev/full')!;
  assert.equal(s.dropped, 50);
  assert.equal(s.written, 0);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /^FCGATE_LOG_DROPPED log=\/dev\/full lines=10 cause="ENOSPC/);
});

test('a piped command that stops reading: the queue stays bounded, writes never block, the rest counted', async (t) => {
  const warnings: string[] = [];
  const limit = 64 * 1024;
  const hub = new LogHub({ limit, warn: (l) => warnings.push(l) });
  t.after(() => hub.close(200));
  hub.use([{ kind: 'pipe', command: 'sleep 30', shell: false }], { kind: 'stderr' });
  const key = '|sleep 30';
  const batch = Buffer.alloc(8192, 'x');
  batch[8191] = 10;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 100; i++) hub.write(key, batch, 1); // 800 KiB into a pipe nobody reads
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.ok(ms < 500, `100 writes took ${ms} ms`);
  const s = hub.stats().find((x) => x.log === key)!;
  assert.ok(s.queuedBytes <= limit, `queued ${s.queuedBytes}`);
  // What the socket took (kernel buffer + 64 KiB in the stream) plus what is queued; the rest is dropped.
  assert.ok(s.dropped > 0 && s.written * 8192 <= 512 * 1024, `written ${s.written}, dropped ${s.dropped}`);
  assert.equal(s.written + s.dropped + s.queuedBytes / 8192, 100);
  assert.equal(warnings.filter((w) => w.startsWith('FCGATE_LOG_DROPPED')).length, 1);
});

test('a piped command that dies is started again; lines written meanwhile wait for it', async (t) => {
  const dir = tmp(t);
  const out = join(dir, 'piped.log');
  const started = new EventEmitter();
  const hub = new LogHub({
    limit: 1 << 20,
    warn: () => {},
    restartDelayMs: 50,
    onPipeStart: (_k, pid) => started.emit('start', pid),
  });
  t.after(() => hub.close(500));
  const first = once(started, 'start');
  // Takes two lines, then exits (as a crashing rotatelogs would).
  hub.use([{ kind: 'pipe', command: `head -n 2 >> '${out}'`, shell: true }], { kind: 'stderr' });
  const key = `|$head -n 2 >> '${out}'`;
  const [pid1] = (await first) as [number];
  const second = once(started, 'start');
  hub.write(key, lines(1, 2), 2);
  const [pid2] = (await second) as [number];
  assert.notEqual(pid1, pid2);
  const third = once(started, 'start');
  hub.write(key, lines(3, 2), 2);
  await third;
  assert.equal(readFileSync(out, 'utf8'), 'line 1\nline 2\nline 3\nline 4\n');
  assert.ok(hub.stats().find((s) => s.log === key)!.restarts >= 2);
});

test('closing ends a piped command (it sees end of input) after what was queued', async (t) => {
  const dir = tmp(t);
  const out = join(dir, 'cat.log');
  const hub = new LogHub({ limit: 1 << 20, warn: () => {} });
  hub.use([{ kind: 'pipe', command: `cat >> '${out}'`, shell: true }], { kind: 'stderr' });
  hub.write(`|$cat >> '${out}'`, lines(1, 3), 3);
  await hub.close(3000);
  assert.equal(readFileSync(out, 'utf8'), 'line 1\nline 2\nline 3\n');
  assert.ok(existsSync(out));
  void t;
});

test('piped commands without a shell are split as a shell would split plain words and quotes', () => {
  assert.deepEqual(splitArgs('/usr/bin/rotatelogs -l "/var/log/my logs/%Y%m%d" 86400'), [
    '/usr/bin/rotatelogs',
    ['-l', '/var/log/my logs/%Y%m%d', '86400'],
  ]);
  assert.deepEqual(splitArgs(`logger -t 'fc gate' a\\ b ""`), ['logger', ['-t', 'fc gate', 'a b', '']]);
  assert.throws(() => splitArgs('   '), /empty/);
});
