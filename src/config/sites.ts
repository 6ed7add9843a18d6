// The end of a configuration build for several sites: each <VirtualHost>'s own directives
// merged with the main server's as Apache merges them, and the checks that need every site
// (listeners vs. vhost addresses, TLS certificates, mod_remoteip's trust list).
//
// Merge rules (Apache 2.4):
//   ProxyPass       the vhost's <Location> ones, the main server's <Location> ones, the main
//                   server's, then the vhost's (mod_proxy appends a vhost's aliases after the
//                   base's; per-directory ones are tried first)
//   Alias/Redirect  the vhost's first, then the main server's (mod_alias)
//   sections        the main server's, then the vhost's (the vhost's win on a tie)
//   SetEnv…         the main server's, then the vhost's
//   everything else the vhost's own when set, else the main server's (ServerName,
//                   DocumentRoot, DirectoryIndex, SetHandler, logs, SSL*, RemoteIP*)

import { ConfigError } from './config-error.js';
import type { BuildState, PendingVHost } from './build-state.js';
import type { DirectiveBlock, GatewayConfig, ListenAddress, SiteConfig, VirtualHostConfig } from './model.js';
import type { RemoteIpSettings } from './remote-ip.js';
import { checkCertificate, checkKey, checkPair, type SslSettings } from './ssl.js';
import { namePattern } from './vhost.js';

function mergeBlocks(a: DirectiveBlock, b: DirectiveBlock): DirectiveBlock {
  return {
    env: [...a.env, ...b.env],
    handler: b.handler !== undefined ? b.handler : a.handler,
    cgiPassAuth: b.cgiPassAuth ?? a.cgiPassAuth,
    limitRequestBody: b.limitRequestBody ?? a.limitRequestBody,
    backendType: b.backendType ?? a.backendType,
    fcgiSetEnvIf: [...a.fcgiSetEnvIf, ...b.fcgiSetEnvIf],
    directoryIndex: b.directoryIndex ?? a.directoryIndex,
    options: [...a.options, ...b.options],
    authz: b.authz ?? a.authz,
    forceType: b.forceType !== undefined ? b.forceType : a.forceType,
    addTypes: [...a.addTypes, ...b.addTypes],
    fallback: b.fallback !== undefined ? b.fallback : a.fallback,
    redirect: b.redirect ?? a.redirect,
  };
}

function mergeSsl(own: SslSettings | null, main: SslSettings | null): SslSettings | null {
  if (own === null) return main;
  if (main === null) return own;
  return {
    engine: own.engine ?? main.engine,
    engineAt: own.engineAt ?? main.engineAt,
    certificateFile: own.certificateFile ?? main.certificateFile,
    keyFile: own.keyFile ?? main.keyFile,
    chainFile: own.chainFile ?? main.chainFile,
    protocols: own.protocols ?? main.protocols,
    cipherSuite: own.cipherSuite ?? main.cipherSuite,
    cipherSuiteTls13: own.cipherSuiteTls13 ?? main.cipherSuiteTls13,
  };
}

function mergeRemoteIp(own: RemoteIpSettings | null, main: RemoteIpSettings | null): RemoteIpSettings | null {
  if (own === null) return main;
  if (main === null) return own;
  return {
    header: own.header !== '' ? own.header : main.header,
    proxies: own.proxies.length > 0 ? own.proxies : main.proxies,
    proxiesHeader: own.proxiesHeader ?? main.proxiesHeader,
    file: own.header !== '' ? own.file : main.file,
    line: own.header !== '' ? own.line : main.line,
  };
}

/** Block-level values every site carries outside its block, with defaults. */
function settle(site: SiteConfig): void {
  const s = site.server;
  site.backendType = s.backendType ?? 'FPM';
  site.cgiPassAuth = s.cgiPassAuth ?? false;
  site.fcgiSetEnvIf = s.fcgiSetEnvIf;
  if (s.directoryIndex !== null) site.directoryIndex = s.directoryIndex;
}

