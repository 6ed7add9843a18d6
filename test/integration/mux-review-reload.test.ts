// Review of FastCGI multiplexing (issue 15 §1): a reload that changes a known backend's
// `multiplex` key takes effect. `fcgate serve` probes (FCGI_GET_VALUES) only backends new to
// the reload, and recomputes the verdict of known ones from their startup answer and their
// new keys (cli/serve.ts reloadOnce): before, the operator who wrote multiplex=off and
// reloaded still got the app multiplexed. The demo app (in this process, to count its
// connections) multiplexes; `fcgate serve` runs as a child with one serving thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoApp } from '../../src/app/demo.js';
import { freePort, get, startServe } from '../threads/cli-process.js';

test('a reload that writes multiplex=off for a multiplexed backend: one request per connection from then on', {
  timeout: 60_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fcgate-mux-reload-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const app = await startDemoApp({ listen: '127.0.0.1:0', testRoutes: true });
  t.after(() => app.server.destroyAll());
  const appPort = (app.address as { port: number }).port;
  const port = await freePort();
  const conf = join(dir, 'fcgate.conf');
  const config = (keys: string): string =>
    `Listen 127.0.0.1:${port}\nProxyPass / fcgi://127.0.0.1:${appPort}/ max=8${keys}\n`;
  writeFileSync(conf, config(''));
  const gw = await startServe(['-c', conf], 1);
  t.after(() => gw.stop());
  assert.match(await gw.waitLine(/FCGATE_PROBE /), / multiplex=\d+ requests\/connection$/);
  /** Four requests at once; the most app connections open meanwhile (sampled every 2 ms). */
  const four = async (): Promise<number> => {
    let most = 0;
    const sampler = setInterval(() => {
      most = Math.max(most, app.server.connectionCount);
    }, 2);
    try {
      const replies = await Promise.all(Array.from({ length: 4 }, () => get(port, '/slow?ms=200')));
      for (const r of replies) assert.equal(r.status, 200);
    } finally {
      clearInterval(sampler);
    }
    return most;
  };
  assert.equal(await four(), 1, 'multiplexed: four requests at once on one connection');

  const from = gw.lines.length;
  writeFileSync(conf, config(' multiplex=off'));
  gw.child.kill('SIGHUP');
  await gw.waitLine(/FCGATE_RELOADED /, 10_000, from);
  // The old pool lets its idle connection go.
  for (const end = Date.now() + 5_000; app.server.connectionCount > 0 && Date.now() < end; ) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(app.server.connectionCount, 0, 'the old pool closed its idle connection');
  assert.equal(
    await four(),
    4,
    `multiplex=off after the reload: four requests at once on four connections\n${gw.lines.slice(from).join('\n')}`,
  );
});
