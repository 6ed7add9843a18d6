// /healthz and /readyz, for Kubernetes probes and load balancers.
// Alive: every serving thread listens and its heartbeat (written by the thread itself once
// a second into its slab, observe/thread-observer.ts) is under HEARTBEAT_DEADLINE_MS old:
// a thread stuck in a loop or blocked stops answering within that deadline.
// Ready: the configuration is loaded, the gateway is not draining, and every mapping has
// at least one usable backend: a plain backend answers FCGI_GET_VALUES (probed, the answer
// kept for PROBE_CACHE_MS), a balancer has a member that is OK or a hot standby.
import type { WorkerSettings } from '../config/model.js';
import { HEARTBEAT_DEADLINE_MS, memberStates } from '../observe/families.js';
import { configLabels, type RouteLabel } from '../observe/labels.js';
import type { Telemetry } from '../observe/telemetry.js';
import { Header } from '../metrics/layout.js';
import { probeBackend } from '../upstream/probe.js';

export interface Liveness {
  ok: boolean;
  threads: Array<{ thread: number; ready: boolean; heartbeat_age_ms: number | null }>;
  reasons: string[];
}

export function liveness(t: Telemetry, now = Date.now()): Liveness {
  const threads: Liveness['threads'] = [];
  const reasons: string[] = [];
  for (const th of t.context?.threads() ?? []) {
    const c = t.slotCells(th.slot);
    const age = c === null ? null : Math.max(0, now - c[Header.Heartbeat]!);
    threads.push({ thread: th.slot, ready: th.ready, heartbeat_age_ms: age });
    if (!th.ready) reasons.push(`thread ${th.slot} is not listening (restarts: ${th.restarts})`);
    else if (age === null || age > HEARTBEAT_DEADLINE_MS)
      reasons.push(`thread ${th.slot} has not answered for ${age ?? '?'} ms (deadline ${HEARTBEAT_DEADLINE_MS} ms)`);
  }
  if (threads.length === 0) reasons.push('no serving thread');
  return { ok: reasons.length === 0, threads, reasons };
}

/** How long a backend probe's answer is reused. */
const PROBE_CACHE_MS = 2000;
const PROBE_TIMEOUT_MS = 1000;

export interface Readiness {
  ready: boolean;
  reasons: string[];
  mappings: Array<{ route: string; target: string; usable: boolean; detail: string }>;
}

/** What a mapping sends to. */
function targetOf(key: RouteLabel['key']): { worker: WorkerSettings } | { balancer: string } | null {
  if (typeof key === 'string') return { balancer: key };
  if ('address' in key) return { worker: key };
  if (key.worker !== null) return { worker: key.worker };
  if (key.balancer !== null) return { balancer: key.balancer };
  return null;
}

export class ReadinessCheck {
  private readonly cache = new Map<
    string,
    { at: number; error: string | null; pending: Promise<string | null> | null }
  >();

  constructor(
    private readonly t: Telemetry,
    private readonly probe: (w: WorkerSettings) => Promise<string | null> = async (w) =>
      (await probeBackend(w.address, w.name, PROBE_TIMEOUT_MS)).error,
  ) {}

  private async reachable(w: WorkerSettings): Promise<string | null> {
    const now = Date.now();
    let e = this.cache.get(w.name);
    if (e !== undefined && e.pending === null && now - e.at < PROBE_CACHE_MS) return e.error;
    if (e?.pending) return await e.pending;
    e = { at: now, error: null, pending: null };
    this.cache.set(w.name, e);
    const entry = e;
    entry.pending = this.probe(w).then((err) => {
      entry.error = err;
      entry.at = Date.now();
      entry.pending = null;
      return err;
    });
    return await entry.pending;
  }

  async check(): Promise<Readiness> {
    const ctx = this.t.context;
    const cfg = ctx?.config();
    if (ctx === null || ctx === undefined || cfg === undefined)
      return { ready: false, reasons: ['no configuration loaded'], mappings: [] };
    const reasons: string[] = [];
    if (ctx.draining()) reasons.push('draining (SIGTERM): finishing the requests in flight');
    const states = memberStates(this.t);
    const mappings: Readiness['mappings'] = [];
    const labels = configLabels(cfg);
    await Promise.all(
      labels.routes.map(async (r) => {
        const t = targetOf(r.key);
        if (t === null) return;
        let target: string, usable: boolean, detail: string;
        if ('balancer' in t) {
          const members = states.filter((s) => s.balancer === t.balancer);
          const ok = members.filter((s) => s.state === 'ok' || s.state === 'standby');
          target = t.balancer;
          usable = ok.length > 0;
          detail = usable
            ? `${ok.length} of ${members.length} members usable`
            : `no usable member (${members.map((s) => `${s.member}: ${s.state}`).join(', ')})`;
        } else {
          target = t.worker.name;
          const err = await this.reachable(t.worker);
          usable = err === null;
          detail = err === null ? 'answers FCGI_GET_VALUES' : err;
        }
        mappings.push({ route: r.label, target, usable, detail });
        if (!usable) reasons.push(`${r.label} → ${target}: ${detail}`);
      }),
    );
    return { ready: reasons.length === 0, reasons, mappings };
  }
}
