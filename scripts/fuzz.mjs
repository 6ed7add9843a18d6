#!/usr/bin/env node
// `npm run fuzz`: the two fuzz tests (test/integration/fuzz-front and fuzz-backend) with many
// more cases than CI runs and a new seed each time, for humans. Knobs (environment):
//   FCGATE_FUZZ_COUNT        cases per test (default 20000 here; 2000 in npm test)
//   FCGATE_FUZZ_SEED         first seed, or `random` (default here); a failure prints its seed
//   FCGATE_FUZZ_CONCURRENCY  cases at a time (default 24)
//   FCGATE_FUZZ_BUDGET_MS    stop starting cases after this long (default: in proportion to the count)
//   FCGATE_FUZZ_AFTER_END=1  backend fuzz: records after END_REQUEST, one backend for all (issue 8 §3)
// Usage: npm run fuzz [-- front|backend]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const which = process.argv.slice(2);
const files = ['front', 'backend']
  .filter((w) => which.length === 0 || which.includes(w))
  .map((w) => `dist/test/integration/fuzz-${w}.test.js`);
const env = { ...process.env };
env.FCGATE_FUZZ_COUNT ||= '20000';
env.FCGATE_FUZZ_SEED ||= 'random';
const count = Number(env.FCGATE_FUZZ_COUNT);
// About 20 ms per case at 24 at a time on 2 cores, and room to spare.
const timeoutMs = Math.max(240_000, count * 40);
const res = spawnSync(
  process.execPath,
  ['--enable-source-maps', '--test', '--test-concurrency=1', `--test-timeout=${timeoutMs}`, ...files],
  { cwd: root, stdio: 'inherit', env },
);
process.exit(res.status ?? 1);
