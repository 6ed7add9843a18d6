// SCRIPT_FILENAME, SCRIPT_NAME, PATH_INFO and PATH_TRANSLATED as mod_proxy_fcgi sets
// them: the proxy-fcgi-pathinfo modes, FPM vs GENERIC filenames, the handler form.
// Apache's rules as observed: docs/apache-differences.md and test/cgi/path-info.test.ts,
// which has a row per configuration. Other params: environment.ts.
//
// Worked example (ProxyPass "/pi/" "fcgi://localhost:4000/", request
// `/pi/dir.d/script.php/extra/pa%20th.x/more`; the router gives targetPath
// `/dir.d/script.php/extra/pa%20th.x/more`, decodedPath `/pi/dir.d/script.php/extra/pa th.x/more`):
//   mode        PATH_INFO                                  SCRIPT_NAME
//   (unset)     —                                          the whole decodedPath
//   1, On, any  /dir.d/script.php/extra/pa%20th.x/more      /pi/dir.d/script.php/extra/pa th.x  ⚠
//   unescape    /dir.d/script.php/extra/pa th.x/more        /pi
//   first-dot   /script.php/extra/pa th.x/more              /pi/dir.d
//   last-dot    /more                                       /pi/dir.d/script.php/extra/pa th.x
//   full        the rest after the first non-directory on disk, if the target is on disk
// SCRIPT_FILENAME stays `proxy:fcgi://localhost:4000/dir.d/…/pa%20th.x/more` in every
// mode but a successful `full`, where it becomes the plain path of the file found.

import type { ResolvedRequest, WorkerSettings } from '../config/model.js';
import { FileKind, type FileProbe } from './file-probe.js';
import { canonEncodePath, unescapePath } from './uri-escape.js';

export const PathInfoMode = {
  None: 0,
  Raw: 1,
  Unescape: 2,
  FirstDot: 3,
  LastDot: 4,
  Full: 5,
} as const;
export type PathInfoMode = (typeof PathInfoMode)[keyof typeof PathInfoMode];

/**
 * The mode a `proxy-fcgi-pathinfo` value asks for (compared case-insensitively, as
 * Apache's strcasecmp). Any value other than the four names, '' and '0' included,
 * means Raw: "any other value for the raw path".
 */
export function pathInfoModeOf(value: string | undefined): PathInfoMode {
  if (value === undefined) return PathInfoMode.None;
  switch (value.toLowerCase()) {
    case 'full':
      return PathInfoMode.Full;
    case 'first-dot':
      return PathInfoMode.FirstDot;
    case 'last-dot':
      return PathInfoMode.LastDot;
    case 'unescape':
      return PathInfoMode.Unescape;
    default:
      return PathInfoMode.Raw;
  }
}

/**
 * Where SCRIPT_NAME ends when PATH_INFO is `pathInfo` (Apache's ap_find_path_info):
 * walk both strings backwards while they agree (a '/' in PATH_INFO also swallows
 * repeated '/' in the URI), then move forward to the end of the URI segment where
 * they disagreed. So when PATH_INFO is %-encoded but the URI is decoded, SCRIPT_NAME
 * keeps every segment up to the first one that differs:
 *   uri `/pi_1/dir.d/x.php/pa th.x/more`, pathInfo `/dir.d/x.php/pa%20th.x/more`
 *   → they agree back to `th.x/more`, disagree at ' ' vs '0' → `/pi_1/dir.d/x.php/pa th.x` ⚠
 *   uri `/pi_1/a/b`, pathInfo `/a/b` → agree fully → `/pi_1`.
 */
export function findPathInfoStart(uri: string, pathInfo: string): number {
  let lu = uri.length;
  let lp = pathInfo.length;
  for (;;) {
    if (lu === 0) break; // ran off the URI's start
    lu--;
    if (lp === 0) break; // all of PATH_INFO matched
    lp--;
    const c = pathInfo.charCodeAt(lp);
    if (uri.charCodeAt(lu) !== c) break;
    if (c === 47) while (lu > 0 && uri.charCodeAt(lu - 1) === 47) lu--;
  }
  while (lu < uri.length && uri.charCodeAt(lu) !== 47) lu++;
  return lu;
}

