// One balancer in one serving thread: its members' per-thread counters, the choice of a
// member for a request (sticky route, lbmethod, lbset, hot standby, error state, force
// recovery, failover exclusions) and the passive error bookkeeping. The operator's part
// of each member's state is read from the shared BalancerBoard on every pick, so a
// change made in any thread applies to all of them at once. Never touches a socket.
import type { BalancerConfig, WorkerSettings } from '../config/model.js';
import { pickBest, type Candidate, type LbMethod } from './methods.js';
import { type BalancerBoard, Flag, statusLetters } from './shared-state.js';
import { memberState, type BalancerStats, type MemberStats } from './stats.js';
import { stickyNames, stickyRoute, type StickyNames } from './sticky.js';

export class Member implements Candidate {
  lbStatus = 0;
  lbFactor: number;
  lbSet: number;
  standby = false;
  busy = 0;
  bytesIn = 0;
  bytesOut = 0;
  elected = 0;
  failures = 0;
  /** Epoch ms until which the member is in error (this thread's view); 0 = not in error. */
  errorUntil = 0;
  lastError = '';
  lastErrorAt = 0;

  constructor(
    readonly slot: number,
    readonly worker: WorkerSettings,
    readonly url: string,
    /** The member URL's path, prepended to the request's target path. */
    readonly path: string,
  ) {
    this.lbFactor = Math.round(worker.loadFactor * 100);
    this.lbSet = worker.lbSet;
  }

  get name(): string {
    return this.worker.name;
  }
  get route(): string {
    return this.worker.route;
  }
}

/** Why no member could be chosen, for the one log line of a 503. */
export interface NoMember {
  reason: string;
}

const UNAVAILABLE = Flag.Disabled | Flag.Stopped;

export class BalancerRuntime {
  readonly members: Member[];
  readonly method: LbMethod;
  readonly sticky: StickyNames | null;
  /** Failover attempts after the first (Apache's default: members - 1). */
  readonly maxAttempts: number;
  private tried: readonly Member[] | null = null;
  private now = 0;
  private route: string | null = null;
  private readonly usable = (i: number): boolean => this.isUsable(this.members[i]!, this.now, this.tried, false);

  constructor(
    readonly config: BalancerConfig,
    private readonly board: BalancerBoard,
    firstSlot: number,
  ) {
    this.members = config.members.map((m, i) => new Member(firstSlot + i, m.worker, m.url, m.path));
    this.method = config.lbMethod;
    this.sticky = config.stickySession === null ? null : stickyNames(config.stickySession);
    this.maxAttempts = config.maxAttempts ?? Math.max(0, this.members.length - 1);
  }

  get name(): string {
    return this.config.name;
  }

  /** The route a request asks for (null without stickysession or without a route in it). */
  routeFor(path: string, query: string, cookie: string | undefined): string | null {
    return this.sticky === null ? null : stickyRoute(this.sticky, path, query, cookie);
  }

  /**
   * Chooses a member for a request; `tried` are the members that already failed it
   * (failover), null on the first try. Returns the member, or a NoMember saying why.
   */
  pick(now: number, route: string | null, tried: readonly Member[] | null): Member | NoMember {
    const members = this.members;
    for (const m of members) {
      const w = this.board.word(m.slot);
      m.lbFactor = (w >>> 8) & 0xffff;
      m.standby = (w & Flag.Standby) !== 0;
    }
    if (route !== null) {
      const m = members.find((x) => x.route === route);
      if (m !== undefined && (tried === null || !tried.includes(m))) {
        if (this.isUsable(m, now, tried, true)) {
          m.elected++;
          return m;
        }
        if (this.config.noFailover)
          return { reason: `sticky route "${route}" leads to ${m.name}, which is unusable, and nofailover=On` };
      }
    }
    if (tried === null) this.forceRecovery(now);
    this.now = now;
    this.tried = tried;
    this.route = route;
    const i = pickBest(members, this.usable, this.method);
    this.tried = null;
    if (i < 0) return { reason: this.describe(now, tried) };
    const m = members[i]!;
    m.elected++;
    return m;
  }

