// The directive table: which directives and sections fcgate accepts, where, and what
// each one sets in the GatewayConfig under construction. mod_proxy's own directives
// are in proxy-directives.ts.
//
// Accepted and ignored (meaningless for fcgate, often pasted from Apache configs):
//   LoadModule …            every module fcgate implements is always "loaded"
//   <IfModule name>         its content is read as if the module were loaded;
//   <IfModule !name>        and its content is skipped, for the same reason
//   ProxyRequests Off       fcgate is never a forward proxy (On is an error)
//   AllowOverride None      .htaccess files are never read (other values: a warning saying so)
// Everything else that fcgate does not implement stops startup with file and line.
// <VirtualHost>, Include, mod_alias, Options, Require, … are in site-directives.ts.

// Over 400 lines on purpose: the directive table and the section walk.
import { globRegex, hasGlob } from './glob.js';
import type { AuthzContainer } from './authz.js';
import { BuildState, emptyBlock, emptySite, type Context, type PendingVHost } from './build-state.js';
import type { ConfigFiles } from './config-files.js';
import type { ConfigNode, DirectiveNode, SectionNode } from './lexer.js';
import { DEFAULT_REQUEST_LIMITS, type ConfigSection, type GatewayConfig, type RequestLimits } from './model.js';
import { checkSectionAuthz, expandVariables, SITE_ENTRIES, type Entry, type Handler } from './site-directives.js';
import { finishSites } from './sites.js';
import { parseVHostAddress } from './vhost.js';
import { compileRegex } from './expression.js';
import { FcgiSetEnvIfRule } from './fcgi-setenv.js';
import { compileSetEnvIf } from './setenvif.js';
import { balancerMember, proxyPass, proxySectionTarget, proxySet, setHandler } from './proxy-directives.js';
import { durationMs } from './worker-keys.js';
import { adminListen, balancerManager, proxyHCExpr, proxyHCTemplate } from './balancer-directives.js';
import { LOG_DIRECTIVES } from './log-directives.js';
import { didYouMean } from '../closest-name.js';

const ANY = new Set(['server', 'vhost', 'directory', 'files', 'location', 'proxy']);
const SERVER = new Set(['server']);
const SITE = new Set(['server', 'vhost']);
const DIRS = new Set(['server', 'vhost', 'directory', 'files', 'location']);

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
  const proto = d.args[1]?.toLowerCase();
  if (proto !== undefined && proto !== 'http' && proto !== 'https') {
    st.fail(d, 'Listen', `protocol "${d.args[1]}" is not supported (http or https)`);
  }
  const a = d.args[0]!;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]:|([^:[\]]+):)?(\d{1,5})$/.exec(a);
  if (m === null || +m[3]! < 1 || +m[3]! > 65535) st.fail(d, 'Listen', `expected [address:]port, got "${a}"`);
  const host = m[1] ?? m[2] ?? null;
  const port = +m[3]!;
  const h = host === '*' ? null : host;
  if (st.cfg.listen.some((l) => l.host === h && l.port === port)) st.fail(d, 'Listen', `${a} is already listed`);
  // As Apache: without a protocol, port 443 is https and every other port http.
  const protocol = proto === 'https' || (proto === undefined && port === 443) ? 'https' : 'http';
  st.cfg.listen.push(protocol === 'https' ? { host: h, port, protocol } : { host: h, port });
  st.listenLines.push({ file: d.file, line: d.line });
}

