// Per-site preparation for routing, made once per site and kept (a WeakMap): the sections
// sorted into the groups Apache merges, in merge order, and the merge of the blocks that
// apply to one request. The router (router.ts) asks; nothing here decides a route.

import type { AuthzContainer } from './authz.js';
import { emptyBlock } from './build-state.js';
import type { RedirectRule } from './alias.js';
import type { BackendType, ConfigSection, DirectiveBlock, FcgiSetEnvRule, HandlerTarget, SiteConfig } from './model.js';
import { mergeOptions, NO_OPTIONS, symlinkMode, type SymlinkMode } from './options.js';
import { prefixMatches } from './url-path.js';

/**
 * The built-in first <Files> section, as Debian's apache2.conf has it (`<FilesMatch "^\.ht">
 * Require all denied`): .htaccess, .htpasswd and any `.ht*` file are never served, whatever
 * maps to them (403). A <FilesMatch> of the configuration can grant them again, as in Apache.
 */
const HT_FILES: ConfigSection = {
  ...emptyBlock(),
  authz: {
    kind: 'any',
    file: '<built-in>',
    line: 0,
    children: [
      {
        kind: 'require',
        negate: false,
        provider: { kind: 'all', granted: false },
        text: 'all denied',
        file: '<built-in>',
        line: 0,
      },
    ],
  },
  kind: 'files',
  pattern: '^\\.ht',
  regex: /^\.ht/,
  matchForm: true,
  target: null,
  parent: null,
  file: '<built-in>',
  line: 0,
};

/** A ProxyPassMatch target split into literal text and capture numbers (see compileSubstitution). */
export interface Substitution {
  parts: Array<string | number>;
  substitutes: boolean;
}

/** Sections sorted once per site into the groups Apache merges, in merge order. */
export interface Plan {
  proxySections: ConfigSection[];
  /** Non-regex <Directory>, fewest path components first. */
  dirPlain: ConfigSection[];
  dirRegex: ConfigSection[];
  /** HT_FILES first, then the site's <Files> (top-level ones before nested ones). */
  files: ConfigSection[];
  locations: ConfigSection[];
  /** No <Proxy> and no <Location> section: a ProxyPass request is decided by the server block alone. */
  proxyServerOnly: boolean;
  /** Per site.routes index: the compiled ProxyPassMatch target (null for ProxyPass). */
  substitutions: Array<Substitution | null>;
  /** [site.server] and its merge, reused for every ProxyPass request when proxyServerOnly. */
  serverBlocks: DirectiveBlock[];
  serverMerged: Merged;
}

/** The merged view of the blocks that apply to one request. */
export interface Merged {
  handler: HandlerTarget | null | undefined;
  cgiPassAuth: boolean;
  limitRequestBody: number | null;
  backendType: BackendType;
  fcgiSetEnv: FcgiSetEnvRule[];
  directoryIndex: string[];
  /** The authz of the last block that has Require lines (AuthMerging Off); null = none. */
  authz: AuthzContainer | null;
  forceType: string | null | undefined;
  /** AddType mappings in merge order (a later one wins); a shared empty array when none. */
  addTypes: Array<[string, string]>;
  fallback: string | null | undefined;
  redirect: RedirectRule | null;
}

const plans = new WeakMap<SiteConfig, Plan>();

/** A wildcard <Directory> keeps its place among the plain ones; `~`/Match ones come after. */
const isRegexSection = (s: ConfigSection): boolean => s.matchForm;

/**
 * A ProxyPassMatch target path split once into literal text and capture numbers, as
 * Apache's ap_pregsub reads it: `$0`..`$9` are captures, `\x` is a literal x.
 * `substitutes` is false when the template has neither, so the result would equal the
 * template: that is Apache's "no backreference" case, where the URL is appended.
 */
function compileSubstitution(tpl: string): Substitution {
  const parts: Array<string | number> = [];
  let lit = '';
  let substitutes = false;
  for (let i = 0; i < tpl.length; i++) {
    const c = tpl.charCodeAt(i);
    if (c === 36 && i + 1 < tpl.length) {
      // $
      const d = tpl.charCodeAt(i + 1) - 48;
      if (d >= 0 && d <= 9) {
        parts.push(lit, d);
        lit = '';
        i++;
        substitutes = true;
        continue;
      }
    } else if (c === 92 && i + 1 < tpl.length) {
      lit += tpl[++i];
      substitutes = true;
      continue;
    } // \
    lit += tpl[i];
  }
  parts.push(lit);
  return { parts, substitutes };
}