  /**
   * Passive check: the member failed a request (refused or timed out connecting,
   * failonstatus, failontimeout). It goes into error for `retry`, unless it has the I flag.
   */
  markError(m: Member, now: number, reason: string): void {
    m.failures++;
    m.lastError = reason;
    m.lastErrorAt = now;
    if ((this.board.flags(m.slot) & Flag.IgnoreErrors) === 0) m.errorUntil = now + m.worker.retryMs;
  }

  inError(m: Member, now: number): boolean {
    return m.errorUntil > now;
  }

  /** This thread's view, with the shared flags. */
  stats(now: number): BalancerStats {
    return {
      name: this.name,
      lbMethod: this.method,
      stickySession: this.config.stickySession,
      maxAttempts: this.maxAttempts,
      members: this.members.map((m): MemberStats => {
        const flags = this.board.flags(m.slot);
        const inError = m.errorUntil > now && (flags & Flag.IgnoreErrors) === 0;
        const status = statusLetters(flags) + (this.board.healthFailed(m.slot) ? 'C' : '') + (inError ? 'E' : '');
        return {
          slot: m.slot,
          name: m.name,
          url: m.url,
          route: m.route,
          lbSet: m.lbSet,
          loadFactor: this.board.lbFactor(m.slot) / 100,
          status,
          state: memberState(status, inError),
          elected: m.elected,
          busy: m.busy,
          bytesIn: m.bytesIn,
          bytesOut: m.bytesOut,
          failures: m.failures,
          errorUntil: inError ? m.errorUntil : 0,
          lastError: m.lastError,
          lastErrorAt: m.lastErrorAt,
        };
      }),
    };
  }

  /**
   * Usable for a new request: not disabled or stopped, health check passing, not in
   * error (I ignores errors), not already tried; draining members only for their own
   * sticky route (Apache's N).
   */
  private isUsable(m: Member, now: number, tried: readonly Member[] | null, forRoute: boolean): boolean {
    const flags = this.board.flags(m.slot);
    if ((flags & UNAVAILABLE) !== 0) return false;
    if (!forRoute && (flags & Flag.Drain) !== 0) return false;
    if (this.board.healthFailed(m.slot)) return false;
    if (tried?.includes(m)) return false;
    return m.errorUntil <= now || (flags & Flag.IgnoreErrors) !== 0;
  }

  /**
   * Apache's forcerecovery (On by default): when every member is in error, clear the
   * errors so that this request tries them again instead of failing without a try.
   */
  private forceRecovery(now: number): void {
    if (!this.config.forceRecovery) return;
    for (const m of this.members) if (m.errorUntil <= now) return;
    for (const m of this.members) m.errorUntil = 0;
  }

  /** `a=error(connect refused, retry in 12 s) b=disabled`, for the 503's log line. */
  private describe(now: number, tried: readonly Member[] | null): string {
    const parts = this.members.map((m) => {
      const flags = this.board.flags(m.slot);
      let why: string;
      if (flags & Flag.Stopped) why = 'stopped';
      else if (flags & Flag.Disabled) why = 'disabled';
      else if (flags & Flag.Drain) why = this.route === null ? 'draining' : `draining, route ${m.route || 'none'}`;
      else if (this.board.healthFailed(m.slot)) why = 'health check failing';
      else if (tried?.includes(m)) why = `failed this request${m.lastError ? ` (${m.lastError})` : ''}`;
      else if (m.errorUntil > now)
        why = `error (${m.lastError || 'failed'}, retry in ${Math.ceil((m.errorUntil - now) / 1000)} s)`;
      else why = 'usable';
      return `${m.name}=${why}`;
    });
    return `no usable member among ${this.members.length}: ${parts.join('; ')}`;
  }
}
