// The balancer's own directives besides BalancerMember / ProxySet: mod_proxy_hcheck's
// ProxyHCExpr and ProxyHCTemplate, and fcgate's BalancerManager (the manager's listener).
// Worker keys (hcmethod, hcinterval, …) are in worker-keys.ts.

import { isIP } from 'node:net';
import type { BuildState, Context } from './build-state.js';
import type { DirectiveNode } from './lexer.js';
import { parseCondition } from './expression.js';
import { HEALTH_KEYS } from './worker-keys.js';

/**
 * `ProxyHCExpr name {expression}`: a condition over the health check's response,
 * e.g. `ProxyHCExpr ok234 {%{REQUEST_STATUS} =~ /^[234]/}`. %{REQUEST_STATUS} is the
 * status; %{HTTP:Name} / req('Name') read the response's header fields.
 */
export function proxyHCExpr(st: BuildState, _ctx: Context, d: DirectiveNode): void {
  const name = 'ProxyHCExpr';
  if (d.args.length < 2) st.fail(d, name, 'expected a name and an {expression}');
  const id = d.args[0]!;
  if (!/^[\w.-]+$/.test(id)) st.fail(d, name, `bad name "${id}"`);
  let src = d.args.slice(1).join(' ').trim();
  if (!src.startsWith('{') || !src.endsWith('}')) st.fail(d, name, 'the expression goes between { and }');
  src = src.slice(1, -1);
  const exprs = (st.cfg.hcExpressions ??= new Map());
  try {
    exprs.set(id, parseCondition(src));
  } catch (e) {
    st.fail(d, name, (e as Error).message);
  }
}

/** `ProxyHCTemplate name key=value…`: health-check keys that `hctemplate=name` applies. */
export function proxyHCTemplate(st: BuildState, _ctx: Context, d: DirectiveNode): void {
  const name = 'ProxyHCTemplate';
  if (d.args.length < 2) st.fail(d, name, 'expected a name and key=value parameters');
  const id = d.args[0]!.toLowerCase();
  const keys = st.keyValues(d, name, d.args.slice(1));
  for (const [k] of keys)
    if (!HEALTH_KEYS.has(k))
      st.fail(d, name, `"${k}" is not a health-check key (hcmethod, hcinterval, hcpasses, hcfails, hcuri, hcexpr)`);
  st.hcTemplates.set(id, keys);
}

const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

/**
 * `AdminListen [host:]port` (synonym: `BalancerManager [host:]port`): the admin listener,
 * serving the balancer manager (HTML page and JSON API), /metrics, /healthz, /readyz and
 * /server-status, never on the proxied port. Without a host it binds 127.0.0.1. A
 * non-loopback host is allowed only together with FCGATE_MANAGER_TOKEN (checked when the
 * listener starts: the token is a secret and does not belong in the config file).
 */
export function balancerManager(st: BuildState, _ctx: Context, d: DirectiveNode): void {
  adminListener(st, d, 'BalancerManager');
}

export function adminListen(st: BuildState, _ctx: Context, d: DirectiveNode): void {
  adminListener(st, d, 'AdminListen');
}

function adminListener(st: BuildState, d: DirectiveNode, name: string): void {
  if (d.args.length !== 1) st.fail(d, name, 'expected [host:]port, e.g. 127.0.0.1:8081');
  const m = /^(?:\[([0-9a-fA-F:.]+)\]:|([^:[\]]+):)?(\d{1,5})$/.exec(d.args[0]!);
  if (m === null || +m[3]! > 65535) st.fail(d, name, `expected [host:]port, got "${d.args[0]}"`);
  const host = m[1] ?? m[2] ?? '127.0.0.1';
  if (host !== 'localhost' && isIP(host) === 0)
    st.fail(d, name, `the host must be an IP address or localhost, got "${host}"`);
  if (st.cfg.balancerManager) st.fail(d, name, 'already set (AdminListen and BalancerManager name the same listener)');
  st.cfg.balancerManager = { host, port: +m[3]!, tokenRequired: !isLoopback(host), file: d.file, line: d.line };
}
