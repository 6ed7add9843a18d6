// Per-request routing: RequestSnapshot + GatewayConfig → what to do with the request.
// ProxyPass / ProxyPassMatch first (first match in config order wins, as Apache), then
// the handler form (URL → file under DocumentRoot, SetHandler "proxy:…" from the
// matching sections), then static files. Computes targetPath, decodedPath, the handler
// form's scriptName/pathInfo and the SetEnv/SetEnvIf environment. PATH_INFO guessing
// for ProxyPass (proxy-fcgi-pathinfo) is NOT done here: that is src/cgi's job.
//
// Result kinds:
//   proxy         → send to resolved.worker / resolved.balancer
//   static        → serve `filename` from disk (the handler form found no proxy handler)
//   redirect-dir  → 301 to `location` (a directory URL without its trailing slash)
//   not-found     → 404 (code FCGATE_NOT_FOUND, or FCGATE_NO_ROUTE when nothing serves it)
//   bad-request   → 400 (a bad %-escape, a path that does not start with '/')

import { basename, dirname } from 'node:path';
import type { RequestSnapshot } from '../request.js';
import type {
  BackendType, ConfigSection, DirectiveBlock, FcgiSetEnvRule, GatewayConfig, HandlerTarget,
  ProxyRoute, ResolvedRequest,
} from './model.js';
import { decodePath, encodeTargetPath, prefixMatches } from './url-path.js';
import { findIndex, walkPath } from './file-walk.js';
import { applySetEnv, applySetEnvIf } from './setenvif.js';

export type NotFoundReason =
  | 'encoded-slash' | 'nul' | 'no-route' | 'no-file' | 'directory' | 'path-info';

export type RouteResult =
  | {
      kind: 'proxy';
      resolved: ResolvedRequest;
      /** The ProxyPass/ProxyPassMatch that matched; null for the handler form. */
      route: ProxyRoute | null;
      /**
       * Handler form: the SetHandler URL's own path ('' or '/'), which Apache writes
       * between host and filename in SCRIPT_FILENAME (`proxy:fcgi://localhost//docroot/x.php`
       * for `unix:…|fcgi://localhost/`). '' for ProxyPass forms (already in targetPath).
       */
      handlerUrlPath: string;
    }
  | { kind: 'static'; filename: string; decodedPath: string }
  | { kind: 'redirect-dir'; location: string }
  | { kind: 'not-found'; reason: NotFoundReason; code: 'FCGATE_NOT_FOUND' | 'FCGATE_NO_ROUTE' }
  | { kind: 'bad-request'; reason: 'bad-escape' | 'not-absolute'; code: 'FCGATE_BAD_REQUEST' };

/** Sections sorted once per config into the groups Apache merges, in merge order. */
interface Plan {
  proxySections: ConfigSection[];
  /** Non-regex <Directory>, fewest path components first. */
  dirPlain: ConfigSection[];
  dirRegex: ConfigSection[];
  files: ConfigSection[];
  locations: ConfigSection[];
  /** True when no section exists: the server block alone decides. */
  serverOnly: boolean;
  /** Per cfg.routes index: the compiled ProxyPassMatch target (null for ProxyPass). */
  substitutions: Array<Substitution | null>;
  /** [cfg.server] and its merge, reused for every request when serverOnly. */
  serverBlocks: DirectiveBlock[];
  serverMerged: Merged;
}

const plans = new WeakMap<GatewayConfig, Plan>();

function planOf(cfg: GatewayConfig): Plan {
  let p = plans.get(cfg);
  if (p !== undefined) return p;
  const of = (k: ConfigSection['kind']): ConfigSection[] => cfg.sections.filter((s) => s.kind === k);
  const dirs = of('directory');
  const depth = (s: ConfigSection): number => (s.pattern === '/' ? 0 : s.pattern.split('/').length);
  p = {
    proxySections: of('proxy'),
    dirPlain: dirs.filter((s) => !isRegexSection(s)).sort((a, b) => depth(a) - depth(b)),
    dirRegex: dirs.filter(isRegexSection),
    files: of('files').sort((a, b) => (a.parent === null ? 0 : 1) - (b.parent === null ? 0 : 1)),
    locations: of('location'),
    serverOnly: cfg.sections.length === 0,
    substitutions: cfg.routes.map((r) => (r.regex === null ? null : compileSubstitution(r.targetPath))),
    serverBlocks: [cfg.server],
    serverMerged: merge(cfg, [cfg.server]),
  };
  plans.set(cfg, p);
  return p;
}

