#!/usr/bin/env node
// Lists exports of src/ that no other file uses, with the TypeScript compiler API over the
// program tsconfig.json describes (src/, test/, bench/). An export counts as used when an
// identifier in another file resolves to it (through imports and re-exports), or when its
// module is loaded by path at run time (Piscina and worker_threads task files named with
// `new URL('./x.js', import.meta.url)`, which use every export), or when a script imports
// it from dist/. Reported in two groups: used nowhere else, and used only by test/ or
// bench/ (often fine: a parameter kept for tests; sometimes a leftover).
// Usage: node scripts/unused-exports.mjs [--strict] [path-prefix ...]
//   --strict   exit 1 when an export is used nowhere at all (the other groups are listed, not failed)
//   path-prefix  report only files under these prefixes (e.g. src/config/)
// @ts-check
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const strict = args.includes('--strict');
const prefixes = args.filter((a) => !a.startsWith('--'));

const configPath = join(root, 'tsconfig.json');
const parsed = ts.getParsedCommandLineOfConfigFile(
  configPath,
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  },
);
if (parsed === undefined) throw new Error('cannot read tsconfig.json');
const program = ts.createProgram(parsed.fileNames, parsed.options);
const checker = program.getTypeChecker();

/** @param {string} file */
const rel = (file) => relative(root, file);
const ours = program.getSourceFiles().filter((f) => !f.isDeclarationFile && !rel(f.fileName).startsWith('..'));

/** @param {ts.Symbol} s */
function target(s) {
  return (s.flags & ts.SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(s) : s;
}

/** Symbol → the files (other than its own) whose identifiers resolve to it. */
/** @type {Map<ts.Symbol, Set<string>>} */
const usedFrom = new Map();
/** @param {ts.Symbol} s @param {string} file */
function markUse(s, file) {
  let set = usedFrom.get(s);
  if (set === undefined) usedFrom.set(s, (set = new Set()));
  set.add(file);
}

/** Files loaded by path at run time: every export counts as used. */
/** @type {Set<string>} */
const loadedByPath = new Set();
const URL_REF = /new URL\(\s*'(\.{1,2}\/[^']+\.js)'\s*,\s*import\.meta\.url\s*\)/g;

for (const sf of ours) {
  const file = rel(sf.fileName);
  for (const m of sf.text.matchAll(URL_REF)) {
    loadedByPath.add(rel(resolve(dirname(sf.fileName), m[1] ?? '').replace(/\.js$/, '.ts')));
  }
  /** @param {ts.Node} node */
  const visit = (node) => {
    if (ts.isIdentifier(node)) {
      const s = checker.getSymbolAtLocation(node);
      if (s !== undefined) {
        markUse(s, file);
        // An import or re-export names an alias: the use belongs to what it stands for,
        // and to every alias on the way (export { x } from … chains).
        let t = s;
        for (let i = 0; i < 8 && (t.flags & ts.SymbolFlags.Alias) !== 0; i++) {
          const next = checker.getImmediateAliasedSymbol(t);
          if (next === undefined) break;
          markUse(next, file);
          t = next;
        }
        markUse(target(s), file);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}

// Scripts run the compiled code: `const { a, b } = await import(…)` of a dist/src/x.js path
// (written out, or as new URL('src/x.js', dist)).
/** @type {Map<string, Set<string>>} */
const scriptUses = new Map();
/** @param {string} dir @returns {string[]} */
const walk = (dir) =>
  readdirSync(dir, {
    withFileTypes: true,
  }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.mjs') ? [join(dir, e.name)] : []));
for (const script of walk(join(root, 'scripts'))) {
  const text = readFileSync(script, 'utf8');
  const re = /\{([^}]*)\}\s*=\s*await import\((?:[^;]*?\bdist\/|new URL\(\s*['"])(src\/[^'")]+)\.js/g;
  for (const m of text.matchAll(re)) {
    const names = (m[1] ?? '')
      .split(',')
      .map((n) => n.trim().split(':')[0]?.trim() ?? '')
      .filter(Boolean);
    const key = `${m[2]}.ts`;
    let set = scriptUses.get(key);
    if (set === undefined) scriptUses.set(key, (set = new Set()));
    for (const n of names) set.add(n);
  }
}

/**
 * Identifiers in `sf` other than the declaration's own name that resolve to `exp`.
 * @param {ts.SourceFile} sf @param {ts.Symbol} exp
 */
function localUses(sf, exp) {
  const own = new Set((exp.declarations ?? []).map((d) => ts.getNameOfDeclaration(d)));
  let n = 0;
  /** @param {ts.Node} node */
  const visit = (node) => {
    if (ts.isIdentifier(node) && !own.has(node) && node.text === exp.name) {
      const s = checker.getSymbolAtLocation(node);
      if (s === exp || (s !== undefined && target(s) === target(exp))) n++;
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return n;
}

/** @type {string[]} */
const unused = [];
/** @type {string[]} */
const localOnly = [];
/** @type {string[]} */
const testOnly = [];
for (const sf of ours) {
  const file = rel(sf.fileName);
  if (!file.startsWith('src/') || loadedByPath.has(file)) continue;
  if (prefixes.length > 0 && !prefixes.some((p) => file.startsWith(p))) continue;
  const moduleSymbol = checker.getSymbolAtLocation(sf);
  if (moduleSymbol === undefined) continue;
  for (const exp of checker.getExportsOfModule(moduleSymbol)) {
    if (scriptUses.get(file)?.has(exp.name)) continue;
    const declared = exp.declarations?.[0];
    // Re-exports (export … from) are judged where the thing is declared.
    if (declared !== undefined && declared.getSourceFile() !== sf) continue;
    if (declared !== undefined && (ts.isExportSpecifier(declared) || ts.isNamespaceExport(declared))) continue;
    const users = new Set([...(usedFrom.get(exp) ?? []), ...(usedFrom.get(target(exp)) ?? [])]);
    const usedHere = users.delete(file) && localUses(sf, exp) > 0;
    const line = declared === undefined ? 0 : sf.getLineAndCharacterOfPosition(declared.getStart()).line + 1;
    const isType = (target(exp).flags & ts.SymbolFlags.Value) === 0;
    const where = `${file}:${line} ${exp.name}${isType ? ' (type)' : ''}`;
    if (users.size === 0) (usedHere ? localOnly : unused).push(where);
    else if ([...users].every((u) => u.startsWith('test/') || u.startsWith('bench/'))) testOnly.push(where);
  }
}

console.log(`exported from src/ and used nowhere, not even in its own file (${unused.length}):`);
for (const u of unused) console.log(`  ${u}`);
console.log(
  `exported from src/ and used only in its own file (${localOnly.length}; a type in an exported signature may stay):`,
);
for (const u of localOnly) console.log(`  ${u}`);
console.log(`exported from src/ and used only by test/ or bench/ (${testOnly.length}):`);
for (const u of testOnly) console.log(`  ${u}`);
if (strict && unused.length > 0) process.exit(1);
