// Escaping for log lines, so that nothing a client or an app sends can forge a line:
// Apache's ap_escape_logitem for the text formats (", \ and control characters as \" \\
// \n \r \t \b \v, every other byte outside 0x20–0x7e as \xhh of its UTF-8 bytes), and
// JSON string escaping (ASCII-only output: \uXXXX beyond 0x7e, lone surrogates included).
// Both return the input itself when nothing needs escaping (one regex test per field).

const NEEDS_APACHE = /[^\x20-\x21\x23-\x5b\x5d-\x7e]/;
const NEEDS_JSON = /[^\x20-\x21\x23-\x5b\x5d-\x7e]/;
const HEX = '0123456789abcdef';

const hex2 = (b: number): string => '\\x' + HEX[b >> 4]! + HEX[b & 15]!;

/** ap_escape_logitem: the text as Apache writes it into an access or error log. */
export function escapeLogItem(s: string): string {
  if (!NEEDS_APACHE.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e) {
      out += c === 0x22 ? '\\"' : c === 0x5c ? '\\\\' : s[i]!;
    } else if (c < 0x80) {
      out += c === 10 ? '\\n' : c === 13 ? '\\r' : c === 9 ? '\\t' : c === 8 ? '\\b' : c === 11 ? '\\v' : hex2(c);
    } else {
      // The UTF-8 bytes of the code point (a lone surrogate as U+FFFD, as Buffer.from does).
      let cp = c;
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
        } else cp = 0xfffd;
      } else if (c >= 0xd800 && c <= 0xdfff) cp = 0xfffd;
      if (cp < 0x800) out += hex2(0xc0 | (cp >> 6)) + hex2(0x80 | (cp & 63));
      else if (cp < 0x10000) out += hex2(0xe0 | (cp >> 12)) + hex2(0x80 | ((cp >> 6) & 63)) + hex2(0x80 | (cp & 63));
      else
        out +=
          hex2(0xf0 | (cp >> 18))
          + hex2(0x80 | ((cp >> 12) & 63))
          + hex2(0x80 | ((cp >> 6) & 63))
          + hex2(0x80 | (cp & 63));
    }
  }
  return out;
}

/** The body of a JSON string (without the quotes), ASCII only. */
export function escapeJson(s: string): string {
  if (!NEEDS_JSON.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e) out += c === 0x22 ? '\\"' : c === 0x5c ? '\\\\' : s[i]!;
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else out += '\\u' + HEX[c >> 12]! + HEX[(c >> 8) & 15]! + HEX[(c >> 4) & 15]! + HEX[c & 15]!;
  }
  return out;
}

/** A JSON string literal, or null for null/undefined. */
export const jsonString = (s: string | null | undefined): string =>
  s === null || s === undefined ? 'null' : '"' + escapeJson(s) + '"';
