// The lbmethods against sequences worked out by hand (Apache 2.4's arithmetic: lbfactor =
// loadfactor × 100, every usable member's lbstatus grows by its factor, the highest wins
// on strict ">" so the first in config order wins ties, and the winner pays the total).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickBest, type Candidate, type LbMethod } from '../../src/balancer/methods.js';

type M = Candidate & { name: string; down: boolean };

const member = (name: string, loadFactor: number, extra: Partial<M> = {}): M => ({
  name,
  lbStatus: 0,
  lbFactor: Math.round(loadFactor * 100),
  lbSet: 0,
  standby: false,
  busy: 0,
  bytesIn: 0,
  bytesOut: 0,
  down: false,
  ...extra,
});

function sequence(ms: M[], n: number, method: LbMethod = 'byrequests'): string {
  let out = '';
  for (let k = 0; k < n; k++) {
    const i = pickBest(ms, (j) => !ms[j]!.down, method);
    out += i < 0 ? '-' : ms[i]!.name;
  }
  return out;
}

test('byrequests, a=1 b=1: strict alternation (as Apache: 4000, 4001, …)', () => {
  // a100 b100 → tie → a, a-100 | a0 b200 → b, b0 | again
  assert.equal(sequence([member('a', 1), member('b', 1)], 10), 'ababababab');
});

test('byrequests, a=1 b=1 c=1: a b c', () => {
  // a100 b100 c100 → a(-200) | a-100 b200 c200 → b(-100) | a0 b0 c300 → c(0) | again
  assert.equal(sequence([member('a', 1), member('b', 1), member('c', 1)], 9), 'abcabcabc');
});

test('byrequests, a=3 b=1: a a b a', () => {
  // a300 b100 → a(-100) | a200 b200 → tie → a(-200) | a100 b300 → b(-100) | a400 b0 → a(0) | again
  assert.equal(sequence([member('a', 3), member('b', 1)], 12), 'aabaaabaaaba');
});

test('byrequests, a=2 b=1 c=1: a b c a', () => {
  // total 400. a200 b100 c100 → a(-200) | a0 b200 c200 → b(-200) | a200 b-100 c300 → c(-100)
  // | a400 b0 c0 → a(0) | again
  assert.equal(sequence([member('a', 2), member('b', 1), member('c', 1)], 8), 'abcaabca');
});

test('byrequests, a=1.5 b=1 (two decimals, lbfactor 150/100): a b a b a', () => {
  // total 250. a150 b100 → a(-100) | a50 b200 → b(-50) | a200 b50 → a(-50) | a100 b150 → b(-100)
  // | a250 b0 → a(0) | again
  assert.equal(sequence([member('a', 1.5), member('b', 1)], 10), 'ababaababa');
});

test('byrequests, a=5 b=1: a a a b a a', () => {
  // total 600. a500 b100 → a(-100) | a400 b200 → a(-200) | a300 b300 → tie a(-300)
  // | a200 b400 → b(-200) | a700 b-100 → a(100) | a600 b0 → a(0) | again
  assert.equal(sequence([member('a', 5), member('b', 1)], 12), 'aaabaaaaabaa');
});

test('byrequests: a member that is down neither counts nor pays; the others go on', () => {
  const ms = [member('a', 1), member('b', 1), member('c', 1)];
  assert.equal(sequence(ms, 3), 'abc');
  ms[1]!.down = true;
  // a0 c0 (b stays 0): a100 c100 → a(-100) | a0 c200 → c(0) | a100 c100 → a
  assert.equal(sequence(ms, 3), 'aca');
  ms[0]!.down = true;
  ms[2]!.down = true;
  assert.equal(sequence(ms, 2), '--');
});

test('lbset and hot standby order: set 0, its standbys, then set 1, then its standbys', () => {
  const ms = [
    member('a', 1),
    member('s', 1, { standby: true }),
    member('b', 1, { lbSet: 1 }),
    member('t', 1, { lbSet: 1, standby: true }),
  ];
  assert.equal(sequence(ms, 3), 'aaa');
  ms[0]!.down = true;
  assert.equal(sequence(ms, 3), 'sss');
  ms[1]!.down = true;
  assert.equal(sequence(ms, 3), 'bbb');
  ms[2]!.down = true;
  assert.equal(sequence(ms, 2), 'tt');
  ms[0]!.down = false;
  assert.equal(sequence(ms, 1), 'a');
});

test('lbset: a member of set 1 is not used while set 0 has one usable member', () => {
  const ms = [member('a', 1, { lbSet: 1 }), member('b', 1), member('c', 100, { lbSet: 1 })];
  assert.equal(sequence(ms, 4), 'bbbb');
});

test('bybusyness: fewest in flight wins; equal busy falls back to byrequests', () => {
  const ms = [member('a', 1, { busy: 1 }), member('b', 1), member('c', 1)];
  // busy 1 0 0: b and c tie on busy; lbstatus a100 b100 c100 → b (first, strict >) pays 300
  assert.equal(sequence(ms, 1, 'bybusyness'), 'b');
  // a200 b-100 c200: b and c equal busy, c has the higher lbstatus → c
  assert.equal(sequence(ms, 1, 'bybusyness'), 'c');
  ms[1]!.busy = 3;
  ms[2]!.busy = 3;
  assert.equal(sequence(ms, 2, 'bybusyness'), 'aa');
  for (const m of ms) {
    m.busy = 0;
    m.lbStatus = 0;
  }
  assert.equal(sequence(ms, 6, 'bybusyness'), 'abcabc');
});

test('bytraffic: smallest (in / lbfactor) + (out / lbfactor), integer divisions, first on a tie', () => {
  const ms = [member('a', 1, { bytesIn: 400, bytesOut: 600 }), member('b', 2, { bytesIn: 500, bytesOut: 1000 })];
  // a: 4 + 6 = 10; b: floor(500/200)=2 + floor(1000/200)=5 = 7 → b
  assert.equal(sequence(ms, 1, 'bytraffic'), 'b');
  ms[1]!.bytesOut = 1700; // b: 2 + 8 = 10 = a → a (first)
  assert.equal(sequence(ms, 1, 'bytraffic'), 'a');
  ms[0]!.bytesIn = 199;
  ms[0]!.bytesOut = 0;
  ms[1]!.bytesIn = 0;
  ms[1]!.bytesOut = 199;
  // a: floor(199/100)=1, b: floor(199/200)=0 → b
  assert.equal(sequence(ms, 1, 'bytraffic'), 'b');
});

test('heartbeat (needs mod_heartmonitor) behaves as byrequests', () => {
  assert.equal(sequence([member('a', 3), member('b', 1)], 4, 'heartbeat'), 'aaba');
});
