// The CGI/1.1 environment (RFC 3875 §4.1) a request is sent with, in the names,
// values and order Apache mod_proxy_fcgi uses (docs/apache-differences.md): request
// snapshot + routing result → flat [name0, value0, name1, value1, …] list.
// It does not encode (protocol/request-writer does) nor route (config/ does).
//
// Order, as Apache's subprocess_env table:
//   1. config env (SetEnv / SetEnvIf, minus the control variables proxy-fcgi-pathinfo
//      and proxy-sendcl: deliberate difference), HTTPS=on over TLS (mod_ssl),
//      BALANCER_NAME / BALANCER_WORKER_NAME / BALANCER_WORKER_ROUTE for a member;
//   2. one HTTP_* per request header in arrival order (CONTENT_TYPE / CONTENT_LENGTH
//      in place; header-names.ts says which are dropped);
//   3. SERVER_SIGNATURE … REQUEST_URI (Apache's PATH is not sent: deliberate difference);
//   4. SCRIPT_NAME, then PATH_INFO and PATH_TRANSLATED when set (path-info.ts);
//   5. ProxyFCGISetEnvIf rules (fcgi-set-env.ts).
// A config env name that a later param repeats (compared case-insensitively) keeps
// its first position and takes the later value, as apr_table_overlap does.
//
// Hot path: one array grown by push, cached header names, cached Host parsing; Maps
// and objects only when ProxyFCGISetEnvIf rules exist.

import type { ResolvedRequest, WorkerSettings } from '../config/model.js';
import type { RequestSnapshot } from '../request.js';
import { applyFcgiSetEnv, indexOfParam } from './fcgi-set-env.js';
import { cachedFileProbe, type FileProbe } from './file-probe.js';
import { headerParamName } from './header-names.js';
import { PathInfoMode, pathInfoModeOf, writeScriptVars } from './path-info.js';
import { serverNameOf, serverPortOf } from './server-name.js';
import { readVariable } from '../tuning.js';

/** SERVER_ADMIN when no ServerAdmin is configured: Apache's own default text. */
const DEFAULT_SERVER_ADMIN = '[no address given]';

/** What the environment needs from the server itself, fixed at startup. */
export interface ServerInfo {
  /** SERVER_SOFTWARE. */
  readonly software: string;
  /** SERVER_ADMIN (ServerAdmin). */
  readonly admin: string;
  /** Answers proxy-fcgi-pathinfo=full's disk checks; use a cached one in production. */
  readonly probe: FileProbe;
}

/** A built environment. */
export interface CgiParams {
  /** [name0, value0, name1, value1, …]: even length, names unique (case-insensitively). */
  readonly list: string[];
  /**
   * Request header names ProxyFCGISetEnvIf rules read (req(), %{HTTP:…}), for the
   * response's `Vary`, as Apache adds them even when the condition was false.
   * A shared frozen empty array when none.
   */
  readonly vary: readonly string[];
}

/**
 * ServerInfo from the environment: FCGATE_SERVER_SOFTWARE (src/tuning.ts: default `fcgate`,
 * Apache sends `Apache`; an invalid value fails startup naming it) and an optional ServerAdmin.
 */
export function serverInfoFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  admin: string | null = null,
  probe: FileProbe = cachedFileProbe(),
): ServerInfo {
  const software = readVariable('FCGATE_SERVER_SOFTWARE', env);
  return { software, admin: admin ?? DEFAULT_SERVER_ADMIN, probe };
}

/** proxy-fcgi-pathinfo and proxy-sendcl steer the gateway and are not sent (deliberate difference). */
function isControlVar(name: string): boolean {
  const n = name.length;
  if (n !== 19 && n !== 12) return false;
  const lower = name.toLowerCase();
  return lower === 'proxy-fcgi-pathinfo' || lower === 'proxy-sendcl';
}

// Map.forEach callback with the list as `this`: no closure per request.
function pushEnvVar(this: string[], value: string, name: string): void {
  if (!isControlVar(name)) this.push(name, value);
}

