// `Options` (Apache core): parsing one line and merging the lines that apply to a directory,
// as Apache merges them: a line without +/- replaces what was inherited, a line with +/-
// adds to or removes from it; mixing both forms in one line is an error (AH00134).
//
// What fcgate does with them: FollowSymLinks / SymLinksIfOwnerMatch decide which symbolic
// links the handler form may follow (file-safety.ts); fcgate never lists directories, runs
// CGI or SSI, or negotiates content, so +Indexes, +ExecCGI, +Includes and +MultiViews are
// accepted with a warning. fcgate's own default, when no Options line speaks of symbolic
// links, is SymlinkMode 'contained' (docs/security.md): a link is followed only when its
// target stays inside the tree it was reached through (DocumentRoot or the Alias target).

export const Opt = {
  Indexes: 1,
  Includes: 2,
  IncludesNOEXEC: 4,
  FollowSymLinks: 8,
  SymLinksIfOwnerMatch: 16,
  ExecCGI: 32,
  MultiViews: 64,
} as const;
export type Opt = (typeof Opt)[keyof typeof Opt];

/** Apache's `All`: everything but MultiViews and SymLinksIfOwnerMatch. */
const ALL = Opt.Indexes | Opt.Includes | Opt.IncludesNOEXEC | Opt.FollowSymLinks | Opt.ExecCGI;
const SYMLINK_BITS = Opt.FollowSymLinks | Opt.SymLinksIfOwnerMatch;

const BY_NAME = new Map<string, number>([
  ...Object.entries(Opt).map(([k, v]) => [k.toLowerCase(), v] as [string, number]),
  ['all', ALL],
  ['none', 0],
]);

/** One `Options` line: absolute (`set`), or relative (`add` / `remove`). */
export interface OptionsLine {
  set: number | null;
  add: number;
  remove: number;
  file: string;
  line: number;
}

/** Parses the arguments of one Options line; throws an Error with the message to show. */
export function parseOptions(args: readonly string[], file: string, line: number): OptionsLine {
  if (args.length === 0) throw new Error('expected one or more options (FollowSymLinks, -Indexes, None, …)');
  let set = 0,
    add = 0,
    remove = 0;
  let relative: boolean | null = null;
  for (const a of args) {
    const sign = a[0] === '+' || a[0] === '-' ? a[0] : '';
    if (relative === null) relative = sign !== '';
    else if (relative !== (sign !== '')) {
      throw new Error('either all options must start with + or -, or none may (Apache AH00134)');
    }
    const bit = BY_NAME.get(a.slice(sign.length).toLowerCase());
    if (bit === undefined) throw new Error(`unknown option "${a}"`);
    if ((bit === ALL || bit === 0) && sign !== '') throw new Error(`"${a}": All and None take no + or -`);
    if (sign === '+') add |= bit;
    else if (sign === '-') remove |= bit;
    else set |= bit;
  }
  return relative ? { set: null, add, remove, file, line } : { set, add: 0, remove: 0, file, line };
}

/** The options in force after a list of lines (earliest first). */
export interface MergedOptions {
  bits: number;
  /** Has any line spoken of symbolic links (an absolute line always does)? */
  symlinksSet: boolean;
}

export const NO_OPTIONS: MergedOptions = { bits: 0, symlinksSet: false };

export function mergeOptions(into: MergedOptions, lines: readonly OptionsLine[]): MergedOptions {
  let { bits, symlinksSet } = into;
  for (const l of lines) {
    if (l.set !== null) {
      bits = l.set;
      symlinksSet = true;
      continue;
    }
    bits = (bits | l.add) & ~l.remove;
    if (((l.add | l.remove) & SYMLINK_BITS) !== 0) symlinksSet = true;
  }
  return { bits, symlinksSet };
}

/** Which symbolic links the handler form follows (file-safety.ts applies it). */
export type SymlinkMode = 'follow' | 'owner' | 'contained' | 'none';

/** SymLinksIfOwnerMatch wins over FollowSymLinks when both are on (Apache's resolve_symlink). */
export function symlinkMode(o: MergedOptions): SymlinkMode {
  if (!o.symlinksSet) return 'contained';
  if ((o.bits & Opt.SymLinksIfOwnerMatch) !== 0) return 'owner';
  if ((o.bits & Opt.FollowSymLinks) !== 0) return 'follow';
  return 'none';
}

/** Options a line turns on that fcgate does not implement (for the warning). */
export function unimplemented(l: OptionsLine): string[] {
  const on = (l.set ?? 0) | l.add;
  const out: string[] = [];
  if (on & Opt.Indexes) out.push('Indexes (fcgate never lists directories)');
  if (on & (Opt.Includes | Opt.IncludesNOEXEC)) out.push('Includes (no server-side includes)');
  if (on & Opt.ExecCGI) out.push('ExecCGI (no CGI; FastCGI apps only)');
  if (on & Opt.MultiViews) out.push('MultiViews (no content negotiation)');
  return out;
}