/** A wildcard <Directory> keeps its place among the plain ones; `~`/Match ones come after. */
const isRegexSection = (s: ConfigSection): boolean => s.matchForm;

/**
 * A ProxyPassMatch target path split once into literal text and capture numbers, as
 * Apache's ap_pregsub reads it: `$0`..`$9` are captures, `\x` is a literal x.
 * `parts` alternates string (literal) and number (capture index).
 * `substitutes` is false when the template has neither, so the result would equal the
 * template: that is Apache's "no backreference" case, where the URL is appended.
 */
interface Substitution { parts: Array<string | number>; substitutes: boolean }

function compileSubstitution(tpl: string): Substitution {
  const parts: Array<string | number> = [];
  let lit = '';
  let substitutes = false;
  for (let i = 0; i < tpl.length; i++) {
    const c = tpl.charCodeAt(i);
    if (c === 36 && i + 1 < tpl.length) {                                       // $
      const d = tpl.charCodeAt(i + 1) - 48;
      if (d >= 0 && d <= 9) { parts.push(lit, d); lit = ''; i++; substitutes = true; continue; }
    } else if (c === 92 && i + 1 < tpl.length) { lit += tpl[++i]; substitutes = true; continue; }   // \
    lit += tpl[i];
  }
  parts.push(lit);
  return { parts, substitutes };
}

/**
 * The backend URL path for a route that matched `path`, still decoded:
 * ProxyPass: the target's path + what follows the prefix;
 * ProxyPassMatch: the target's path with $N substituted, or, when there is nothing to
 * substitute (no backreference), the target's path + the whole request path (Apache's
 * "URL appended", hence `…@DOCROOT@//ppm_implicit/…`). Returns null when no match.
 */
function mapRoute(r: ProxyRoute, sub: Substitution | null, path: string): string | null {
  if (r.regex === null) {
    if (!prefixMatches(r.pattern, path)) return null;
    return r.targetPath + path.slice(r.pattern.length);
  }
  const m = r.regex.exec(path);
  if (m === null) return null;
  if (!sub!.substitutes) return r.targetPath + path;
  const parts = sub!.parts;
  let out = '';
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    out += typeof p === 'string' ? p : (m[p] ?? '');
  }
  return out;
}

function locationMatches(s: ConfigSection, path: string): boolean {
  return s.regex === null ? prefixMatches(s.pattern, path) : s.regex.test(path);
}

function directoryMatches(s: ConfigSection, dir: string): boolean {
  if (s.regex !== null) return s.regex.test(isRegexSection(s) ? dir + '/' : dir);
  return s.pattern === '/' || dir === s.pattern || dir.startsWith(s.pattern + '/');
}

function filesMatch(s: ConfigSection, base: string): boolean {
  return s.regex === null ? base === s.pattern : s.regex.test(base);
}

/** The merged view of the blocks that apply to one request. */
interface Merged {
  handler: HandlerTarget | null | undefined;
  cgiPassAuth: boolean;
  backendType: BackendType;
  fcgiSetEnv: FcgiSetEnvRule[];
  directoryIndex: string[];
}

function merge(cfg: GatewayConfig, blocks: DirectiveBlock[]): Merged {
  const out: Merged = {
    handler: undefined, cgiPassAuth: cfg.cgiPassAuth, backendType: cfg.backendType,
    fcgiSetEnv: cfg.fcgiSetEnvIf, directoryIndex: cfg.directoryIndex,
  };
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i]!;
    if (b.handler !== undefined) out.handler = b.handler;
    if (b.cgiPassAuth !== null) out.cgiPassAuth = b.cgiPassAuth;
    if (b.backendType !== null) out.backendType = b.backendType;
    if (b.directoryIndex !== null) out.directoryIndex = b.directoryIndex;
    if (i > 0 && b.fcgiSetEnvIf.length > 0) out.fcgiSetEnv = out.fcgiSetEnv.concat(b.fcgiSetEnvIf);
  }
  return out;
}

