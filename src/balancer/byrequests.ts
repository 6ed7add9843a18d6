// Apache's mod_lbmethod_byrequests, exactly: every usable member's counter grows by its
// factor, the highest counter wins (the first in config order on a tie) and pays the
// total of the factors. Lower lbsets are tried first; hot standbys only when no other
// member is usable. Pure selection: no sockets, no clocks beyond what the caller passes.
//
// Worked example, factors a=3, b=1 (total 4):
//   counters  a:0 b:0 → +f → a:3 b:1 → pick a, a:3-4=-1
//             a:-1 b:1 → +f → a:2 b:2 → tie, pick a (first), a:-2
//             a:-2 b:2 → +f → a:1 b:3 → pick b, b:-1
//             a:1 b:-1 → +f → a:4 b:0 → pick a, a:0        order: a a b a, then repeats

export interface ByRequestsMember {
  /** Counter (Apache's lbstatus); starts at 0. */
  lbStatus: number;
  loadFactor: number;
  lbSet: number;
  hotStandby: boolean;
}

/**
 * Picks a member among those for which `usable(m)` holds; returns its index or -1.
 * Mutates the counters as Apache does.
 */
export function pickByRequests<M extends ByRequestsMember>(members: readonly M[],
                                                           usable: (m: M) => boolean): number {
  let minSet = Infinity;
  let maxSet = -Infinity;
  for (const m of members) {
    if (m.lbSet < minSet) minSet = m.lbSet;
    if (m.lbSet > maxSet) maxSet = m.lbSet;
  }
  for (let set = minSet; set <= maxSet; set++) {
    for (const standby of [false, true]) {
      let best = -1;
      let total = 0;
      for (let i = 0; i < members.length; i++) {
        const m = members[i]!;
        if (m.lbSet !== set || m.hotStandby !== standby || !usable(m)) continue;
        m.lbStatus += m.loadFactor;
        total += m.loadFactor;
        if (best < 0 || m.lbStatus > members[best]!.lbStatus) best = i;
      }
      if (best >= 0) {
        members[best]!.lbStatus -= total;
        return best;
      }
    }
  }
  return -1;
}
