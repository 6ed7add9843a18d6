// mod_remoteip's walk, pure: the peer address, the header (X-Forwarded-For or what
// RemoteIPHeader names) and the trusted/internal proxy lists → the client address and the
// proxies it came through; applyRemoteIp puts the result on a request (front/gateway.ts).
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

import type { RequestSnapshot } from '../request.js';
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

/**
 * mod_remoteip on one request (the site's settings): when the TCP peer is a listed proxy, the
 * client address the walk finds becomes REMOTE_ADDR (and REMOTE_PORT unknown), the header
 * keeps only the entries not consumed (or goes, as Apache removes it), RemoteIPProxiesHeader
 * gets the trusted proxies passed; a trusted proxy's `X-Forwarded-Proto: https` makes the
 * request https (HTTPS=on, REQUEST_SCHEME, SERVER_PORT 443 by default), as Caddy trusts it from
 * its trusted proxies (Apache needs a SetEnvIf for it, which any client could spoof). Returns
 * the peer address when it was replaced (the access log's %{c}a), else null. From any other
 * peer nothing is read: the headers cannot be spoofed.
 */
export function applyRemoteIp(snap: RequestSnapshot, s: RemoteIpSettings): string | null {
  const h = snap.headers;
  let at = -1;
  for (let i = 0; i < h.length; i++)
    if (h[i]![0] === s.header) {
      at = i;
      break;
    }
  if (at < 0) return null;
  const r = walkRemoteIp(snap.remoteAddress, h[at]![1], s.proxies);
  if (r.hops.length === 0) return null;
  const peer = snap.remoteAddress;
  snap.remoteAddress = r.client;
  snap.remotePort = '';
  if (r.remaining === null) h.splice(at, 1);
  else h[at]![1] = r.remaining;
  if (s.proxiesHeader !== null && r.trusted.length > 0) {
    const name = s.proxiesHeader.toLowerCase();
    // (the header names of a snapshot are lower-case)
    const i = h.findIndex(([n]) => n === name);
    if (i >= 0) h[i]![1] = r.trusted.join(', ');
    else h.push([name, r.trusted.join(', ')]);
  }
  const proto = h.find(([n]) => n === 'x-forwarded-proto')?.[1];
  if (proto !== undefined) {
    const last = proto
      .slice(proto.lastIndexOf(',') + 1)
      .trim()
      .toLowerCase();
    if (last === 'https' || last === 'http') snap.scheme = last;
  }
  return peer;
}
