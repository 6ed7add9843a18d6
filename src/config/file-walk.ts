// The handler form's URL → file mapping, as Apache's directory walk does it: the
// longest existing prefix of the path under DocumentRoot, the rest as PATH_INFO.
// Synchronous stat calls (a few µs each on cached dentries); used only by the handler
// form, never for ProxyPass routes.

import { statSync, type Stats } from 'node:fs';

/**
 * stat that answers "nothing usable there" (undefined) for a path that cannot name a file
 * here: a segment longer than NAME_MAX (ENAMETOOLONG: any client can send one, and it was a
 * 500, issue 9 fuzz), a file used as a directory (ENOTDIR), a symlink loop (ELOOP), a
 * directory we may not search (EACCES). All are a 404, as nginx answers for the first three.
 * Anything else (EIO…) is a real failure and throws.
 */
function statOrMissing(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENAMETOOLONG' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'EACCES') return undefined;
    throw err;
  }
}

export type WalkResult =
  /** A file, or the first path segment that does not exist (`exists` false). */
  | { kind: 'file'; filename: string; exists: boolean; scriptName: string; pathInfo: string }
  /** Every segment is a directory; `filename` is that directory. */
  | { kind: 'directory'; filename: string };

/**
 * Walks `decodedPath` (normalised, starts with '/') segment by segment under `root`.
 *   /sh/test.php/foo/bar, test.php a file   → file test.php, scriptName /sh/test.php, pathInfo /foo/bar
 *   /sh/missing.php/x, missing.php absent  → file missing.php (exists false), pathInfo /x
 *   /sh/ or /sh, sh a directory             → directory
 * A trailing slash after a file (`/x.php/`) gives pathInfo '/'.
 */
export function walkPath(root: string, decodedPath: string): WalkResult {
  let cur = root;
  let pos = 1;                                   // index after the '/' that starts a segment
  const n = decodedPath.length;
  while (pos < n) {
    let end = decodedPath.indexOf('/', pos);
    if (end < 0) end = n;
    const next = cur + '/' + decodedPath.slice(pos, end);
    const st = statOrMissing(next);
    if (st === undefined || !st.isDirectory()) {
      return {
        kind: 'file', filename: next, exists: st !== undefined,
        scriptName: decodedPath.slice(0, end), pathInfo: decodedPath.slice(end),
      };
    }
    cur = next;
    pos = end + 1;
  }
  return { kind: 'directory', filename: cur };
}

/** The first DirectoryIndex name that is an existing file in `dir`, or null. */
export function findIndex(dir: string, names: string[]): string | null {
  for (const name of names) {
    const st = statOrMissing(dir + '/' + name);
    if (st !== undefined && !st.isDirectory()) return name;
  }
  return null;
}
