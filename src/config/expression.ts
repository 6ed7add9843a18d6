// The subset of Apache's ap_expr used by ProxyFCGISetEnvIf: parsed once at config time
// into a small tree, evaluated per request against an ExpressionContext.
// Conditions: true false ! && || ( ) -n -z == != < <= > >= -eq -ne -lt -le -gt -ge =~ !~
// Words: 'str' "str" (with %{…} and $N inside), %{VAR}, %{reqenv:V}, %{HTTP:H}, $1..$9,
// numbers, reqenv('V') req('H') http('H') env('V') tolower(w) toupper(w), w . w.
// Regexes: /re/ or m<delim>re<delim>, flag i. String templates (the value side) are
// in template.ts; this file holds only the condition language.

import type { ExpressionContext } from './model.js';
import { expandTemplate, parseTemplate, type Template } from './template.js';

type Word =
  | { k: 'tpl'; tpl: Template }
  | { k: 'fn'; name: 'reqenv' | 'req' | 'http' | 'env' | 'tolower' | 'toupper'; arg: Word }
  | { k: 'cat'; parts: Word[] };

export type Cond =
  | { k: 'bool'; v: boolean }
  | { k: 'not'; e: Cond }
  | { k: 'and' | 'or'; a: Cond; b: Cond }
  | { k: 'unary'; op: '-n' | '-z'; w: Word }
  | { k: 'cmp'; op: string; a: Word; b: Word }
  | { k: 'match'; neg: boolean; w: Word; re: RegExp };

type Tok =
  | { t: 'op'; v: string }
  | { t: 'str'; v: string } // quoted string body, escapes not yet applied
  | { t: 'var'; v: string } // %{…} including the braces
  | { t: 'ref'; v: string } // $N
  | { t: 'num'; v: string }
  | { t: 'id'; v: string }
  | { t: 're'; v: RegExp }
  | { t: 'end' };

const FUNCTIONS = new Set(['reqenv', 'req', 'http', 'env', 'tolower', 'toupper']);
const STRING_OPS = new Set(['==', '!=', '<', '<=', '>', '>=']);
const INT_OPS = new Set(['-eq', '-ne', '-lt', '-le', '-gt', '-ge']);

