// The one table of environment variables (issue 13): every default fits its own limits,
// values parse with units, errors name the variable, unknown FCGATE_* names get one
// warning with the closest known name, and no code in src/ reads a variable the table
// does not list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MAX_HEADERS_SIZE } from '../src/front/uws.js';
import {
  describeVariables,
  readTuning,
  readVariable,
  tuningMarkdown,
  TuningError,
  unknownVariableWarnings,
  VARIABLES,
} from '../src/tuning.js';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

test('every default is a value its variable accepts, and readTuning({}) gives the defaults', () => {
  const t = readTuning({}) as unknown as Record<string, unknown>;
  for (const v of VARIABLES) {
    if (v.scope === 'all') assert.equal(t[v.name], v.default, v.name);
    if (v.kind === 'count' || v.kind === 'bytes' || v.kind === 'duration') {
      assert.ok(v.default >= v.min && v.default <= v.max, `${v.name} default out of range`);
    }
    if (v.kind === 'text' && v.default !== '') assert.match(v.default, v.pattern, v.name);
  }
  assert.equal(readVariable('UWS_HTTP_MAX_HEADERS_SIZE', {}), DEFAULT_MAX_HEADERS_SIZE);
  assert.equal(t['PORT'], undefined); // `fcgate start` reads it alone
});

test('values take units; an empty value is the default', () => {
  const t = readTuning({
    FCGATE_MAX_BODY: '10MB',
    FCGATE_SPOOL_MEMORY: '2MiB',
    FCGATE_BODY_BUFFER: '64k',
    FCGATE_DRAIN_MS: '30s',
    FCGATE_PROBE_TIMEOUT: '500',
    FCGATE_RETRY_AFTER: '2m',
    FCGATE_THREADS: '',
    FCGATE_ALLOW_ROOT: 'yes',
    UWS_HTTP_MAX_HEADERS_SIZE: '64KiB',
    FCGATE_SERVER_SOFTWARE: 'Apache',
  });
  assert.equal(t.FCGATE_MAX_BODY, 10_000_000);
  assert.equal(t.FCGATE_SPOOL_MEMORY, 2 * 1024 * 1024);
  assert.equal(t.FCGATE_BODY_BUFFER, 65_536);
  assert.equal(t.FCGATE_DRAIN_MS, 30_000);
  assert.equal(t.FCGATE_PROBE_TIMEOUT, 500);
  assert.equal(t.FCGATE_RETRY_AFTER, 120);
  assert.equal(t.FCGATE_THREADS, 0);
  assert.equal(t.FCGATE_ALLOW_ROOT, true);
  assert.equal(t.UWS_HTTP_MAX_HEADERS_SIZE, 65_536);
  assert.equal(t.FCGATE_SERVER_SOFTWARE, 'Apache');
  assert.equal(readVariable('PORT', { PORT: '9090' }), 9090);
});

test('an invalid value throws a TuningError naming the variable, what it takes and what it got', () => {
  const bad: Array<[string, string, RegExp]> = [
    [
      'FCGATE_MAX_BODY',
      'lots',
      /^FCGATE_MAX_BODY must be a size \(bytes, or 10MB, 64KiB, 1G\), 0 or more; got "lots"$/,
    ],
    ['FCGATE_MAX_HEAD', '100', /^FCGATE_MAX_HEAD must be a size .*, 256–16MiB; got "100"$/],
    ['FCGATE_THREADS', '2.5', /^FCGATE_THREADS must be a whole number, 0–1024; got "2.5"$/],
    [
      'FCGATE_RETRY_AFTER',
      '1500ms',
      /^FCGATE_RETRY_AFTER must be a duration \(a number of seconds, or 500ms, 30s, 2m\), 0s–24h; got "1500ms"$/,
    ],
    ['FCGATE_DRAIN_MS', '2h', /^FCGATE_DRAIN_MS must be a duration .*, 0ms–1h; got "2h"$/],
    ['FCGATE_ALLOW_ROOT', 'maybe', /^FCGATE_ALLOW_ROOT must be 1 or 0/],
    ['FCGATE_SERVER_SOFTWARE', 'a\nb', /^FCGATE_SERVER_SOFTWARE must be 1 to 256 printable ASCII characters/],
    // The token itself is never echoed.
    ['FCGATE_MANAGER_TOKEN', 'has space', /^FCGATE_MANAGER_TOKEN must be printable ASCII without spaces; got "…"$/],
  ];
  for (const [name, value, message] of bad) {
    assert.throws(
      () => readTuning({ [name]: value }),
      (e: unknown) => e instanceof TuningError && message.test(e.message),
      name,
    );
  }
  assert.throws(() => readVariable('PORT', { PORT: '0' }), /^TuningError: PORT must be a whole number, 1–65535/);
});

test('unknown FCGATE_* names: one warning each, with the closest known name; development names are quiet', () => {
  assert.deepEqual(
    unknownVariableWarnings({
      FCGATE_THREDS: '2',
      FCGATE_MAXBODY: '1',
      FCGATE_WHATEVER: 'x',
      FCGATE_THREADS: '1',
      PATH: '/bin',
      FCGATE_PHP_FPM: '/usr/sbin/php-fpm8.2',
      FCGATE_TEST_KEEP: '1',
      FCGATE_BENCH_TIME: '100',
      FCGATE_E2E_MAIN: 'x',
    }),
    [
      'FCGATE_MAXBODY is not a variable fcgate reads (did you mean FCGATE_MAX_BODY?); it is ignored',
      'FCGATE_THREDS is not a variable fcgate reads (did you mean FCGATE_THREADS?); it is ignored',
      'FCGATE_WHATEVER is not a variable fcgate reads (see fcgate --help); it is ignored',
    ],
  );
});

test('--help and the README table list every variable (the README side: test/cli/readme.test.ts)', () => {
  const help = describeVariables();
  const md = tuningMarkdown();
  for (const v of VARIABLES) {
    assert.match(help, new RegExp(`^  ${v.name} `, 'm'), v.name);
    assert.match(md, new RegExp(`^\\| \`${v.name}\` \\|`, 'm'), v.name);
  }
  assert.ok(
    help.split('\n').every((l) => l.length <= 100),
    'help lines fit 100 columns',
  );
});

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('no code in src/ reads an environment variable the table does not list', () => {
  const known = new Set<string>(VARIABLES.map((v) => v.name));
  const read = /\b(?:process\.env|env)(?:\.([A-Z_][A-Z0-9_]*)|\[\s*['"]([A-Z_][A-Z0-9_]*)['"]\s*\])/g;
  const unlisted: string[] = [];
  let seen = 0;
  for (const file of sources(SRC)) {
    for (const m of readFileSync(file, 'utf8').matchAll(read)) {
      seen++;
      const name = m[1] ?? m[2]!;
      if (!known.has(name)) unlisted.push(`${file.slice(SRC.length)}: ${name}`);
    }
  }
  assert.ok(seen > 0, 'the scan found the reads it looks for');
  assert.deepEqual(unlisted, []);
});
