// mod_alias: `Alias`, `AliasMatch` (URL → file outside the DocumentRoot), `Redirect`,
// `RedirectMatch`, `RedirectPermanent`, `RedirectTemp` (URL → an answer with Location).
// Parsing into rules and matching a decoded, normalised URL path, pure.
//
// Prefix rules match as mod_alias's alias_matches: on a segment boundary (`Alias /icons
// /usr/share/icons` maps /icons and /icons/a.png, not /iconsx; a trailing slash on the
// URL-path must be present in the request), runs of '/' counting as one.
//   Alias /blog /usr/share/wordpress      /blog/wp-login.php → /usr/share/wordpress/wp-login.php
//   AliasMatch ^/img/(.*)$ /srv/img/$1    /img/a/b.png      → /srv/img/a/b.png
//   Redirect permanent /old https://x/new  /old/a?q=1       → 301 https://x/new/a?q=1
// A Redirect to a URL-path (`/new`) is made absolute with the request's scheme and Host, as
// Apache does; the query string is appended when the target has none.

import { compileRegex } from './expression.js';

export interface AliasRule {
  /** The URL-path (prefix form) or the regex source (AliasMatch), as written. */
  pattern: string;
  regex: RegExp | null;
  /** The file or directory path (absolute); with `$N` for AliasMatch. */
  target: string;
  file: string;
  line: number;
}

export interface RedirectRule {
  /** 301, 302, 303, 410, or another status Apache accepts. */
  status: number;
  /** The URL-path (prefix form) or regex source; '' for the form inside a section. */
  pattern: string;
  regex: RegExp | null;
  /** Where to; null for statuses outside 300–399 (410 gone). */
  url: string | null;
  file: string;
  line: number;
}

const STATUS_WORDS: Record<string, number> = { permanent: 301, temp: 302, seeother: 303, gone: 410 };

/**
 * `Redirect [status] URL-path URL`, or inside a section `Redirect [status] URL` (`inSection`).
 * `fixedStatus` for RedirectPermanent / RedirectTemp. Throws an Error with the message to show.
 */
export function parseRedirect(
  args: readonly string[],
  match: boolean,
  inSection: boolean,
  fixedStatus: number | null,
  file: string,
  line: number,
): RedirectRule {
  let a = args;
  let status = fixedStatus ?? 302;
  if (fixedStatus === null && a.length > 0) {
    const w = a[0]!.toLowerCase();
    if (w in STATUS_WORDS) {
      status = STATUS_WORDS[w]!;
      a = a.slice(1);
    } else if (/^\d{3}$/.test(w)) {
      status = Number(w);
      a = a.slice(1);
    }
  }
  if (status < 300 || status > 599) throw new Error(`status ${status} is not one Redirect can send (300–599)`);
  const needsUrl = status >= 300 && status < 400;
  const want = (inSection ? 0 : 1) + (needsUrl ? 1 : 0);
  if (a.length !== want) {
    throw new Error(
      inSection
        ? needsUrl
          ? 'inside a section: expected [status] URL'
          : `status ${status} takes no URL`
        : needsUrl
          ? `expected [status] ${match ? 'regex' : 'URL-path'} URL`
          : `status ${status} takes a ${match ? 'regex' : 'URL-path'} and no URL`,
    );
  }
  const pattern = inSection ? '' : a[0]!;
  let regex: RegExp | null = null;
  if (match) regex = compileRegex(pattern);
  else if (!inSection && !pattern.startsWith('/'))
    throw new Error(`the URL-path must start with '/', got "${pattern}"`);
  const url = needsUrl ? a[a.length - 1]! : null;
  if (url !== null) {
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url) && !url.startsWith('/')) {
      throw new Error(`the target must be an absolute URL or a URL-path starting with '/', got "${url}"`);
    }
    if (url.includes('%{')) throw new Error('expressions (%{…}) in the target are not supported');
  }
  return { status, pattern, regex, url, file, line };
}

/**
 * The length of the request path that a prefix `pattern` matches (alias_matches), or -1.
 * Runs of '/' in either count as one; the match ends at a segment boundary.
 */
export function prefixLength(pattern: string, path: string): number {
  let p = 0,
    u = 0;
  const pn = pattern.length,
    un = path.length;
  while (p < pn) {
    if (pattern[p] === '/') {
      if (path[u] !== '/') return -1;
      while (p < pn && pattern[p] === '/') p++;
      while (u < un && path[u] === '/') u++;
      continue;
    }
    if (pattern[p] !== path[u]) return -1;
    p++;
    u++;
  }
  // A pattern not ending in '/' must end at a segment boundary of the path.
  if (pattern[pn - 1] !== '/' && u < un && path[u] !== '/') return -1;
  return u;
}

/** `$0`..`$9` of a regex match in a template (`\x` is a literal x), as Apache's ap_pregsub. */
function substitute(template: string, m: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c === '$' && i + 1 < template.length && template[i + 1]! >= '0' && template[i + 1]! <= '9') {
      out += m[Number(template[++i])] ?? '';
    } else if (c === '\\' && i + 1 < template.length) {
      out += template[++i];
    } else out += c;
  }
  return out;
}

/** The file an Alias maps `path` to, and the alias root it was reached through; null when none matches. */
export function mapAlias(
  rules: readonly AliasRule[],
  path: string,
): { filename: string; root: string; rule: AliasRule } | null {
  for (const r of rules) {
    if (r.regex !== null) {
      const m = r.regex.exec(path);
      if (m === null) continue;
      const filename = substitute(r.target, m);
      // The root for containment checks: the target up to its first $N (or all of it).
      const cut = r.target.search(/\$\d/);
      const root = (cut < 0 ? r.target : r.target.slice(0, cut)).replace(/\/+$/, '') || '/';
      return { filename, root, rule: r };
    }
    const n = prefixLength(r.pattern, path);
    if (n < 0) continue;
    return { filename: r.target + path.slice(n), root: r.target.replace(/\/+$/, '') || '/', rule: r };
  }
  return null;
}

/** What a request's URL must look like to the client, for an absolute Location. */
export interface RedirectBase {
  scheme: string;
  host: string | undefined;
  rawPath: string;
  query: string;
}

/** Escapes a decoded path for a Location header (as ap_os_escape_path). */
const escapePath = (p: string): string => encodeURI(p).replace(/[?#]/g, (c) => (c === '?' ? '%3F' : '%23'));

function absolute(url: string, base: RedirectBase): string {
  if (!url.startsWith('/')) return url;
  return base.host === undefined || base.host === '' ? url : `${base.scheme}://${base.host}${url}`;
}

/** The first site-level Redirect that matches `path`: [status, Location or null]; null when none. */
export function matchRedirect(
  rules: readonly RedirectRule[],
  path: string,
  base: RedirectBase,
): [number, string | null] | null {
  for (const r of rules) {
    let target: string | null;
    if (r.regex !== null) {
      const m = r.regex.exec(path);
      if (m === null) continue;
      target = r.url === null ? null : substitute(r.url, m);
    } else {
      const n = prefixLength(r.pattern, path);
      if (n < 0) continue;
      target = r.url === null ? null : r.url + escapePath(path.slice(n));
    }
    if (target === null) return [r.status, null];
    if (base.query !== '' && !target.includes('?')) target += '?' + base.query;
    return [r.status, absolute(target, base)];
  }
  return null;
}

/** A section's Redirect: its URL as written (made absolute); null URL for 410 and the like. */
export function sectionRedirect(r: RedirectRule, base: RedirectBase): [number, string | null] {
  return [r.status, r.url === null ? null : absolute(r.url, base)];
}
