// Apache's wildcards (apr_fnmatch with APR_FNM_PATHNAME: `*`, `?` and `[…]`, never matching
// '/'; `[!…]` negates; a `]` right after `[` or `[!` is a member) as an anchored RegExp. One
// translation for <Directory>/<Files> patterns and for Include globs.

/** Whether `s` has a wildcard. */
export const hasGlob = (s: string): boolean => /[*?[]/.test(s);

/**
 * `glob` as a RegExp over a whole string, or with `prefix` over a path prefix (the
 * directory itself or anything below it, as <Directory> matches).
 */
export function globRegex(glob: string, prefix = false): RegExp {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const negate = glob[i + 1] === '!';
      const end = glob.indexOf(']', i + (negate ? 3 : 2));
      if (end < 0) {
        re += '\\[';
        continue;
      }
      const body = glob.slice(i + (negate ? 2 : 1), end);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(re + (prefix ? '(?:/|$)' : '$'));
}
