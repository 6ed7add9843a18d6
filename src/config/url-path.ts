// Request path handling done once per request before routing: %-decoding, dot-segment
// and `//` normalisation (Apache's SCRIPT_NAME), and the re-encoding Apache applies to
// the backend URL path (ap_proxy_canonenc). No routing decisions here.

/** Why a raw path was refused (Apache's answers: docs/apache-differences.md, "What fcgate copies"). */
export type PathRefusal = 'bad-escape' | 'encoded-slash' | 'nul' | 'not-absolute';

export interface DecodedPath {
  ok: true;
  path: string;
}
export interface RefusedPath {
  ok: false;
  reason: PathRefusal;
}

const hexValue = (c: number): number =>
  c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes and normalises a raw request path (no query):
 *   `/mon_appli/a/./b/../c` → `/mon_appli/a/c`, `//mon_appli/a` → `/mon_appli/a`,
 *   `%41%42%43` → `ABC`, `a%20b` → `a b`, `/a/b/..` → `/a/`, `/../x` → `/x` (clamped).
 * `%2F` and `%00` are refused (Apache: 404, AllowEncodedSlashes Off), a bad escape
 * (`%zz`, `%4`) too (Apache: 400). Decoded bytes that form valid UTF-8 become that text;
 * otherwise each byte becomes one char (latin1), so nothing is lost.
 */
export function decodePath(raw: string): DecodedPath | RefusedPath {
  if (raw.charCodeAt(0) !== 47) return { ok: false, reason: 'not-absolute' };
  // Fast path: plain ASCII, nothing to decode or normalise.
  let plain = true;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 37 || c > 126 || c < 32) {
      plain = false;
      break;
    }
    if (c === 47) {
      const d = raw.charCodeAt(i + 1);
      if (d === 47 || d === 46) {
        plain = false;
        break;
      } // "//" or "/."
    }
  }
  if (plain) return { ok: true, path: raw };

  // ASCII-only escapes (the usual case): build the string directly.
  let text = '';
  let start = 0;
  let high = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 37) {
      const h = hexValue(raw.charCodeAt(i + 1));
      const l = hexValue(raw.charCodeAt(i + 2));
      if (h < 0 || l < 0) return { ok: false, reason: 'bad-escape' };
      const b = (h << 4) | l;
      if (b === 47) return { ok: false, reason: 'encoded-slash' };
      if (b === 0) return { ok: false, reason: 'nul' };
      if (b > 127) high = true;
      text += raw.slice(start, i) + String.fromCharCode(b);
      i += 2;
      start = i + 1;
    } else if (c === 0) {
      return { ok: false, reason: 'nul' };
    } else if (c > 127) {
      high = true;
    }
  }
  text += raw.slice(start);
  if (high) text = decodeHighBytes(raw);
  const needsNormalising = text.includes('//') || text.includes('/.');
  return { ok: true, path: needsNormalising ? normaliseSegments(text) : text };
}

/**
 * The slow path for paths with non-ASCII bytes (escaped or raw): collects the bytes
 * (raw non-ASCII chars as their UTF-8), then reads them as UTF-8, or latin1 when they
 * are not valid UTF-8. Escapes were validated by the caller.
 */
function decodeHighBytes(raw: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 37) {
      bytes.push((hexValue(raw.charCodeAt(i + 1)) << 4) | hexValue(raw.charCodeAt(i + 2)));
      i += 2;
    } else if (c < 128) {
      bytes.push(c);
    } else {
      const cp = raw.codePointAt(i)!;
      if (cp > 0xffff) i++;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
    }
  }
  const buf = Uint8Array.from(bytes);
  try {
    return utf8.decode(buf);
  } catch {
    return Buffer.from(buf).toString('latin1');
  }
}

/**
 * Removes `.`, `..` (never above the root) and empty segments; a path whose last segment
 * was `.`, `..` or empty keeps a trailing slash (`/a/b/..` → `/a/`). Input starts with '/'.
 */
export function normaliseSegments(p: string): string {
  const parts = p.split('/');
  const out: string[] = [];
  let trailing = false;
  for (let i = 1; i < parts.length; i++) {
    const seg = parts[i]!;
    const last = i === parts.length - 1;
    if (seg === '' || seg === '.') {
      trailing = last;
      continue;
    }
    if (seg === '..') {
      out.pop();
      trailing = last;
      continue;
    }
    out.push(seg);
    trailing = false;
  }
  if (out.length === 0) return '/';
  return '/' + out.join('/') + (trailing ? '/' : '');
}

// ap_proxy_canonenc(enc_path) for reverse proxies: alphanumerics, '/' and
// "~$-_.+!*'(),;:@&=" stay, everything else (including '%', '?', '#', ' ') becomes %XX.
const keep = new Uint8Array(128);
for (let c = 48; c <= 57; c++) keep[c] = 1;
for (let c = 65; c <= 90; c++) keep[c] = 1;
for (let c = 97; c <= 122; c++) keep[c] = 1;
for (const ch of "/~$-_.+!*'(),;:@&=") keep[ch.charCodeAt(0)] = 1;
const HEX = '0123456789ABCDEF';

/**
 * Encodes a decoded URL path as Apache writes the backend URL path: `pa th.x` →
 * `pa%20th.x`, `path?from=alpha` → `path%3Ffrom=alpha` (an Apache quirk apps see and fcgate
 * keeps: docs/apache-differences.md, "What fcgate copies").
 * Non-ASCII chars are written as their UTF-8 bytes, each %XX.
 */
export function encodeTargetPath(p: string): string {
  let i = 0;
  for (; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c >= 128 || keep[c] === 0) break;
  }
  if (i === p.length) return p;
  let out = p.slice(0, i);
  for (; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c < 128) {
      if (keep[c] === 1) out += p[i];
      else out += '%' + HEX[c >> 4] + HEX[c & 15];
      continue;
    }
    const cp = p.codePointAt(i)!;
    if (cp > 0xffff) i++;
    for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) out += '%' + HEX[b >> 4] + HEX[b & 15];
  }
  return out;
}

/**
 * Apache's prefix rule for ProxyPass and <Location>: `/app` matches `/app`, `/app/x`
 * but not `/apple`; `/app/` matches `/app/` and `/app/x` but not `/app`.
 */
export function prefixMatches(prefix: string, path: string): boolean {
  if (!path.startsWith(prefix)) return false;
  if (path.length === prefix.length || prefix.endsWith('/')) return true;
  return path.charCodeAt(prefix.length) === 47;
}
