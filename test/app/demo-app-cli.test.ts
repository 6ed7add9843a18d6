// `fcgate demo-app` through runDemoAppCli in a child process: prints where it listens,
// serves, and exits cleanly on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { FcgiTestClient, paramsFor, splitCgiResponse } from '../helpers/fcgi-client.js';

const cli = fileURLToPath(new URL('../../src/cli/demo-app.js', import.meta.url));

test('runDemoAppCli listens, answers, and stops on SIGTERM', { timeout: 20_000 }, async () => {
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import(${JSON.stringify(cli)}).then((m) => m.runDemoAppCli(process.argv.slice(1)))`,
      '--',
      '--listen',
      '127.0.0.1:0',
      '--mpxs',
      'off',
      '--max-conns',
      '3',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    let out = '';
    child.stdout.setEncoding('utf8');
    while (!out.includes('\n')) {
      const [chunk] = (await once(child.stdout, 'data')) as [string];
      out += chunk;
    }
    const m = /listening on 127\.0\.0\.1:(\d+) \(mpxs off, max-conns 3\)/.exec(out);
    assert.ok(m, out);
    const c = await FcgiTestClient.connect({ host: '127.0.0.1', port: Number(m[1]) });
    assert.equal((await c.getValues(['FCGI_MPXS_CONNS', 'FCGI_MAX_CONNS'])).get('FCGI_MAX_CONNS'), '3');
    const r = splitCgiResponse((await c.request(paramsFor('/hello'))).stdout);
    assert.equal(r.body.toString(), 'Hello from the fcgate demo app\n');
    await c.closed;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
