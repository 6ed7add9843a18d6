// The directives of several sites and of the safe static defaults (issue 11 §4, issue 9
// item 8): ServerRoot, Define, Include, ServerAlias, mod_alias (Alias, Redirect …), Options,
// Require, AddType / ForceType, FallbackResource, the per-site log lines, mod_ssl and
// mod_remoteip. Each handler writes into the current context's site or block; sites.ts
// merges a vhost's site with the main server's at the end. directives.ts holds the table of
// the older directives and adds these entries to it.

import { parseRedirect, type AliasRule } from './alias.js';
import { checkContainer, parseRequire } from './authz.js';
import { parseNetwork } from './cidr.js';
import type { BuildState, Context } from './build-state.js';
import { compileRegex } from './expression.js';
import { expandInclude } from './include.js';
import { parseTree, type DirectiveNode } from './lexer.js';
import { parseOptions, unimplemented } from './options.js';
import { emptySsl, parseProtocols, type PemFile, type SslSettings } from './ssl.js';
import type { SiteConfig } from './model.js';

export type Handler = (st: BuildState, ctx: Context, d: DirectiveNode) => void;
export interface Entry {
  name: string;
  where: ReadonlySet<string>;
  run: Handler;
}

/** Context kinds. */
const SERVER: ReadonlySet<string> = new Set(['server']);
const SITE: ReadonlySet<string> = new Set(['server', 'vhost']);
const VHOST: ReadonlySet<string> = new Set(['vhost']);
const DIRS: ReadonlySet<string> = new Set(['server', 'vhost', 'directory', 'files', 'location']);
const SECTIONS: ReadonlySet<string> = new Set(['directory', 'files', 'location', 'proxy']);
const EVERYWHERE: ReadonlySet<string> = new Set(['server', 'vhost', 'directory', 'files', 'location', 'proxy']);

const count = (st: BuildState, d: DirectiveNode, min: number, max: number, what: string): void => {
  if (d.args.length < min || d.args.length > max) st.fail(d, d.name, what);
};

/** Runs `f`, turning its Error into a ConfigError at the directive's line. */
function checked<T>(st: BuildState, d: DirectiveNode, f: () => T): T {
  try {
    return f();
  } catch (e) {
    return st.fail(d, d.name, (e as Error).message);
  }
}

// ---- files: ServerRoot, Define, Include -------------------------------------------------

function include(optional: boolean): Handler {
  return (st, ctx, d) => {
    count(st, d, 1, 1, 'takes one file, directory or wildcard pattern');
    const paths = checked(st, d, () => expandInclude(d.args[0]!, st.serverRoot, st.files, optional));
    for (const path of paths) {
      if (st.includeStack.includes(path) || st.includeStack.length > 64) {
        st.fail(d, d.name, `${path} includes itself (through ${st.includeStack.join(' → ')})`);
      }
      const text = checked(st, d, () => st.files.read(path));
      st.includeStack.push(path);
      st.walkNodes(ctx, parseTree(text, path));
      st.includeStack.pop();
    }
  };
}

/** `${NAME}` in arguments: a Define, else the environment; unknown ones stay as written, with a warning (AH00111). */
export function expandVariables(
  st: BuildState,
  d: { file: string; line: number; name: string },
  args: string[],
): string[] {
  return args.map((a) =>
    a.includes('${')
      ? a.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => {
          const v = st.defines.get(name) ?? process.env[name];
          if (v === undefined) {
            st.warn(
              d,
              d.name,
              `\${${name}} is not defined (Define ${name} …, or set it in the environment); kept as written`,
            );
            return whole;
          }
          return v;
        })
      : a,
  );
}

// ---- vhost names, aliases, redirects -----------------------------------------------------

function redirect(match: boolean, fixed: number | null): Handler {
  return (st, ctx, d) => {
    const inSection = ctx.kind !== 'server' && ctx.kind !== 'vhost';
    if (inSection && match) st.fail(d, d.name, 'only at server or <VirtualHost> level (use Redirect inside a section)');
    const r = checked(st, d, () => parseRedirect(d.args, match, inSection, fixed, d.file, d.line));
    if (inSection) ctx.block.redirect = r;
    else ctx.site.redirects.push(r);
  };
}