/** A user or group as Apache writes it: a name, or `#` and a number. */
function account(st: BuildState, d: DirectiveNode, name: string): string {
  argCount(st, d, name, 1, 1, `takes one argument, a ${name.toLowerCase()} name or #id`);
  const v = d.args[0]!;
  if (!/^(?:#\d{1,10}|[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?)$/.test(v))
    st.fail(d, name, `"${v}" is not a ${name.toLowerCase()} name or #id`);
  return v;
}

function setEnvIf(noCase: boolean, browser: boolean): Handler {
  const name = (browser ? 'BrowserMatch' : 'SetEnvIf') + (noCase ? 'NoCase' : '');
  return (st, ctx, d) => {
    const a = browser ? ['User-Agent', ...d.args] : d.args;
    if (a.length < 3)
      st.fail(
        d,
        name,
        browser
          ? 'expected a regex and at least one variable'
          : 'expected an attribute, a regex and at least one variable',
      );
    try {
      ctx.block.env.push(compileSetEnvIf(a[0]!, a[1]!, a.slice(2), noCase));
    } catch (e) {
      st.fail(d, name, (e as Error).message);
    }
  };
}

const TABLE: Entry[] = [
  { name: 'Listen', where: SERVER, run: listen },
  {
    name: 'ServerName',
    where: SITE,
    run: (st, ctx, d) => {
      argCount(st, d, 'ServerName', 1, 1, 'takes one argument, [scheme://]name[:port]');
      const m = /^(?:https?:\/\/)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(d.args[0]!);
      if (m === null) return st.fail(d, 'ServerName', `bad server name "${d.args[0]}"`);
      ctx.site.serverName = m[1]!.toLowerCase();
      if (ctx.vhost !== null) ctx.vhost.serverName = ctx.site.serverName;
    },
  },
  {
    name: 'ServerAdmin',
    where: SITE,
    run: (st, ctx, d) => {
      argCount(st, d, 'ServerAdmin', 1, 1, 'takes one argument');
      ctx.site.serverAdmin = d.args[0]!;
    },
  },
  {
    name: 'DocumentRoot',
    where: SITE,
    run: (st, ctx, d) => {
      argCount(st, d, 'DocumentRoot', 1, 1, 'takes one argument, a directory');
      ctx.site.documentRoot = st.absolutePath(d.args[0]!);
    },
  },
  {
    name: 'DirectoryIndex',
    where: DIRS,
    run: (st, ctx, d) => {
      if (d.args.length === 0) st.fail(d, 'DirectoryIndex', 'expected one or more file names, or disabled');
      const disabled = d.args.length === 1 && d.args[0]!.toLowerCase() === 'disabled';
      for (const f of d.args)
        if (!disabled && (f.includes('/') || f === '..' || f === '.'))
          st.fail(d, 'DirectoryIndex', `"${f}" must be a plain file name`);
      ctx.block.directoryIndex = disabled ? [] : d.args.slice();
    },
  },
  // Apache's mpm_common directives: who serves once the ports are open, and the pid file
  // (src/cli/privileges.ts and pid-file.ts act on them; names are resolved at startup).
  {
    name: 'User',
    where: SERVER,
    run: (st, _c, d) => {
      st.cfg.user = account(st, d, 'User');
    },
  },
  {
    name: 'Group',
    where: SERVER,
    run: (st, _c, d) => {
      st.cfg.group = account(st, d, 'Group');
    },
  },
  {
    name: 'PidFile',
    where: SERVER,
    run: (st, _c, d) => {
      argCount(st, d, 'PidFile', 1, 1, 'takes one argument, a file');
      st.cfg.pidFile = st.absolutePath(d.args[0]!);
    },
  },
  { name: 'ProxyPass', where: ANY, run: (st, ctx, d) => proxyPass(st, ctx, d, false) },
  { name: 'ProxyPassMatch', where: ANY, run: (st, ctx, d) => proxyPass(st, ctx, d, true) },
  { name: 'BalancerMember', where: ANY, run: balancerMember },
  { name: 'ProxySet', where: ANY, run: proxySet },
  {
    name: 'ProxyTimeout',
    where: SERVER,
    run: (st, _c, d) => {
      argCount(st, d, 'ProxyTimeout', 1, 1, 'takes one argument, seconds');
      try {
        st.proxyTimeoutMs = durationMs('ProxyTimeout', d.args[0]!, 's');
      } catch (e) {
        st.fail(d, 'ProxyTimeout', (e as Error).message);
      }
    },
  },
  {
    name: 'Timeout',
    where: SERVER,
    run: (st, _c, d) => {
      argCount(st, d, 'Timeout', 1, 1, 'takes one argument, seconds');
      try {
        st.coreTimeoutMs = durationMs('Timeout', d.args[0]!, 's');
      } catch (e) {
        st.fail(d, 'Timeout', (e as Error).message);
      }
    },
  },
  { name: 'ProxyHCExpr', where: SERVER, run: proxyHCExpr },
  { name: 'ProxyHCTemplate', where: SERVER, run: proxyHCTemplate },
  {
    name: 'ProxyHCTPsize',
    where: SERVER,
    run: (st, _c, d) => {
      argCount(st, d, 'ProxyHCTPsize', 1, 1, 'takes one number');
      st.cfg.ignored.push('ProxyHCTPsize (checks run on timers, not in a thread pool)');
    },
  },
  { name: 'BalancerManager', where: SERVER, run: balancerManager },
  { name: 'AdminListen', where: SERVER, run: adminListen },
  ...LOG_DIRECTIVES.map(([name, run]) => ({ name, where: SERVER, run })),
  {
    name: 'SetHandler',
    where: DIRS,
    run: (st, ctx, d) => {
      ctx.block.handler = setHandler(st, ctx, d);
    },
  },
  {
    name: 'SetEnv',
    where: ANY,
    run: (st, ctx, d) => {
      argCount(st, d, 'SetEnv', 1, 2, 'expected a variable and an optional value');
      ctx.block.env.push({ op: 'set', name: d.args[0]!, value: d.args[1] ?? '' });
    },
  },
  {
    name: 'UnsetEnv',
    where: ANY,
    run: (st, ctx, d) => {
      if (d.args.length === 0) st.fail(d, 'UnsetEnv', 'expected one or more variables');
      ctx.block.env.push({ op: 'unset', names: d.args.slice() });
    },
  },
  { name: 'SetEnvIf', where: ANY, run: setEnvIf(false, false) },
  { name: 'SetEnvIfNoCase', where: ANY, run: setEnvIf(true, false) },
  { name: 'BrowserMatch', where: ANY, run: setEnvIf(false, true) },
  { name: 'BrowserMatchNoCase', where: ANY, run: setEnvIf(true, true) },
  {
    name: 'LimitRequestBody',
    where: ANY,
    run: (st, ctx, d) => {
      ctx.block.limitRequestBody = limitValue(st, d, 'LimitRequestBody', 2 ** 53 - 1);
    },
  },
  {
    name: 'LimitRequestLine',
    where: SERVER,
    run: (st, _c, d) => {
      limits(st).line = limitValue(st, d, 'LimitRequestLine', 65536, 1);
    },
  },
  {
    name: 'LimitRequestFieldSize',
    where: SERVER,
    run: (st, _c, d) => {
      limits(st).fieldSize = limitValue(st, d, 'LimitRequestFieldSize', 65536, 1);
    },
  },
  {
    name: 'LimitRequestFields',
    where: SERVER,
    run: (st, _c, d) => {
      limits(st).fields = limitValue(st, d, 'LimitRequestFields', 32767, 1);
    },
  },
  {
    name: 'CGIPassAuth',
    where: ANY,
    run: (st, ctx, d) => {
      ctx.block.cgiPassAuth = onOff(st, d, 'CGIPassAuth');
    },
  },
  {
    name: 'ProxyFCGIBackendType',
    where: ANY,
    run: (st, ctx, d) => {
      argCount(st, d, 'ProxyFCGIBackendType', 1, 1, 'expected FPM or GENERIC');
      const v = d.args[0]!.toUpperCase();
      if (v !== 'FPM' && v !== 'GENERIC')
        return st.fail(d, 'ProxyFCGIBackendType', `expected FPM or GENERIC, got "${d.args[0]}"`);
      ctx.block.backendType = v;
    },
  },
  {
    name: 'ProxyFCGISetEnvIf',
    where: ANY,
    run: (st, ctx, d) => {
      argCount(st, d, 'ProxyFCGISetEnvIf', 2, 3, 'expected a condition, [!]variable and an optional value');
      try {
        ctx.block.fcgiSetEnvIf.push(new FcgiSetEnvIfRule(d.args[0]!, d.args[1]!, d.args[2]));
      } catch (e) {
        st.fail(d, 'ProxyFCGISetEnvIf', (e as Error).message);
      }
    },
  },
  // Accepted and ignored; see the file header.
  {
    name: 'LoadModule',
    where: SERVER,
    run: (st, _c, d) => {
      argCount(st, d, 'LoadModule', 2, 2, 'expected a module name and a file');
      st.cfg.ignored.push(`LoadModule ${d.args[0]}`);
    },
  },
  {
    name: 'ProxyRequests',
    where: SITE,
    run: (st, _c, d) => {
      if (onOff(st, d, 'ProxyRequests'))
        st.fail(d, 'ProxyRequests', 'fcgate is never a forward proxy (only Off is accepted)');
      st.cfg.ignored.push('ProxyRequests Off');
    },
  },
  {
    name: 'AllowOverride',
    where: new Set(['directory']),
    run: (st, _c, d) => {
      if (d.args.length === 0) st.fail(d, 'AllowOverride', 'expected None, All or directive groups');
      if (d.args.length === 1 && d.args[0]!.toLowerCase() === 'none') {
        st.cfg.ignored.push('AllowOverride None');
        return;
      }
      for (const a of d.args) {
        if (!/^(all|none|authconfig|fileinfo|indexes|limit|options(=[a-z,]+)?|nonfatal=[a-z]+)$/i.test(a))
          st.fail(d, 'AllowOverride', `unknown value "${a}"`);
      }
      st.warn(
        d,
        'AllowOverride',
        `${d.args.join(' ')}: fcgate never reads .htaccess files, so the rules in them (access denials included) `
          + ('are NOT applied: put them in this configuration (e.g. FallbackResource /index.php instead of '
            + "WordPress's rewrite rules)"),
      );
    },
  },
  ...SITE_ENTRIES,
];

/**
 * Entries by name. A name with two entries for different contexts (ErrorLog, CustomLog,
 * LogLevel: fcgate's own logs at the top level, a site's inside <VirtualHost>) becomes one
 * entry that runs the handler written for the context it is in.
 */
const BY_NAME = new Map<string, Entry>();
for (const e of TABLE) {
  const key = e.name.toLowerCase();
  const prev = BY_NAME.get(key);
  if (prev === undefined) {
    BY_NAME.set(key, e);
    continue;
  }
  BY_NAME.set(key, {
    name: e.name,
    where: new Set([...prev.where, ...e.where]),
    run: (st, ctx, d) => (e.where.has(ctx.kind) ? e.run : prev.run)(st, ctx, d),
  });
}
const SECTION_NAMES = [
  'IfModule',
  'Directory',
  'DirectoryMatch',
  'Files',
  'FilesMatch',
  'Location',
  'LocationMatch',
  'Proxy',
];

/** Section names as written in errors. */
const SECTION_LABEL: Record<ConfigSection['kind'], string> = {
  directory: 'Directory',
  files: 'Files',
  location: 'Location',
  proxy: 'Proxy',
};

/** `<VirtualHost addr:port …>`: a site of its own, merged with the main server's at the end. */
function virtualHost(st: BuildState, ctx: Context, s: SectionNode): void {
  if (ctx.kind !== 'server')
    st.fail(
      s,
      '<VirtualHost>',
      `cannot occur within ${ctx.kind === 'vhost' ? '<VirtualHost>' : `<${SECTION_LABEL[ctx.kind]}>`} section`,
    );
  if (s.args.length === 0) st.fail(s, '<VirtualHost>', 'expected one or more addresses, e.g. <VirtualHost *:80>');
  const addresses = s.args.map((a) => {
    try {
      return parseVHostAddress(a);
    } catch (e) {
      return st.fail(s, '<VirtualHost>', (e as Error).message);
    }
  });
  const site = emptySite();
  const vhost: PendingVHost = { addresses, serverName: null, aliases: [], site, file: s.file, line: s.line };
  st.vhosts.push(vhost);
  walk(st, { kind: 'vhost', section: null, block: site.server, site, vhost, authz: null }, s.children);
}

/** `<RequireAll>`, `<RequireAny>`, `<RequireNone>` inside a section (or another of them). */
function requireContainer(st: BuildState, ctx: Context, s: SectionNode, kind: 'all' | 'any' | 'none'): void {
  const label = `<${s.name}>`;
  if (ctx.section === null) st.fail(s, label, 'only inside <Directory>, <Files>, <Location> or <Proxy>');
  if (s.args.length !== 0) st.fail(s, label, 'takes no argument');
  const node: AuthzContainer = { kind, children: [], file: s.file, line: s.line };
  walk(st, { ...ctx, authz: node }, s.children);
  checkSectionAuthz(st, { authz: node }, s, label);
  if (kind !== 'any') {
    // checkSectionAuthz only checks RequireAny; RequireAll / RequireNone with only negations grant nothing.
    if (node.children.length === 0 || node.children.every((c) => c.kind === 'require' && c.negate)) {
      st.fail(
        s,
        label,
        node.children.length === 0
          ? 'contains no Require line'
          : 'contains only negated Require lines, which can never grant access',
      );
    }
  }
  if (ctx.authz !== null) {
    ctx.authz.children.push(node);
    return;
  }
  const block = ctx.block;
  if (block.authz === null) block.authz = { kind: 'any', children: [], file: s.file, line: s.line };
  block.authz.children.push(node);
}

function section(st: BuildState, ctx: Context, s: SectionNode): void {
  const lname = s.name.toLowerCase();
  if (lname === 'ifmodule') {
    if (s.args.length !== 1) st.fail(s, '<IfModule>', 'expected one module name');
    if (s.args[0]!.startsWith('!')) return; // "if not loaded": everything is loaded
    walk(st, ctx, s.children);
    return;
  }
  if (lname === 'ifdefine') {
    if (s.args.length !== 1) st.fail(s, '<IfDefine>', 'expected one name, or !name');
    const name = s.args[0]!.replace(/^!/, '');
    if (st.defines.has(name) !== s.args[0]!.startsWith('!')) walk(st, ctx, s.children);
    return;
  }
  if (lname === 'virtualhost') {
    virtualHost(st, ctx, s);
    return;
  }
  if (lname === 'requireall' || lname === 'requireany' || lname === 'requirenone') {
    requireContainer(st, ctx, s, lname === 'requireall' ? 'all' : lname === 'requireany' ? 'any' : 'none');
    return;
  }
  const kinds: Record<string, [ConfigSection['kind'], boolean]> = {
    directory: ['directory', false],
    directorymatch: ['directory', true],
    files: ['files', false],
    filesmatch: ['files', true],
    location: ['location', false],
    locationmatch: ['location', true],
    proxy: ['proxy', false],
  };
  const k = kinds[lname];
  if (k === undefined) st.fail(s, `<${s.name}>`, `unknown section${didYouMean(s.name, SECTION_NAMES)}`);
  const [kind, matchForm] = k;
  const label = `<${s.name}>`;
  const top = ctx.kind === 'server' || ctx.kind === 'vhost';
  const allowed = kind === 'files' ? top || ctx.kind === 'directory' : top;
  if (!allowed) st.fail(s, label, `cannot occur within <${SECTION_LABEL[ctx.kind as ConfigSection['kind']]}> section`);
  let args = s.args;
  let regexForm = matchForm;
  if (!matchForm && args[0] === '~' && kind !== 'proxy') {
    regexForm = true;
    args = args.slice(1);
  }
  if (args.length !== 1) st.fail(s, label, 'expected one argument');
  const pattern = args[0]!;
  const sec: ConfigSection = {
    ...emptyBlock(),
    kind,
    pattern,
    regex: null,
    matchForm: regexForm,
    target: null,
    parent: ctx.section,
    file: s.file,
    line: s.line,
  };
  const fake: DirectiveNode = { type: 'directive', name: s.name, args, file: s.file, line: s.line };
  if (regexForm) {
    try {
      sec.regex = compileRegex(pattern);
    } catch (e) {
      st.fail(s, label, (e as Error).message);
    }
  } else if (kind === 'directory') {
    const abs = st.absolutePath(pattern);
    sec.pattern = abs.length > 1 ? abs.replace(/\/+$/, '') : abs;
    if (hasGlob(sec.pattern)) sec.regex = globRegex(sec.pattern, true);
  } else if (kind === 'files') {
    if (hasGlob(pattern)) sec.regex = globRegex(pattern);
  } else if (kind === 'location') {
    if (!pattern.startsWith('/')) st.fail(s, label, `the path must start with '/', got "${pattern}"`);
  } else {
    sec.target = proxySectionTarget(st, ctx, fake, pattern);
  }
  ctx.site.sections.push(sec);
  walk(st, { kind, section: sec, block: sec, site: ctx.site, vhost: ctx.vhost, authz: null }, s.children);
  checkSectionAuthz(st, sec, s, `<${s.name} ${s.args.join(' ')}>`);
}

/** How a context is named in errors. */
function contextLabel(kind: string): string {
  if (kind === 'server') return 'the top level';
  if (kind === 'vhost') return '<VirtualHost>';
  return `<${SECTION_LABEL[kind as ConfigSection['kind']]}>`;
}

function walk(st: BuildState, ctx: Context, nodes: ConfigNode[]): void {
  for (const n of nodes) {
    if (n.type === 'section') {
      const args = expandVariables(st, { file: n.file, line: n.line, name: `<${n.name}>` }, n.args);
      section(st, ctx, args === n.args ? n : { ...n, args });
      continue;
    }
    const e = BY_NAME.get(n.name.toLowerCase());
    if (e === undefined)
      st.fail(
        n,
        n.name,
        `unknown directive${didYouMean(
          n.name,
          TABLE.map((t) => t.name),
        )}`,
      );
    if (!e.where.has(ctx.kind)) {
      const where = [...e.where].map(contextLabel);
      st.fail(
        n,
        e.name,
        ctx.kind === 'server'
          ? `only allowed inside ${where.join(', ')}`
          : `not allowed inside ${contextLabel(ctx.kind)} (allowed: ${where.join(', ')})`,
      );
    }
    const args = expandVariables(st, n, n.args);
    e.run(st, ctx, args === n.args ? n : { ...n, args });
  }
}

/**
 * Builds the typed config from parsed nodes; relative paths are taken from `baseDir` until
 * a ServerRoot says otherwise. `files` reads what Include and the certificate and proxy-list
 * directives name (the disk, or a recording: config-files.ts).
 */
export function buildConfig(nodes: ConfigNode[], file: string, baseDir: string, files?: ConfigFiles): GatewayConfig {
  const st = new BuildState(file, baseDir, files);
  st.walkNodes = (ctx, more) => walk(st, ctx, more);
  walk(st, { kind: 'server', section: null, block: st.cfg.server, site: st.cfg, vhost: null, authz: null }, nodes);
  const cfg = st.finish();
  finishSites(st);
  return cfg;
}

/** The request-head limits of the configuration, made on first use (Apache's defaults). */
function limits(st: BuildState): RequestLimits {
  return (st.cfg.requestLimits ??= { ...DEFAULT_REQUEST_LIMITS });
}

/** A Limit* value: a whole number of bytes (or fields) in min..max; Apache takes plain digits. */
function limitValue(st: BuildState, d: DirectiveNode, name: string, max: number, min = 0): number {
  argCount(st, d, name, 1, 1, 'takes one number');
  const v = d.args[0]!;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
    st.fail(d, name, `expected a whole number in ${min}..${max}, got "${v}"`);
  return Number(v);
}
