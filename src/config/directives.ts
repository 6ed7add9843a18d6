// The directive table: which directives and sections fcgate accepts, where, and what
// each one sets in the GatewayConfig under construction. mod_proxy's own directives
// are in proxy-directives.ts.
//
// Accepted and ignored (meaningless for fcgate, often pasted from Apache configs):
//   LoadModule …            every module fcgate implements is always "loaded"
//   <IfModule name>         its content is read as if the module were loaded;
//   <IfModule !name>        and its content is skipped, for the same reason
//   ProxyRequests Off       fcgate is never a forward proxy (On is an error)
//   AllowOverride None      .htaccess files are never read (any other value is an error)
//   Require all granted     access is always granted (anything else is an error)
// Everything else that fcgate does not implement stops startup with file and line.

import { BuildState, emptyBlock, type Context } from './build-state.js';
import type { ConfigNode, DirectiveNode, SectionNode } from './lexer.js';
import type { ConfigSection, GatewayConfig } from './model.js';
import { compileRegex } from './expression.js';
import { FcgiSetEnvIfRule } from './fcgi-setenv.js';
import { compileSetEnvIf } from './setenvif.js';
import { balancerMember, proxyPass, proxySectionTarget, proxySet, setHandler } from './proxy-directives.js';
import { durationMs } from './worker-keys.js';
import { adminListen, balancerManager, proxyHCExpr, proxyHCTemplate } from './balancer-directives.js';
import { LOG_DIRECTIVES } from './log-directives.js';
import { didYouMean } from '../closest-name.js';

type Handler = (st: BuildState, ctx: Context, d: DirectiveNode) => void;

const ANY = new Set(['server', 'directory', 'files', 'location', 'proxy']);
const SERVER = new Set(['server']);
const DIRS = new Set(['server', 'directory', 'files', 'location']);

interface Entry { name: string; where: Set<string>; run: Handler }

const argCount = (st: BuildState, d: DirectiveNode, name: string, min: number, max: number, what: string): void => {
  if (d.args.length < min || d.args.length > max) st.fail(d, name, what);
};

const onOff = (st: BuildState, d: DirectiveNode, name: string): boolean => {
  argCount(st, d, name, 1, 1, 'expected On or Off');
  const v = d.args[0]!.toLowerCase();
  if (v !== 'on' && v !== 'off') st.fail(d, name, `expected On or Off, got "${d.args[0]}"`);
  return v === 'on';
};

function listen(st: BuildState, _ctx: Context, d: DirectiveNode): void {
  argCount(st, d, 'Listen', 1, 2, 'expected [address:]port [protocol]');
  if (d.args[1] !== undefined && d.args[1].toLowerCase() !== 'http') {
    st.fail(d, 'Listen', `protocol "${d.args[1]}" is not supported (only http)`);
  }
  const a = d.args[0]!;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]:|([^:[\]]+):)?(\d{1,5})$/.exec(a);
  if (m === null || +m[3]! < 1 || +m[3]! > 65535) st.fail(d, 'Listen', `expected [address:]port, got "${a}"`);
  const host = m[1] ?? m[2] ?? null;
  const port = +m[3]!;
  const h = host === '*' ? null : host;
  if (st.cfg.listen.some((l) => l.host === h && l.port === port)) st.fail(d, 'Listen', `${a} is already listed`);
  st.cfg.listen.push({ host: h, port });
}

