// The typed shapes shared by config (which produces them), cgi (which turns a
// resolved request into FastCGI params) and the serving layers. No logic here.

/** Where a FastCGI application listens. */
// Over 400 lines on purpose: type declarations only: the configuration as the rest of the program
// sees it.
export type BackendAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** Worker keys of ProxyPass / <Proxy fcgi://…> / BalancerMember, resolved with defaults. */
export interface WorkerSettings {
  /** Canonical name, e.g. "fcgi://127.0.0.1:9000" or "unix:/run/php.sock|fcgi://localhost". Pool key. */
  name: string;
  address: BackendAddress;
  /** Connection reuse (FCGI_KEEP_CONN): on by default; disablereuse=on turns it off. */
  reuse: boolean;
  /** enablereuse/disablereuse was written: the startup probe does not turn reuse off. */
  reuseSet?: boolean;
  /**
   * `multiplex`: several requests at once on one connection, each with its own id (FCGI_MPXS_CONNS).
   * auto (absent) trusts the app's FCGI_GET_VALUES answer at startup; off for PHP-FPM, which answers 0.
   */
  multiplex?: 'auto' | 'on' | 'off';
  /** Connections to this backend over all serving threads together; null = not set (probe or default). */
  max: number | null;
  /** Read timeout in ms (worker key `timeout`, seconds in the config). */
  timeoutMs: number;
  /** Connect timeout in ms (`connectiontimeout`). */
  connectTimeoutMs: number;
  /** How long a request may wait for a connection, ms (`acquire`). */
  acquireMs: number;
  /** Idle connection lifetime, ms (`ttl`). */
  ttlMs: number;
  flushPackets: 'on' | 'off' | 'auto';
  /**
   * `requestbuffering`: receive a request body whole (memory, then a temporary file) before
   * the app is contacted, so a slow client holds no app worker (nginx's
   * fastcgi_request_buffering, default on). Off: bodies over FCGATE_BODY_BUFFER stream.
   */
  requestBuffering: boolean;
  /** `flushwait`, ms: with flushpackets=on, how long to wait for more output before flushing. */
  flushWaitMs: number;
  /** Balancer keys (ignored for plain workers). */
  loadFactor: number;
  lbSet: number;
  route: string;
  retryMs: number;
  /** Apache status flags as letters: 'H' hot standby, 'D' disabled, 'N' draining, 'S' stopped, 'I' ignore errors. */
  status: string;
  /** mod_proxy_hcheck keys (hcmethod, hcinterval, …); absent when none is set. */
  healthCheck?: HealthCheckSettings;
}

/**
 * Active health check of one balancer member (mod_proxy_hcheck's worker keys):
 * `tcp` connects, `getvalues` (also `cping`) exchanges FCGI_GET_VALUES, `get` / `head` /
 * `options` send a FastCGI request for `uri` and judge its status (2xx/3xx unless `expr`).
 */
export interface HealthCheckSettings {
  method: 'none' | 'tcp' | 'getvalues' | 'get' | 'head' | 'options';
  /** `hcinterval`, ms (Apache: seconds, default 30). */
  intervalMs: number;
  /** Successes in a row that bring a failed member back (`hcpasses`, default 1). */
  passes: number;
  /** Failures in a row that take a member out (`hcfails`, default 1). */
  fails: number;
  /** `hcuri`: the path requested by get/head/options (PHP-FPM's ping.path). */
  uri: string;
  /** `hcexpr`: the name of a ProxyHCExpr judging the response; null = any 2xx or 3xx passes. */
  expr: string | null;
}

/** `BalancerManager [host:]port [token]` (fcgate's own directive): the balancer manager's listener. */
export interface ManagerSettings {
  /** Host to bind; loopback unless a token is required. */
  host: string;
  port: number;
  /** Requires FCGATE_MANAGER_TOKEN (bearer or form field) on every request, not only on changes. */
  tokenRequired: boolean;
  file: string;
  line: number;
}

export type BackendType = 'FPM' | 'GENERIC';

/** One ProxyFCGISetEnvIf rule: parsed condition, param name, value template (null with !VAR = unset). */
export interface FcgiSetEnvRule {
  /** Evaluates the condition; returns the regex captures ($0..$9) of the last successful match, or null when false. */
  test(ctx: ExpressionContext): string[] | null;
  name: string;
  unset: boolean;
  /** Expands the value with %{…} and $1…$9 from the captures. */
  value(ctx: ExpressionContext, captures: string[]): string;
}

/** What expressions (ProxyFCGISetEnvIf, SetEnvIf) can read. */
export interface ExpressionContext {
  /** The FastCGI params as they are about to be sent (reqenv / %{VAR}). */
  params: Map<string, string>;
  /** Request header lookup, case-insensitive (req(), %{HTTP:…}). Records the names read for Vary. */
  header(name: string): string | undefined;
  /** Server / request variables by Apache name (REQUEST_URI, REMOTE_ADDR, DOCUMENT_ROOT, …). */
  variable(name: string): string | undefined;
}

