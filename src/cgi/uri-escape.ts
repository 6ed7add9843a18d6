// %-escaping of URL paths the way mod_proxy hands them to mod_proxy_fcgi: the
// canonical encoding of the target path (SCRIPT_FILENAME, PATH_INFO) and the
// unescaping the proxy-fcgi-pathinfo modes apply. No other URL handling here.

const HEX = '0123456789ABCDEF';

// Bytes kept as they are in a canonical path: ASCII letters, digits, '/', and the
// characters mod_proxy's enc_path allows ("~$-_.+!*'(),;:@&="). Everything else,
// space, '?', '#', '%', control and non-ASCII bytes included, is written %XX.
const PATH_SAFE = new Uint8Array(256);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9/~$\-_.+!*'(),;:@&=]/.test(ch)) PATH_SAFE[c] = 1;
}

const hexValue = (c: number): number =>
  c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1;

/**
 * The canonical form of a target path, as Apache writes it into r->filename:
 * `/dir.d/pa th.x` → `/dir.d/pa%20th.x`, `/a?b` → `/a%3Fb`, raw byte 0xE9 → `%E9`.
 * Existing escapes are decoded first and re-encoded only when needed, so the result
 * is the same whether the router passes the path raw (`%41` → `A`, as Apache maps
 * from the decoded URI) or already encoded (`%20` stays `%20`); an escaped slash
 * stays `%2F`, and a '%' not followed by two hex digits becomes `%25`.
 * Non-ASCII characters are taken as their UTF-8 bytes.
 * Returns `path` itself (no allocation) when every character is already safe.
 */
export function canonEncodePath(path: string): string {
  const n = path.length;
  let i = 0;
  while (i < n) {
    const c = path.charCodeAt(i);
    if (c >= 128 || PATH_SAFE[c] === 0) break;
    i++;
  }
  if (i === n) return path;
  const bytes = Buffer.from(path, 'utf8');
  let out = '';
  for (let j = 0; j < bytes.length; j++) {
    let b = bytes[j]!;
    if (b === 37 && j + 2 < bytes.length) {
      // '%'
      const hi = hexValue(bytes[j + 1]!);
      const lo = hexValue(bytes[j + 2]!);
      if (hi >= 0 && lo >= 0) {
        b = (hi << 4) | lo;
        j += 2;
        if (b === 47) {
          out += '%2F';
          continue;
        } // keep an escaped '/' escaped
      }
    }
    out += PATH_SAFE[b] === 1 ? String.fromCharCode(b) : '%' + HEX[b >> 4]! + HEX[b & 15]!;
  }
  return out;
}

/**
 * Decodes %XX escapes except `%2F` (Apache's ap_unescape_url_keep2f), reading the
 * bytes as UTF-8. An invalid escape is left as it is. Returns `path` itself when it
 * holds no '%'.
 */
export function unescapePath(path: string): string {
  if (path.indexOf('%') < 0) return path;
  const src = Buffer.from(path, 'utf8');
  const dst = Buffer.allocUnsafe(src.length);
  let o = 0;
  for (let j = 0; j < src.length; j++) {
    const b = src[j]!;
    if (b === 37 && j + 2 < src.length) {
      const hi = hexValue(src[j + 1]!);
      const lo = hexValue(src[j + 2]!);
      const v = (hi << 4) | lo;
      if (hi >= 0 && lo >= 0 && v !== 47) {
        dst[o++] = v;
        j += 2;
        continue;
      }
    }
    dst[o++] = b;
  }
  return dst.toString('utf8', 0, o);
}
