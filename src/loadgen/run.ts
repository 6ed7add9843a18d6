// One measured run of one target set: probe the target (fail early when nothing listens;
// GET_VALUES for --multiplex), run the load threads, sample the target's and this
// process's CPU and memory over the measured window, and gather it all in a RunReport,
// the one object every output (text, JSON, HTML) is made from.
import { formatConnectAddress, type TargetKind } from './target.js';
import { summarize, type LatencySummary } from './histogram.js';
import type { LoadThreads, MergedRun, RunHooks } from './load-threads.js';
import { buildThreadPlans, type BenchOptions, type TargetSet } from './options.js';
import { probeTarget } from './probe.js';
import { RssSampler, treeCpu, type CpuTimes } from './proc-stats.js';
import type { RateSpec } from './schedule.js';
import { Schedule } from './schedule.js';
import { errorTotal } from './messages.js';

export interface ProcessCost {
  pids: number[];
  /** Processes in the trees at the end of the window. */
  processes: number;
  /** CPU per response in µs. */
  userUsPerRequest: number;
  systemUsPerRequest: number;
  /** Share of one core used over the window (1 = one core busy). */
  cores: number;
  peakRssBytes: number;
  /** The same peak without file-backed pages (the program's mapped code). */
  peakAnonBytes: number;
}

export interface RunReport {
  label: string | null;
  /** 1-based round with --compare, else null. */
  round: number | null;
  kind: TargetKind;
  urls: Array<{ url: string; weight: number }>;
  address: string;
  threads: number;
  connections: number;
  /** Requests in flight per connection (FastCGI multiplexing), 1 otherwise. */
  depth: number;
  loop: 'closed' | 'open';
  durationMs: number | null;
  requests: number | null;
  warmupMs: number;
  rate: RateSpec | null;
  timeoutMs: number;
  keepAlive: boolean;
  method: string;
  run: MergedRun;
  /** Measured window in seconds (the rate's denominator). */
  durationS: number;
  rps: number;
  errors: number;
  /** Responses with a status outside 200..399. */
  non2xx3xx: number;
  latency: LatencySummary;
  target: ProcessCost | null;
  self: ProcessCost;
  fcgi: { multiplexAsked: number; getValues: Record<string, string> | null; stderrRequests: number } | null;
  openLoop: { askedRate: number; achievedRate: number; lagMeanUs: number; lagMaxUs: number; lateBusy: number } | null;
  /** Notes for the reader (multiplexing refused, connections that failed before the start …). */
  notes: string[];
}

/** A run could not start (nothing listens): the CLI prints it and exits 1. */
export class RunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunError';
  }
}