function effectiveSite(st: BuildState, v: PendingVHost): SiteConfig {
  const main = st.cfg;
  const own = v.site;
  const mine = st.routeParts.get(own) ?? { loc: [], srv: [] };
  const base = st.routeParts.get(main) ?? { loc: [], srv: [] };
  const site: SiteConfig = {
    serverName: own.serverName ?? main.serverName,
    serverAdmin: own.serverAdmin ?? main.serverAdmin,
    documentRoot: own.documentRoot ?? main.documentRoot,
    directoryIndex: main.directoryIndex,
    routes: [...mine.loc, ...base.loc, ...base.srv, ...mine.srv],
    server: mergeBlocks(main.server, own.server),
    sections: [...main.sections, ...own.sections],
    backendType: 'FPM',
    cgiPassAuth: false,
    fcgiSetEnvIf: [],
    aliases: [...own.aliases, ...main.aliases],
    redirects: [...own.redirects, ...main.redirects],
    siteLogs: {
      errorLog: own.siteLogs.errorLog ?? main.siteLogs.errorLog,
      customLogs: own.siteLogs.customLogs.length > 0 ? own.siteLogs.customLogs : main.siteLogs.customLogs,
      logLevel: own.siteLogs.logLevel ?? main.siteLogs.logLevel,
    },
    ssl: mergeSsl(own.ssl, main.ssl),
    remoteIp: mergeRemoteIp(own.remoteIp, main.remoteIp),
  };
  settle(site);
  return site;
}

/** Reads and checks a site's certificate and key (a mismatch names both files). */
function checkSslFiles(st: BuildState, ssl: SslSettings): void {
  const read = (f: { path: string; file: string; line: number }, name: string): string => {
    try {
      return st.files.read(f.path);
    } catch (e) {
      throw new ConfigError(f.file, f.line, `${name}: cannot read ${f.path}: ${(e as Error).message}`);
    }
  };
  const at = <T>(f: { file: string; line: number }, name: string, g: () => T): T => {
    try {
      return g();
    } catch (e) {
      throw new ConfigError(f.file, f.line, `${name}: ${(e as Error).message}`);
    }
  };
  const c = ssl.certificateFile,
    k = ssl.keyFile,
    ch = ssl.chainFile;
  const cert =
    c === null ? null : at(c, 'SSLCertificateFile', () => checkCertificate(read(c, 'SSLCertificateFile'), c.path));
  const text = k === null ? null : read(k, 'SSLCertificateKeyFile');
  const key = k === null ? null : at(k, 'SSLCertificateKeyFile', () => checkKey(text!, k.path));
  if (ch !== null)
    at(ch, 'SSLCertificateChainFile', () => checkCertificate(read(ch, 'SSLCertificateChainFile'), ch.path));
  if (cert !== null && key !== null) at(k!, 'SSLCertificateKeyFile', () => checkPair(cert, key, c!.path, k!.path));
}

function checkRemoteIp(st: BuildState, r: RemoteIpSettings | null): void {
  if (r === null) return;
  if (r.header === '') {
    st.warn(r, 'RemoteIPTrustedProxy', 'has no effect without RemoteIPHeader');
    return;
  }
  if (r.proxies.length === 0) {
    throw new ConfigError(
      r.file,
      r.line,
      `RemoteIPHeader: ${r.header} would be believed from any client, letting it set its own address: `
        + ('list the proxies it may come from with RemoteIPTrustedProxy or RemoteIPInternalProxy (Apache trusts '
          + 'every peer in that case; fcgate refuses)'),
    );
  }
}

const listenText = (l: ListenAddress): string =>
  `${l.host === null ? '*' : l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`;

/**
 * The sites that answer on a listener: the vhosts matching it, else the main server; the
 * default (the first) first, as Apache picks them. `names`: ServerName then ServerAlias
 * patterns (TLS picks a site's certificate by them, SNI).
 */
export function sitesOn(
  cfg: GatewayConfig,
  l: ListenAddress,
): Array<{ site: SiteConfig; where: string; names: string[] }> {
  const exact = cfg.vhosts.filter((v) =>
    v.addresses.some((a) => a.host !== null && a.host === l.host && (a.port === null || a.port === l.port)),
  );
  const any =
    exact.length > 0
      ? exact
      : cfg.vhosts.filter((v) => v.addresses.some((a) => a.host === null && (a.port === null || a.port === l.port)));
  if (any.length === 0)
    return [{ site: cfg, where: 'the main server', names: cfg.serverName === null ? [] : [cfg.serverName] }];
  return any.map((v) => ({
    site: v.site,
    where: `<VirtualHost> at ${v.file}:${v.line}`,
    names: v.names.map((n) => n.text),
  }));
}

