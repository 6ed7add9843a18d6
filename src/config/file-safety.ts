// Which symbolic links the handler form may follow (issue 9 item 8), as Apache's directory
// walk decides with Options, plus fcgate's safe default (options.ts SymlinkMode):
//   follow     FollowSymLinks: any link
//   owner      SymLinksIfOwnerMatch: a link owned by the owner of its target
//   contained  no Options line about links (fcgate's default): a link whose target, fully
//              resolved, stays inside the tree the request was mapped into (the DocumentRoot
//              or the Alias target) — /var/www/html/pw → /etc/passwd is refused
//   none       Options without either: no link
// A link whose target does not exist is let through to the walk, which finds nothing (404).
// Synchronous (the router is synchronous); only paths that are links cost an extra call.

import { lstatSync, realpathSync, statSync } from 'node:fs';
import type { SymlinkMode } from './options.js';

/** Real paths of configured roots (DocumentRoot, Alias targets): few, stable; bounded anyway. */
const rootReal = new Map<string, string | null>();

function realRoot(root: string): string | null {
  let r = rootReal.get(root);
  if (r === undefined) {
    try {
      r = realpathSync(root);
    } catch {
      r = null;
    }
    if (rootReal.size >= 256) rootReal.clear();
    rootReal.set(root, r);
  }
  return r;
}

/** May the link at `link` (a path below `root`) be followed under `mode`? */
export function linkAllowed(link: string, mode: SymlinkMode, root: string): boolean {
  switch (mode) {
    case 'follow':
      return true;
    case 'none':
      return false;
    case 'owner': {
      let target: number;
      try {
        target = statSync(link).uid;
      } catch {
        return true;
      } // dangling: the walk finds nothing (404)
      try {
        return lstatSync(link).uid === target;
      } catch {
        return false;
      }
    }
    case 'contained': {
      const base = realRoot(root);
      if (base === null) return false;
      let target: string;
      try {
        target = realpathSync(link);
      } catch {
        return true;
      } // dangling: the walk finds nothing (404)
      return target === base || target.startsWith(base === '/' ? '/' : base + '/');
    }
  }
}
