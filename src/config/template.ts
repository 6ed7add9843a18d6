// ap_expr string templates: literal text with %{VAR}, %{func:arg} and $0..$9, used for
// ProxyFCGISetEnvIf values and quoted strings inside conditions. Parsed once, expanded
// per request. (SetEnvIf's `$1` values are simpler and live in setenvif.ts.)

import type { ExpressionContext } from './model.js';

export type Segment =
  | { k: 'lit'; s: string }
  | { k: 'var'; name: string } // %{DOCUMENT_ROOT}
  | { k: 'reqenv'; name: string } // %{reqenv:X}, %{env:X}
  | { k: 'http'; name: string } // %{HTTP:X}, %{req:X}, %{http:X}
  | { k: 'case'; upper: boolean; s: string } // %{tolower:abc}
  | { k: 'ref'; n: number }; // $1

export type Template = Segment[];

/**
 * Parses a template. A backslash makes the next character literal (`\$1` is "$1",
 * `\%` is "%"); `%{` without a closing `}` or an unknown `%{func:…}` is an error.
 */
export function parseTemplate(src: string): Template {
  const out: Template = [];
  let lit = '';
  const flush = (): void => {
    if (lit !== '') {
      out.push({ k: 'lit', s: lit });
      lit = '';
    }
  };
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\' && i + 1 < src.length) {
      lit += src[++i];
      continue;
    }
    if (c === '$' && i + 1 < src.length && src[i + 1]! >= '0' && src[i + 1]! <= '9') {
      flush();
      out.push({ k: 'ref', n: src.charCodeAt(++i) - 48 });
      continue;
    }
    if (c === '%' && src[i + 1] === '{') {
      const end = src.indexOf('}', i + 2);
      if (end < 0) throw new Error(`unterminated %{ in "${src}"`);
      const body = src.slice(i + 2, end);
      if (body === '') throw new Error(`empty %{} in "${src}"`);
      flush();
      out.push(variableSegment(body, src));
      i = end;
      continue;
    }
    lit += c;
  }
  flush();
  return out;
}

function variableSegment(body: string, src: string): Segment {
  const colon = body.indexOf(':');
  if (colon < 0) {
    if (!/^[A-Za-z0-9_]+$/.test(body)) throw new Error(`bad variable name %{${body}} in "${src}"`);
    return { k: 'var', name: body };
  }
  const fn = body.slice(0, colon).toLowerCase();
  const arg = body.slice(colon + 1);
  switch (fn) {
    case 'reqenv':
    case 'env':
      return { k: 'reqenv', name: arg };
    case 'http':
    case 'req':
      return { k: 'http', name: arg };
    case 'tolower':
      return { k: 'case', upper: false, s: arg.toLowerCase() };
    case 'toupper':
      return { k: 'case', upper: true, s: arg.toUpperCase() };
    default:
      throw new Error(`unknown function %{${fn}:…} in "${src}" (known: reqenv, env, HTTP, req, tolower, toupper)`);
  }
}

/**
 * Expands a template. %{VAR} reads ctx.variable(VAR), then the params; %{reqenv:X}
 * reads the params; %{HTTP:X} reads a request header; $N reads the captures (missing
 * ones expand to ''). Unknown variables expand to '' as in Apache.
 */
export function expandTemplate(t: Template, ctx: ExpressionContext, caps: string[]): string {
  if (t.length === 1 && t[0]!.k === 'lit') return t[0]!.s;
  let s = '';
  for (let i = 0; i < t.length; i++) {
    const seg = t[i]!;
    switch (seg.k) {
      case 'lit':
        s += seg.s;
        break;
      case 'var':
        s += ctx.variable(seg.name) ?? ctx.params.get(seg.name) ?? '';
        break;
      case 'reqenv':
        s += ctx.params.get(seg.name) ?? '';
        break;
      case 'http':
        s += ctx.header(seg.name) ?? '';
        break;
      case 'case':
        s += seg.s;
        break;
      case 'ref':
        s += caps[seg.n] ?? '';
        break;
    }
  }
  return s;
}
