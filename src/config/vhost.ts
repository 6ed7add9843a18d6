// Name-based virtual hosts, pure: `<VirtualHost addr:port …>` addresses, ServerName /
// ServerAlias patterns, and the selection Apache makes for a request (vhosts/details):
//   1. the vhosts with an address equal to the connection's local IP and port (`ip:port`, or
//      `ip:*`) are the candidates; only if there are none, those with `*:port`, `*`
//      (`_default_` is the same as `*`);
//   2. among the candidates, in configuration order, the first whose ServerName or a
//      ServerAlias matches the Host header (port and one trailing dot removed, any case);
//   3. no name matches, or no Host: the first candidate (the address's default vhost);
//   4. no candidate: the main server (null here).
// fcgate only knows a connection's local address through its listener: an IP-specific vhost
// needs a Listen on that IP (checked when the configuration is built).

import { formatIp, parseIp } from './cidr.js';

/** One `addr:port` of a <VirtualHost>; host null = `*` / `_default_`, port null = any port. */
export interface VHostAddress {
  host: string | null;
  port: number | null;
}

/** Parses `*:80`, `*`, `_default_:443`, `192.0.2.1:8080`, `[2001:db8::1]:80`; throws a RangeError. */
export function parseVHostAddress(text: string): VHostAddress {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+))(?::(\*|\d{1,5}))?$/.exec(text);
  if (m === null) throw new RangeError(`"${text}" is not an address:port (e.g. *:80, 192.0.2.1:8080, [::1]:80)`);
  const hostText = m[1] ?? m[2]!;
  let port: number | null = null;
  if (m[3] !== undefined && m[3] !== '*') {
    port = Number(m[3]);
    if (port < 1 || port > 65535) throw new RangeError(`"${text}": port ${m[3]} is out of range`);
  }
  if (hostText === '*' || hostText.toLowerCase() === '_default_') return { host: null, port };
  const ip = parseIp(hostText);
  if (ip === null) {
    throw new RangeError(
      `"${text}": give an IP address or *, not a host name `
        + '(Apache would resolve it with DNS at startup; use *:port and ServerName instead)',
    );
  }
  return { host: formatIp(ip), port };
}

/**
 * A name pattern of ServerName / ServerAlias: lower-case; `*` and `?` are wildcards
 * (`*.example.com` matches `www.example.com` and `a.b.example.com`, not `example.com`).
 */
export interface NamePattern {
  text: string;
  regex: RegExp | null;
}

export function namePattern(text: string): NamePattern {
  const t = text.toLowerCase().replace(/\.$/, '');
  if (!/[*?]/.test(t)) return { text: t, regex: null };
  const re = t
    .replace(/[.+^${}()|[\]\\/]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return { text: t, regex: new RegExp(`^${re}$`) };
}

/** The name part of a Host header: lower-case, port and one trailing dot removed ('' when none). */
export function hostName(host: string | undefined): string {
  if (host === undefined) return '';
  let h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const close = h.indexOf(']');
    return close < 0 ? h : h.slice(0, close + 1);
  }
  const colon = h.indexOf(':');
  if (colon >= 0 && h.indexOf(':', colon + 1) < 0) h = h.slice(0, colon);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

function nameMatches(patterns: readonly NamePattern[], name: string): boolean {
  for (const p of patterns) {
    if (p.regex === null ? p.text === name : p.regex.test(name)) return true;
  }
  return false;
}

/** What the selector needs of a vhost. */
export interface VHostCandidate {
  addresses: readonly VHostAddress[];
  /** ServerName first, then every ServerAlias. */
  names: readonly NamePattern[];
}

/**
 * Step 1: the vhosts that can answer on a listener (`local.address` is its address text, IPv6
 * without brackets; '0.0.0.0' / '::' for any), in configuration order; [] = the main server.
 */
export function vhostsOn<T extends VHostCandidate>(
  vhosts: readonly T[],
  local: { address: string; port: number },
): T[] {
  const ip = parseIp(local.address);
  const localText = ip === null ? local.address : formatIp(ip);
  const portOk = (a: VHostAddress): boolean => a.port === null || a.port === local.port;
  const exact = vhosts.filter((v) => v.addresses.some((a) => a.host !== null && a.host === localText && portOk(a)));
  return exact.length > 0 ? exact : vhosts.filter((v) => v.addresses.some((a) => a.host === null && portOk(a)));
}

/** Steps 2 and 3: the first candidate whose names match the Host header, else the first one. */
export function pickByName<T extends VHostCandidate>(candidates: readonly T[], host: string | undefined): T | null {
  if (candidates.length === 0) return null;
  const name = hostName(host);
  if (name !== '') for (const v of candidates) if (nameMatches(v.names, name)) return v;
  return candidates[0]!;
}

/** The vhost that serves a request, or null for the main server (steps 1–4 above). */
export function selectVirtualHost<T extends VHostCandidate>(
  vhosts: readonly T[],
  local: { address: string; port: number },
  host: string | undefined,
): T | null {
  return pickByName(vhostsOn(vhosts, local), host);
}
