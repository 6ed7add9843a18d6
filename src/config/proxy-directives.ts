// mod_proxy's directives: ProxyPass, ProxyPassMatch, BalancerMember, ProxySet, and the
// targets of <Proxy> sections and SetHandler "proxy:…". Builds routes, shared workers
// and balancers into BuildState; the other directives are in directives.ts.

import type { BuildState, Context } from './build-state.js';
import type { DirectiveNode } from './lexer.js';
import type { HandlerTarget, ProxyRoute, WorkerSettings } from './model.js';
import { compileRegex } from './expression.js';
import { applyBalancerKey, BALANCER_KEYS, WORKER_KEYS } from './worker-keys.js';
import { didYouMean } from '../closest-name.js';

/**
 * `ProxyPass path url [key=value…]`, `ProxyPass path !`; inside <Location> the path is
 * the section's (`ProxyPass url …`). `ProxyPassMatch regex url …` likewise, with the
 * regex of a <LocationMatch>. Routes from <Location> sections are tried before the
 * server's (Apache checks the per-directory ProxyPass first), later sections first.
 */
export function proxyPass(st: BuildState, ctx: Context, d: DirectiveNode, match: boolean): void {
  const name = match ? 'ProxyPassMatch' : 'ProxyPass';
  let pattern: string;
  let rest: string[];
  let regexForm = match;
  if (ctx.kind === 'location') {
    const sec = ctx.section!;
    if (d.args.length < 1) st.fail(d, name, 'expected a URL (the path comes from the <Location>)');
    pattern = sec.pattern;
    rest = d.args;
    if (sec.regex !== null) regexForm = true;
    else if (match) st.fail(d, name, 'inside <Location> use ProxyPass, or put ProxyPassMatch in <LocationMatch>');
  } else if (ctx.kind === 'server' || ctx.kind === 'vhost') {
    if (d.args.length < 2) st.fail(d, name, match ? 'expected a regex and a URL' : 'expected a path and a URL');
    pattern = d.args[0]!;
    rest = d.args.slice(1);
  } else {
    st.fail(d, name, 'only allowed at server level or inside <Location> / <LocationMatch>');
  }
  let regex: RegExp | null = null;
  if (regexForm) {
    try {
      regex = ctx.kind === 'location' ? ctx.section!.regex! : compileRegex(pattern);
    } catch (e) {
      st.fail(d, name, (e as Error).message);
    }
  } else if (!pattern.startsWith('/')) {
    st.fail(d, name, `the path must start with '/', got "${pattern}"`);
  }
  const url = rest[0]!;
  const route: ProxyRoute = {
    form: regexForm ? 'proxypassmatch' : 'proxypass',
    pattern,
    regex,
    exclude: false,
    url: null,
    worker: null,
    balancer: null,
    targetPath: '',
    file: d.file,
    line: d.line,
  };
  if (url === '!') {
    if (rest.length > 1) st.fail(d, name, `"!" takes no key=value parameters`);
    route.exclude = true;
  } else {
    route.url = url;
    const t = st.parseTarget(d, name, url);
    const keys = st.keyValues(d, name, rest.slice(1));
    route.targetPath = t.path;
    if (t.kind === 'balancer') {
      const b = st.balancer(t.name, d);
      st.useBalancer(ctx, t.name, name, d);
      for (const [k, v] of keys) {
        if (!BALANCER_KEYS.has(k)) {
          st.fail(
            d,
            name,
            WORKER_KEYS.includes(k)
              ? `"${k}" is not a balancer key (put worker keys on BalancerMember or ProxySet)`
              : `unknown balancer key "${k}"${didYouMean(k, BALANCER_KEYS)}`,
          );
        }
        try {
          applyBalancerKey(b, k, v);
        } catch (e) {
          st.fail(d, name, (e as Error).message);
        }
      }
      route.balancer = t.name;
    } else {
      if (!regexForm && /\$\d/.test(t.path)) {
        // Harmless in Apache too (no substitution for ProxyPass), but almost surely a mistake.
        st.fail(d, name, `"$N" in the URL only has a meaning with ProxyPassMatch`);
      }
      const { worker: w, shared } = st.workerForPass(t);
      if (shared && keys.length > 0) {
        st.applyWorkerKeys(d, name, { ...probeWorker }, keys); // still validated
        st.warn(
          d,
          name,
          `ignoring ${keys.map(([k, v]) => `${k}=${v}`).join(' ')}: worker ${w.name} is already defined and `
            + `shared (set its keys on its first ProxyPass or with ProxySet in <Proxy>)`,
        );
      } else {
        st.applyWorkerKeys(d, name, w, keys);
      }
      route.worker = w;
    }
  }
  st.addRoute(ctx, route);
}

/**
 * The target of `<Proxy url>`: a worker (keys via ProxySet), a balancer (members via
 * BalancerMember), or `*` (every proxied request; only access directives make sense).
 * Returns the canonical name, or null for `*`.
 */
export function proxySectionTarget(st: BuildState, ctx: Context, d: DirectiveNode, url: string): string | null {
  if (url === '*') return null;
  const t = st.parseTarget(d, '<Proxy>', url);
  if (t.kind === 'balancer') {
    st.balancer(t.name, d);
    st.defineBalancer(ctx, t.name, d);
  } else st.worker(t);
  return t.name;
}

