// describeConfig: the human summary `fcgate check` prints. Text only; no validation
// (parsing already validated everything).

import type { GatewayConfig, WorkerSettings } from './model.js';

function workerLine(w: WorkerSettings): string {
  const keys = [
    `reuse=${w.reuse ? 'on' : 'off'}`,
    `max=${w.max ?? 'auto'}`,
    `timeout=${w.timeoutMs}ms`,
    `connectiontimeout=${w.connectTimeoutMs}ms`,
    `acquire=${w.acquireMs}ms`,
    `ttl=${w.ttlMs}ms`,
    `flushpackets=${w.flushPackets}`,
    `flushwait=${w.flushWaitMs}ms`,
    `multiplex=${w.multiplex ?? 'auto'}`,
  ];
  return `${w.name} ${keys.join(' ')}`;
}

export function describeConfig(cfg: GatewayConfig): string {
  const out: string[] = [];
  out.push(`configuration: ${cfg.source}`);
  out.push(
    `listen: ${
      cfg.listen.length === 0
        ? '(none)'
        : cfg.listen
            .map(
              (l) =>
                (l.host === null
                  ? `*:${l.port}`
                  : l.host.includes(':')
                    ? `[${l.host}]:${l.port}`
                    : `${l.host}:${l.port}`) + (l.protocol === 'https' ? ' https' : ''),
            )
            .join(', ')
    }`,
  );
  if (cfg.serverName !== null) out.push(`server name: ${cfg.serverName}`);
  out.push(`document root: ${cfg.documentRoot ?? '(none: no static files, no SetHandler form)'}`);
  out.push(`directory index: ${cfg.directoryIndex.length === 0 ? '(disabled)' : cfg.directoryIndex.join(' ')}`);
  out.push(`backend type: ${cfg.backendType}, CGIPassAuth ${cfg.cgiPassAuth ? 'On' : 'Off'}`);
  out.push(`routes (first match wins):`);
  if (cfg.routes.length === 0) out.push('  (none)');
  for (const r of cfg.routes) {
    const name = r.form === 'proxypass' ? 'ProxyPass' : 'ProxyPassMatch';
    out.push(`  ${name} ${r.pattern} ${r.exclude ? '!' : r.url}   (${r.file}:${r.line})`);
  }
  const handlers = cfg.sections.filter((s) => s.handler);
  if (cfg.server.handler) handlers.unshift(cfg.server as (typeof handlers)[number]);
  if (handlers.length > 0) {
    out.push('handlers:');
    for (const s of cfg.sections) {
      if (s.handler) out.push(`  <${s.kind} ${s.pattern}> SetHandler proxy:${s.handler.url}   (${s.file}:${s.line})`);
    }
    if (cfg.server.handler) out.push(`  (server) SetHandler proxy:${cfg.server.handler.url}`);
  }
  out.push('workers:');
  if (cfg.workers.size === 0) out.push('  (none)');
  for (const w of cfg.workers.values()) out.push(`  ${workerLine(w)}`);
  for (const b of cfg.balancers.values()) {
    out.push(`balancer ${b.name} lbmethod=${b.lbMethod}${b.stickySession ? ` stickysession=${b.stickySession}` : ''}:`);
    for (const m of b.members) {
      const w = m.worker;
      out.push(
        `  member ${m.url} loadfactor=${w.loadFactor} `
          + `lbset=${w.lbSet}${w.route ? ` route=${w.route}` : ''}${w.status ? ` status=${w.status}` : ''} `
          + `${workerLine(w)}`,
      );
    }
  }
  for (const a of cfg.aliases)
    out.push(`  Alias${a.regex ? 'Match' : ''} ${a.pattern} ${a.target}   (${a.file}:${a.line})`);
  for (const r of cfg.redirects)
    out.push(`  Redirect${r.regex ? 'Match' : ''} ${r.status} ${r.pattern} ${r.url ?? ''}   (${r.file}:${r.line})`);
  out.push(
    'built-in: <FilesMatch "^\\.ht"> Require all denied (as Debian\'s apache2.conf); symbolic links: '
      + 'followed when their '
      + ('target stays inside the DocumentRoot or Alias target, unless Options FollowSymLinks / '
        + 'SymLinksIfOwnerMatch / None says otherwise'),
  );
  for (const v of cfg.vhosts) {
    const addrs = v.addresses
      .map((a) => `${a.host === null ? '*' : a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port ?? '*'}`)
      .join(' ');
    const site = v.site;
    out.push(`<VirtualHost ${addrs}> ${v.names.map((n) => n.text).join(' ') || '(no name)'}   (${v.file}:${v.line})`);
    out.push(
      `  document root: ${site.documentRoot ?? '(none)'}; routes: ${site.routes.length}; sections: `
        + `${site.sections.length}; `
        + (`aliases: ${site.aliases.length}; redirects: `
          + `${site.redirects.length}${site.ssl?.engine ? '; SSLEngine on' : ''}`)
        + `${site.remoteIp ? `; RemoteIPHeader ${site.remoteIp.header}` : ''}`,
    );
    for (const r of site.routes) {
      out.push(
        `  ${r.form === 'proxypass' ? 'ProxyPass' : 'ProxyPassMatch'} ${r.pattern} `
          + `${r.exclude ? '!' : r.url}   (${r.file}:${r.line})`,
      );
    }
  }
  if (cfg.vhosts.length > 0)
    out.push('requests that no <VirtualHost> address matches go to the main server (the top-level directives)');
  const fcgi = cfg.fcgiSetEnvIf.length + cfg.sections.reduce((n, s) => n + s.fcgiSetEnvIf.length, 0);
  const env = cfg.server.env.length + cfg.sections.reduce((n, s) => n + s.env.length, 0);
  out.push(`env directives: ${env}, ProxyFCGISetEnvIf rules: ${fcgi}, sections: ${cfg.sections.length}`);
  for (const w of cfg.warnings) out.push(`warning: ${w}`);
  if (cfg.ignored.length > 0) out.push(`accepted and ignored: ${[...new Set(cfg.ignored)].join(', ')}`);
  return out.join('\n') + '\n';
}