/** Resolves '.', '..' and empty segments of an absolute path (`/a//b/../c/.` → `/a/c/`). */
export function normalizeSegments(path: string): string {
  const parts = path.split('/');
  const kept: string[] = [];
  const last = parts.length - 1;
  let trailing = false;
  for (let i = 1; i <= last; i++) {
    const seg = parts[i]!;
    if (seg === '..') kept.pop();
    else if (seg !== '.' && seg !== '') kept.push(seg);
    if (i === last) trailing = seg === '' || seg === '.' || seg === '..';
  }
  return '/' + kept.join('/') + (trailing && kept.length > 0 ? '/' : '');
}

/**
 * PATH_TRANSLATED for a PATH_INFO: the DocumentRoot joined with it, as Apache's
 * sub-request lookup of PATH_INFO gives (dot segments and '//' resolved).
 * Deliberate difference: when PATH_INFO already starts with the DocumentRoot (the
 * raw modes on ProxyPassMatch to `fcgi://host@DOCROOT@/…`), Apache prefixes it a
 * second time; we send it once.
 */
export function translatePath(documentRoot: string, pathInfo: string): string {
  let p = pathInfo.charCodeAt(0) === 47 ? pathInfo : '/' + pathInfo;
  if (p.indexOf('//') >= 0 || p.indexOf('/.') >= 0) p = normalizeSegments(p);
  const root = documentRoot.endsWith('/') ? documentRoot.slice(0, -1) : documentRoot;
  if (root.length > 0 && p.startsWith(root) && (p.length === root.length || p.charCodeAt(root.length) === 47)) return p;
  return root + p;
}

// `proxy:fcgi://host[:port]` per worker, derived once from its canonical name.
const prefixes = new WeakMap<WorkerSettings, string>();

/**
 * The `proxy:fcgi://host[:port]` prefix of an FPM-type SCRIPT_FILENAME, from the
 * worker's name: `fcgi://LocalHost:4000` → `proxy:fcgi://localhost:4000`,
 * `unix:/run/php.sock|fcgi://localhost/` → `proxy:fcgi://localhost`. The host is
 * lower-cased and fcgi's default port 8000 left out, as mod_proxy_fcgi's canon does.
 */
export function fpmPrefixOf(worker: WorkerSettings): string {
  let p = prefixes.get(worker);
  if (p !== undefined) return p;
  const name = worker.name;
  const at = name.toLowerCase().lastIndexOf('fcgi://');
  let authority: string;
  if (at >= 0) {
    const from = at + 7;
    const slash = name.indexOf('/', from);
    authority = name.slice(from, slash < 0 ? name.length : slash).toLowerCase();
  } else {
    const a = worker.address;
    authority =
      a.kind === 'unix' ? 'localhost' : (a.host.includes(':') ? `[${a.host}]` : a.host.toLowerCase()) + ':' + a.port;
  }
  if (authority.endsWith(':8000')) authority = authority.slice(0, -5);
  p = 'proxy:fcgi://' + authority;
  prefixes.set(worker, p);
  return p;
}

/**
 * Finds the script on disk for `full`: walks `fsPath` from the root one segment at a
 * time while the segments are directories; returns the length of the prefix naming
 * the first non-directory (the script), or -1 when a segment is missing or the whole
 * path is directories (then nothing changes, as observed for "no such file").
 */
function findScriptOnDisk(fsPath: string, probe: FileProbe): number {
  if (fsPath.charCodeAt(0) !== 47) return -1;
  let end = 0;
  while (end < fsPath.length) {
    let next = fsPath.indexOf('/', end + 1);
    if (next < 0) next = fsPath.length;
    if (next > end + 1) {
      // skip empty segments ('//')
      const kind = probe(fsPath.slice(0, next));
      if (kind === FileKind.File) return next;
      if (kind === FileKind.Missing) return -1;
    }
    end = next;
  }
  return -1;
}

