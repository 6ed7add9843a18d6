// Parsing of backend URLs as they appear in ProxyPass, BalancerMember, <Proxy> and
// SetHandler: fcgi://host[:port][/path], unix:/path.sock|fcgi://host[/path],
// balancer://name[/path]. Produces the canonical worker name used as the pool key.

import type { BackendAddress } from './model.js';

/**
 * Apache's default port for the fcgi scheme (mod_proxy's scheme table in proxy_util.c
 * lists `{"fcgi", 8000}`), so `fcgi://localhost/` connects to port 8000 as in Apache.
 * PHP-FPM's usual 9000 must be written explicitly, as with Apache.
 */
export const FCGI_DEFAULT_PORT = 8000;

export type ParsedTarget =
  | { kind: 'worker'; name: string; address: BackendAddress; path: string }
  | { kind: 'balancer'; name: string; path: string };

/** Result of a parse: the target, or a sentence saying what is wrong with it. */
export type TargetParse = { ok: true; target: ParsedTarget } | { ok: false; error: string };

/**
 * Parses a backend URL. `path` is everything after the authority, as written (it may
 * hold `$1` backreferences for ProxyPassMatch); '' when there is none.
 * Canonical names: `fcgi://127.0.0.1:9000`, `fcgi://[::1]:9000`, `fcgi://localhost`
 * (port left out when it is the default, as Apache's canonical form does),
 * `unix:/run/php.sock|fcgi://localhost`, `balancer://mycluster`; host and scheme are
 * lower-cased, the path is never part of the name (the pool is per address).
 */
export function parseTarget(url: string, resolveSocket: (p: string) => string): TargetParse {
  const lower = url.toLowerCase();
  if (lower.startsWith('unix:')) {
    const bar = url.indexOf('|');
    if (bar < 0) {
      return { ok: false, error: `${url}: a unix socket URL needs "|fcgi://host/…" after the socket path` };
    }
    const sock = url.slice(5, bar);
    if (sock === '') return { ok: false, error: `${url}: empty socket path` };
    const rest = parseAuthority(url.slice(bar + 1));
    if (!rest.ok) return rest;
    const socketPath = resolveSocket(sock);
    return {
      ok: true,
      target: {
        kind: 'worker',
        name: `unix:${socketPath}|fcgi://${rest.host}`,
        address: { kind: 'unix', path: socketPath },
        path: rest.path,
      },
    };
  }
  if (lower.startsWith('balancer://')) {
    const body = url.slice(11);
    const slash = body.indexOf('/');
    const name = (slash < 0 ? body : body.slice(0, slash)).toLowerCase();
    if (!/^[a-z0-9._~-]+$/.test(name)) return { ok: false, error: `${url}: bad balancer name` };
    return {
      ok: true,
      target: { kind: 'balancer', name: `balancer://${name}`, path: slash < 0 ? '' : body.slice(slash) },
    };
  }
  const a = parseAuthority(url);
  if (!a.ok) return a;
  const hostPart = a.port === FCGI_DEFAULT_PORT ? a.host : `${a.host}:${a.port}`;
  const bare = a.host.startsWith('[') ? a.host.slice(1, -1) : a.host;
  return {
    ok: true,
    target: {
      kind: 'worker',
      name: `fcgi://${hostPart}`,
      address: { kind: 'tcp', host: bare, port: a.port },
      path: a.path,
    },
  };
}

type Authority = { ok: true; host: string; port: number; path: string } | { ok: false; error: string };

/** `fcgi://host[:port][/path]`; an IPv6 host is kept in brackets. */
function parseAuthority(url: string): Authority {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/.exec(url);
  if (m === null)
    return {
      ok: false,
      error: `${url}: not a URL (expected fcgi://host:port/…, unix:/path.sock|fcgi://host/… or balancer://name/)`,
    };
  if (m[1]!.toLowerCase() !== 'fcgi') {
    return {
      ok: false,
      error: `${url}: scheme "${m[1]}" is not supported (fcgi://, unix:…|fcgi:// and balancer:// are)`,
    };
  }
  const rest = m[2]!;
  const slash = rest.indexOf('/');
  const auth = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  if (auth.includes('@')) return { ok: false, error: `${url}: user info is not allowed in a backend URL` };
  let host: string;
  let portText: string | null = null;
  if (auth.startsWith('[')) {
    const close = auth.indexOf(']');
    if (close < 0) return { ok: false, error: `${url}: unterminated IPv6 address` };
    host = auth.slice(0, close + 1).toLowerCase();
    const after = auth.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) return { ok: false, error: `${url}: bad host` };
      portText = after.slice(1);
    }
    if (!/^\[[0-9a-f:.]+\]$/.test(host)) return { ok: false, error: `${url}: bad IPv6 address` };
  } else {
    const colon = auth.lastIndexOf(':');
    host = (colon < 0 ? auth : auth.slice(0, colon)).toLowerCase();
    if (colon >= 0) portText = auth.slice(colon + 1);
    if (!/^[a-z0-9._-]+$/.test(host)) return { ok: false, error: `${url}: bad host "${host}"` };
  }
  let port = FCGI_DEFAULT_PORT;
  if (portText !== null) {
    if (!/^\d{1,5}$/.test(portText) || +portText < 1 || +portText > 65535) {
      return { ok: false, error: `${url}: bad port "${portText}"` };
    }
    port = +portText;
  }
  return { ok: true, host, port, path };
}