/** Merges every vhost, checks what spans sites, and fills cfg.routes and cfg.vhosts. */
export function finishSites(st: BuildState): void {
  const cfg = st.cfg;
  const base = st.routeParts.get(cfg) ?? { loc: [], srv: [] };
  cfg.routes = [...base.loc, ...base.srv];
  for (const v of st.vhosts) {
    settle(v.site);
    const site = effectiveSite(st, v);
    const names = [...(site.serverName === null ? [] : [site.serverName]), ...v.aliases].map(namePattern);
    const vh: VirtualHostConfig = { addresses: v.addresses, names, site, file: v.file, line: v.line };
    cfg.vhosts.push(vh);
    for (const a of v.addresses) {
      if (a.host !== null && !cfg.listen.some((l) => l.host === a.host && (a.port === null || l.port === a.port))) {
        throw new ConfigError(
          v.file,
          v.line,
          `<VirtualHost>: fcgate tells connections apart by their listener only, and no Listen is on `
            + (`${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port ?? '*'}: add that Listen line, or use `
              + `*:${a.port ?? '*'} with ServerName`),
        );
      }
      if (a.port !== null && !cfg.listen.some((l) => l.port === a.port)) {
        st.warn(v, '<VirtualHost>', `no Listen is on port ${a.port}: this vhost gets no requests there`);
      }
    }
  }
  for (const site of [cfg, ...cfg.vhosts.map((v) => v.site)]) {
    checkRemoteIp(st, site.remoteIp);
    if (site.ssl !== null) checkSslFiles(st, site.ssl);
  }
  for (const [i, l] of cfg.listen.entries()) {
    if (l.protocol !== 'https') continue;
    for (const { site, where } of sitesOn(cfg, l)) {
      const ssl = site.ssl;
      const at = st.listenLines[i]!;
      if (ssl === null || ssl.engine !== true) {
        throw new ConfigError(
          at.file,
          at.line,
          `Listen ${listenText(l)} https: ${where} has no "SSLEngine on" `
            + '(write "Listen … http" for plain HTTP on that port)',
        );
      }
      if (ssl.certificateFile === null || ssl.keyFile === null) {
        const e = ssl.engineAt ?? at;
        throw new ConfigError(
          e.file,
          e.line,
          `SSLEngine on: ${where} needs SSLCertificateFile and SSLCertificateKeyFile`,
        );
      }
      // What uWebSockets.js's SSLApp can do (uSockets: TLS 1.2 minimum, no maximum; no
      // option for TLS 1.3 cipher suites): refuse what it cannot honour, warn about what it
      // does better than asked.
      const e = ssl.engineAt ?? at;
      if (ssl.protocols !== null) {
        const p = ssl.protocols;
        if (!p.includes('TLSv1.2') || !p.includes('TLSv1.3')) {
          throw new ConfigError(
            e.file,
            e.line,
            `SSLProtocol: ${where} enables ${p.join(' ')}; fcgate (uWebSockets.js) `
              + 'serves TLSv1.2 and TLSv1.3 together and nothing else: write "SSLProtocol all -TLSv1 -TLSv1.1"',
          );
        }
        if (p.includes('TLSv1') || p.includes('TLSv1.1')) {
          st.warn(
            e,
            'SSLProtocol',
            `${where}: TLSv1 and TLSv1.1 are never served (uWebSockets.js allows TLSv1.2 and up)`,
          );
        }
      }
      if (ssl.cipherSuiteTls13 !== null) {
        throw new ConfigError(
          e.file,
          e.line,
          `SSLCipherSuite TLSv1.3: ${where}: uWebSockets.js has no setting for `
            + "TLS 1.3 cipher suites (OpenSSL's defaults are used); remove the line",
        );
      }
    }
  }
}