/** Turns the source into tokens; a regex is expected right after =~ and !~. */
function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    const prev = out[out.length - 1];
    if (prev !== undefined && prev.t === 'op' && (prev.v === '=~' || prev.v === '!~')) {
      let delim: string;
      let start: number;
      if (c === '/') {
        delim = '/';
        start = i + 1;
      } else if (c === 'm' && i + 1 < n && !/[\w\s]/.test(src[i + 1]!)) {
        delim = src[i + 1]!;
        start = i + 2;
      } else throw new Error(`expected a regular expression (/…/ or m|…|) after ${prev.v} at "${src.slice(i)}"`);
      let j = start;
      while (j < n && src[j] !== delim) j += src[j] === '\\' ? 2 : 1;
      if (j >= n) throw new Error(`unterminated regular expression at "${src.slice(i)}"`);
      const body = src.slice(start, j);
      j++;
      let flags = '';
      while (j < n && /[a-z]/i.test(src[j]!)) {
        if (src[j] !== 'i') throw new Error(`unknown regular expression flag "${src[j]}"`);
        flags = 'i';
        j++;
      }
      out.push({ t: 're', v: compileRegex(body, flags) });
      i = j;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (
      two === '&&'
      || two === '||'
      || two === '=='
      || two === '!='
      || two === '=~'
      || two === '!~'
      || two === '<='
      || two === '>='
    ) {
      out.push({ t: 'op', v: two });
      i += 2;
      continue;
    }
    if ('()!<>.,='.includes(c)) {
      out.push({ t: 'op', v: c === '=' ? '==' : c });
      i++;
      continue;
    }
    if (c === '-') {
      const m = /^-([a-z]+)/.exec(src.slice(i));
      if (m === null || !(m[0] === '-n' || m[0] === '-z' || INT_OPS.has(m[0]))) {
        throw new Error(`unknown operator at "${src.slice(i)}"`);
      }
      out.push({ t: 'op', v: m[0] });
      i += m[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < n && src[j] !== c) j += src[j] === '\\' ? 2 : 1;
      if (j >= n) throw new Error(`unterminated string at "${src.slice(i)}"`);
      out.push({ t: 'str', v: src.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    if (c === '%' && src[i + 1] === '{') {
      const j = src.indexOf('}', i);
      if (j < 0) throw new Error(`unterminated %{ at "${src.slice(i)}"`);
      out.push({ t: 'var', v: src.slice(i, j + 1) });
      i = j + 1;
      continue;
    }
    if (c === '$' && /[0-9]/.test(src[i + 1] ?? '')) {
      out.push({ t: 'ref', v: src.slice(i, i + 2) });
      i += 2;
      continue;
    }
    const num = /^\d+/.exec(src.slice(i));
    if (num !== null) {
      out.push({ t: 'num', v: num[0] });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (id !== null) {
      out.push({ t: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    throw new Error(`unexpected "${c}" at "${src.slice(i)}"`);
  }
  out.push({ t: 'end' });
  return out;
}

/**
 * Compiles a PCRE-style pattern as a JS RegExp. A leading `(?i)` becomes the i flag
 * (JS has no inline modifiers); a syntax error throws with the pattern in the message.
 */
export function compileRegex(source: string, flags = ''): RegExp {
  let src = source;
  let f = flags;
  if (src.startsWith('(?i)')) {
    src = src.slice(4);
    if (!f.includes('i')) f += 'i';
  }
  try {
    return new RegExp(src, f);
  } catch (e) {
    throw new Error(
      `bad regular expression "${source}": `
        + `${(e as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '')}`,
    );
  }
}

class Parser {
  private pos = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly src: string,
  ) {}

  private peek(): Tok {
    return this.toks[this.pos]!;
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.v === v;
  }
  private fail(what: string): never {
    const t = this.peek();
    const at = t.t === 'end' ? 'end of expression' : `"${t.t === 're' ? String(t.v) : t.v}"`;
    throw new Error(`${what}, found ${at} in "${this.src}"`);
  }

  parseAll(): Cond {
    const c = this.or();
    if (this.peek().t !== 'end') this.fail('expected && or || or the end');
    return c;
  }
  private or(): Cond {
    let a = this.and();
    while (this.isOp('||')) {
      this.pos++;
      a = { k: 'or', a, b: this.and() };
    }
    return a;
  }
  private and(): Cond {
    let a = this.unary();
    while (this.isOp('&&')) {
      this.pos++;
      a = { k: 'and', a, b: this.unary() };
    }
    return a;
  }
  private unary(): Cond {
    if (this.isOp('!')) {
      this.pos++;
      return { k: 'not', e: this.unary() };
    }
    if (this.isOp('(')) {
      this.pos++;
      const c = this.or();
      if (!this.isOp(')')) this.fail('expected )');
      this.pos++;
      return c;
    }
    const t = this.peek();
    if (t.t === 'id' && (t.v === 'true' || t.v === 'false')) {
      this.pos++;
      return { k: 'bool', v: t.v === 'true' };
    }
    if (this.isOp('-n') || this.isOp('-z')) {
      const op = (t as { v: string }).v as '-n' | '-z';
      this.pos++;
      return { k: 'unary', op, w: this.word() };
    }
    const a = this.word();
    const op = this.peek();
    if (op.t !== 'op') this.fail('expected a comparison operator');
    if (op.v === '=~' || op.v === '!~') {
      this.pos++;
      const re = this.peek();
      if (re.t !== 're') this.fail('expected a regular expression');
      this.pos++;
      return { k: 'match', neg: op.v === '!~', w: a, re: re.v };
    }
    if (STRING_OPS.has(op.v) || INT_OPS.has(op.v)) {
      this.pos++;
      return { k: 'cmp', op: op.v, a, b: this.word() };
    }
    return this.fail('expected a comparison operator');
  }
  private word(): Word {
    const parts = [this.atom()];
    while (this.isOp('.')) {
      this.pos++;
      parts.push(this.atom());
    }
    return parts.length === 1 ? parts[0]! : { k: 'cat', parts };
  }
  private atom(): Word {
    const t = this.peek();
    switch (t.t) {
      case 'str':
        this.pos++;
        return { k: 'tpl', tpl: parseTemplate(t.v) };
      case 'var':
      case 'ref':
      case 'num':
        this.pos++;
        return { k: 'tpl', tpl: parseTemplate(t.v) };
      case 'id': {
        const name = t.v.toLowerCase();
        if (!FUNCTIONS.has(name)) this.fail(`unknown function "${t.v}" (known: ${[...FUNCTIONS].join(', ')})`);
        this.pos++;
        if (!this.isOp('(')) this.fail(`expected ( after ${t.v}`);
        this.pos++;
        const arg = this.word();
        if (!this.isOp(')')) this.fail('expected )');
        this.pos++;
        return { k: 'fn', name: name as 'reqenv', arg };
      }
      default:
        return this.fail('expected a string, %{…}, $N or a function call');
    }
  }
}

/** Parses a condition; throws Error with a sentence on bad syntax. */
export function parseCondition(src: string): Cond {
  return new Parser(tokenize(src), src).parseAll();
}

/** Per-evaluation state: the captures of the last successful =~ ($0..$9). */
interface EvalState {
  caps: string[];
}

function evalWord(w: Word, ctx: ExpressionContext, st: EvalState): string {
  switch (w.k) {
    case 'tpl':
      return expandTemplate(w.tpl, ctx, st.caps);
    case 'cat': {
      let s = '';
      for (const p of w.parts) s += evalWord(p, ctx, st);
      return s;
    }
    case 'fn': {
      const a = evalWord(w.arg, ctx, st);
      switch (w.name) {
        case 'reqenv':
        case 'env':
          return ctx.params.get(a) ?? '';
        case 'req':
        case 'http':
          return ctx.header(a) ?? '';
        case 'tolower':
          return a.toLowerCase();
        case 'toupper':
          return a.toUpperCase();
      }
    }
  }
}

function intOf(s: string): number {
  if (!/^-?\d+$/.test(s.trim())) return NaN;
  return Number(s);
}

function evalCond(c: Cond, ctx: ExpressionContext, st: EvalState): boolean {
  switch (c.k) {
    case 'bool':
      return c.v;
    case 'not':
      return !evalCond(c.e, ctx, st);
    case 'and':
      return evalCond(c.a, ctx, st) && evalCond(c.b, ctx, st);
    case 'or':
      return evalCond(c.a, ctx, st) || evalCond(c.b, ctx, st);
    case 'unary': {
      const v = evalWord(c.w, ctx, st);
      return c.op === '-n' ? v !== '' : v === '';
    }
    case 'match': {
      const m = c.re.exec(evalWord(c.w, ctx, st));
      if (m === null) return c.neg;
      if (!c.neg) {
        const caps: string[] = [];
        for (let i = 0; i < 10; i++) caps.push(m[i] ?? '');
        st.caps = caps;
      }
      return !c.neg;
    }
    case 'cmp': {
      const a = evalWord(c.a, ctx, st);
      const b = evalWord(c.b, ctx, st);
      switch (c.op) {
        case '==':
          return a === b;
        case '!=':
          return a !== b;
        case '<':
          return a < b;
        case '<=':
          return a <= b;
        case '>':
          return a > b;
        case '>=':
          return a >= b;
      }
      const x = intOf(a);
      const y = intOf(b);
      if (Number.isNaN(x) || Number.isNaN(y)) return false;
      switch (c.op) {
        case '-eq':
          return x === y;
        case '-ne':
          return x !== y;
        case '-lt':
          return x < y;
        case '-le':
          return x <= y;
        case '-gt':
          return x > y;
        default:
          return x >= y;
      }
    }
  }
}

const NO_CAPTURES: string[] = [];

/**
 * Evaluates a condition: null when false, otherwise the captures ($0..$9) of the last
 * successful =~ match ([] when the condition matched no regex).
 */
export function testCondition(c: Cond, ctx: ExpressionContext): string[] | null {
  if (c.k === 'bool') return c.v ? NO_CAPTURES : null;
  const st: EvalState = { caps: NO_CAPTURES };
  return evalCond(c, ctx, st) ? st.caps : null;
}
