// The typed shapes shared by config (which produces them), cgi (which turns a
// resolved request into FastCGI params) and the serving layers. No logic here.

/** Where a FastCGI application listens. */
export type BackendAddress =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'unix'; path: string };

/** Worker keys of ProxyPass / <Proxy fcgi://…> / BalancerMember, resolved with defaults. */
export interface WorkerSettings {
  /** Canonical name, e.g. "fcgi://127.0.0.1:9000" or "unix:/run/php.sock|fcgi://localhost". Pool key. */
  name: string;
  address: BackendAddress;
  /** Connection reuse (FCGI_KEEP_CONN): on by default; disablereuse=on turns it off. */
  reuse: boolean;
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
  /** `flushwait`, ms: with flushpackets=on, how long to wait for more output before flushing. */
  flushWaitMs: number;
  /** Balancer keys (ignored for plain workers). */
  loadFactor: number;
  lbSet: number;
  route: string;
  retryMs: number;
  /** Apache status flags as letters: 'H' hot standby, 'D' disabled, 'N' draining, 'S' stopped, 'I' ignore errors. */
  status: string;
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
  documentRoot: string;
  serverName: string | null;
  /** CONTEXT_PREFIX and CONTEXT_DOCUMENT_ROOT as Apache sends them. */
  contextPrefix: string;
  contextDocumentRoot: string;
}