function alias(match: boolean): Handler {
  return (st, ctx, d) => {
    count(st, d, 2, 2, match ? 'expected a regex and a file path' : 'expected a URL-path and a file or directory path');
    const [pattern, target] = d.args as [string, string];
    let regex: RegExp | null = null;
    if (match) regex = checked(st, d, () => compileRegex(pattern));
    else if (!pattern.startsWith('/')) st.fail(d, d.name, `the URL-path must start with '/', got "${pattern}"`);
    const rule: AliasRule = {
      pattern,
      regex,
      target: match ? target : st.absolutePath(target),
      file: d.file,
      line: d.line,
    };
    if (!target.startsWith('/') && match) st.fail(d, d.name, `the target must be an absolute path, got "${target}"`);
    ctx.site.aliases.push(rule);
  };
}

// ---- per-directory: Options, Require, types, fallback ------------------------------------

const options: Handler = (st, ctx, d) => {
  const line = checked(st, d, () => parseOptions(d.args, d.file, d.line));
  ctx.block.options.push(line);
  const off = unimplemented(line);
  if (off.length > 0) st.warn(d, 'Options', `${off.join(', ')}: not implemented in fcgate, no effect`);
};

const require: Handler = (st, ctx, d) => {
  const node = checked(st, d, () => parseRequire(d.args, d.file, d.line));
  if (ctx.authz !== null) {
    ctx.authz.children.push(node);
    return;
  }
  const block = ctx.block;
  if (block.authz === null) block.authz = { kind: 'any', children: [], file: d.file, line: d.line };
  block.authz.children.push(node);
};

/** Checks a section's implicit RequireAny once its lines are read (called by directives.ts). */
export function checkSectionAuthz(
  st: BuildState,
  block: { authz: Context['authz'] },
  where: { file: string; line: number },
  label: string,
): void {
  const a = block.authz;
  if (a === null || a.kind !== 'any') return;
  try {
    checkContainer(a, label);
  } catch (e) {
    st.fail(where, label, (e as Error).message);
  }
}

const addType: Handler = (st, ctx, d) => {
  if (d.args.length < 2) st.fail(d, 'AddType', 'expected a media type and one or more extensions');
  const type = d.args[0]!;
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*;.*)?$/.test(type))
    st.fail(d, 'AddType', `"${type}" is not a media type`);
  for (const e of d.args.slice(1)) {
    const ext = e.replace(/^\./, '').toLowerCase();
    if (ext === '' || ext.includes('/')) st.fail(d, 'AddType', `"${e}" is not an extension`);
    ctx.block.addTypes.push([ext, type]);
  }
};

const forceType: Handler = (st, ctx, d) => {
  count(st, d, 1, 1, 'expected a media type or None');
  const v = d.args[0]!;
  if (v.toLowerCase() === 'none') {
    ctx.block.forceType = null;
    return;
  }
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*;.*)?$/.test(v))
    st.fail(d, 'ForceType', `"${v}" is not a media type`);
  ctx.block.forceType = v;
};

const fallback: Handler = (st, ctx, d) => {
  count(st, d, 1, 1, 'expected a local URL-path (e.g. /index.php) or disabled');
  const v = d.args[0]!;
  if (v.toLowerCase() === 'disabled') {
    ctx.block.fallback = null;
    return;
  }
  if (!v.startsWith('/'))
    st.fail(
      d,
      'FallbackResource',
      `expected a local URL-path starting with '/', got "${v}" (a relative one would depend on the request's `
        + `directory)`,
    );
  if (v.includes('?') || v.includes('#')) st.fail(d, 'FallbackResource', 'the URL-path takes no query string');
  ctx.block.fallback = v;
};

// ---- per-site logs (issue 12 applies them) -----------------------------------------------

function logLine(kind: 'errorLog' | 'customLog' | 'logLevel'): Handler {
  return (st, ctx, d) => {
    if (d.args.length === 0) st.fail(d, d.name, 'expected arguments');
    if (kind === 'customLog' && d.args.length < 2)
      st.fail(d, d.name, 'expected a file (or "|command") and a format or nickname');
    const l = { args: d.args.slice(), file: d.file, line: d.line };
    if (kind === 'errorLog') ctx.site.siteLogs.errorLog = l;
    else if (kind === 'logLevel') ctx.site.siteLogs.logLevel = l;
    else ctx.site.siteLogs.customLogs.push(l);
    st.warn(
      d,
      d.name,
      `${d.args.join(' ')}: per-site logs are not applied yet (issue 12); `
        + "this site's requests and errors go to fcgate's own logs",
    );
  };
}