/** A request after routing: everything the CGI builder needs besides the snapshot. */
export interface ResolvedRequest {
  /** How the request was mapped. */
  form: 'proxypass' | 'proxypassmatch' | 'handler';
  /** The worker (plain) or the balancer name (balancer://name) the request goes to. */
  worker: WorkerSettings | null;
  balancer: string | null;
  /**
   * The path part of the target FastCGI URL after host[:port], as Apache builds it:
   * ProxyPass "/mon_appli/" "fcgi://localhost:4000/" + "/mon_appli/a/b.php" → "/a/b.php";
   * ProxyPassMatch with $1 substituted. Still %-encoded as in the request.
   * For the handler form: the absolute filename on disk.
   */
  targetPath: string;
  /** The decoded, normalised URL path (SCRIPT_NAME before path-info splitting). */
  decodedPath: string;
  /** Handler form only: the script's URL path and the PATH_INFO found on disk. */
  scriptName: string | null;
  pathInfo: string | null;
  /** Environment from SetEnv / SetEnvIf / UnsetEnv after evaluation (includes proxy-fcgi-pathinfo, proxy-sendcl). */
  env: Map<string, string>;
  fcgiSetEnv: FcgiSetEnvRule[];
  backendType: BackendType;
  cgiPassAuth: boolean;
  /** LimitRequestBody for this request (0, null or absent: FCGATE_MAX_BODY alone); the smaller limit wins. */
  limitRequestBody?: number | null;
  documentRoot: string;
  serverName: string | null;
  /** The site's ServerAdmin (a vhost's own, else the main server's); null or absent = the server-wide one. */
  serverAdmin?: string | null;
  /** CONTEXT_PREFIX and CONTEXT_DOCUMENT_ROOT as Apache sends them. */
  contextPrefix: string;
  contextDocumentRoot: string;
}

// ---------------------------------------------------------------------------
// The typed configuration (produced by src/config/load.ts, read by the router and
// the serving layers). Added after the shapes above; those are unchanged.

/**
 * `Listen [host:]port [protocol]`; host null = every address. IPv6 hosts without brackets.
 * protocol 'https' (`Listen 443 https`): TLS (front/tls.ts); absent = http.
 */
export interface ListenAddress {
  host: string | null;
  port: number;
  protocol?: 'http' | 'https';
}

/** Keys a balancer takes (ProxySet on balancer://, or on its ProxyPass line). */
export interface BalancerSettings {
  lbMethod: 'byrequests' | 'bytraffic' | 'bybusyness' | 'heartbeat';
  /** Cookie / URL parameter name for sticky sessions; null = none. */
  stickySession: string | null;
  /** Failover attempts; null = Apache's default (members - 1). */
  maxAttempts: number | null;
  noFailover: boolean;
  /** HTTP statuses from a member that put it in error state. */
  failOnStatus: number[];
  failOnTimeout: boolean;
  forceRecovery: boolean;
  /** How long to wait for a usable member, ms; null = do not wait. */
  timeoutMs: number | null;
}

export interface BalancerMemberConfig {
  /** The URL as written on the BalancerMember line. */
  url: string;
  /** The member URL's path ('' for `fcgi://localhost:4000`): prepended to targetPath. */
  path: string;
  /** The member's own settings object (members are not shared with plain workers). */
  worker: WorkerSettings;
  file: string;
  line: number;
}

export interface BalancerConfig extends BalancerSettings {
  /** Canonical name, `balancer://myappcluster` (lower-case, no trailing slash). */
  name: string;
  members: BalancerMemberConfig[];
  file: string;
  line: number;
}

/** One ProxyPass / ProxyPassMatch, in the order they are tried (first match wins). */
export interface ProxyRoute {
  form: 'proxypass' | 'proxypassmatch';
  /** The URL-path prefix (ProxyPass) or the regex source (ProxyPassMatch) as written. */
  pattern: string;
  /** ProxyPassMatch only; matched against the decoded, normalised path. */
  regex: RegExp | null;
  /** `ProxyPass /path !`: a match stops proxying (the request goes on to the handler form). */
  exclude: boolean;
  /** The target URL as written; null for an exclusion. */
  url: string | null;
  worker: WorkerSettings | null;
  /** `balancer://name` for balancer targets. */
  balancer: string | null;
  /** The target URL's path after host[:port] (or after balancer://name), `$N` unexpanded. */
  targetPath: string;
  file: string;
  line: number;
}

/** Where SetHandler "proxy:…" sends matching files. */
export interface HandlerTarget {
  /** As written, without `proxy:`. */
  url: string;
  worker: WorkerSettings | null;
  balancer: string | null;
  /** The handler URL's own path ('' or '/'): Apache writes it before the filename. */
  urlPath: string;
}

