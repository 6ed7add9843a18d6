// SERVER_NAME and SERVER_PORT from the Host header, as Apache (UseCanonicalName Off)
// derives them (docs/apache-differences.md, "What fcgate copies"). Validation of Host (400 for
// a bad one) is the front end's job; this file is lenient and never throws.

/** A parsed Host value (or ServerName). Shared and cached: never mutate. */
export interface HostParts {
  /** Lower-cased, one trailing dot removed, IPv6 literals kept in brackets. */
  readonly name: string;
  /** Decimal port without leading zeros, or null when none (or not a valid port). */
  readonly port: string | null;
}

/** Distinct Host values kept parsed before the cache is emptied. */
const HOST_CACHE_LIMIT = 256;

const parsed = new Map<string, HostParts>();

function parse(host: string): HostParts {
  let name = host;
  let portText: string | null = null;
  if (host.charCodeAt(0) === 91) {
    // '[' IPv6 literal
    const close = host.indexOf(']');
    if (close > 0) {
      name = host.slice(0, close + 1);
      if (host.charCodeAt(close + 1) === 58) portText = host.slice(close + 2);
    }
  } else {
    const colon = host.indexOf(':');
    // More than one ':' without brackets is no host:port; keep it whole.
    if (colon >= 0 && host.indexOf(':', colon + 1) < 0) {
      name = host.slice(0, colon);
      portText = host.slice(colon + 1);
    }
  }
  name = name.toLowerCase();
  if (name.length > 1 && name.charCodeAt(name.length - 1) === 46) name = name.slice(0, -1);
  let port: string | null = null;
  if (portText !== null && /^[0-9]{1,5}$/.test(portText)) {
    const n = Number(portText);
    if (n <= 65535) port = String(n);
  }
  return Object.freeze({ name, port });
}

/** Parses a Host header value or a ServerName (`example.com:9999`, `[::1]:8080`, `LOCALHOST.`). */
function parseHost(host: string): HostParts {
  let p = parsed.get(host);
  if (p === undefined) {
    if (parsed.size >= HOST_CACHE_LIMIT) parsed.clear();
    p = parse(host);
    parsed.set(host, p);
  }
  return p;
}

/**
 * SERVER_NAME: the Host header's name; without Host, the configured ServerName, else
 * the local address (IPv6 in brackets).
 */
export function serverNameOf(host: string | undefined, serverName: string | null, localAddress: string): string {
  if (host !== undefined && host.length > 0) return parseHost(host).name;
  if (serverName !== null && serverName.length > 0) return parseHost(serverName).name;
  return localAddress.includes(':') && localAddress.charCodeAt(0) !== 91 ? `[${localAddress}]` : localAddress;
}

/**
 * SERVER_PORT: the Host header's port; else ServerName's port; else the scheme's
 * default (80, 443 for https), not the port the server listens on (Apache sends 80
 * for `Host: localhost` on a server listening on 8181).
 */
export function serverPortOf(host: string | undefined, serverName: string | null, scheme: string): string {
  if (host !== undefined && host.length > 0) {
    const p = parseHost(host).port;
    if (p !== null) return p;
  }
  if (serverName !== null && serverName.length > 0) {
    const p = parseHost(serverName).port;
    if (p !== null) return p;
  }
  return scheme === 'https' ? '443' : '80';
}