/** `BalancerMember url [key=value…]` inside <Proxy balancer://…>, or `BalancerMember balancer://name url …`. */
export function balancerMember(st: BuildState, ctx: Context, d: DirectiveNode): void {
  const name = 'BalancerMember';
  let args = d.args;
  let balancerName: string;
  if (ctx.kind === 'proxy' && ctx.section!.target?.startsWith('balancer://')) {
    balancerName = ctx.section!.target;
  } else if (ctx.kind === 'server' || ctx.kind === 'vhost') {
    const b = args[0] === undefined ? null : st.parseTarget(d, name, args[0]);
    if (b === null || b.kind !== 'balancer')
      st.fail(d, name, 'outside <Proxy balancer://…> expected a balancer://name and a URL');
    balancerName = b.name;
    args = args.slice(1);
  } else {
    st.fail(d, name, 'only allowed inside <Proxy "balancer://…"> or at server level');
  }
  if (args.length < 1) st.fail(d, name, 'expected a URL');
  const t = st.parseTarget(d, name, args[0]!);
  if (t.kind !== 'worker') st.fail(d, name, 'a member must be an fcgi:// or unix: URL, not a balancer');
  const keys = st.keyValues(d, name, args.slice(1));
  for (const [k] of keys)
    if (BALANCER_KEYS.has(k) && k !== 'timeout') st.fail(d, name, `"${k}" is a balancer key (use ProxySet)`);
  const balancer = st.balancer(balancerName, d);
  st.defineBalancer(ctx, balancerName, d);
  st.pendingMembers.push({ balancer, target: t, url: args[0]!, keys, file: d.file, line: d.line });
}

/**
 * `ProxySet key=value…` inside <Proxy url>, or `ProxySet url key=value…`. On a balancer,
 * balancer keys go to the balancer and worker keys become defaults for its members.
 */
export function proxySet(st: BuildState, ctx: Context, d: DirectiveNode): void {
  const name = 'ProxySet';
  let target: string | null;
  let args = d.args;
  if (ctx.kind === 'proxy') {
    target = ctx.section!.target;
    if (target === null) st.fail(d, name, 'not allowed in <Proxy *>');
  } else if (ctx.kind === 'server' || ctx.kind === 'vhost') {
    if (args.length < 2) st.fail(d, name, 'expected a URL and key=value parameters');
    const t = st.parseTarget(d, name, args[0]!);
    if (t.kind === 'balancer') {
      st.balancer(t.name, d);
      target = t.name;
    } else {
      target = st.worker(t).name;
    }
    args = args.slice(1);
  } else {
    st.fail(d, name, 'only allowed inside <Proxy> or at server level');
  }
  if (args.length === 0) st.fail(d, name, 'expected key=value parameters');
  const keys = st.keyValues(d, name, args);
  const balancer = st.cfg.balancers.get(target);
  if (balancer !== undefined) {
    let defaults = st.memberDefaults.get(target);
    if (defaults === undefined) st.memberDefaults.set(target, (defaults = []));
    for (const [k, v] of keys) {
      if (BALANCER_KEYS.has(k)) {
        try {
          applyBalancerKey(balancer, k, v);
        } catch (e) {
          st.fail(d, name, (e as Error).message);
        }
      } else {
        st.applyWorkerKeys(d, name, { ...probeWorker }, [[k, v]]); // validate now, apply at the end
        defaults.push([k, v]);
      }
    }
    return;
  }
  st.applyWorkerKeys(d, name, st.cfg.workers.get(target)!, keys);
}

const probeWorker: WorkerSettings = {
  name: '',
  address: { kind: 'tcp', host: '', port: 0 },
  reuse: true,
  max: null,
  timeoutMs: 0,
  connectTimeoutMs: 0,
  acquireMs: 0,
  ttlMs: 0,
  flushPackets: 'auto',
  flushWaitMs: 0,
  requestBuffering: true,
  loadFactor: 1,
  lbSet: 0,
  route: '',
  retryMs: 0,
  status: '',
};

/** `SetHandler "proxy:fcgi://…"`, `"proxy:unix:…|fcgi://…"`, `"proxy:balancer://…"`, or `none`. */
export function setHandler(st: BuildState, ctx: Context, d: DirectiveNode): HandlerTarget | null {
  const name = 'SetHandler';
  if (d.args.length !== 1) st.fail(d, name, 'takes one argument');
  const v = d.args[0]!;
  if (v.toLowerCase() === 'none') return null;
  if (v.toLowerCase() === 'balancer-manager' || v.toLowerCase() === 'server-status') {
    st.fail(
      d,
      name,
      `${v.toLowerCase() === 'server-status' ? '/server-status' : 'the balancer manager'} is served on `
        + `fcgate's admin listener: use "AdminListen 127.0.0.1:PORT" at server level (README, Operating fcgate)`,
    );
  }
  if (!v.toLowerCase().startsWith('proxy:')) {
    st.fail(
      d,
      name,
      `only "proxy:fcgi://…", "proxy:unix:…|fcgi://…", "proxy:balancer://…" and none are supported, got "${v}"`,
    );
  }
  const url = v.slice(6);
  const t = st.parseTarget(d, name, url);
  if (/\$\d/.test(t.path)) st.fail(d, name, '"$N" has no meaning in a SetHandler URL');
  if (t.kind === 'balancer') {
    st.balancer(t.name, d);
    st.useBalancer(ctx, t.name, name, d);
    return { url, worker: null, balancer: t.name, urlPath: t.path };
  }
  return { url, worker: st.worker(t), balancer: null, urlPath: t.path };
}