/** A user or group as Apache writes it: a name, or `#` and a number. */
function account(st: BuildState, d: DirectiveNode, name: string): string {
  argCount(st, d, name, 1, 1, `takes one argument, a ${name.toLowerCase()} name or #id`);
  const v = d.args[0]!;
  if (!/^(?:#\d{1,10}|[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?)$/.test(v)) st.fail(d, name, `"${v}" is not a ${name.toLowerCase()} name or #id`);
  return v;
}

function setEnvIf(noCase: boolean, browser: boolean): Handler {
  const name = (browser ? 'BrowserMatch' : 'SetEnvIf') + (noCase ? 'NoCase' : '');
  return (st, ctx, d) => {
    const a = browser ? ['User-Agent', ...d.args] : d.args;
    if (a.length < 3) st.fail(d, name, browser ? 'expected a regex and at least one variable' : 'expected an attribute, a regex and at least one variable');
    try { ctx.block.env.push(compileSetEnvIf(a[0]!, a[1]!, a.slice(2), noCase)); } catch (e) { st.fail(d, name, (e as Error).message); }
  };
}

const TABLE: Entry[] = [
  { name: 'Listen', where: SERVER, run: listen },
  { name: 'ServerName', where: SERVER, run: (st, _c, d) => {
    argCount(st, d, 'ServerName', 1, 1, 'takes one argument, [scheme://]name[:port]');
    const m = /^(?:https?:\/\/)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(d.args[0]!);
    if (m === null) return st.fail(d, 'ServerName', `bad server name "${d.args[0]}"`);
    st.cfg.serverName = m[1]!.toLowerCase();
  } },
  { name: 'ServerAdmin', where: SERVER, run: (st, _c, d) => {
    argCount(st, d, 'ServerAdmin', 1, 1, 'takes one argument');
    st.cfg.serverAdmin = d.args[0]!;
  } },
  { name: 'DocumentRoot', where: SERVER, run: (st, _c, d) => {
    argCount(st, d, 'DocumentRoot', 1, 1, 'takes one argument, a directory');
    st.cfg.documentRoot = st.absolutePath(d.args[0]!);
  } },
  { name: 'DirectoryIndex', where: DIRS, run: (st, ctx, d) => {
    if (d.args.length === 0) st.fail(d, 'DirectoryIndex', 'expected one or more file names, or disabled');
    const disabled = d.args.length === 1 && d.args[0]!.toLowerCase() === 'disabled';
    for (const f of d.args) if (!disabled && (f.includes('/') || f === '..' || f === '.')) st.fail(d, 'DirectoryIndex', `"${f}" must be a plain file name`);
    ctx.block.directoryIndex = disabled ? [] : d.args.slice();
  } },
  // Apache's mpm_common directives: who serves once the ports are open, and the pid file
  // (src/cli/privileges.ts and pid-file.ts act on them; names are resolved at startup).
  { name: 'User', where: SERVER, run: (st, _c, d) => { st.cfg.user = account(st, d, 'User'); } },
  { name: 'Group', where: SERVER, run: (st, _c, d) => { st.cfg.group = account(st, d, 'Group'); } },
  { name: 'PidFile', where: SERVER, run: (st, _c, d) => {
    argCount(st, d, 'PidFile', 1, 1, 'takes one argument, a file');
    st.cfg.pidFile = st.absolutePath(d.args[0]!);
  } },
  { name: 'ProxyPass', where: ANY, run: (st, ctx, d) => proxyPass(st, ctx, d, false) },
  { name: 'ProxyPassMatch', where: ANY, run: (st, ctx, d) => proxyPass(st, ctx, d, true) },
  { name: 'BalancerMember', where: ANY, run: balancerMember },
  { name: 'ProxySet', where: ANY, run: proxySet },
  { name: 'ProxyTimeout', where: SERVER, run: (st, _c, d) => {
    argCount(st, d, 'ProxyTimeout', 1, 1, 'takes one argument, seconds');
    try { st.proxyTimeoutMs = durationMs('ProxyTimeout', d.args[0]!, 's'); } catch (e) { st.fail(d, 'ProxyTimeout', (e as Error).message); }
  } },
  { name: 'Timeout', where: SERVER, run: (st, _c, d) => {
    argCount(st, d, 'Timeout', 1, 1, 'takes one argument, seconds');
    try { st.coreTimeoutMs = durationMs('Timeout', d.args[0]!, 's'); } catch (e) { st.fail(d, 'Timeout', (e as Error).message); }
  } },
  { name: 'ProxyHCExpr', where: SERVER, run: proxyHCExpr },
  { name: 'ProxyHCTemplate', where: SERVER, run: proxyHCTemplate },
  { name: 'ProxyHCTPsize', where: SERVER, run: (st, _c, d) => {
    argCount(st, d, 'ProxyHCTPsize', 1, 1, 'takes one number');
    st.cfg.ignored.push('ProxyHCTPsize (checks run on timers, not in a thread pool)');
  } },
  { name: 'BalancerManager', where: SERVER, run: balancerManager },
  { name: 'AdminListen', where: SERVER, run: adminListen },
  ...LOG_DIRECTIVES.map(([name, run]) => ({ name, where: SERVER, run })),
  { name: 'SetHandler', where: DIRS, run: (st, ctx, d) => { ctx.block.handler = setHandler(st, d); } },
  { name: 'SetEnv', where: ANY, run: (st, ctx, d) => {
    argCount(st, d, 'SetEnv', 1, 2, 'expected a variable and an optional value');
    ctx.block.env.push({ op: 'set', name: d.args[0]!, value: d.args[1] ?? '' });
  } },
  { name: 'UnsetEnv', where: ANY, run: (st, ctx, d) => {
    if (d.args.length === 0) st.fail(d, 'UnsetEnv', 'expected one or more variables');
    ctx.block.env.push({ op: 'unset', names: d.args.slice() });
  } },
  { name: 'SetEnvIf', where: ANY, run: setEnvIf(false, false) },
  { name: 'SetEnvIfNoCase', where: ANY, run: setEnvIf(true, false) },
  { name: 'BrowserMatch', where: ANY, run: setEnvIf(false, true) },
  { name: 'BrowserMatchNoCase', where: ANY, run: setEnvIf(true, true) },
  { name: 'CGIPassAuth', where: ANY, run: (st, ctx, d) => { ctx.block.cgiPassAuth = onOff(st, d, 'CGIPassAuth'); } },
  { name: 'ProxyFCGIBackendType', where: ANY, run: (st, ctx, d) => {
    argCount(st, d, 'ProxyFCGIBackendType', 1, 1, 'expected FPM or GENERIC');
    const v = d.args[0]!.toUpperCase();
    if (v !== 'FPM' && v !== 'GENERIC') return st.fail(d, 'ProxyFCGIBackendType', `expected FPM or GENERIC, got "${d.args[0]}"`);
    ctx.block.backendType = v;
  } },
  { name: 'ProxyFCGISetEnvIf', where: ANY, run: (st, ctx, d) => {
    argCount(st, d, 'ProxyFCGISetEnvIf', 2, 3, 'expected a condition, [!]variable and an optional value');
    try { ctx.block.fcgiSetEnvIf.push(new FcgiSetEnvIfRule(d.args[0]!, d.args[1]!, d.args[2])); } catch (e) { st.fail(d, 'ProxyFCGISetEnvIf', (e as Error).message); }
  } },
  // Accepted and ignored; see the file header.
  { name: 'LoadModule', where: SERVER, run: (st, _c, d) => {
    argCount(st, d, 'LoadModule', 2, 2, 'expected a module name and a file');
    st.cfg.ignored.push(`LoadModule ${d.args[0]}`);
  } },
  { name: 'ProxyRequests', where: SERVER, run: (st, _c, d) => {
    if (onOff(st, d, 'ProxyRequests')) st.fail(d, 'ProxyRequests', 'fcgate is never a forward proxy (only Off is accepted)');
    st.cfg.ignored.push('ProxyRequests Off');
  } },
  { name: 'AllowOverride', where: new Set(['directory']), run: (st, _c, d) => {
    if (d.args.length !== 1 || d.args[0]!.toLowerCase() !== 'none') st.fail(d, 'AllowOverride', 'fcgate never reads .htaccess files: only None is accepted');
    st.cfg.ignored.push('AllowOverride None');
  } },
  { name: 'Require', where: new Set(['directory', 'files', 'location', 'proxy']), run: (st, _c, d) => {
    if (d.args.length !== 2 || d.args[0]!.toLowerCase() !== 'all' || d.args[1]!.toLowerCase() !== 'granted') {
      st.fail(d, 'Require', 'access control is not implemented: only "Require all granted" is accepted');
    }
    st.cfg.ignored.push('Require all granted');
  } },
];

const BY_NAME = new Map(TABLE.map((e) => [e.name.toLowerCase(), e]));
const SECTION_NAMES = ['IfModule', 'Directory', 'DirectoryMatch', 'Files', 'FilesMatch', 'Location', 'LocationMatch', 'Proxy'];

/** Section names as written in errors. */
const SECTION_LABEL: Record<ConfigSection['kind'], string> = {
  directory: 'Directory', files: 'Files', location: 'Location', proxy: 'Proxy',
};

function section(st: BuildState, ctx: Context, s: SectionNode): void {
  const lname = s.name.toLowerCase();
  if (lname === 'ifmodule') {
    if (s.args.length !== 1) st.fail(s, '<IfModule>', 'expected one module name');
    if (s.args[0]!.startsWith('!')) return;           // "if not loaded": everything is loaded
    walk(st, ctx, s.children);
    return;
  }
  if (lname === 'virtualhost') {
    st.fail(s, '<VirtualHost>', 'not supported: fcgate serves one site; put the directives at the top level');
  }
  const kinds: Record<string, [ConfigSection['kind'], boolean]> = {
    directory: ['directory', false], directorymatch: ['directory', true],
    files: ['files', false], filesmatch: ['files', true],
    location: ['location', false], locationmatch: ['location', true],
    proxy: ['proxy', false],
  };
  const k = kinds[lname];
  if (k === undefined) st.fail(s, `<${s.name}>`, `unknown section${didYouMean(s.name, SECTION_NAMES)}`);
  const [kind, matchForm] = k;
  const label = `<${s.name}>`;
  const allowed = kind === 'files' ? ctx.kind === 'server' || ctx.kind === 'directory' : ctx.kind === 'server';
  if (!allowed) st.fail(s, label, `cannot occur within <${SECTION_LABEL[ctx.kind as ConfigSection['kind']]}> section`);
  let args = s.args;
  let regexForm = matchForm;
  if (!matchForm && args[0] === '~' && kind !== 'proxy') { regexForm = true; args = args.slice(1); }
  if (args.length !== 1) st.fail(s, label, 'expected one argument');
  const pattern = args[0]!;
  const sec: ConfigSection = {
    ...emptyBlock(), kind, pattern, regex: null, matchForm: regexForm, target: null,
    parent: ctx.section, file: s.file, line: s.line,
  };
  const fake: DirectiveNode = { type: 'directive', name: s.name, args, file: s.file, line: s.line };
  if (regexForm) {
    try { sec.regex = compileRegex(pattern); } catch (e) { st.fail(s, label, (e as Error).message); }
  } else if (kind === 'directory') {
    const abs = st.absolutePath(pattern);
    sec.pattern = abs.length > 1 ? abs.replace(/\/+$/, '') : abs;
    if (/[*?[]/.test(sec.pattern)) sec.regex = globRegex(sec.pattern, true);
  } else if (kind === 'files') {
    if (/[*?[]/.test(pattern)) sec.regex = globRegex(pattern, false);
  } else if (kind === 'location') {
    if (!pattern.startsWith('/')) st.fail(s, label, `the path must start with '/', got "${pattern}"`);
  } else {
    sec.target = proxySectionTarget(st, fake, pattern);
  }
  st.cfg.sections.push(sec);
  walk(st, { kind, section: sec, block: sec }, s.children);
}

/**
 * Apache wildcards (`*`, `?`, `[…]`, never matching '/') as an anchored RegExp. For a
 * Directory the match is a path prefix (the directory or anything below it).
 */
function globRegex(glob: string, prefix: boolean): RegExp {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else { re += '[' + glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']'; i = end; }
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(re + (prefix ? '(?:/|$)' : '$'));
}

function walk(st: BuildState, ctx: Context, nodes: ConfigNode[]): void {
  for (const n of nodes) {
    if (n.type === 'section') { section(st, ctx, n); continue; }
    const e = BY_NAME.get(n.name.toLowerCase());
    if (e === undefined) st.fail(n, n.name, `unknown directive${didYouMean(n.name, TABLE.map((t) => t.name))}`);
    if (!e.where.has(ctx.kind)) {
      st.fail(n, e.name, ctx.kind === 'server'
        ? `only allowed inside ${[...e.where].map((k) => `<${SECTION_LABEL[k as ConfigSection['kind']]}>`).join(', ')}`
        : `not allowed inside <${SECTION_LABEL[ctx.kind]}>`);
    }
    e.run(st, ctx, n);
  }
}

/** Builds the typed config from parsed nodes; relative paths are taken from `baseDir`. */
export function buildConfig(nodes: ConfigNode[], file: string, baseDir: string): GatewayConfig {
  const st = new BuildState(file, baseDir);
  walk(st, { kind: 'server', section: null, block: st.cfg.server }, nodes);
  return st.finish();
}
