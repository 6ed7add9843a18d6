// The label values a configuration brings, computed the same way in the main thread (which
// registers them, metrics/layout.ts LabelRegistry) and in every serving thread (which maps
// its routing results to their indices): routes (the config mapping that served a request,
// never the raw URL), backends (worker names) and balancer members.
import type { GatewayConfig, HandlerTarget, ProxyRoute, WorkerSettings } from '../config/model.js';
import type { RouteResult } from '../config/router.js';

/** Routes every configuration has: nothing matched (404/400/503 while draining) and files from DocumentRoot. */
const ROUTE_NONE = 0;
const ROUTE_STATIC = 1;
export const FIXED_ROUTES: readonly string[] = ['none', 'static'];

/** A mapping and its label: a ProxyPass/ProxyPassMatch route, or a SetHandler's worker or balancer. */
export interface RouteLabel {
  key: ProxyRoute | WorkerSettings | string;
  label: string;
}

export interface ConfigLabels {
  routes: RouteLabel[];
  backends: string[];
  /** Balancer members in board-slot order (src/balancer/shared-state.ts memberLayout). */
  members: Array<{ balancer: string; member: string; label: string }>;
}

/** A member's registry name; memberParts() splits it back. */
const memberLabel = (balancer: string, member: string): string => `${balancer}\n${member}`;
export const memberParts = (label: string): [string, string] => {
  const i = label.indexOf('\n');
  return [label.slice(0, i), label.slice(i + 1)];
};

function handlerLabel(h: HandlerTarget): RouteLabel | null {
  if (h.worker !== null) return { key: h.worker, label: `handler ${h.worker.name}` };
  if (h.balancer !== null) return { key: h.balancer, label: `handler ${h.balancer}` };
  return null;
}

export function configLabels(cfg: GatewayConfig): ConfigLabels {
  const routes: RouteLabel[] = [];
  for (const r of cfg.routes) {
    if (r.exclude) continue;
    routes.push({ key: r, label: r.form === 'proxypassmatch' ? `~ ${r.pattern}` : r.pattern });
  }
  for (const block of [cfg.server, ...cfg.sections]) {
    const h = block.handler;
    if (h === null || h === undefined) continue;
    const l = handlerLabel(h);
    if (l !== null) routes.push(l);
  }
  const backends = new Set<string>(cfg.workers.keys());
  const members: ConfigLabels['members'] = [];
  for (const b of cfg.balancers.values()) {
    for (const m of b.members) {
      backends.add(m.worker.name);
      members.push({ balancer: b.name, member: m.worker.name, label: memberLabel(b.name, m.worker.name) });
    }
  }
  return { routes, backends: [...backends], members };
}

/** The key a routing result is labelled by (routeIndex maps it), or a fixed route. */
export function routeKey(r: RouteResult): ProxyRoute | WorkerSettings | string | number {
  switch (r.kind) {
    case 'proxy':
      if (r.route !== null) return r.route;
      return r.resolved.worker ?? r.resolved.balancer ?? ROUTE_NONE;
    case 'static':
    case 'redirect-dir':
      return ROUTE_STATIC;
    default:
      return ROUTE_NONE;
  }
}
