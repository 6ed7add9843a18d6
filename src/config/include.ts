// `Include` / `IncludeOptional` path expansion, as Apache's ap_process_fnmatch_configs:
// a relative pattern starts at ServerRoot; `*`, `?` and `[…]` may appear in any path
// component (never matching '/', a leading '.' only when written); matches are taken in
// sorted order; a directory is read whole (every file in it, sorted, subdirectories too).
// Include fails when nothing matches (or a plain path does not exist); IncludeOptional
// then includes nothing.
//   Include sites-enabled/*.conf   (ServerRoot /etc/fcgate) → /etc/fcgate/sites-enabled/a.conf, …/b.conf

import { globRegex, hasGlob } from './glob.js';
import { isAbsolute, join, resolve } from 'node:path';
import type { ConfigFiles } from './config-files.js';

/** Every file under a directory, sorted, depth first (Apache reads a directory whole). */
function filesUnder(files: ConfigFiles, dir: string, out: string[]): void {
  for (const name of [...files.list(dir)].sort()) {
    const p = join(dir, name);
    const k = files.kind(p);
    if (k === 'dir') filesUnder(files, p, out);
    else if (k === 'file') out.push(p);
  }
}

/**
 * The files a pattern names, sorted as Apache reads them. Throws an Error with the message
 * to show when Include (not `optional`) finds nothing.
 */
export function expandInclude(pattern: string, serverRoot: string, files: ConfigFiles, optional: boolean): string[] {
  const abs = isAbsolute(pattern) ? resolve(pattern) : resolve(serverRoot, pattern);
  const parts = abs.split('/').filter((p) => p !== '');
  let bases = ['/'];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const next: string[] = [];
    if (!hasGlob(part)) {
      for (const b of bases) next.push(join(b, part));
    } else {
      const re = globRegex(part);
      const dotOk = part.startsWith('.'); // APR_FNM_PERIOD: a leading '.' must be written
      for (const b of bases) {
        if (files.kind(b) !== 'dir') continue;
        for (const name of [...files.list(b)].sort()) {
          if (re.test(name) && (dotOk || !name.startsWith('.'))) next.push(join(b, name));
        }
      }
    }
    bases = next;
  }
  const out: string[] = [];
  for (const p of bases) {
    const k = files.kind(p);
    if (k === 'dir') filesUnder(files, p, out);
    else if (k === 'file') out.push(p);
  }
  if (out.length === 0 && !optional) {
    throw new Error(
      hasGlob(abs)
        ? `no file matches ${abs} (IncludeOptional accepts that)`
        : `${abs} does not exist (IncludeOptional accepts that)`,
    );
  }
  return out;
}