/** The env of a request no SetEnv/SetEnvIf/UnsetEnv applies to: shared, so it refuses changes. */
class EmptyEnv extends Map<string, string> {
  override set(name: string): this { throw new TypeError(`the shared empty request env is read-only (set ${name})`); }
  override delete(): boolean { throw new TypeError('the shared empty request env is read-only'); }
  override clear(): void { throw new TypeError('the shared empty request env is read-only'); }
}
const NO_ENV: Map<string, string> = new EmptyEnv();

/**
 * mod_setenvif runs before mod_env: every SetEnvIf of every block in merge order, then
 * every SetEnv/UnsetEnv in merge order (so SetEnv wins over SetEnvIf for one name).
 */
function buildEnv(blocks: DirectiveBlock[], req: RequestSnapshot): Map<string, string> {
  let any = false;
  for (let i = 0; i < blocks.length && !any; i++) any = blocks[i]!.env.length > 0;
  if (!any) return NO_ENV;            // the usual case: no Map per request
  const env = new Map<string, string>();
  for (const b of blocks) for (const d of b.env) if (d.op === 'setif') applySetEnvIf(d, req, env);
  for (const b of blocks) for (const d of b.env) if (d.op !== 'setif') applySetEnv(d, env);
  return env;
}

function resolved(cfg: GatewayConfig, form: ResolvedRequest['form'], m: Merged, env: Map<string, string>,
                  worker: ResolvedRequest['worker'], balancer: string | null, targetPath: string,
                  decodedPath: string, scriptName: string | null, pathInfo: string | null): ResolvedRequest {
  const root = cfg.documentRoot ?? '';
  return {
    form, worker, balancer, targetPath, decodedPath, scriptName, pathInfo, env,
    fcgiSetEnv: m.fcgiSetEnv, backendType: m.backendType, cgiPassAuth: m.cgiPassAuth,
    documentRoot: root, serverName: cfg.serverName, contextPrefix: '', contextDocumentRoot: root,
  };
}

/** Routes one request. Synchronous; the handler form stats the filesystem. */
export function resolve(cfg: GatewayConfig, req: RequestSnapshot): RouteResult {
  const d = decodePath(req.path);
  if (!d.ok) {
    if (d.reason === 'bad-escape' || d.reason === 'not-absolute') return { kind: 'bad-request', reason: d.reason, code: 'FCGATE_BAD_REQUEST' };
    return { kind: 'not-found', reason: d.reason, code: 'FCGATE_NOT_FOUND' };
  }
  const path = d.path;
  const plan = planOf(cfg);
  return proxyRoute(cfg, plan, req, path) ?? handlerForm(cfg, plan, req, path);
}

/** The first ProxyPass/ProxyPassMatch for `path` (decoded); null when none maps it or `!` excludes it. */
function proxyRoute(cfg: GatewayConfig, plan: Plan, req: RequestSnapshot, path: string): RouteResult | null {
  const routes = cfg.routes;
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i]!;
    const mapped = mapRoute(r, plan.substitutions[i]!, path);
    if (mapped === null) continue;
    if (r.exclude) return null;
    const blocks = plan.serverOnly ? plan.serverBlocks : proxyBlocks(cfg, plan, r.worker?.name ?? r.balancer!, path);
    const m = plan.serverOnly ? plan.serverMerged : merge(cfg, blocks);
    return {
      kind: 'proxy', route: r, handlerUrlPath: '',
      resolved: resolved(cfg, r.form, m, buildEnv(blocks, req), r.worker, r.balancer,
        encodeTargetPath(mapped), path, null, null),
    };
  }
  return null;
}

