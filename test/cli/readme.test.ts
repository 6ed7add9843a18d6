// The README is the newcomer's manual: it must list every FCGATE_* knob that the code
// reads, and the commands it tells people to run must exist in package.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TUNING, describeTuning } from '../../src/tuning.js';

const root = new URL('../../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> };

test('README lists every FCGATE_* tuning knob with its default', () => {
  for (const k of TUNING) {
    const row = readme.split('\n').find((l) => l.startsWith(`| \`${k.name}\``));
    assert.ok(row, `README has no table row for ${k.name}`);
    if (k.name !== 'FCGATE_THREADS') assert.ok(row.includes(String(k.default)), `README row for ${k.name} lacks default ${k.default}`);
  }
});

test('fcgate --help lists every knob', () => {
  const help = describeTuning();
  for (const k of TUNING) assert.ok(help.includes(k.name), k.name);
});

test('the npm scripts the README names exist', () => {
  for (const s of ['start', 'test', 'bench', 'bench:e2e', 'build']) {
    assert.ok(pkg.scripts[s], `package.json has no "${s}" script`);
    assert.ok(readme.includes(`npm ${s === 'start' || s === 'test' ? '' : 'run '}${s}`), `README does not mention npm ${s}`);
  }
});
