// Per-request routing: RequestSnapshot + GatewayConfig → what to do with the request.
// The site first (the <VirtualHost> the listener and Host select, else the main server:
// vhost.ts), then, within the site, in Apache's order:
//   1. ProxyPass / ProxyPassMatch (first match in config order; mod_proxy's translate runs
//      before mod_alias's), then <Location>/<Proxy> Require and a section Redirect;
//   2. site-level Redirect / RedirectMatch;
//   3. Alias / AliasMatch, else DocumentRoot: the handler form (URL → file, walked segment by
//      segment with the symbolic-link rule of the Options in force: file-safety.ts), then
//      <Directory>/<Files>/<Location> Require (the built-in `.ht*` denial included), a
//      section Redirect, SetHandler "proxy:…" or a static file (ForceType / AddType), and
//      FallbackResource for a file that does not exist.
// Computes targetPath, decodedPath, the handler form's scriptName/pathInfo and the
// SetEnv/SetEnvIf environment. PATH_INFO guessing for ProxyPass (proxy-fcgi-pathinfo) is
// NOT done here: that is src/cgi's job.
//
// Result kinds (the front maps each to one answer):
//   proxy         → send to resolved.worker / resolved.balancer
//   static        → serve `filename` from disk (the handler form found no proxy handler)
//   redirect-dir  → 301 to `location` (a directory URL without its trailing slash)
//   redirect      → `status` with `location` (3xx), or the bare status (410 gone)
//   forbidden     → 403 (FCGATE_FORBIDDEN: a Require, or a symbolic link Options do not allow)
//   not-found     → 404 (code FCGATE_NOT_FOUND, or FCGATE_NO_ROUTE when nothing serves it)
//   bad-request   → 400 (a bad %-escape, a path that does not start with '/')

