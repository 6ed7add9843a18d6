#!/usr/bin/env node
// Rewrites the README's table of environment variables (between the tuning:begin and
// tuning:end markers) from the compiled src/tuning.ts. `npm run readme:tuning` builds first.
// test/cli/readme.test.ts fails when the README and the table differ.
// @ts-check
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
/** @type {{ tuningMarkdown: () => string }} */
const { tuningMarkdown } = await import(new URL('../dist/src/tuning.js', import.meta.url).href);
const file = `${root}README.md`;
const text = readFileSync(file, 'utf8');
const begin = text.search(/<!-- tuning:begin[^\n]*-->\n/);
const end = text.indexOf('<!-- tuning:end -->');
if (begin < 0 || end < begin) {
  console.error('readme-tuning: README.md has no tuning:begin / tuning:end markers');
  process.exit(1);
}
const open = text.slice(begin, text.indexOf('\n', begin) + 1);
const next = text.slice(0, begin) + open + tuningMarkdown() + '\n' + text.slice(end);
if (next === text) console.log('readme-tuning: README.md already up to date');
else {
  writeFileSync(file, next);
  console.log('readme-tuning: README.md table rewritten');
}
