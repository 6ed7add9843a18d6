// A Go net/http/fcgi app behind the gateway (issue 15 §1): what it answers to FCGI_GET_VALUES
// (FCGI_MPXS_CONNS=1, no FCGI_MAX_REQS), so `multiplex=auto` is enough for it; byte-exact
// bodies both ways under concurrency; an abort (Go ignores it once the body is in: the
// handler's answer comes later, for an aborted id); the app dying with 20 requests in flight
// (the last test: it kills the app). The test builds test/integration/go-fcgi/main.go into a
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
import { connectTo, logsOf, request, sha256, waitUntil } from './gateway-app-kit.js';
import type { PoolStats } from '../../src/upstream/pool.js';

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
  let backend = '';
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const pool = (): PoolStats => gw!.gateway.poolStats()[backend]!;

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
    backend = `fcgi://127.0.0.1:${port}`;
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
  test("a client that goes away: FCGI_ABORT_REQUEST; Go ignores it once the body is in, and its handler's late answer is dropped", async () => {
    // net/http/fcgi forgets a request once its STDIN is complete and ignores ABORT_REQUEST for
    // ids it does not know: the handler runs on, and its answer and END_REQUEST arrive for an
    // id the gateway aborted. They must reach nobody, close nothing and log nothing.
    const opened = pool().opened;
    const logsBefore = gw!.logs.length;
    const sock = await connectTo(gw!.port);
    sock.write('GET /slow?ms=1000 HTTP/1.1\r\nHost: go\r\n\r\n');
    await waitUntil(() => pool().busy === 1, 5000, 'the request on a connection');
    sock.destroy();
    await waitUntil(() => pool().busy === 0, 2000, 'the aborted request released');
    const during = await Promise.all(Array.from({ length: 10 }, () => request(gw!.base, '/bytes?n=1000', { agent })));
    for (const r of during) assert.equal(r.status, 200);
    // The id comes free with the handler's END_REQUEST, after its second.
    await waitUntil(() => pool().idle === pool().size, 5000, "the aborted handler's END_REQUEST");
    const after = await request(gw!.base, '/bytes?n=1000', { agent });
    assert.equal(after.status, 200);
    assert.equal(pool().opened, opened, 'the connection stayed: no new one was opened');
    assert.deepEqual(
      gw!.logs.slice(logsBefore).filter((l) => /FCGATE_(APP_AFTER_END|PROTOCOL|APP_CLOSED)/.test(l)),
      [],
      'the late answer of an aborted request is expected: nothing to log',
    );
  });

  test('the app dies with 20 requests in flight: each gets 502 and one log line, none hangs', async () => {
    const logsBefore = gw!.logs.length;
    const inflight = Array.from({ length: 20 }, () =>
      request(gw!.base, '/slow?ms=20000', { agent, timeoutMs: 10_000 }),
    );
    await waitUntil(() => pool().busy === 20, 5000, 'the 20 requests on their connections');
    assert.ok(pool().size <= 4);
    await stopGroup(app!, 'SIGKILL');
    const replies = await Promise.all(inflight);
    // Every one fails once, with its own line. The first may have gone out on the idle kept
    // connection with nothing back since: as for one request per connection, it is sent again
    // on a new one, which finds the app gone (503). The others shared a busy connection: 502.
    const statuses = replies.map((r) => r.status);
    const refused = statuses.filter((c) => c === 503).length;
    assert.ok(refused <= 1, statuses.join(','));
    assert.equal(statuses.filter((c) => c === 502).length, 20 - refused, statuses.join(','));
    const lines = gw!.logs.slice(logsBefore);
    assert.equal(lines.filter((l) => l.startsWith('FCGATE_APP_CLOSED')).length, 20 - refused, lines.join('\n'));
    assert.equal(lines.filter((l) => l.startsWith('FCGATE_CONNECT_FAILED')).length, refused, lines.join('\n'));
  });
});
