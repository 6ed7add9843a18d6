// A Go net/http/fcgi app behind the gateway (issue 15 §1): what it answers to FCGI_GET_VALUES
// (FCGI_MPXS_CONNS=1, no FCGI_MAX_REQS), so `multiplex=auto` is enough for it, and byte-exact
// bodies both ways under concurrency. The test builds test/integration/go-fcgi/main.go into a
// temporary directory (GOCACHE and GOPATH there too, no network); skipped with a diagnostic
// when `go` is missing (scripts/install-deps.sh installs golang-go), failed under CI.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { skipUnlessFound, stopGroup, trackGroup } from '../helpers/process.js';
import { logsOf, request, sha256 } from './gateway-app-kit.js';

const goFound = (() => {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const SOURCE = fileURLToPath(new URL('../../../test/integration/go-fcgi/main.go', import.meta.url));

describe('a Go net/http/fcgi app', { skip: skipUnlessFound('go', goFound) }, () => {
  let dir = '';
  let app: ChildProcess | null = null;
  let gw: TestGateway | null = null;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'fcgate-go-'));
    const env = {
      ...process.env,
      GOCACHE: path.join(dir, 'cache'),
      GOPATH: path.join(dir, 'gopath'),
      GOPROXY: 'off',
      GO111MODULE: 'off',
    };
    execFileSync('go', ['build', '-o', path.join(dir, 'app'), SOURCE], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    app = spawn(path.join(dir, 'app'), [], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    trackGroup(app.pid!);
    const port = await new Promise<number>((resolve, reject) => {
      const lines = createInterface({ input: app!.stdout! });
      lines.once('line', (l) => resolve(Number(l)));
      app!.once('exit', (code) => reject(new Error(`the Go app exited (${code}) before listening`)));
    });
    gw = await startTestGateway({ config: `ProxyPass / fcgi://127.0.0.1:${port}/ max=4\n` });
  });

  after(async () => {
    agent.destroy();
    await gw?.stop();
    if (app !== null) await stopGroup(app, 'SIGTERM');
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  test('it answers FCGI_MPXS_CONNS=1 and nothing else: multiplex=auto takes it, 64 per connection', () => {
    const probe = logsOf(gw!, 'FCGATE_PROBE');
    assert.equal(probe.length, 1, gw!.logs.join('\n'));
    assert.match(probe[0]!, /get_values="FCGI_MPXS_CONNS=1" max_conns=4 \(max=\) multiplex=64 requests\/connection$/);
  });

  test('40 concurrent uploads and downloads, byte-exact both ways', async () => {
    const uploads = Array.from({ length: 20 }, (_, i) => {
      const body = Buffer.alloc(100_000 + i * 4099);
      for (let k = 0; k < body.length; k++) body[k] = (k * 31 + i) & 0xff;
      return body;
    });
    const replies = await Promise.all([
      ...uploads.map((body) =>
        request(gw!.base, '/echo', { method: 'POST', body, agent, timeoutMs: 20_000 }).then((r) => {
          assert.equal(r.status, 200);
          assert.equal(sha256(r.body), sha256(body));
        }),
      ),
      ...Array.from({ length: 20 }, (_, i) => {
        const n = 50_000 + i * 12_345;
        return request(gw!.base, `/bytes?n=${n}`, { agent, timeoutMs: 20_000 }).then((r) => {
          assert.equal(r.status, 200);
          const want = Buffer.alloc(n);
          for (let k = 0; k < n; k++) want[k] = ((k % 4096) * 7) & 0xff;
          assert.equal(sha256(r.body), sha256(want));
        });
      }),
    ]);
    assert.equal(replies.length, 40);
  });
});