function proxyBlocks(cfg: GatewayConfig, plan: Plan, target: string, path: string): DirectiveBlock[] {
  const blocks: DirectiveBlock[] = [cfg.server];
  for (const s of plan.proxySections) if (s.target === null || s.target === target) blocks.push(s);
  for (const s of plan.locations) if (locationMatches(s, path)) blocks.push(s);
  return blocks;
}

/** Blocks for a file `base` in directory `dir` (base '' for the directory itself). */
function fileBlocks(cfg: GatewayConfig, plan: Plan, dir: string, base: string, path: string): DirectiveBlock[] {
  const blocks: DirectiveBlock[] = [cfg.server];
  if (plan.serverOnly) return blocks;
  const dirs: ConfigSection[] = [];
  for (const s of plan.dirPlain) if (directoryMatches(s, dir)) dirs.push(s);
  for (const s of plan.dirRegex) if (directoryMatches(s, dir)) dirs.push(s);
  for (const s of dirs) blocks.push(s);
  for (const s of plan.files) {
    if (base !== '' && (s.parent === null || dirs.includes(s.parent)) && filesMatch(s, base)) blocks.push(s);
  }
  for (const s of plan.locations) if (locationMatches(s, path)) blocks.push(s);
  return blocks;
}

function handlerForm(cfg: GatewayConfig, plan: Plan, req: RequestSnapshot, path: string): RouteResult {
  const docRoot = cfg.documentRoot;
  if (docRoot === null) return { kind: 'not-found', reason: 'no-route', code: 'FCGATE_NO_ROUTE' };
  const root = docRoot === '/' ? '' : docRoot;
  const w = walkPath(root, path);
  let filename: string;
  let scriptName: string;
  let pathInfo: string;
  let exists: boolean;
  if (w.kind === 'directory') {
    if (!path.endsWith('/')) {
      return { kind: 'redirect-dir', location: req.path + '/' + (req.query === '' ? '' : '?' + req.query) };
    }
    // DirectoryIndex comes from the sections of the directory itself (mod_dir). mod_dir
    // tries each name as a sub-request, in order: one that ProxyPass/ProxyPassMatch maps is
    // proxied (DirectoryIndex index.php with ProxyPassMatch "\.php$" runs PHP; serving
    // the file would show its source), else the first that exists on disk (issue 13).
    const dirIndex = merge(cfg, fileBlocks(cfg, plan, w.filename || '/', '', path)).directoryIndex;
    let index: string | null = null;
    for (const name of dirIndex) {
      const proxied = proxyRoute(cfg, plan, req, path + name);
      if (proxied !== null) return proxied;
      if (findIndex(w.filename, [name]) !== null) { index = name; break; }
    }
    if (index === null) return { kind: 'not-found', reason: 'directory', code: 'FCGATE_NOT_FOUND' };
    filename = w.filename + '/' + index;
    scriptName = path + index;
    pathInfo = '';
    exists = true;
  } else {
    ({ filename, scriptName, pathInfo, exists } = w);
  }
  const blocks = fileBlocks(cfg, plan, dirname(filename), basename(filename), path);
  const m = merge(cfg, blocks);
  const h = m.handler;
  if (h === undefined || h === null) {
    if (!exists) return { kind: 'not-found', reason: 'no-file', code: 'FCGATE_NOT_FOUND' };
    // Apache's default handler refuses PATH_INFO (AcceptPathInfo Default) → 404.
    if (pathInfo !== '') return { kind: 'not-found', reason: 'path-info', code: 'FCGATE_NOT_FOUND' };
    return { kind: 'static', filename, decodedPath: path };
  }
  return {
    kind: 'proxy', route: null, handlerUrlPath: h.urlPath,
    resolved: resolved(cfg, 'handler', m, buildEnv(blocks, req), h.worker, h.balancer, filename,
      path, scriptName, pathInfo === '' ? null : pathInfo),
  };
}

/**
 * The backend URL path for a balancer request once a member is chosen: the member URL's
 * path, then targetPath, with one slash where both have one (Apache's balancer rewrite).
 */
export function memberTargetPath(memberPath: string, targetPath: string): string {
  if (memberPath.endsWith('/') && targetPath.startsWith('/')) return memberPath + targetPath.slice(1);
  return memberPath + targetPath;
}
