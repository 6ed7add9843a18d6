// The README is the newcomer's manual (issue 13): its table of environment variables is
// the one src/tuning.ts generates, the commands it tells people to run exist, and the
// files it points to are in the repository.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tuningMarkdown } from '../../src/tuning.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const readme = readFileSync(`${ROOT}README.md`, 'utf8');
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> };

test('the README table of environment variables is the generated one', () => {
  const m = /<!-- tuning:begin[^\n]*-->\n([\s\S]*?)<!-- tuning:end -->/.exec(readme);
  assert.ok(m, 'README.md has the tuning:begin / tuning:end markers');
  assert.equal(m[1], tuningMarkdown() + '\n', 'README table differs from src/tuning.ts: run `npm run readme:tuning`');
});

test('the npm scripts the README names exist', () => {
  for (const s of ['start', 'test', 'bench', 'bench:e2e', 'build', 'readme:tuning']) {
    assert.ok(pkg.scripts[s], `package.json has no "${s}" script`);
    assert.ok(
      readme.includes(`npm ${s === 'start' || s === 'test' ? '' : 'run '}${s}`),
      `README does not mention npm ${s}`,
    );
  }
});

test('every repository file the README names or links exists', () => {
  const named = new Set<string>();
  for (const m of readme.matchAll(/\]\(((?:examples|contrib|docs|native-notes|test|src|scripts)\/[^)#\s]+|LICENSE)\)/g))
    named.add(m[1]!);
  for (const m of readme.matchAll(
    /(?<![\w/.-])((?:examples|contrib|test|scripts)\/[\w./-]+\.(?:conf|php|txt|service|logrotate|ts|mjs|sh))/g,
  ))
    named.add(m[1]!);
  assert.ok(named.size >= 10, [...named].join(' '));
  for (const f of named) assert.ok(existsSync(`${ROOT}${f}`), `README names ${f}, which does not exist`);
});