export function planOf(site: SiteConfig): Plan {
  let p = plans.get(site);
  if (p !== undefined) return p;
  const of = (k: ConfigSection['kind']): ConfigSection[] => site.sections.filter((s) => s.kind === k);
  const dirs = of('directory');
  const depth = (s: ConfigSection): number => (s.pattern === '/' ? 0 : s.pattern.split('/').length);
  const proxySections = of('proxy');
  const locations = of('location');
  p = {
    proxySections,
    dirPlain: dirs.filter((s) => !isRegexSection(s)).sort((a, b) => depth(a) - depth(b)),
    dirRegex: dirs.filter(isRegexSection),
    files: [HT_FILES, ...of('files').sort((a, b) => (a.parent === null ? 0 : 1) - (b.parent === null ? 0 : 1))],
    locations,
    proxyServerOnly: proxySections.length === 0 && locations.length === 0,
    substitutions: site.routes.map((r) => (r.regex === null ? null : compileSubstitution(r.targetPath))),
    serverBlocks: [site.server],
    serverMerged: merge(site, [site.server]),
  };
  plans.set(site, p);
  return p;
}

function locationMatches(s: ConfigSection, path: string): boolean {
  return s.regex === null ? prefixMatches(s.pattern, path) : s.regex.test(path);
}

function directoryMatches(s: ConfigSection, dir: string): boolean {
  if (s.regex !== null) return s.regex.test(isRegexSection(s) ? dir + '/' : dir);
  return s.pattern === '/' || dir === s.pattern || dir.startsWith(s.pattern + '/');
}

function filesMatch(s: ConfigSection, base: string): boolean {
  return s.regex === null ? base === s.pattern : s.regex.test(base);
}

const NO_TYPES: Array<[string, string]> = [];

export function merge(site: SiteConfig, blocks: DirectiveBlock[]): Merged {
  const out: Merged = {
    handler: undefined,
    cgiPassAuth: site.cgiPassAuth,
    limitRequestBody: null,
    backendType: site.backendType,
    fcgiSetEnv: site.fcgiSetEnvIf,
    directoryIndex: site.directoryIndex,
    authz: null,
    forceType: undefined,
    addTypes: NO_TYPES,
    fallback: undefined,
    redirect: null,
  };
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i]!;
    if (b.handler !== undefined) out.handler = b.handler;
    if (b.cgiPassAuth !== null) out.cgiPassAuth = b.cgiPassAuth;
    if (b.limitRequestBody !== null) out.limitRequestBody = b.limitRequestBody;
    if (b.backendType !== null) out.backendType = b.backendType;
    if (b.directoryIndex !== null) out.directoryIndex = b.directoryIndex;
    if (i > 0 && b.fcgiSetEnvIf.length > 0) out.fcgiSetEnv = out.fcgiSetEnv.concat(b.fcgiSetEnvIf);
    if (b.authz !== null) out.authz = b.authz;
    if (b.forceType !== undefined) out.forceType = b.forceType;
    if (b.addTypes.length > 0) out.addTypes = out.addTypes.concat(b.addTypes);
    if (b.fallback !== undefined) out.fallback = b.fallback;
    if (b.redirect !== null) out.redirect = b.redirect;
  }
  return out;
}

export function proxyBlocks(site: SiteConfig, plan: Plan, target: string, path: string): DirectiveBlock[] {
  const blocks: DirectiveBlock[] = [site.server];
  for (const s of plan.proxySections) if (s.target === null || s.target === target) blocks.push(s);
  for (const s of plan.locations) if (locationMatches(s, path)) blocks.push(s);
  return blocks;
}

/** The <Directory> sections that apply to directory `dir`, in merge order. */
function directorySections(plan: Plan, dir: string): ConfigSection[] {
  const dirs: ConfigSection[] = [];
  for (const s of plan.dirPlain) if (directoryMatches(s, dir)) dirs.push(s);
  for (const s of plan.dirRegex) if (directoryMatches(s, dir)) dirs.push(s);
  return dirs;
}

/** Blocks for a file `base` in directory `dir` (base '' for the directory itself). */
export function fileBlocks(site: SiteConfig, plan: Plan, dir: string, base: string, path: string): DirectiveBlock[] {
  const blocks: DirectiveBlock[] = [site.server];
  const dirs = directorySections(plan, dir);
  for (const s of dirs) blocks.push(s);
  for (const s of plan.files) {
    if (base !== '' && (s.parent === null || dirs.includes(s.parent)) && filesMatch(s, base)) blocks.push(s);
  }
  for (const s of plan.locations) if (locationMatches(s, path)) blocks.push(s);
  return blocks;
}

/** The symbolic-link rule in force in directory `dir` (server block, then its <Directory> sections). */
export function symlinkModeIn(site: SiteConfig, plan: Plan, dir: string): SymlinkMode {
  let o = mergeOptions(NO_OPTIONS, site.server.options);
  for (const s of directorySections(plan, dir)) o = mergeOptions(o, s.options);
  return symlinkMode(o);
}
