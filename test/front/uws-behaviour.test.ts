// Runs the uWS behaviour suites (test/front/uws/, native-notes/uws.md §4) once per pinned
// uWebSockets.js build, each in its own Node process, both at once: `uwebsockets@3.0.6` with
// the system's C library, `@btc-vision/uwebsockets.js@20.57.0` with it where glibc ≥ 2.38,
// else under Debian 13's C library (scripts/install-deps.sh extracts it; test-only). Outside
// CI a missing Debian 13 libc skips that build loudly; under CI it fails.
// One build by hand: `FCGATE_UWS_BUILD=3.0.6 node --test-reporter=spec dist/test/front/uws/index.suite.js`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { buildRunners } from '../helpers/uws-builds.js';

const SUITE = fileURLToPath(new URL('./uws/index.suite.js', import.meta.url));
/** One window of the receive-rate row is ≈32 s on 20.57.0; FCGATE_TEST_SLOW adds ≈105 s. */
const LIMIT_MS = process.env['FCGATE_TEST_SLOW'] === '1' ? 400_000 : 120_000;

interface Run {
  code: number | null;
  output: string;
}

function runSuite(node: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    const [bin, ...pre] = node;
    const child = spawn(bin!, [...pre, '--enable-source-maps', '--test-reporter=tap', SUITE], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      output += d;
    });
    // uWS prints one warning line per uncorked write (cork.suite's "uncorked" row): not kept.
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      output += d
        .split('\n')
        .filter((l) => !l.startsWith('Warning: uWS.HttpResponse writes must be made'))
        .join('\n');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), LIMIT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('uWS behaviour suites, once per pinned build', { concurrency: true }, () => {
  for (const r of buildRunners()) {
    test(`uWebSockets.js ${r.build.id} (${r.build.requireName}) with ${r.how}`, { skip: r.skip }, async (t) => {
      // Without NODE_TEST_CONTEXT (set by the parent runner), the child reports in TAP.
      const { NODE_TEST_CONTEXT: _, ...env } = process.env;
      const run = await runSuite(r.node, {
        ...env,
        FCGATE_UWS_BUILD: r.build.id,
        FCGATE_TEST_NODE: JSON.stringify(r.node),
      });
      const count = (k: string): number => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(run.output)?.[1] ?? -1);
      const failed = [...run.output.matchAll(/^\s*not ok \d+ - (.*)$/gm)].map((m) => m[1]);
      t.diagnostic(`pass ${count('pass')} fail ${count('fail')} skipped ${count('skipped')}`);
      for (const line of run.output.split('\n'))
        if (/^\s*# (lost at|Subtest: minimum)/.test(line)) t.diagnostic(line.trim());
      assert.ok(
        run.code === 0 && count('fail') === 0 && count('pass') > 40,
        `exit ${run.code}; failing: ${failed.join(' | ') || '(none reported)'}\n${run.output.slice(-6000)}`,
      );
    });
  }
});