/** Config env names repeated later: the first position takes the last value. */
function mergeEnvDuplicates(list: string[], envEnd: number): void {
  for (let e = 0; e < envEnd; e += 2) {
    const name = list[e]!;
    let upper: string | null = null;
    for (let i = envEnd; i < list.length; i += 2) {
      const n = list[i]!;
      if (n.length !== name.length) continue;
      if (n !== name && n.toUpperCase() !== (upper ??= name.toUpperCase())) continue;
      list[e + 1] = list[i + 1]!;
      list.splice(i, 2);
      i -= 2;
    }
  }
}

/**
 * Builds the FastCGI params of one request.
 * `member`: the balancer member chosen for it (adds the BALANCER_* params and gives
 * SCRIPT_FILENAME's `proxy:fcgi://host:port`); null for a plain worker (r.worker used).
 * Throws GatewayError FCGATE_INTERNAL only when a ProxyFCGISetEnvIf rule throws.
 */
export function buildParams(
  req: RequestSnapshot,
  r: ResolvedRequest,
  server: ServerInfo,
  member: WorkerSettings | null = null,
): CgiParams {
  const out: string[] = [];
  const env = r.env;
  let mode: PathInfoMode = PathInfoMode.None;
  if (env.size !== 0) {
    env.forEach(pushEnvVar, out);
    mode = pathInfoModeOf(env.get('proxy-fcgi-pathinfo'));
  }
  const envEnd = out.length;
  if (req.scheme === 'https') out.push('HTTPS', 'on');
  if (member !== null) {
    out.push(
      'BALANCER_NAME',
      r.balancer ?? '',
      'BALANCER_WORKER_NAME',
      member.name,
      'BALANCER_WORKER_ROUTE',
      member.route,
    );
  }

  let host: string | undefined;
  const headers = req.headers;
  const passAuth = r.cgiPassAuth;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    const p = headerParamName(h[0]);
    if (p === null || (p.auth && !passAuth)) continue;
    if (p.name === 'HTTP_HOST') host = h[1];
    out.push(p.name, h[1]);
  }

  const query = req.query;
  out.push(
    'SERVER_SIGNATURE',
    '', // ServerSignature Off
    'SERVER_SOFTWARE',
    server.software,
    'SERVER_NAME',
    serverNameOf(host, r.serverName, req.localAddress),
    'SERVER_ADDR',
    req.localAddress,
    'SERVER_PORT',
    serverPortOf(host, r.serverName, req.scheme),
    'REMOTE_ADDR',
    req.remoteAddress,
    'DOCUMENT_ROOT',
    r.documentRoot,
    'REQUEST_SCHEME',
    req.scheme,
    'CONTEXT_PREFIX',
    r.contextPrefix,
    'CONTEXT_DOCUMENT_ROOT',
    r.contextDocumentRoot,
    'SERVER_ADMIN',
    r.serverAdmin ?? server.admin,
    'SCRIPT_FILENAME',
    '',
  ); // filled in by writeScriptVars
  const filenameAt = out.length - 1;
  out.push(
    'REMOTE_PORT',
    req.remotePort,
    'GATEWAY_INTERFACE',
    'CGI/1.1',
    'SERVER_PROTOCOL',
    req.protocol,
    'REQUEST_METHOD',
    req.method,
    'QUERY_STRING',
    query,
    // The raw target. A target ending in a bare '?' loses it here (the snapshot has
    // query '' for both); Apache would keep it in REQUEST_URI.
    'REQUEST_URI',
    query.length > 0 ? req.path + '?' + query : req.path,
  );
  writeScriptVars(out, filenameAt, r, member ?? r.worker, mode, server.probe);

  if (envEnd !== 0) mergeEnvDuplicates(out, envEnd);
  const vary = applyFcgiSetEnv(out, r.fcgiSetEnv, req, r);
  return { list: out, vary };
}

/** The value of a param in a flat list (names compared as Apache's tables do), or undefined. */
export function paramOf(list: readonly string[], name: string): string | undefined {
  const i = indexOfParam(list, name);
  return i < 0 ? undefined : list[i + 1];
}
