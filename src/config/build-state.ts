// The mutable state shared by the directive handlers while one configuration is being
// built: the config under construction, shared workers and balancers, the current
// context. No directive knowledge here (see directives.ts, proxy-directives.ts).

import { isAbsolute, resolve } from 'node:path';
import type { AuthzContainer } from './authz.js';
import { ConfigError } from './config-error.js';
import { diskFiles, type ConfigFiles } from './config-files.js';
import type {
  BalancerConfig,
  ConfigSection,
  DirectiveBlock,
  GatewayConfig,
  ProxyRoute,
  SiteConfig,
  WorkerSettings,
} from './model.js';
import type { ConfigNode, DirectiveNode } from './lexer.js';
import { parseTarget, type ParsedTarget } from './worker-url.js';
import { applyWorkerKey, defaultBalancer, defaultWorker } from './worker-keys.js';
import type { VHostAddress } from './vhost.js';

/** Where a directive appears. `section` is null at server and vhost level. */
export interface Context {
  kind: 'server' | 'vhost' | ConfigSection['kind'];
  section: ConfigSection | null;
  block: DirectiveBlock;
  /** The site the directive belongs to: the main server's (the config) or a vhost's own. */
  site: SiteConfig;
  vhost: PendingVHost | null;
  /** The innermost open <RequireAll>/<RequireAny>/<RequireNone>, if any. */
  authz: AuthzContainer | null;
}

/** A <VirtualHost> while it is read: its own directives only (sites.ts merges them at the end). */
export interface PendingVHost {
  addresses: VHostAddress[];
  serverName: string | null;
  aliases: string[];
  site: SiteConfig;
  file: string;
  line: number;
}

/** A BalancerMember line, kept raw until the end so ProxySet defaults apply first. */
export interface PendingMember {
  balancer: BalancerConfig;
  target: Extract<ParsedTarget, { kind: 'worker' }>;
  url: string;
  keys: Array<[string, string]>;
  file: string;
  line: number;
}

/** A place that names a balancer; checked at the end (it must exist, have members, and be visible to the site). */
export interface BalancerUse {
  name: string;
  directive: string;
  file: string;
  line: number;
  site: SiteConfig;
}

export const emptyBlock = (): DirectiveBlock => ({
  env: [],
  handler: undefined,
  cgiPassAuth: null,
  limitRequestBody: null,
  backendType: null,
  fcgiSetEnvIf: [],
  directoryIndex: null,
  options: [],
  authz: null,
  forceType: undefined,
  addTypes: [],
  fallback: undefined,
  redirect: null,
});

/** A site with nothing set: the main server's fields of a new config, or a vhost's own. */
export const emptySite = (): SiteConfig => ({
  serverName: null,
  serverAdmin: null,
  documentRoot: null,
  directoryIndex: ['index.html'],
  routes: [],
  server: emptyBlock(),
  sections: [],
  backendType: 'FPM',
  cgiPassAuth: false,
  fcgiSetEnvIf: [],
  aliases: [],
  redirects: [],
  siteLogs: { errorLog: null, customLogs: [], logLevel: null },
  ssl: null,
  remoteIp: null,
});

export class BuildState {
  readonly cfg: GatewayConfig;
  readonly pendingMembers: PendingMember[] = [];
  /** ProxySet worker keys on a balancer: defaults for all its members. */
  readonly memberDefaults = new Map<string, Array<[string, string]>>();
  readonly balancerUses: BalancerUse[] = [];
  /** Workers whose `timeout` was set explicitly (ProxyTimeout does not override them). */
  readonly explicitTimeout = new Set<WorkerSettings>();
  /** ProxyHCTemplate name → its key=value pairs (applied by hctemplate=name). */
  readonly hcTemplates = new Map<string, Array<[string, string]>>();
  proxyTimeoutMs: number | null = null;
  coreTimeoutMs: number | null = null;
  /** Where each Listen line is (same order as cfg.listen), for errors about listeners. */
  readonly listenLines: Array<{ file: string; line: number }> = [];
  /** Where relative paths and Include patterns start: ServerRoot, else the main file's folder. */
  serverRoot: string;
  /** `Define` variables (also `${NAME}` in arguments; the environment is the fallback). */
  readonly defines = new Map<string, string>();
  /** Files being read (Include nesting), to refuse a cycle. */
  readonly includeStack: string[] = [];
  /** <VirtualHost> sections read so far. */
  readonly vhosts: PendingVHost[] = [];
  /** Per site: ProxyPass routes from <Location> sections and from the site level, in file order. */
  readonly routeParts = new Map<SiteConfig, { loc: ProxyRoute[]; srv: ProxyRoute[] }>();
  /** The vhost (its own site) that declared each balancer inside a <VirtualHost>. */
  readonly balancerSite = new Map<string, SiteConfig>();
  /** Reads the whole configuration tree's nodes (set by directives.ts: Include needs it). */
  walkNodes: (ctx: Context, nodes: ConfigNode[]) => void = () => {
    /* set by buildConfig */
  };

