// The handler form's URL → file mapping, as Apache's directory walk does it: the
// longest existing prefix of the path under DocumentRoot (or an Alias target), the rest as
// PATH_INFO. Each segment is lstat'ed: a symbolic link is followed only when `links` allows
// it (file-safety.ts), else the walk stops with 'forbidden'. Synchronous calls (a few µs
// each on cached dentries); used only by the handler form, never for ProxyPass routes.

import { lstatSync, statSync, type Stats } from 'node:fs';

/** Decides whether the link at a path may be followed (the caller knows the Options in force). */
export type LinkCheck = (link: string) => boolean;

/** lstat, then (for an allowed link) stat. undefined = missing; 'forbidden' = a link not allowed. */
function probe(path: string, links: LinkCheck | null): Stats | undefined | 'forbidden' {
  let st: Stats | undefined;
  try {
    st = lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined; // ENOTDIR, EACCES, ENAMETOOLONG: nothing usable
  }
  if (st === undefined || !st.isSymbolicLink()) return st;
  if (links !== null && !links(path)) return 'forbidden';
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

export type WalkResult =
  /** A file, or the first path segment that does not exist (`exists` false). */
  | { kind: 'file'; filename: string; exists: boolean; scriptName: string; pathInfo: string }
  /** Every segment is a directory; `filename` is that directory. */
  | { kind: 'directory'; filename: string }
  /** A symbolic link the Options in force do not let the walk follow. */
  | { kind: 'forbidden'; link: string };

/**
 * Walks `decodedPath` (normalised, starts with '/') segment by segment under `root`.
 *   /sh/test.php/foo/bar, test.php a file   → file test.php, scriptName /sh/test.php, pathInfo /foo/bar
 *   /sh/missing.php/x, missing.php absent  → file missing.php (exists false), pathInfo /x
 *   /sh/ or /sh, sh a directory             → directory
 * A trailing slash after a file (`/x.php/`) gives pathInfo '/'.
 */
export function walkPath(root: string, decodedPath: string, links: LinkCheck | null = null): WalkResult {
  let cur = root;
  let pos = 1; // index after the '/' that starts a segment
  const n = decodedPath.length;
  while (pos < n) {
    let end = decodedPath.indexOf('/', pos);
    if (end < 0) end = n;
    const next = cur + '/' + decodedPath.slice(pos, end);
    const st = probe(next, links);
    if (st === 'forbidden') return { kind: 'forbidden', link: next };
    if (st === undefined || !st.isDirectory()) {
      return {
        kind: 'file',
        filename: next,
        exists: st !== undefined,
        scriptName: decodedPath.slice(0, end),
        pathInfo: decodedPath.slice(end),
      };
    }
    cur = next;
    pos = end + 1;
  }
  return { kind: 'directory', filename: cur };
}

/** The first DirectoryIndex name that is an existing file in `dir` (a link only if allowed), or null. */
export function findIndex(dir: string, names: string[], links: LinkCheck | null = null): string | null {
  for (const name of names) {
    const st = probe(dir + '/' + name, links);
    if (st !== undefined && st !== 'forbidden' && !st.isDirectory()) return name;
  }
  return null;
}