/**
 * Sets `out[filenameAt]` to SCRIPT_FILENAME and appends SCRIPT_NAME, then PATH_INFO
 * and PATH_TRANSLATED when there is a PATH_INFO, to the flat [name, value, …] list.
 * `worker` is the backend the request goes to (the chosen member for a balancer);
 * null gives the plain path, as for GENERIC.
 */
export function writeScriptVars(
  out: string[],
  filenameAt: number,
  r: ResolvedRequest,
  worker: WorkerSettings | null,
  mode: PathInfoMode,
  probe: FileProbe,
): void {
  const generic = r.backendType === 'GENERIC' || worker === null;

  if (r.form === 'handler') {
    // SetHandler "proxy:fcgi://…": the core already mapped the URL to a file and split
    // PATH_INFO on disk; proxy-fcgi-pathinfo plays no part. Apache writes the handler
    // string as written followed by the filename, so `SetHandler "proxy:unix:…|fcgi://localhost/"`
    // (trailing slash) gives `proxy:fcgi://localhost//var/www/x.php` ⚠. We do not copy
    // that double slash (the router's RouteResult.handlerUrlPath would allow it):
    // it comes from an incidental trailing slash in the config, not from the socket
    // kind; PHP-FPM strips `proxy:fcgi://host` up to the first '/' and would show the
    // app `//var/www/x.php` as $_SERVER['SCRIPT_FILENAME'] (so `SCRIPT_FILENAME === __FILE__`
    // checks fail under Apache); and both strings name the same file. The single-slash
    // form is what Apache itself sends for the TCP row. Listed in docs/apache-differences.md
    // ("SCRIPT_FILENAME with SetHandler to a unix socket").
    out[filenameAt] = generic ? r.targetPath : fpmPrefixOf(worker) + r.targetPath;
    out.push('SCRIPT_NAME', r.scriptName ?? r.decodedPath);
    const pi = r.pathInfo;
    if (pi !== null && pi.length > 0) {
      out.push('PATH_INFO', pi, 'PATH_TRANSLATED', translatePath(r.documentRoot, pi));
    }
    return;
  }

  // ProxyPass / ProxyPassMatch: Apache's canon writes `proxy:fcgi://host:port/` + the
  // encoded path; GENERIC strips `proxy:fcgi://host:port` (PHP-FPM does that itself).
  let path = canonEncodePath(r.targetPath);
  if (path.charCodeAt(0) !== 47) path = '/' + path;
  let filename = generic ? path : fpmPrefixOf(worker) + path;
  let pathInfo: string | null = null;

  switch (mode) {
    case PathInfoMode.None:
      break;
    case PathInfoMode.Raw:
      pathInfo = path;
      break;
    case PathInfoMode.Unescape:
      pathInfo = unescapePath(path);
      break;
    case PathInfoMode.FirstDot:
    case PathInfoMode.LastDot: {
      // The search runs over the path after host:port without its leading '/';
      // no dot, or no '/' after the dot, leaves PATH_INFO unset; `x.php/` gives `/`.
      const dot = mode === PathInfoMode.FirstDot ? path.indexOf('.', 1) : path.lastIndexOf('.');
      const slash = dot > 0 ? path.indexOf('/', dot) : -1;
      if (slash > 0) pathInfo = unescapePath(path.slice(slash));
      break;
    }
    case PathInfoMode.Full: {
      const fsPath = unescapePath(path);
      const split = findScriptOnDisk(fsPath, probe);
      if (split >= 0) {
        filename = fsPath.slice(0, split);
        if (split < fsPath.length) pathInfo = fsPath.slice(split);
      }
      break;
    }
  }

  out[filenameAt] = filename;
  if (pathInfo === null) {
    out.push('SCRIPT_NAME', r.decodedPath);
    return;
  }
  const uri = r.decodedPath;
  out.push(
    'SCRIPT_NAME',
    uri.slice(0, findPathInfoStart(uri, pathInfo)),
    'PATH_INFO',
    pathInfo,
    'PATH_TRANSLATED',
    translatePath(r.documentRoot, pathInfo),
  );
}