  constructor(
    readonly file: string,
    readonly baseDir: string,
    readonly files: ConfigFiles = diskFiles,
  ) {
    this.serverRoot = baseDir;
    this.cfg = {
      ...emptySite(),
      source: file,
      listen: [],
      vhosts: [],
      workers: new Map(),
      balancers: new Map(),
      ignored: [],
      warnings: [],
    };
  }

  /** Adds a ProxyPass route of `ctx`'s site: <Location> ones are tried first, the last section first. */
  addRoute(ctx: Context, route: ProxyRoute): void {
    let parts = this.routeParts.get(ctx.site);
    if (parts === undefined) this.routeParts.set(ctx.site, (parts = { loc: [], srv: [] }));
    if (ctx.kind === 'location') parts.loc.unshift(route);
    else parts.srv.push(route);
  }

  /** An error at the directive's line: `file:line: Name: detail`. */
  fail(d: { file: string; line: number }, name: string, detail: string): never {
    throw new ConfigError(d.file, d.line, detail.startsWith(name + ': ') ? detail : `${name}: ${detail}`);
  }

  /** An absolute filesystem path; relative ones are taken from ServerRoot (default: the main file's folder). */
  absolutePath(p: string): string {
    return isAbsolute(p) ? resolve(p) : resolve(this.serverRoot, p);
  }

  parseTarget(d: DirectiveNode, name: string, url: string): ParsedTarget {
    const r = parseTarget(url, (p) => this.absolutePath(p));
    if (!r.ok) this.fail(d, name, r.error);
    return r.target;
  }

  /** The one shared settings object for a worker name (Apache shares workers by URL). */
  worker(t: Extract<ParsedTarget, { kind: 'worker' }>): WorkerSettings {
    let w = this.cfg.workers.get(t.name);
    if (w === undefined) {
      w = defaultWorker(t.name, t.address);
      this.cfg.workers.set(t.name, w);
    }
    return w;
  }

  /**
   * The worker for a ProxyPass line and whether its keys apply. As Apache (AH01145 /
   * AH01146): a worker already defined earlier is shared, and key=value parameters on a
   * later ProxyPass naming it are ignored with a warning; set them on the first line or
   * with ProxySet in <Proxy "fcgi://…">, which always applies.
   */
  workerForPass(t: Extract<ParsedTarget, { kind: 'worker' }>): { worker: WorkerSettings; shared: boolean } {
    const shared = this.cfg.workers.has(t.name);
    return { worker: this.worker(t), shared };
  }

  /** Records a use of a balancer by a ProxyPass / SetHandler of `ctx`'s site. */
  useBalancer(ctx: Context, name: string, directive: string, d: { file: string; line: number }): void {
    this.balancerUses.push({ name, directive, file: d.file, line: d.line, site: ctx.site });
  }

  /**
   * A balancer declared (<Proxy balancer://…>, BalancerMember) inside a <VirtualHost> belongs
   * to that vhost; one declared at the top level is shared by every site, as Apache merges them.
   */
  defineBalancer(ctx: Context, name: string, d: { file: string; line: number }): void {
    const owner = this.balancerSite.get(name);
    const here = ctx.vhost === null ? this.cfg : ctx.site;
    if (owner === undefined) {
      this.balancerSite.set(name, here);
      return;
    }
    if (owner !== here) {
      const b = this.cfg.balancers.get(name)!;
      this.fail(
        d,
        'BalancerMember',
        `${name} is already declared ${owner === this.cfg ? 'at the top level' : 'in another <VirtualHost>'} `
          + `(${b.file}:${b.line}); give each site's balancer its own name`,
      );
    }
  }

  warn(d: { file: string; line: number }, name: string, detail: string): void {
    this.cfg.warnings.push(`${d.file}:${d.line}: ${name}: ${detail}`);
  }