// ---- mod_ssl ------------------------------------------------------------------------------

function sslOf(site: SiteConfig): SslSettings {
  return (site.ssl ??= emptySsl());
}

function pemFile(which: 'certificateFile' | 'keyFile' | 'chainFile'): Handler {
  return (st, ctx, d) => {
    count(st, d, 1, 1, 'takes one file');
    const path = st.absolutePath(d.args[0]!);
    if (st.files.kind(path) !== 'file') st.fail(d, d.name, `${path} does not exist or is not a file`);
    const ref: PemFile = { path, file: d.file, line: d.line };
    sslOf(ctx.site)[which] = ref;
  };
}

const sslEngine: Handler = (st, ctx, d) => {
  count(st, d, 1, 1, 'expected on or off');
  const v = d.args[0]!.toLowerCase();
  if (v === 'optional') st.fail(d, 'SSLEngine', 'optional (TLS upgrade, RFC 2817) is not supported: on or off');
  if (v !== 'on' && v !== 'off') st.fail(d, 'SSLEngine', `expected on or off, got "${d.args[0]}"`);
  const ssl = sslOf(ctx.site);
  ssl.engine = v === 'on';
  ssl.engineAt = { file: d.file, line: d.line };
};

const sslProtocol: Handler = (st, ctx, d) => {
  sslOf(ctx.site).protocols = checked(st, d, () => parseProtocols(d.args));
};

const sslCipherSuite: Handler = (st, ctx, d) => {
  count(st, d, 1, 2, 'expected [protocol] cipher-spec');
  const ssl = sslOf(ctx.site);
  if (d.args.length === 2) {
    const p = d.args[0]!.toUpperCase();
    if (p === 'TLSV1.3') ssl.cipherSuiteTls13 = d.args[1]!;
    else if (p === 'SSL') ssl.cipherSuite = d.args[1]!;
    else st.fail(d, 'SSLCipherSuite', `the protocol must be SSL or TLSv1.3, got "${d.args[0]}"`);
  } else {
    ssl.cipherSuite = d.args[0]!;
  }
};

// ---- mod_remoteip -------------------------------------------------------------------------

function remoteIpOf(site: SiteConfig, d: DirectiveNode): NonNullable<SiteConfig['remoteIp']> {
  return (site.remoteIp ??= { header: '', proxies: [], proxiesHeader: null, file: d.file, line: d.line });
}

