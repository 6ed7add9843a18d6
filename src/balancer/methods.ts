// mod_proxy_balancer's lbmethods, exactly as Apache 2.4 computes them, over plain
// numbers: byrequests, bybusyness, bytraffic, and the lbset / hot-standby order around
// them (ap_proxy_balancer_get_best_worker). Pure selection: no sockets, no clocks, no
// shared memory; the caller fills in each candidate's factor and usability first.
//
// Factors are Apache's lbfactor: loadfactor × 100 (loadfactor=1 → 100, 2.5 → 250).
//
// byrequests, worked example, loadfactors a=3, b=1 (lbfactor 300, 100; total 400):
//   lbstatus  a:0    b:0    → +f → a:300 b:100 → a is highest: pick a, a -= 400 → a:-100
//             a:-100 b:100  → +f → a:200 b:200 → tie: the first wins, pick a → a:-200
//             a:-200 b:200  → +f → a:100 b:300 → pick b → b:-100
//             a:100  b:-100 → +f → a:400 b:0   → pick a → a:0       order a a b a, repeating
// bybusyness: fewest requests in flight; on equal busy the byrequests rule above
//   (every usable candidate's lbstatus still grows, and the chosen one pays the total).
// bytraffic: smallest (bytes to the member / lbfactor) + (bytes from it / lbfactor), integer
//   divisions as in C; on equal traffic the first wins. No lbstatus bookkeeping.
// Order around a method: lbset 0 first, then 1, …; within a set the regular members, and
// the set's hot standbys only when no regular member of that set is usable.

export type LbMethod = 'byrequests' | 'bybusyness' | 'bytraffic' | 'heartbeat';

export interface Candidate {
  /** Apache's lbstatus; starts at 0. Mutated by byrequests and bybusyness. */
  lbStatus: number;
  /** loadfactor × 100. */
  lbFactor: number;
  lbSet: number;
  standby: boolean;
  /** Requests in flight (bybusyness). */
  busy: number;
  /** Bytes sent to the member and read from it (bytraffic). */
  bytesIn: number;
  bytesOut: number;
}

/**
 * Returns the index of the chosen candidate among those for which `usable(i)` holds,
 * or -1. `heartbeat` (mod_lbmethod_heartbeat needs mod_heartmonitor) falls back to
 * byrequests.
 */
export function pickBest<C extends Candidate>(
  members: readonly C[],
  usable: (i: number) => boolean,
  method: LbMethod,
): number {
  let maxSet = 0;
  for (let i = 0; i < members.length; i++) if (members[i]!.lbSet > maxSet) maxSet = members[i]!.lbSet;
  for (let set = 0; set <= maxSet; set++) {
    for (let pass = 0; pass < 2; pass++) {
      const standby = pass === 1;
      const i =
        method === 'bytraffic'
          ? byTraffic(members, usable, set, standby)
          : byStatus(members, usable, set, standby, method === 'bybusyness');
      if (i >= 0) return i;
    }
  }
  return -1;
}

function byStatus<C extends Candidate>(
  members: readonly C[],
  usable: (i: number) => boolean,
  set: number,
  standby: boolean,
  busyFirst: boolean,
): number {
  let best = -1;
  let total = 0;
  for (let i = 0; i < members.length; i++) {
    const m = members[i]!;
    if (m.lbSet !== set || m.standby !== standby || !usable(i)) continue;
    m.lbStatus += m.lbFactor;
    total += m.lbFactor;
    if (best < 0) {
      best = i;
      continue;
    }
    const b = members[best]!;
    if (busyFirst) {
      if (m.busy < b.busy || (m.busy === b.busy && m.lbStatus > b.lbStatus)) best = i;
    } else if (m.lbStatus > b.lbStatus) {
      best = i;
    }
  }
  if (best >= 0) members[best]!.lbStatus -= total;
  return best;
}

function byTraffic<C extends Candidate>(
  members: readonly C[],
  usable: (i: number) => boolean,
  set: number,
  standby: boolean,
): number {
  let best = -1;
  let min = 0;
  for (let i = 0; i < members.length; i++) {
    const m = members[i]!;
    if (m.lbSet !== set || m.standby !== standby || !usable(i)) continue;
    const f = m.lbFactor;
    const traffic = Math.floor(m.bytesIn / f) + Math.floor(m.bytesOut / f);
    if (best < 0 || traffic < min) {
      best = i;
      min = traffic;
    }
  }
  return best;
}