  balancer(name: string, d: { file: string; line: number }): BalancerConfig {
    let b = this.cfg.balancers.get(name);
    if (b === undefined) {
      b = { name, members: [], file: d.file, line: d.line, ...defaultBalancer() };
      this.cfg.balancers.set(name, b);
    }
    return b;
  }

  applyWorkerKeys(d: DirectiveNode, name: string, w: WorkerSettings, keys: Array<[string, string]>): void {
    for (const [k, v] of keys) {
      if (k === 'hctemplate') {
        const t = this.hcTemplates.get(v.toLowerCase());
        if (t === undefined) this.fail(d, name, `hctemplate: no ProxyHCTemplate named "${v}" (declare it before use)`);
        this.applyWorkerKeys(d, name, w, t);
        continue;
      }
      try {
        applyWorkerKey(w, k, v);
      } catch (e) {
        this.fail(d, name, (e as Error).message);
      }
      if (k === 'timeout') this.explicitTimeout.add(w);
    }
  }

  /** Splits `key=value` words; a word without '=' is an error naming it. */
  keyValues(d: DirectiveNode, name: string, words: string[]): Array<[string, string]> {
    return words.map((word) => {
      const eq = word.indexOf('=');
      if (eq <= 0) this.fail(d, name, `expected key=value, got "${word}"`);
      return [word.slice(0, eq).toLowerCase(), word.slice(eq + 1)];
    });
  }

  /** End of the build: members, timeouts, balancer checks. */
  finish(): GatewayConfig {
    for (const p of this.pendingMembers) {
      const w = defaultWorker(p.target.name, p.target.address);
      const fake = { type: 'directive' as const, name: 'BalancerMember', args: [], file: p.file, line: p.line };
      this.applyWorkerKeys(fake, 'ProxySet', w, this.memberDefaults.get(p.balancer.name) ?? []);
      this.applyWorkerKeys(fake, 'BalancerMember', w, p.keys);
      p.balancer.members.push({ url: p.url, path: p.target.path, worker: w, file: p.file, line: p.line });
    }
    const defaultTimeout = this.proxyTimeoutMs ?? this.coreTimeoutMs;
    if (defaultTimeout !== null) {
      const all = [...this.cfg.workers.values()];
      for (const b of this.cfg.balancers.values()) for (const m of b.members) all.push(m.worker);
      for (const w of all) if (!this.explicitTimeout.has(w)) w.timeoutMs = defaultTimeout;
    }
    for (const u of this.balancerUses) {
      const b = this.cfg.balancers.get(u.name);
      if (b === undefined || b.members.length === 0) {
        throw new ConfigError(
          u.file,
          u.line,
          `${u.directive}: ${u.name} has no BalancerMember (declare it in <Proxy "${u.name}/">)`,
        );
      }
      const owner = this.balancerSite.get(u.name);
      if (owner !== undefined && owner !== this.cfg && owner !== u.site) {
        throw new ConfigError(
          u.file,
          u.line,
          `${u.directive}: ${u.name} is declared in another <VirtualHost> (${b.file}:${b.line}); `
            + 'declare it at the top level to share it',
        );
      }
    }
    for (const b of this.cfg.balancers.values()) {
      if (b.members.length === 0) throw new ConfigError(b.file, b.line, `<Proxy>: ${b.name} has no BalancerMember`);
      for (const m of b.members) {
        const hc = m.worker.healthCheck;
        if (hc === undefined) continue;
        if (hc.expr !== null && !(this.cfg.hcExpressions?.has(hc.expr) ?? false)) {
          throw new ConfigError(m.file, m.line, `BalancerMember: hcexpr=${hc.expr}: no ProxyHCExpr of that name`);
        }
        if ((hc.method === 'get' || hc.method === 'head' || hc.method === 'options') && hc.uri === '') {
          throw new ConfigError(
            m.file,
            m.line,
            `BalancerMember: hcmethod=${hc.method.toUpperCase()} needs hcuri (e.g. PHP-FPM's ping.path, /ping)`,
          );
        }
      }
    }
    const s = this.cfg.server;
    this.cfg.backendType = s.backendType ?? 'FPM';
    this.cfg.cgiPassAuth = s.cgiPassAuth ?? false;
    this.cfg.fcgiSetEnvIf = s.fcgiSetEnvIf;
    if (s.directoryIndex !== null) this.cfg.directoryIndex = s.directoryIndex;
    return this.cfg;
  }
}