/** One SetEnvIf assignment: `var=value`, `var` (value "1") or `!var` (unset). */
export interface EnvAssignment {
  name: string;
  value: string | null;
}

/** SetEnv / UnsetEnv / SetEnvIf (and SetEnvIfNoCase, BrowserMatch) in config order. */
export type EnvDirective =
  | { op: 'set'; name: string; value: string }
  | { op: 'unset'; names: string[] }
  | {
      op: 'setif';
      /** The attribute as written (Request_URI, a header name, a header-name regex, an env var). */
      attribute: string;
      /** What the attribute reads, decided at config time. */
      source: 'remote-host' | 'remote-addr' | 'server-addr' | 'method' | 'protocol' | 'uri' | 'header' | 'header-regex';
      /** Lower-cased header name for 'header'; regex over header names for 'header-regex'. */
      headerName: string;
      headerRegex: RegExp | null;
      regex: RegExp;
      assignments: EnvAssignment[];
    };

/** What a context (server, vhost or a section) sets; null = not set here (inherit). */
export interface DirectiveBlock {
  env: EnvDirective[];
  /** undefined = not set here; null = `SetHandler none` (static); else proxy handler. */
  handler: HandlerTarget | null | undefined;
  cgiPassAuth: boolean | null;
  /** LimitRequestBody bytes (0 = no limit of its own); null = not set here. */
  limitRequestBody: number | null;
  backendType: BackendType | null;
  fcgiSetEnvIf: FcgiSetEnvRule[];
  directoryIndex: string[] | null;
  /** `Options` lines of this context, in order (options.ts merges them). */
  options: import('./options.js').OptionsLine[];
  /** `Require` lines and `<Require…>` containers of this context (an implicit RequireAny); null = none. */
  authz: import('./authz.js').AuthzContainer | null;
  /** `ForceType type`: undefined = not set here; null = `ForceType None`. */
  forceType: string | null | undefined;
  /** `AddType type .ext …`: [extension lower-case without the dot, type], in order. */
  addTypes: Array<[string, string]>;
  /** `FallbackResource url`: undefined = not set here; null = `disabled`. */
  fallback: string | null | undefined;
  /** `Redirect [status] URL` inside a section (the whole section's URL); null = none here. */
  redirect: import('./alias.js').RedirectRule | null;
}

export type SectionKind = 'directory' | 'files' | 'location' | 'proxy';

/**
 * A <Directory>, <Files>, <Location>, <Proxy> section (the …Match forms and `~` set
 * `regex`). Files sections nested in a Directory have that Directory as `parent`.
 */
export interface ConfigSection extends DirectiveBlock {
  kind: SectionKind;
  /** The path / file pattern / URL as written (Directory paths absolute, no trailing '/'). */
  pattern: string;
  regex: RegExp | null;
  /** True for the regex forms (`~`, DirectoryMatch, FilesMatch, LocationMatch); false for wildcards. */
  matchForm: boolean;
  /** <Proxy> sections: the worker or balancer name they configure. */
  target: string | null;
  parent: ConfigSection | null;
  file: string;
  line: number;
}

/**
 * What one site serves with: the main server's directives (GatewayConfig itself) or one
 * <VirtualHost>'s, merged with the main server's as Apache merges them (sites.ts).
 */
export interface SiteConfig {
  serverName: string | null;
  serverAdmin: string | null;
  /** Absolute, no trailing slash; null when not configured (no static files, no handler form). */
  documentRoot: string | null;
  /** Server-level DirectoryIndex (Apache's default: index.html). */
  directoryIndex: string[];
  /** ProxyPass / ProxyPassMatch in the order they are tried (<Location> ones first). */
  routes: ProxyRoute[];
  /** Server-level directives (env, handler, …). */
  server: DirectiveBlock;
  sections: ConfigSection[];
  /** Server-level values (also in `server`), with defaults applied. */
  backendType: BackendType;
  cgiPassAuth: boolean;
  fcgiSetEnvIf: FcgiSetEnvRule[];
  /** `Alias` / `AliasMatch`, in the order they are tried (a vhost's before the main server's). */
  aliases: import('./alias.js').AliasRule[];
  /** `Redirect` / `RedirectMatch` at site level, in the order they are tried. */
  redirects: import('./alias.js').RedirectRule[];
  /** ErrorLog / CustomLog / LogLevel of this site (parsed; applied by the logging of issue 12). */
  siteLogs: SiteLogs;
  /** mod_ssl directives of this site; null when it has none. */
  ssl: import('./ssl.js').SslSettings | null;
  /** mod_remoteip directives of this site; null when RemoteIPHeader is not set. */
  remoteIp: import('./remote-ip.js').RemoteIpSettings | null;
}