// Over 400 lines on purpose: routing in Apache's merge order, kept in one file so the order reads
// top to bottom.
import { statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { headerOf, type RequestSnapshot } from '../request.js';
import { mapAlias, matchRedirect, sectionRedirect, type RedirectBase } from './alias.js';
import { authorize, type AuthzContainer } from './authz.js';
import { findIndex, walkPath, type LinkCheck, type WalkResult } from './file-walk.js';
import { linkAllowed } from './file-safety.js';
import type { DirectiveBlock, GatewayConfig, ProxyRoute, ResolvedRequest, SiteConfig } from './model.js';
import { applySetEnv, applySetEnvIf } from './setenvif.js';
import {
  fileBlocks,
  merge,
  planOf,
  proxyBlocks,
  symlinkModeIn,
  type Merged,
  type Plan,
  type Substitution,
} from './site-plan.js';
import { decodePath, encodeTargetPath, prefixMatches } from './url-path.js';
import { pickByName, vhostsOn } from './vhost.js';

export type NotFoundReason = 'encoded-slash' | 'nul' | 'no-route' | 'no-file' | 'directory' | 'path-info';

export type ForbiddenReason = 'require' | 'symlink';

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
  | {
      kind: 'static';
      filename: string;
      decodedPath: string;
      /** ForceType / AddType: the Content-Type to send; null = none; undefined = by extension. */
      contentType?: string | null;
    }
  | { kind: 'redirect-dir'; location: string }
  | { kind: 'redirect'; status: number; location: string | null; code: 'FCGATE_REDIRECT' }
  | { kind: 'forbidden'; reason: ForbiddenReason; detail: string; code: 'FCGATE_FORBIDDEN' }
  | { kind: 'not-found'; reason: NotFoundReason; code: 'FCGATE_NOT_FOUND' | 'FCGATE_NO_ROUTE' }
  | { kind: 'bad-request'; reason: 'bad-escape' | 'not-absolute'; code: 'FCGATE_BAD_REQUEST' };

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

/** The env of a request no SetEnv/SetEnvIf/UnsetEnv applies to: shared, so it refuses changes. */
class EmptyEnv extends Map<string, string> {
  override set(name: string): this {
    throw new TypeError(`the shared empty request env is read-only (set ${name})`);
  }
  override delete(): boolean {
    throw new TypeError('the shared empty request env is read-only');
  }
  override clear(): void {
    throw new TypeError('the shared empty request env is read-only');
  }
}
const NO_ENV: Map<string, string> = new EmptyEnv();

/**
 * mod_setenvif runs before mod_env: every SetEnvIf of every block in merge order, then
 * every SetEnv/UnsetEnv in merge order (so SetEnv wins over SetEnvIf for one name).
 */
function buildEnv(blocks: DirectiveBlock[], req: RequestSnapshot): Map<string, string> {
  let any = false;
  for (let i = 0; i < blocks.length && !any; i++) any = blocks[i]!.env.length > 0;
  if (!any) return NO_ENV; // the usual case: no Map per request
  const env = new Map<string, string>();
  for (const b of blocks) for (const d of b.env) if (d.op === 'setif') applySetEnvIf(d, req, env);
  for (const b of blocks) for (const d of b.env) if (d.op !== 'setif') applySetEnv(d, env);
  return env;
}

/** Where a mapped file lives: the root (DocumentRoot or Alias target) and the context Apache reports. */
interface Mapping {
  root: string;
  contextPrefix: string;
  contextDocumentRoot: string;
}

function resolved(
  site: SiteConfig,
  form: ResolvedRequest['form'],
  m: Merged,
  env: Map<string, string>,
  worker: ResolvedRequest['worker'],
  balancer: string | null,
  targetPath: string,
  decodedPath: string,
  scriptName: string | null,
  pathInfo: string | null,
  ctx: Mapping | null,
): ResolvedRequest {
  const root = site.documentRoot ?? '';
  return {
    form,
    worker,
    balancer,
    targetPath,
    decodedPath,
    scriptName,
    pathInfo,
    env,
    fcgiSetEnv: m.fcgiSetEnv,
    backendType: m.backendType,
    cgiPassAuth: m.cgiPassAuth,
    limitRequestBody: m.limitRequestBody,
    documentRoot: root,
    serverName: site.serverName,
    serverAdmin: site.serverAdmin,
    contextPrefix: ctx?.contextPrefix ?? '',
    contextDocumentRoot: ctx?.contextDocumentRoot ?? root,
  };
}

/** Listener → the vhosts that can answer there; computed once per config and listener. */
const candidateCache = new WeakMap<GatewayConfig, Map<string, GatewayConfig['vhosts']>>();

/** The site that serves a request: a <VirtualHost> or the main server (the config itself). */
/** The site (main server or vhost) a request is for: its listener's vhosts, then Host. */
export function siteFor(cfg: GatewayConfig, req: RequestSnapshot): SiteConfig {
  if (cfg.vhosts.length === 0) return cfg;
  let byListener = candidateCache.get(cfg);
  if (byListener === undefined) candidateCache.set(cfg, (byListener = new Map()));
  const key = `${req.localAddress}|${req.localPort}`;
  let candidates = byListener.get(key);
  if (candidates === undefined) {
    candidates = vhostsOn(cfg.vhosts, { address: req.localAddress, port: req.localPort });
    if (byListener.size < 64) byListener.set(key, candidates);
  }
  return pickByName(candidates, headerOf(req, 'host'))?.site ?? cfg;
}

/** Routes one request. Synchronous; the handler form stats the filesystem. */
export function resolve(cfg: GatewayConfig, req: RequestSnapshot): RouteResult {
  const d = decodePath(req.path);
  if (!d.ok) {
    if (d.reason === 'bad-escape' || d.reason === 'not-absolute')
      return { kind: 'bad-request', reason: d.reason, code: 'FCGATE_BAD_REQUEST' };
    return { kind: 'not-found', reason: d.reason, code: 'FCGATE_NOT_FOUND' };
  }
  return route(siteFor(cfg, req), req, d.path, false);
}

const forbidden = (reason: ForbiddenReason, detail: string): RouteResult => ({
  kind: 'forbidden',
  reason,
  detail,
  code: 'FCGATE_FORBIDDEN',
});

function denied(a: AuthzContainer | null, req: RequestSnapshot, env: Map<string, string>): boolean {
  if (a === null) return false;
  return !authorize(a, { remoteAddress: req.remoteAddress, localAddress: req.localAddress, method: req.method, env });
}

/** For the log line of a denial: the deciding Require lines and where they are. */
function requireDetail(a: AuthzContainer): string {
  const lines = a.children.map((c) =>
    c.kind === 'require' ? `Require ${c.text}` : `<Require${c.kind[0]!.toUpperCase()}${c.kind.slice(1)}>`,
  );
  return `${lines.join(', ')} (${a.line > 0 ? `${a.file}:${a.line}` : 'built-in: .ht* files are never served'})`;
}

function redirectBase(req: RequestSnapshot): RedirectBase {
  return { scheme: req.scheme, host: headerOf(req, 'host'), rawPath: req.path, query: req.query };
}

/** Within one site. `fallback`: this is FallbackResource's URL (no second fallback). */
function route(site: SiteConfig, req: RequestSnapshot, path: string, fallback: boolean): RouteResult {
  const plan = planOf(site);
  const proxied = proxyRoute(site, plan, req, path);
  if (proxied !== null) return proxied;
  if (site.redirects.length > 0) {
    const hit = matchRedirect(site.redirects, path, redirectBase(req));
    if (hit !== null) return { kind: 'redirect', status: hit[0], location: hit[1], code: 'FCGATE_REDIRECT' };
  }
  if (site.aliases.length > 0) {
    const a = mapAlias(site.aliases, path);
    if (a !== null) {
      const prefix = a.rule.regex === null ? a.rule.pattern.replace(/\/+$/, '') : '';
      return handlerForm(
        site,
        plan,
        req,
        path,
        a.filename.slice(a.root === '/' ? 0 : a.root.length),
        { root: a.root, contextPrefix: prefix, contextDocumentRoot: a.root },
        fallback,
      );
    }
  }
  const docRoot = site.documentRoot;
  if (docRoot === null) return { kind: 'not-found', reason: 'no-route', code: 'FCGATE_NO_ROUTE' };
  return handlerForm(
    site,
    plan,
    req,
    path,
    path,
    { root: docRoot, contextPrefix: '', contextDocumentRoot: docRoot },
    fallback,
  );
}

/** The first ProxyPass/ProxyPassMatch for `path` (decoded); null when none maps it or `!` excludes it. */
function proxyRoute(site: SiteConfig, plan: Plan, req: RequestSnapshot, path: string): RouteResult | null {
  const routes = site.routes;
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i]!;
    const mapped = mapRoute(r, plan.substitutions[i]!, path);
    if (mapped === null) continue;
    if (r.exclude) return null;
    const only = plan.proxyServerOnly;
    const blocks = only ? plan.serverBlocks : proxyBlocks(site, plan, r.worker?.name ?? r.balancer!, path);
    const m = only ? plan.serverMerged : merge(site, blocks);
    const env = buildEnv(blocks, req);
    if (!only) {
      if (denied(m.authz, req, env)) return forbidden('require', requireDetail(m.authz!));
      if (m.redirect !== null) {
        const [status, location] = sectionRedirect(m.redirect, redirectBase(req));
        return { kind: 'redirect', status, location, code: 'FCGATE_REDIRECT' };
      }
    }
    return {
      kind: 'proxy',
      route: r,
      handlerUrlPath: '',
      resolved: resolved(site, r.form, m, env, r.worker, r.balancer, encodeTargetPath(mapped), path, null, null, null),
    };
  }
  return null;
}