const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function remoteIpProxy(internal: boolean, list: boolean): Handler {
  return (st, ctx, d) => {
    if (d.args.length === 0)
      st.fail(d, d.name, list ? 'expected a file' : 'expected one or more addresses or networks');
    let words = d.args;
    if (list) {
      count(st, d, 1, 1, 'takes one file');
      const path = st.absolutePath(d.args[0]!);
      const text = checked(st, d, () => st.files.read(path));
      words = text
        .split('\n')
        .map((l) => l.replace(/#.*/, '').trim())
        .filter((l) => l !== '')
        .flatMap((l) => l.split(/\s+/));
    }
    const r = remoteIpOf(ctx.site, d);
    for (const w of words) r.proxies.push({ net: checked(st, d, () => parseNetwork(w)), internal });
  };
}

const remoteIpHeader: Handler = (st, ctx, d) => {
  count(st, d, 1, 1, 'takes one header name');
  if (!headerName.test(d.args[0]!)) st.fail(d, d.name, `"${d.args[0]}" is not a header name`);
  const r = remoteIpOf(ctx.site, d);
  r.header = d.args[0]!.toLowerCase();
  r.file = d.file;
  r.line = d.line;
};

const remoteIpProxiesHeader: Handler = (st, ctx, d) => {
  count(st, d, 1, 1, 'takes one header name');
  if (!headerName.test(d.args[0]!)) st.fail(d, d.name, `"${d.args[0]}" is not a header name`);
  remoteIpOf(ctx.site, d).proxiesHeader = d.args[0]!;
};

// ---- the table ----------------------------------------------------------------------------

export const SITE_ENTRIES: Entry[] = [
  {
    name: 'ServerRoot',
    where: SERVER,
    run: (st, _c, d) => {
      count(st, d, 1, 1, 'takes one directory');
      const dir = st.absolutePath(d.args[0]!);
      if (st.files.kind(dir) !== 'dir') st.fail(d, 'ServerRoot', `${dir} is not a directory`);
      st.serverRoot = dir;
    },
  },
  {
    name: 'Define',
    where: SITE,
    run: (st, _c, d) => {
      count(st, d, 1, 2, 'expected a name and an optional value');
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(d.args[0]!)) st.fail(d, 'Define', `"${d.args[0]}" is not a variable name`);
      st.defines.set(d.args[0]!, d.args[1] ?? '');
    },
  },
  {
    name: 'UnDefine',
    where: SITE,
    run: (st, _c, d) => {
      count(st, d, 1, 1, 'takes one name');
      st.defines.delete(d.args[0]!);
    },
  },
  { name: 'Include', where: EVERYWHERE, run: include(false) },
  { name: 'IncludeOptional', where: EVERYWHERE, run: include(true) },
  {
    name: 'ServerAlias',
    where: VHOST,
    run: (st, ctx, d) => {
      if (d.args.length === 0) st.fail(d, 'ServerAlias', 'expected one or more host names (wildcards * and ? allowed)');
      for (const a of d.args)
        if (!/^[A-Za-z0-9.*?_-]+$/.test(a)) st.fail(d, 'ServerAlias', `"${a}" is not a host name pattern`);
      ctx.vhost!.aliases.push(...d.args);
    },
  },
  { name: 'Alias', where: SITE, run: alias(false) },
  { name: 'AliasMatch', where: SITE, run: alias(true) },
  { name: 'Redirect', where: new Set(['server', 'vhost', 'location', 'directory']), run: redirect(false, null) },
  { name: 'RedirectMatch', where: SITE, run: redirect(true, null) },
  { name: 'RedirectPermanent', where: SITE, run: redirect(false, 301) },
  { name: 'RedirectTemp', where: SITE, run: redirect(false, 302) },
  { name: 'Options', where: DIRS, run: options },
  { name: 'Require', where: SECTIONS, run: require },
  { name: 'AddType', where: DIRS, run: addType },
  { name: 'ForceType', where: new Set(['directory', 'files', 'location']), run: forceType },
  { name: 'FallbackResource', where: DIRS, run: fallback },
  { name: 'ErrorLog', where: VHOST, run: logLine('errorLog') },
  { name: 'CustomLog', where: VHOST, run: logLine('customLog') },
  { name: 'LogLevel', where: VHOST, run: logLine('logLevel') },
  { name: 'SSLEngine', where: SITE, run: sslEngine },
  { name: 'SSLCertificateFile', where: SITE, run: pemFile('certificateFile') },
  { name: 'SSLCertificateKeyFile', where: SITE, run: pemFile('keyFile') },
  { name: 'SSLCertificateChainFile', where: SITE, run: pemFile('chainFile') },
  { name: 'SSLProtocol', where: SITE, run: sslProtocol },
  { name: 'SSLCipherSuite', where: SITE, run: sslCipherSuite },
  { name: 'RemoteIPHeader', where: SITE, run: remoteIpHeader },
  { name: 'RemoteIPTrustedProxy', where: SITE, run: remoteIpProxy(false, false) },
  { name: 'RemoteIPInternalProxy', where: SITE, run: remoteIpProxy(true, false) },
  { name: 'RemoteIPTrustedProxyList', where: SITE, run: remoteIpProxy(false, true) },
  { name: 'RemoteIPInternalProxyList', where: SITE, run: remoteIpProxy(true, true) },
  { name: 'RemoteIPProxiesHeader', where: SITE, run: remoteIpProxiesHeader },
  ...['Order', 'Allow', 'Deny', 'Satisfy'].map(
    (name): Entry => ({
      name,
      where: EVERYWHERE,
      run: (st, _c, d) => {
        st.fail(
          d,
          name,
          'Apache 2.2 access control (mod_access_compat) is not supported: use Require (e.g. "Require all '
            + 'denied", "Require ip 10.0.0.0/8")',
        );
      },
    }),
  ),
];
