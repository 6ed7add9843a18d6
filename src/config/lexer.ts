// Apache's configuration syntax → a tree of directives and sections.
// Lines, `\` continuations, `#` comment lines, quoted arguments, `<Section>` nesting.
// Knows nothing about what any directive means (see directives.ts).

import { ConfigError } from './config-error.js';

/** One directive line: `ProxyPass /a/ fcgi://h/` → name "ProxyPass", args ["/a/", "fcgi://h/"]. */
export interface DirectiveNode {
  type: 'directive';
  name: string;
  args: string[];
  file: string;
  /** First physical line of the (possibly continued) logical line, 1-based. */
  line: number;
}

/** `<Name args>` … `</Name>`; `name` is spelled as in the file (compare case-insensitively). */
export interface SectionNode {
  type: 'section';
  name: string;
  args: string[];
  file: string;
  line: number;
  children: ConfigNode[];
}

export type ConfigNode = DirectiveNode | SectionNode;

/** A logical line: continuations joined, line number of its first physical line. */
interface LogicalLine {
  text: string;
  line: number;
}

/**
 * Splits `text` into logical lines. As Apache's ap_cfg_getline: a line whose last
 * non-blank character is `\` continues on the next line (the backslash and the line
 * break are removed, the next line's text is appended as is); leading and trailing
 * blanks of the result are trimmed; blank lines and lines starting with `#` are dropped.
 * A `#` anywhere else is ordinary text, as in Apache (there are no trailing comments).
 */
function logicalLines(text: string): LogicalLine[] {
  const physical = text.split(/\r?\n/);
  const out: LogicalLine[] = [];
  let i = 0;
  while (i < physical.length) {
    const start = i;
    let acc = physical[i++]!.replace(/\s+$/, '');
    while (acc.endsWith('\\') && i < physical.length) {
      acc = acc.slice(0, -1) + physical[i++]!.replace(/\s+$/, '');
    }
    if (acc.endsWith('\\')) acc = acc.slice(0, -1); // continuation at end of file
    const trimmed = acc.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    out.push({ text: trimmed, line: start + 1 });
  }
  return out;
}

/**
 * Splits one line into words as Apache's ap_getword_conf: blanks separate words; a word
 * that starts with `"` or `'` runs to the matching quote, and inside it a backslash
 * before that quote stands for the quote; every other backslash is kept (`"\.php$"`
 * stays `\.php$`). An unterminated quote is an error (Apache would silently take the
 * rest of the line).
 */
export function splitWords(s: string, file: string, line: number): string[] {
  const words: string[] = [];
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9) {
      i++;
      continue;
    }
    if (c === 34 || c === 39) {
      // " or '
      const quote = s[i]!;
      let word = '';
      let j = i + 1;
      for (;;) {
        if (j >= n) throw new ConfigError(file, line, `unterminated quoted argument: ${s.slice(i)}`);
        const ch = s[j]!;
        if (ch === '\\' && s[j + 1] === quote) {
          word += quote;
          j += 2;
          continue;
        }
        if (ch === quote) break;
        word += ch;
        j++;
      }
      words.push(word);
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < n && s[j] !== ' ' && s[j] !== '\t') j++;
    words.push(s.slice(i, j));
    i = j;
  }
  return words;
}

/**
 * Parses a whole file into its top-level nodes. Section names must close in order:
 * `</Location>` while `<Directory>` is open, a close with nothing open, or a section
 * still open at the end of the file are errors with the line that shows them.
 */
export function parseTree(text: string, file: string): ConfigNode[] {
  const root: ConfigNode[] = [];
  const stack: SectionNode[] = [];
  for (const { text: t, line } of logicalLines(text)) {
    const into = stack.length ? stack[stack.length - 1]!.children : root;
    if (t.startsWith('</')) {
      if (!t.endsWith('>')) throw new ConfigError(file, line, `${t}: missing closing '>'`);
      const name = t.slice(2, -1).trim();
      const open = stack.pop();
      if (open === undefined) {
        throw new ConfigError(file, line, `</${name}> without matching <${name}> section`);
      }
      if (open.name.toLowerCase() !== name.toLowerCase()) {
        throw new ConfigError(file, line, `expected </${open.name}> (opened on line ${open.line}) but saw </${name}>`);
      }
      continue;
    }
    if (t.startsWith('<')) {
      if (!t.endsWith('>')) throw new ConfigError(file, line, `${t.split(/\s/)[0]}>: missing closing '>'`);
      const inner = t.slice(1, -1);
      const m = /^([^\s>]+)\s*(.*)$/.exec(inner);
      if (m === null || m[1] === '') throw new ConfigError(file, line, `${t}: section name missing`);
      const node: SectionNode = {
        type: 'section',
        name: m[1]!,
        args: splitWords(m[2]!, file, line),
        file,
        line,
        children: [],
      };
      into.push(node);
      stack.push(node);
      continue;
    }
    const words = splitWords(t, file, line);
    into.push({ type: 'directive', name: words[0]!, args: words.slice(1), file, line });
  }
  const open = stack.pop();
  if (open !== undefined) {
    throw new ConfigError(file, open.line, `<${open.name}> was not closed`);
  }
  return root;
}
