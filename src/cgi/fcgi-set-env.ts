// ProxyFCGISetEnvIf applied to a built param list: the ExpressionContext the rules
// read, and set / override / unset in Apache's table order. Parsing the rules'
// expressions is config/'s job; building the list is environment.ts's.
//
// As mod_proxy_fcgi's fix_cgivars: rules run in config order after all other params
// exist; a false condition does nothing; `!NAME` removes the param; setting a name
// that exists replaces its value in place (apr_table_setn), a new name goes last.
// Names match case-insensitively, as in Apache's tables.

import type { ExpressionContext, FcgiSetEnvRule, ResolvedRequest } from '../config/model.js';
import { GatewayError } from '../errors.js';
import type { RequestSnapshot } from '../request.js';

const NO_HEADERS: readonly string[] = Object.freeze([]);

/** Finds a name at the even positions of a flat list; -1 when absent. */
export function indexOfParam(list: readonly string[], name: string): number {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return i;
  const upper = name.toUpperCase();
  for (let i = 0; i < list.length; i += 2) {
    const n = list[i]!;
    if (n.length === name.length && n.toUpperCase() === upper) return i;
  }
  return -1;
}

// ap_expr's request variables that are request headers (%{HTTP_USER_AGENT} …).
const HEADER_VARIABLES: Record<string, string> = {
  HTTP_ACCEPT: 'accept',
  HTTP_COOKIE: 'cookie',
  HTTP_FORWARDED: 'forwarded',
  HTTP_HOST: 'host',
  HTTP_PROXY_CONNECTION: 'proxy-connection',
  HTTP_REFERER: 'referer',
  HTTP_USER_AGENT: 'user-agent',
};

/** The view a rule has of the request: params as they are now, headers, variables. */
class ParamsContext implements ExpressionContext {
  readonly params: Map<string, string>;
  /** Header names read through header(), first spelling kept, for the response's Vary. */
  vary: string[] | null = null;
  /** The params before any rule ran: what %{SERVER_NAME} etc. mean in ap_expr. */
  private readonly base: Map<string, string>;

  constructor(
    private readonly list: string[],
    private readonly req: RequestSnapshot,
    private readonly r: ResolvedRequest,
  ) {
    const m = new Map<string, string>();
    for (let i = 0; i < list.length; i += 2) m.set(list[i]!, list[i + 1]!);
    this.params = m;
    this.base = new Map(m);
  }

  header(name: string): string | undefined {
    this.noteVary(name);
    return this.lookupHeader(name.toLowerCase());
  }

  variable(name: string): string | undefined {
    const req = this.req;
    switch (name) {
      case 'REQUEST_METHOD':
        return req.method;
      case 'REQUEST_SCHEME':
        return req.scheme;
      case 'REQUEST_URI':
        return this.r.decodedPath; // ap_expr: r->uri, decoded
      case 'QUERY_STRING':
        return req.query;
      case 'REMOTE_ADDR':
      case 'CONN_REMOTE_ADDR':
        return req.remoteAddress;
      case 'SERVER_PROTOCOL':
        return req.protocol;
      case 'HTTPS':
        return req.scheme === 'https' ? 'on' : 'off';
      case 'IPV6':
        return req.remoteAddress.includes(':') ? 'on' : 'off';
      case 'THE_REQUEST':
        return `${req.method} ${req.query.length > 0 ? req.path + '?' + req.query : req.path} ${req.protocol}`;
      case 'DOCUMENT_ROOT':
        return this.r.documentRoot;
      case 'CONTEXT_PREFIX':
        return this.r.contextPrefix;
      case 'CONTEXT_DOCUMENT_ROOT':
        return this.r.contextDocumentRoot;
      case 'REQUEST_FILENAME':
        return this.base.get('SCRIPT_FILENAME');
      case 'SERVER_NAME':
      case 'SERVER_PORT':
      case 'SERVER_ADMIN':
      case 'SERVER_SOFTWARE':
      case 'SCRIPT_FILENAME':
      case 'PATH_INFO':
      case 'REMOTE_PORT':
      case 'SERVER_ADDR':
        return this.base.get(name);
      default: {
        const h = HEADER_VARIABLES[name];
        if (h === undefined) return undefined;
        this.noteVary(h);
        return this.lookupHeader(h);
      }
    }
  }

  set(name: string, value: string): void {
    const list = this.list;
    const i = indexOfParam(list, name);
    if (i >= 0) {
      this.params.delete(list[i]!);
      list[i + 1] = value;
      this.params.set(list[i]!, value);
    } else {
      list.push(name, value);
      this.params.set(name, value);
    }
  }

  unset(name: string): void {
    const list = this.list;
    const i = indexOfParam(list, name);
    if (i < 0) return;
    this.params.delete(list[i]!);
    list.splice(i, 2);
  }

  private lookupHeader(lower: string): string | undefined {
    const h = this.req.headers;
    for (let i = 0; i < h.length; i++) if (h[i]![0] === lower) return h[i]![1];
    return undefined;
  }

  private noteVary(name: string): void {
    const v = (this.vary ??= []);
    const lower = name.toLowerCase();
    for (let i = 0; i < v.length; i++) if (v[i]!.toLowerCase() === lower) return;
    v.push(name);
  }
}

/**
 * Applies the rules to `list` (a flat [name, value, …] list, changed in place) and
 * returns the request header names the conditions and values read (for `Vary`,
 * added by Apache even when the condition was false); a shared empty array if none.
 * A rule that throws fails the request: FCGATE_INTERNAL, the cause attached.
 */
export function applyFcgiSetEnv(
  list: string[],
  rules: readonly FcgiSetEnvRule[],
  req: RequestSnapshot,
  r: ResolvedRequest,
): readonly string[] {
  if (rules.length === 0) return NO_HEADERS;
  const ctx = new ParamsContext(list, req, r);
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    try {
      const captures = rule.test(ctx);
      if (captures === null) continue;
      if (rule.unset) ctx.unset(rule.name);
      else ctx.set(rule.name, rule.value(ctx, captures));
    } catch (err) {
      throw new GatewayError(
        'FCGATE_INTERNAL',
        null,
        `ProxyFCGISetEnvIf for ${rule.name} failed: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  return ctx.vary ?? NO_HEADERS;
}
