// mod_authz_core's `Require` for the subset fcgate supports, pure: the providers `all
// granted|denied`, `ip` (mod_authz_host; addresses and networks as cidr.ts reads them),
// `local`, `method`, `env`; `Require not …`; the containers <RequireAll>, <RequireAny>,
// <RequireNone>. Authentication (valid-user, user, group) and `host` (DNS) are refused.
//
// Evaluation as mod_authz_core's apply_authz_sections: each Require gives granted, denied
// or neutral; `not` turns granted into denied and denied into neutral; RequireAll is denied
// by any denied child, granted when its non-neutral children are all granted; RequireAny is
// granted by any granted child; RequireNone is a negated RequireAny. The lines of one
// section form an implicit RequireAny. Only `granted` lets the request through (neutral
// and denied → 403). Sections merge as AuthMerging Off: the last section (in merge order)
// that has Require lines decides alone; none at all → granted.
//
//   <RequireAll>                      192.0.2.7   → all: granted, not ip: neutral → granted
//     Require all granted             10.1.2.3    → not ip: denied → denied (403)
//     Require not ip 10.0.0.0/8
//   </RequireAll>

import { NetworkList, parseIp, parseNetwork } from './cidr.js';

export type AuthzProvider =
  | { kind: 'all'; granted: boolean }
  | { kind: 'ip'; nets: NetworkList }
  | { kind: 'local' }
  | { kind: 'method'; methods: ReadonlySet<string> }
  | { kind: 'env'; names: readonly string[] };

export type AuthzNode =
  | { kind: 'require'; negate: boolean; provider: AuthzProvider; text: string; file: string; line: number }
  | AuthzContainer;

/** <RequireAll> / <RequireAny> / <RequireNone>, or the implicit RequireAny of a section's lines. */
export interface AuthzContainer {
  kind: 'all' | 'any' | 'none';
  children: AuthzNode[];
  file: string;
  line: number;
}

/** What the providers read from a request. */
export interface AuthzRequest {
  remoteAddress: string;
  localAddress: string;
  method: string;
  env: ReadonlyMap<string, string>;
}

const Granted = 1,
  Denied = 2,
  Neutral = 3;
type Result = typeof Granted | typeof Denied | typeof Neutral;

/** Parses the arguments of one `Require` line; throws an Error with the message to show. */
export function parseRequire(args: readonly string[], file: string, line: number): AuthzNode {
  let a = args;
  let negate = false;
  if (a[0]?.toLowerCase() === 'not') {
    negate = true;
    a = a.slice(1);
  }
  const kind = a[0]?.toLowerCase();
  const rest = a.slice(1);
  const text = args.join(' ');
  const node = (provider: AuthzProvider): AuthzNode => ({ kind: 'require', negate, provider, text, file, line });
  switch (kind) {
    case 'all':
      if (rest.length !== 1 || !/^(granted|denied)$/i.test(rest[0]!))
        throw new Error('expected "all granted" or "all denied"');
      if (negate) throw new Error('"Require not all …" is not allowed (Apache: use the other value)');
      return node({ kind: 'all', granted: rest[0]!.toLowerCase() === 'granted' });
    case 'ip':
      if (rest.length === 0) throw new Error('expected one or more addresses or networks');
      return node({ kind: 'ip', nets: new NetworkList(rest.map((r) => parseNetwork(r))) });
    case 'local':
      if (rest.length !== 0) throw new Error('"local" takes no argument');
      return node({ kind: 'local' });
    case 'method':
      if (rest.length === 0) throw new Error('expected one or more methods');
      for (const m of rest) if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(m)) throw new Error(`"${m}" is not a method`);
      return node({ kind: 'method', methods: new Set(rest) });
    case 'env':
      if (rest.length === 0) throw new Error('expected one or more variable names');
      return node({ kind: 'env', names: rest.slice() });
    case 'valid-user':
    case 'user':
    case 'group':
    case 'file-owner':
    case 'file-group':
      throw new Error(
        `"${kind}": authentication is not implemented in fcgate (let the application `
          + 'authenticate, with CGIPassAuth On to pass the Authorization header)',
      );
    case 'host':
    case 'forward-dns':
      throw new Error(`"${kind}" needs DNS lookups per request, which fcgate does not do: use "Require ip"`);
    case undefined:
      throw new Error('expected a provider: all, ip, local, method or env');
    default:
      throw new Error(
        `"${a[0]}" is not supported (fcgate supports all, ip, local, method, env, not, `
          + 'and <RequireAll>/<RequireAny>/<RequireNone>)',
      );
  }
}

/**
 * Checks a finished container as Apache does at startup: a negated Require directly in a
 * RequireAny (or a section's implicit one) has no effect (AH01635), and a RequireAll or
 * RequireNone with only negated children grants nothing.
 */
export function checkContainer(n: AuthzContainer, label: string): void {
  if (n.children.length === 0) throw new Error(`${label} contains no Require line`);
  if (n.kind === 'any') {
    const neg = n.children.find((c) => c.kind === 'require' && c.negate);
    if (neg !== undefined) {
      throw new Error(
        `"Require ${(neg as { text: string }).text}" has no effect in ${label}: `
          + 'a negated Require belongs in <RequireAll> beside a positive one (Apache AH01635)',
      );
    }
  } else if (n.children.every((c) => c.kind === 'require' && c.negate)) {
    throw new Error(`${label} contains only negated Require lines, which can never grant access`);
  }
}

function providerResult(p: AuthzProvider, req: AuthzRequest): Result {
  switch (p.kind) {
    case 'all':
      return p.granted ? Granted : Denied;
    case 'ip':
      return p.nets.matches(req.remoteAddress) ? Granted : Denied;
    case 'local': {
      const ip = parseIp(req.remoteAddress);
      if (ip === null) return req.remoteAddress === '' ? Granted : Denied; // unix socket: local
      if (ip.v4 ? ip.w[3] >>> 24 === 127 : ip.w[0] === 0 && ip.w[1] === 0 && ip.w[2] === 0 && ip.w[3] === 1)
        return Granted;
      return req.remoteAddress === req.localAddress ? Granted : Denied;
    }
    case 'method':
      return p.methods.has(req.method) ? Granted : Denied;
    case 'env':
      return p.names.some((n) => req.env.has(n)) ? Granted : Denied;
  }
}

function evaluate(n: AuthzNode, req: AuthzRequest): Result {
  let r: Result;
  if (n.kind === 'require') {
    r = providerResult(n.provider, req);
    if (n.negate) r = r === Granted ? Denied : r === Denied ? Neutral : r;
    return r;
  }
  r = Neutral;
  const and = n.kind === 'all';
  for (const c of n.children) {
    const cr = evaluate(c, req);
    if (cr === Neutral) continue;
    if (and) {
      if (cr === Denied) {
        r = Denied;
        break;
      }
      r = Granted;
    } else {
      if (cr === Granted) {
        r = Granted;
        break;
      }
      r = Denied;
    }
  }
  if (n.kind === 'none') r = r === Granted ? Denied : r === Denied ? Neutral : r;
  return r;
}

/** May the request through? `node` is the deciding section's authz (null: no Require anywhere). */
export function authorize(node: AuthzNode | null, req: AuthzRequest): boolean {
  return node === null || evaluate(node, req) === Granted;
}