/** The link rule for one walk: the Options in force in each link's directory, against `root`. */
function linkCheck(site: SiteConfig, plan: Plan, root: string): LinkCheck {
  return (link) => linkAllowed(link, symlinkModeIn(site, plan, dirname(link)), root);
}

/** The Content-Type ForceType / AddType give a file; undefined = the default table decides. */
function typeFor(m: Merged, filename: string): string | null | undefined {
  if (m.forceType !== undefined) return m.forceType;
  if (m.addTypes.length === 0) return undefined;
  const slash = filename.lastIndexOf('/');
  const dot = filename.lastIndexOf('.');
  if (dot <= slash + 1) return undefined;
  const ext = filename.slice(dot + 1).toLowerCase();
  for (let i = m.addTypes.length - 1; i >= 0; i--) if (m.addTypes[i]![0] === ext) return m.addTypes[i]![1];
  return undefined;
}

/**
 * Maps `rel` (the URL path below the mapping's root, '/'-led) to a file under `map.root`.
 * `path` is the whole decoded URL path (for <Location>, SCRIPT_NAME and redirects).
 */
function handlerForm(
  site: SiteConfig,
  plan: Plan,
  req: RequestSnapshot,
  path: string,
  rel: string,
  map: Mapping,
  fallback: boolean,
): RouteResult {
  const root = map.root === '/' ? '' : map.root;
  const links = linkCheck(site, plan, map.root);
  // `Alias /favicon.ico /srv/icons/fav.ico`: the alias names a file itself.
  const w: WalkResult =
    rel === '' && statSync(map.root, { throwIfNoEntry: false })?.isFile() === true
      ? { kind: 'file', filename: map.root, exists: true, scriptName: path, pathInfo: '' }
      : walkPath(root, rel === '' ? '/' : rel, links);
  if (w.kind === 'forbidden')
    return forbidden(
      'symlink',
      `symbolic link ${w.link} not followed (link rule there: ${symlinkModeIn(site, plan, dirname(w.link))}; `
        + `see Options)`,
    );
  let filename: string;
  let scriptName: string;
  let pathInfo: string;
  let exists: boolean;
  if (w.kind === 'directory') {
    const dir = w.filename || '/';
    const dirBlocks = fileBlocks(site, plan, dir, '', path);
    const dm = merge(site, dirBlocks);
    if (denied(dm.authz, req, buildEnv(dirBlocks, req))) return forbidden('require', requireDetail(dm.authz!));
    if (!path.endsWith('/')) {
      return { kind: 'redirect-dir', location: req.path + '/' + (req.query === '' ? '' : '?' + req.query) };
    }
    // DirectoryIndex comes from the sections of the directory itself (mod_dir). mod_dir
    // tries each name as a sub-request, in order: one that ProxyPass/ProxyPassMatch maps is
    // proxied (DirectoryIndex index.php with ProxyPassMatch "\.php$" runs PHP; serving
    // the file would show its source), else the first that exists on disk (issue 13).
    let index: string | null = null;
    for (const name of dm.directoryIndex) {
      const proxied = proxyRoute(site, plan, req, path + name);
      if (proxied !== null) return proxied;
      if (findIndex(w.filename, [name], links) !== null) {
        index = name;
        break;
      }
    }
    if (index === null) return { kind: 'not-found', reason: 'directory', code: 'FCGATE_NOT_FOUND' };
    filename = w.filename + '/' + index;
    scriptName = path + index;
    pathInfo = '';
    exists = true;
  } else {
    ({ filename, pathInfo, exists } = w);
    scriptName = pathInfo !== '' && path.endsWith(pathInfo) ? path.slice(0, path.length - pathInfo.length) : path;
  }
  const blocks = fileBlocks(site, plan, dirname(filename), basename(filename), path);
  const m = merge(site, blocks);
  const env = buildEnv(blocks, req);
  if (denied(m.authz, req, env)) return forbidden('require', requireDetail(m.authz!));
  if (m.redirect !== null) {
    const [status, location] = sectionRedirect(m.redirect, redirectBase(req));
    return { kind: 'redirect', status, location, code: 'FCGATE_REDIRECT' };
  }
  const h = m.handler;
  if (h === undefined || h === null) {
    if (!exists) {
      // mod_dir's FallbackResource: a file that does not exist and no handler → the fallback URL.
      if (!fallback && typeof m.fallback === 'string') return route(site, req, m.fallback, true);
      return { kind: 'not-found', reason: 'no-file', code: 'FCGATE_NOT_FOUND' };
    }
    // Apache's default handler refuses PATH_INFO (AcceptPathInfo Default) → 404.
    if (pathInfo !== '') return { kind: 'not-found', reason: 'path-info', code: 'FCGATE_NOT_FOUND' };
    const type = typeFor(m, filename);
    return type === undefined
      ? { kind: 'static', filename, decodedPath: path }
      : { kind: 'static', filename, decodedPath: path, contentType: type };
  }
  return {
    kind: 'proxy',
    route: null,
    handlerUrlPath: h.urlPath,
    resolved: resolved(
      site,
      'handler',
      m,
      env,
      h.worker,
      h.balancer,
      filename,
      path,
      scriptName,
      pathInfo === '' ? null : pathInfo,
      map.contextPrefix === '' ? null : map,
    ),
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
