// Whether a backend is multiplexed (issue 15 §1): the worker key, the startup FCGI_GET_VALUES
// answer, and the budget cell that carries the verdict to every serving thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalBudget, MUX_REQUESTS_MAX, SharedBudget } from '../../src/upstream/budget.js';
import { DEFAULT_MUX_REQUESTS, multiplexRequests, type ProbeResult } from '../../src/upstream/probe.js';
import { applyWorkerKey, defaultWorker } from '../../src/config/worker-keys.js';

const answer = (mpxsConns: boolean | null, maxReqs: number | null): ProbeResult => ({
  maxConns: null,
  maxReqs,
  mpxsConns,
  raw: {},
  error: null,
  silent: false,
});

test('auto trusts FCGI_MPXS_CONNS; FCGI_MAX_REQS is shared out over the connections', () => {
  assert.equal(multiplexRequests(undefined, true, answer(true, 20), 1), 20);
  assert.equal(multiplexRequests(undefined, true, answer(true, 20), 4), 5, "4 connections × 5 = the app's 20");
  assert.equal(multiplexRequests(undefined, true, answer(true, 3), 4), 1, 'fewer than one each: one each');
  assert.equal(multiplexRequests(undefined, true, answer(true, 4096), 8), DEFAULT_MUX_REQUESTS, 'never above 64');
  assert.equal(multiplexRequests('auto', true, answer(true, null), 4), DEFAULT_MUX_REQUESTS, 'no limit said (Go)');
  assert.equal(multiplexRequests('auto', true, answer(false, 50), 1), 0, 'PHP-FPM answers FCGI_MPXS_CONNS=0');
  assert.equal(multiplexRequests('auto', true, answer(null, null), 1), 0, 'no answer: one request at a time');
});

test('on multiplexes whatever the app said; off and reuse off never do', () => {
  assert.equal(multiplexRequests('on', true, answer(null, null), 2), DEFAULT_MUX_REQUESTS);
  assert.equal(multiplexRequests('on', true, answer(false, 8), 2), 4);
  assert.equal(multiplexRequests('off', true, answer(true, 8), 2), 0);
  assert.equal(multiplexRequests('on', false, answer(true, 8), 2), 0, 'no FCGI_KEEP_CONN: one request per connection');
});

test('the multiplex worker key takes auto, on and off, any case; anything else is an error', () => {
  const w = defaultWorker('fcgi://127.0.0.1:9000', { kind: 'tcp', host: '127.0.0.1', port: 9000 });
  assert.equal(w.multiplex, undefined);
  applyWorkerKey(w, 'multiplex', 'On');
  assert.equal(w.multiplex, 'on');
  applyWorkerKey(w, 'multiplex', 'off');
  assert.equal(w.multiplex, 'off');
  applyWorkerKey(w, 'multiplex', 'AUTO');
  assert.equal(w.multiplex, 'auto');
  assert.throws(() => applyWorkerKey(w, 'multiplex', 'yes'), /multiplex: expected auto, on or off, got "yes"/);
  assert.equal(w.multiplex, 'auto', 'a bad value changes nothing');
});

test('LocalBudget keeps the verdict, clamped to 0..MUX_REQUESTS_MAX', () => {
  const b = new LocalBudget(4);
  assert.equal(b.muxRequests, 0);
  b.setMuxRequests(32);
  assert.equal(b.muxRequests, 32);
  b.setMuxRequests(-3);
  assert.equal(b.muxRequests, 0);
  b.setMuxRequests(MUX_REQUESTS_MAX + 10);
  assert.equal(b.muxRequests, MUX_REQUESTS_MAX);
});

test('SharedBudget: every thread sees the verdict; the reuse flags beside it are kept', () => {
  const buffer = new SharedArrayBuffer(SharedBudget.bytes(2, 2));
  const t0 = new SharedBudget(buffer, 1, 4, 0, 2);
  const t1 = new SharedBudget(buffer, 1, 4, 1, 2);
  const other = new SharedBudget(buffer, 0, 4, 0, 2);
  t0.markReuseVerified();
  t0.setMuxRequests(4096);
  assert.equal(t1.muxRequests, 4096);
  assert.equal(t1.reuseVerified, true);
  assert.equal(t1.reuseOff, false);
  assert.equal(t1.turnReuseOff(), true);
  assert.equal(t0.muxRequests, 4096, 'turning reuse off leaves the verdict');
  t1.setMuxRequests(MUX_REQUESTS_MAX);
  assert.equal(t0.muxRequests, MUX_REQUESTS_MAX);
  assert.equal(t0.reuseOff && t0.reuseVerified, true);
  t1.setMuxRequests(0);
  assert.equal(t0.muxRequests, 0);
  assert.equal(other.muxRequests, 0, 'another backend is not touched');
  assert.ok(t0.tryTake());
  assert.equal(t1.used, 1, 'the slot counters are apart from the flags');
});
