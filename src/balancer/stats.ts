// What the balancer manager and the status page show of balancers and members: one
// thread's view (BalancerRuntime.stats) and the sum over threads. Plain data, safe to
// structured-clone between threads and to JSON-encode.

export type MemberState = 'ok' | 'error' | 'disabled' | 'stopped' | 'draining' | 'standby' | 'hcfail';

export interface MemberStats {
  /** Slot in the shared board (config order over all balancers). */
  slot: number;
  /** The worker name, e.g. fcgi://127.0.0.1:4000 (Apache's BALANCER_WORKER_NAME). */
  name: string;
  /** The URL as written on the BalancerMember line. */
  url: string;
  route: string;
  lbSet: number;
  loadFactor: number;
  /** Apache's status letters: D S I H N from the operator, C health check failing, E in error. */
  status: string;
  state: MemberState;
  /** Times chosen (Apache's "Elected"). */
  elected: number;
  /** Requests in flight now. */
  busy: number;
  /** Bytes sent to the member (request bodies) and read from it (response bodies). */
  bytesIn: number;
  bytesOut: number;
  /** Failures that put it in error (connect refused or timed out, failonstatus, …). */
  failures: number;
  /** Epoch ms until which it is in error; 0 when it is not. */
  errorUntil: number;
  lastError: string;
  /** Epoch ms of lastError; 0 = never. */
  lastErrorAt: number;
}

export interface BalancerStats {
  name: string;
  lbMethod: string;
  stickySession: string | null;
  /** Failover attempts after the first try. */
  maxAttempts: number;
  members: MemberStats[];
}

/** The state shown for a member, most important first. */
export function memberState(status: string, inError: boolean): MemberState {
  if (status.includes('S')) return 'stopped';
  if (status.includes('D')) return 'disabled';
  if (status.includes('C')) return 'hcfail';
  if (inError) return 'error';
  if (status.includes('N')) return 'draining';
  if (status.includes('H')) return 'standby';
  return 'ok';
}

/**
 * Sums per-thread views of the same configuration: counters add up, the error state is
 * the latest of any thread's, the operator's flags are the same everywhere.
 */
export function sumBalancerStats(perThread: readonly BalancerStats[][], now = Date.now()): BalancerStats[] {
  const first = perThread[0];
  if (first === undefined) return [];
  return first.map((b, bi) => ({
    ...b,
    members: b.members.map((m0, mi) => {
      const out: MemberStats = {
        ...m0,
        elected: 0,
        busy: 0,
        bytesIn: 0,
        bytesOut: 0,
        failures: 0,
        errorUntil: 0,
        lastError: '',
        lastErrorAt: 0,
      };
      for (const t of perThread) {
        const m = t[bi]?.members[mi];
        if (m === undefined) continue;
        out.elected += m.elected;
        out.busy += m.busy;
        out.bytesIn += m.bytesIn;
        out.bytesOut += m.bytesOut;
        out.failures += m.failures;
        if (m.errorUntil > out.errorUntil) out.errorUntil = m.errorUntil;
        if (m.lastErrorAt > out.lastErrorAt) {
          out.lastErrorAt = m.lastErrorAt;
          out.lastError = m.lastError;
        }
      }
      const inError = out.errorUntil > now && !out.status.includes('I');
      const letters = out.status.replace('E', '') + (inError ? 'E' : '');
      out.status = letters;
      out.state = memberState(letters, inError);
      return out;
    }),
  }));
}
