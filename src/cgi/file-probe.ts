// What kind of file sits at a path, for proxy-fcgi-pathinfo=full (the only CGI
// param that looks at the disk). A probe is injectable so tests and benches need no
// disk, and cached so a busy `full` route does not stat on every request.
// Nothing else touches the filesystem in src/cgi.

import { statSync } from 'node:fs';

export const FileKind = { Missing: 0, Directory: 1, File: 2 } as const;
export type FileKind = (typeof FileKind)[keyof typeof FileKind];

/** Answers synchronously: buildParams is synchronous and runs once per request. */
export type FileProbe = (path: string) => FileKind;

/**
 * Asks the filesystem with stat (symlinks followed). Anything that exists and is not
 * a directory counts as a File, as for Apache's directory walk, which stops at the
 * first non-directory.
 */
export const statFileProbe: FileProbe = (path) => {
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    if (st === undefined) return FileKind.Missing;
    return st.isDirectory() ? FileKind.Directory : FileKind.File;
  } catch {
    return FileKind.Missing; // ENOTDIR, EACCES, ENAMETOOLONG: nothing usable there
  }
};

/** Defaults of cachedFileProbe. */
const FILE_PROBE_TTL_MS = 2000;
const FILE_PROBE_CACHE_LIMIT = 1024;

/**
 * Wraps a probe with a bounded cache: each answer is reused for `ttlMs`; the cache is
 * emptied when it holds `limit` paths. One number per entry: expiry * 4 + kind.
 */
export function cachedFileProbe(
  inner: FileProbe = statFileProbe,
  ttlMs = FILE_PROBE_TTL_MS,
  limit = FILE_PROBE_CACHE_LIMIT,
  now: () => number = Date.now,
): FileProbe {
  const cache = new Map<string, number>();
  return (path) => {
    const t = now();
    const hit = cache.get(path);
    if (hit !== undefined && Math.floor(hit / 4) > t) return (hit % 4) as FileKind;
    const kind = inner(path);
    if (cache.size >= limit) cache.clear();
    cache.set(path, (t + ttlMs) * 4 + kind);
    return kind;
  };
}
