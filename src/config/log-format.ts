// mod_log_config's format strings, as syntax only: `"%h %l %u %t \"%r\" %>s %b"` → a list
// of literal text and directives (letter, {argument}, status condition, < or >). The
// meaning of each directive, and the writers that produce the text per request, are in
// src/log/access-format.ts; this file knows which letters exist so that a typo stops
// startup with file and line, as Apache's "Unrecognized LogFormat directive %Z" does.

/** One piece of a format. */
export type LogToken =
  | { kind: 'text'; text: string }
  | {
      kind: 'field';
      /** The directive letter: h, a, t, r, >s (as 's' with `final`), … */
      letter: string;
      /** The `{…}` argument, or null. */
      arg: string | null;
      /** `%400,501{…}i`: log only for these statuses ('-' otherwise); `!` negates. null = always. */
      statuses: number[] | null;
      negate: boolean;
      /** `<` (original request) or `>` (final request); null when not given. */
      which: '<' | '>' | null;
    };

/**
 * Directive letters fcgate formats. `%k` and `%l` print "-" (README, Operating fcgate);
 * `%{name}n` reads fcgate's notes (backend, member, ttfb_us, …).
 */
const LOG_LETTERS = new Set('aABbCDeHhIiklLmnOopPqRrsTtuUvVX%'.split(''));

/** The format string the `json` nickname stands for (one nobody writes): src/log formats it as JSON. */
export const JSON_FORMAT = '\u0000json';

/** The formats every configuration has, as Apache's default configuration defines them, plus `json`. */
export const PREDEFINED_FORMATS: ReadonlyMap<string, string> = new Map([
  ['common', '%h %l %u %t "%r" %>s %b'],
  ['combined', '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"'],
  ['combinedio', '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %I %O'],
  ['vhost_combined', '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"'],
  ['referer', '%{Referer}i -> %U'],
  ['agent', '%{User-agent}i'],
  // Not a format string: one JSON object per line (src/log/access-format.ts, jsonFormat).
  ['json', JSON_FORMAT],
]);

/**
 * Tokenizes a format; throws an Error saying what is wrong (the caller adds file and
 * line). C-style escapes in the text (\n, \t, \\, \") are interpreted, as Apache does.
 */
export function parseLogFormat(format: string): LogToken[] {
  if (format === JSON_FORMAT) return [];
  const out: LogToken[] = [];
  let text = '';
  const flush = (): void => {
    if (text !== '') {
      out.push({ kind: 'text', text });
      text = '';
    }
  };
  let i = 0;
  const n = format.length;
  while (i < n) {
    const c = format[i]!;
    if (c === '\\' && i + 1 < n) {
      const e = format[i + 1]!;
      text += e === 'n' ? '\n' : e === 't' ? '\t' : e;
      i += 2;
      continue;
    }
    if (c !== '%') {
      text += c;
      i++;
      continue;
    }
    i++;
    if (i >= n) throw new Error('a format ends with a lone %');
    if (format[i] === '%') {
      text += '%';
      i++;
      continue;
    }
    let statuses: number[] | null = null;
    let negate = false;
    let which: '<' | '>' | null = null;
    let arg: string | null = null;
    // Modifiers, in any order: !, status list, <, >, {arg}
    for (;;) {
      const m = format[i];
      if (m === '!') {
        negate = true;
        i++;
        continue;
      }
      if (m !== undefined && m >= '0' && m <= '9') {
        const s = /^\d{3}(?:,\d{3})*/.exec(format.slice(i));
        if (s === null) throw new Error(`bad status list at "%${format.slice(i, i + 8)}"`);
        statuses = s[0].split(',').map(Number);
        i += s[0].length;
        continue;
      }
      if (m === '<' || m === '>') {
        which = m;
        i++;
        continue;
      }
      if (m === '{') {
        const end = format.indexOf('}', i);
        if (end < 0) throw new Error(`unterminated %{…} at "%${format.slice(i, i + 20)}"`);
        arg = format.slice(i + 1, end);
        i = end + 1;
        continue;
      }
      break;
    }
    const letter = format[i];
    if (letter === undefined) throw new Error('a format ends inside a % directive');
    if (!LOG_LETTERS.has(letter) || letter === '%') throw new Error(`unrecognized LogFormat directive %${letter}`);
    if (
      (letter === 'i' || letter === 'o' || letter === 'e' || letter === 'n' || letter === 'C')
      && (arg === null || arg === '')
    ) {
      throw new Error(`%${letter} needs a name: %{Name}${letter}`);
    }
    if (negate && statuses === null)
      throw new Error(`%!${letter}: "!" goes with a status list, e.g. %!200,304{Referer}i`);
    flush();
    out.push({ kind: 'field', letter, arg, statuses, negate, which });
    i++;
  }
  flush();
  return out;
}
