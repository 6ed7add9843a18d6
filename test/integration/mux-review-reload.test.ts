// Review of FastCGI multiplexing (issue 15 §1), todo until fixed: a reload that changes a
// known backend's `multiplex` key. `fcgate serve` probes (FCGI_GET_VALUES) and sets the
// multiplexing verdict only for backends new to the reload (cli/serve.ts reloadOnce): the
// operator who writes multiplex=off to stop multiplexing an app, and reloads, still gets it
// multiplexed, with nothing logged. The demo app (in this process, to count its
// connections) multiplexes; `fcgate serve` runs as a child with one serving thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoApp } from '../../src/app/demo.js';
import { freePort, get, startServe } from '../threads/cli-process.js';

test('a reload that writes multiplex=off for a multiplexed backend: one request per connection from then on', {
  todo: 'issue 15 review: the verdict is set only for backends new to the reload (cli/serve.ts:318-324)',
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
  const four = async (): Promise<void> => {
    const replies = await Promise.all(Array.from({ length: 4 }, () => get(port, '/slow?ms=200')));
    for (const r of replies) assert.equal(r.status, 200);
  };
  await four();
  assert.equal(app.server.connectionCount, 1, 'multiplexed: four requests at once on one connection');

  const from = gw.lines.length;
  writeFileSync(conf, config(' multiplex=off'));
  gw.child.kill('SIGHUP');
  await gw.waitLine(/FCGATE_RELOADED /, 10_000, from);
  // The old pool lets its idle connection go.
  for (const end = Date.now() + 5_000; app.server.connectionCount > 0 && Date.now() < end; ) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(app.server.connectionCount, 0, 'the old pool closed its idle connection');
  await four();
  assert.equal(
    app.server.connectionCount,
    4,
    `multiplex=off after the reload: four requests at once on four connections\n${gw.lines.slice(from).join('\n')}`,
  );
});