export async function runSet(
  threads: LoadThreads,
  set: TargetSet,
  o: BenchOptions,
  round: number | null,
  hooks: RunHooks = {},
): Promise<RunReport> {
  const first = set.entries[0]!.target;
  const notes: string[] = [];
  const wantMpx = first.kind === 'fcgi' && o.multiplex > 1;
  const probe = await probeTarget(first.address, wantMpx, Math.min(o.timeoutMs, 5000));
  if (probe.error !== null) throw new RunError(probe.error);
  let depth = 1;
  if (wantMpx) {
    const mpxs = probe.values?.['FCGI_MPXS_CONNS'];
    if (!o.request.keepAlive) notes.push('--multiplex needs keep-alive: one request per connection');
    else if (mpxs === '1') depth = o.multiplex;
    else
      notes.push(
        `--multiplex ${o.multiplex}: the app answered FCGI_MPXS_CONNS=${mpxs ?? '(no answer)'}; one request `
          + `per connection`,
      );
  }
  const plans = buildThreadPlans(set, o, depth);

  const cost = new WindowCost(set.pids);
  const run = await threads.run(plans, o.warmupMs, {
    ...hooks,
    onMeasureStart: () => {
      cost.start();
      hooks.onMeasureStart?.();
    },
  });
  cost.start(); // a run that ended before its warm-up timer (-n, stop)
  const { self, target } = cost.finish(run.counts.responses);

  const durationS = Math.max(1e-6, (run.measureEnd - run.measureStart) / 1000);
  const responses = run.counts.responses;
  let non2xx3xx = 0;
  for (const [s, c] of Object.entries(run.status)) if (Number(s) < 200 || Number(s) >= 400) non2xx3xx += c;
  if (run.preconnectFailed > 0)
    notes.push(
      `${run.preconnectFailed} of ${run.preconnected + run.preconnectFailed} connections failed before the `
        + `start (retried during the run)`,
    );

  let openLoop: RunReport['openLoop'] = null;
  if (o.rate !== null) {
    const schedule = new Schedule(o.rate, o.warmupMs);
    const windowMs = o.durationMs ?? run.measureEnd - run.measureStart;
    const due =
      o.requests !== null ? Math.min(o.requests, schedule.requestsIn(windowMs)) : schedule.requestsIn(windowMs);
    const sent = run.sentOnSchedule;
    openLoop = {
      askedRate: due / (windowMs / 1000),
      achievedRate: responses / durationS,
      lagMeanUs: sent > 0 ? run.lagSumUs / sent : 0,
      lagMaxUs: run.lagMaxUs,
      lateBusy: run.lateBusy,
    };
    if (run.lateBusy > sent * 0.01 && sent > 0) {
      notes.push(
        `${run.lateBusy} requests waited for a busy connection past their due time (latency counted from the `
          + `due time); more -c would keep the schedule`,
      );
    }
  }

  return {
    label: set.label,
    round,
    kind: first.kind,
    urls: set.entries.map((e) => ({ url: e.target.text, weight: e.weight })),
    address: formatConnectAddress(first.address),
    threads: plans.length,
    connections: o.connections,
    depth,
    loop: o.rate === null ? 'closed' : 'open',
    durationMs: o.durationMs,
    requests: o.requests,
    warmupMs: o.warmupMs,
    rate: o.rate,
    timeoutMs: o.timeoutMs,
    keepAlive: o.request.keepAlive,
    method: o.request.method,
    run,
    durationS,
    rps: responses / durationS,
    errors: errorTotal(run.counts),
    non2xx3xx,
    latency: summarize(run.histogram),
    target,
    self,
    fcgi:
      first.kind === 'fcgi'
        ? { multiplexAsked: o.multiplex, getValues: probe.values, stderrRequests: run.stderrRequests }
        : null,
    openLoop,
    notes,
  };
}

const peaks = (p: { peak: number; peakAnon: number }): { peakRssBytes: number; peakAnonBytes: number } => ({
  peakRssBytes: p.peak,
  peakAnonBytes: p.peakAnon,
});

/** CPU and peak RSS of this process and of the --pid trees over the measured window. */
class WindowCost {
  private startedAt = 0;
  private self0: NodeJS.CpuUsage | null = null;
  private target0: CpuTimes | null = null;
  private selfRss: RssSampler | null = null;
  private targetRss: RssSampler | null = null;

  constructor(private readonly pids: number[]) {}

  start(): void {
    if (this.self0 !== null) return;
    this.startedAt = performance.now();
    this.self0 = process.cpuUsage();
    this.selfRss = new RssSampler([process.pid], 100, false);
    if (this.pids.length > 0) {
      this.target0 = treeCpu(this.pids);
      this.targetRss = new RssSampler(this.pids);
    }
  }

  finish(responses: number): { self: ProcessCost; target: ProcessCost | null } {
    const wallS = Math.max(1e-6, (performance.now() - this.startedAt) / 1000);
    const per = (us: number): number => (responses > 0 ? us / responses : 0);
    const selfCpu = process.cpuUsage(this.self0!);
    const self: ProcessCost = {
      pids: [process.pid],
      processes: 1,
      userUsPerRequest: per(selfCpu.user),
      systemUsPerRequest: per(selfCpu.system),
      cores: (selfCpu.user + selfCpu.system) / 1e6 / wallS,
      ...peaks(this.selfRss!.stop()),
    };
    if (this.target0 === null) return { self, target: null };
    const t1 = treeCpu(this.pids);
    const user = t1.userUs - this.target0.userUs;
    const system = t1.systemUs - this.target0.systemUs;
    return {
      self,
      target: {
        pids: this.pids,
        processes: t1.processes,
        userUsPerRequest: per(user),
        systemUsPerRequest: per(system),
        cores: (user + system) / 1e6 / wallS,
        ...peaks(this.targetRss!.stop()),
      },
    };
  }
}