/** A log directive as written, with where it was. */
export interface LogDirective {
  args: string[];
  file: string;
  line: number;
}

export interface SiteLogs {
  errorLog: LogDirective | null;
  customLogs: LogDirective[];
  logLevel: LogDirective | null;
}

/** One <VirtualHost>: its addresses and names, and the site it serves (already merged). */
export interface VirtualHostConfig {
  addresses: import('./vhost.js').VHostAddress[];
  /** ServerName (or the main server's when the vhost has none) first, then each ServerAlias. */
  names: import('./vhost.js').NamePattern[];
  site: SiteConfig;
  file: string;
  line: number;
}

export interface GatewayConfig extends SiteConfig {
  /** The file the configuration came from ("command line" for `fcgate serve --listen/--pass`). */
  source: string;
  listen: ListenAddress[];
  /** <VirtualHost> sections in file order; empty = the main server serves everything. */
  vhosts: VirtualHostConfig[];
  /** Plain workers by canonical name; two ProxyPass lines to one URL share one object. */
  workers: Map<string, WorkerSettings>;
  /** Balancers by name, shared by every site (a vhost's balancer is usable in that vhost only). */
  balancers: Map<string, BalancerConfig>;
  /** Directives accepted and ignored (LoadModule, …), for `fcgate check` to list. */
  ignored: string[];
  /** Things accepted but worth a line in the log (`file:line: …`), e.g. ignored shared-worker keys. */
  warnings: string[];
  /** ProxyHCExpr conditions by name (hcexpr=name); absent when none is declared. */
  hcExpressions?: Map<string, import('./expression.js').Cond>;
  /** The balancer manager, when `BalancerManager` enables it (off by default). */
  balancerManager?: ManagerSettings | null;
  /** `User`, `Group`: name or #id to serve as once the ports are open (started as root); absent = not set. */
  user?: string;
  group?: string;
  /** `PidFile`, absolute; absent = none. */
  pidFile?: string;
}

// ---------------------------------------------------------------------------
// Logs (mod_log_config, the error log, request ids): produced by log-directives.ts,
// read by src/log and src/observe.

/** Where a log goes: a file (appended), a piped command (restarted if it dies), or stdout/stderr. */
export type LogTarget =
  | { kind: 'stdout' }
  | { kind: 'stderr' }
  | { kind: 'file'; path: string }
  /** `"|cmd args"` runs cmd directly (argv split as a shell would, no shell); `"|$cmd"` runs it with /bin/sh -c. */
  | { kind: 'pipe'; command: string; shell: boolean };

/** One CustomLog (or TransferLog) line. */
export interface AccessLogConfig {
  target: LogTarget;
  /** The format string (a nickname already resolved; `JSON_FORMAT` for json). */
  format: string;
  /** `env=var` / `env=!var`: log only requests that have (or lack) that environment variable. */
  env: { name: string; negate: boolean } | null;
  file: string;
  line: number;
}

export type LogLevelName = 'emerg' | 'alert' | 'crit' | 'error' | 'warn' | 'notice' | 'info' | 'debug';

export interface LogSettings {
  /** LogFormat nicknames, the predefined ones (common, combined, json, …) included. */
  formats: Map<string, string>;
  /** TransferLog's format: the last one-argument LogFormat, else the common log format. */
  defaultFormat: string;
  /**
   * CustomLog/TransferLog lines in order; null = none configured (one combined log to
   * stdout); [] = `CustomLog off`.
   */
  access: AccessLogConfig[] | null;
  errorLog: LogTarget;
  /** LogLevel: the global level and per-area ones (`LogLevel warn proxy_fcgi:debug`). */
  level: LogLevelName;
  areaLevels: Map<string, LogLevelName>;
  /** ErrorLogFormat json → one JSON object per line; text otherwise. */
  errorFormat: 'text' | 'json';
  /** The response header carrying the request id; null with `RequestIdHeader off`. */
  requestIdHeader: string | null;
  /** BufferedLogs Off: lines are written at the end of each event-loop turn instead of in ≤ 100 ms batches. */
  buffered: boolean;
}

/** GatewayConfig with the log settings it needs (older configs built by hand have none). */
export interface GatewayConfig {
  logs?: LogSettings;
  /** LimitRequestLine / LimitRequestFieldSize / LimitRequestFields (top level); absent: Apache's defaults. */
  requestLimits?: RequestLimits;
}

/** Apache's limits on a request's head, checked before routing (front/request-checks.ts). */
export interface RequestLimits {
  /** Bytes of the request line (method, target, protocol): 414 past it. Default 8190. */
  line: number;
  /** Bytes of one header field line (`Name: value`): 400 past it. Default 8190. */
  fieldSize: number;
  /** Header fields: 400 past it. Default 100. */
  fields: number;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = { line: 8190, fieldSize: 8190, fields: 100 };
