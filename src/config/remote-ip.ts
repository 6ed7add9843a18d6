// mod_remoteip's walk, pure: the peer address, the header (X-Forwarded-For or what
// RemoteIPHeader names) and the trusted/internal proxy lists → the client address and the
// proxies it came through. The serving side (REMOTE_ADDR, logs) uses it in issue 11 phase 2.
//
// Walked right to left as mod_remoteip does (remoteip_modify_request): while the current
// address (first the peer) is a listed proxy, the rightmost remaining header entry becomes
// the current address. It stops at an address that is not a listed proxy (that is the
// client), at an entry that is not an IP address, and, once a trusted (non-internal) proxy
// has been passed, at a private or non-global address presented by it (an external proxy may
// not present an internal address). What is not consumed stays in the header.
//
// Worked example (10.0.0.0/8 internal, 203.0.113.0/24 trusted), peer 10.0.0.5,
// "X-Forwarded-For: 198.51.100.9, 192.168.1.4, 203.0.113.7":
//   10.0.0.5 is internal → take 203.0.113.7; it is trusted (external from now on) → take
//   192.168.1.4: private, presented by an external proxy → stop.
//   client 203.0.113.7, hops [10.0.0.5], remaining "198.51.100.9, 192.168.1.4".

import { formatIp, inNetwork, parseIp, type IpAddress, type IpNetwork } from './cidr.js';

export interface RemoteIpProxy {
  net: IpNetwork;
  /** RemoteIPInternalProxy (may present private addresses) vs RemoteIPTrustedProxy. */
  internal: boolean;
}

/** RemoteIPHeader and its companions, for one site. */
export interface RemoteIpSettings {
  /** The header to read, lower-case (`x-forwarded-for`). */
  header: string;
  /** RemoteIPInternalProxy / RemoteIPTrustedProxy (and their …List files), in config order. */
  proxies: RemoteIpProxy[];
  /** RemoteIPProxiesHeader: where the passed trusted proxies are written; null = none. */
  proxiesHeader: string | null;
  file: string;
  line: number;
}

export interface RemoteIpResult {
  /** The client address (REMOTE_ADDR): the peer when nothing was trusted. */
  client: string;
  /** The proxies the request came through, nearest first (the peer first); [] when none. */
  hops: string[];
  /** The header entries not consumed, or null when all were (Apache then removes the header). */
  remaining: string | null;
  /** Trusted (non-internal) proxies passed, for RemoteIPProxiesHeader, left to right. */
  trusted: string[];
}

/** RFC 3330 local/private IPv4 (what mod_remoteip refuses from an external proxy) and non-global IPv6. */
export function isPrivate(ip: IpAddress): boolean {
  if (ip.v4) {
    const n = ip.w[3];
    return n >>> 24 === 10 || n >>> 16 === 0xa9fe || n >>> 16 === 0xc0a8 || n >>> 24 === 127 || n >>> 20 === 0xac1;
  }
  return ip.w[0] >>> 29 !== 1; // global unicast is 2000::/3
}

function proxyOf(ip: IpAddress, proxies: readonly RemoteIpProxy[]): RemoteIpProxy | null {
  for (const p of proxies) if (inNetwork(ip, p.net)) return p;
  return null;
}

/**
 * The walk above. `header` is the request's header value (undefined when absent; repeated
 * headers joined with ", "). An unparsable peer (a unix socket) is returned unchanged.
 */
export function walkRemoteIp(
  peer: string,
  header: string | undefined,
  proxies: readonly RemoteIpProxy[],
): RemoteIpResult {
  const unchanged: RemoteIpResult = { client: peer, hops: [], remaining: header ?? null, trusted: [] };
  if (header === undefined) return unchanged;
  let current = parseIp(peer);
  if (current === null) return unchanged;
  const parts = header.split(',');
  const hops: string[] = [];
  const trusted: string[] = [];
  let internal = true;
  while (parts.length > 0) {
    const proxy = proxyOf(current, proxies);
    if (proxy === null) break;
    if (!proxy.internal) internal = false;
    const text = parts[parts.length - 1]!.trim();
    const next = text === '' ? null : parseIp(text);
    if (next === null) break;
    if (!internal && isPrivate(next)) break;
    parts.pop();
    const here = formatIp(current);
    hops.push(here);
    if (!proxy.internal) trusted.unshift(here);
    current = next;
  }
  if (hops.length === 0) return unchanged;
  const rest = parts.join(',').trim();
  return { client: formatIp(current), hops, remaining: rest === '' ? null : rest, trusted };
}
