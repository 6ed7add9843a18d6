// /healthz, /readyz and /server-status of `fcgate serve` (2 serving threads): alive with
// every thread's heartbeat, not ready with a JSON reason while a mapping has no usable
// backend or while draining, and the live status page in headless Chromium (screenshot in
// test-artifacts/) plus its ?auto form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { skipUnlessFound } from '../helpers/process.js';
import { freePort, get, startApp, startServe } from '../threads/cli-process.js';

const CHROMIUM = process.env['FCGATE_CHROMIUM'] ?? '/usr/bin/chromium';
const ARTIFACTS = resolve(process.cwd(), 'test-artifacts');

interface Health {
  status: string;
  reasons: string[];
  threads?: Array<{ thread: number; ready: boolean; heartbeat_age_ms: number }>;
  mappings?: Array<{ route: string; usable: boolean }>;
}

async function health(admin: number, path: string): Promise<{ status: number; body: Health }> {
  const r = await fetch(`http://127.0.0.1:${admin}${path}`);
  assert.equal(r.headers.get('content-type'), 'application/json');
  return { status: r.status, body: (await r.json()) as Health };
}

test('health, readiness and the live status page', { timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fcgate-status-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [a, b] = await Promise.all([startApp(), startApp()]);
  t.after(async () => {
    await Promise.all([a.proc.stop(), b.proc.stop()]);
  });
  const [port, admin, dead] = await Promise.all([freePort(), freePort(), freePort()]);
  writeFileSync(
    join(dir, 'fcgate.conf'),
    `Listen 127.0.0.1:${port}
AdminListen 127.0.0.1:${admin}
ProxyPass /app/ fcgi://127.0.0.1:${a.port}/
ProxyPass /web/ balancer://web/
<Proxy balancer://web>
  BalancerMember fcgi://127.0.0.1:${b.port}
</Proxy>
ProxyPass /down/ fcgi://127.0.0.1:${dead}/
CustomLog off
`,
  );
  const gw = await startServe(['-c', join(dir, 'fcgate.conf')], 2);
  let stopped = false;
  t.after(async () => {
    if (!stopped) await gw.stop();
  });

  // Alive: both threads listed with a fresh heartbeat. No token or Host needed for probes.
  const live = await health(admin, '/healthz');
  assert.equal(live.status, 200);
  assert.deepEqual(
    live.body.threads!.map((x) => [x.thread, x.ready]),
    [
      [0, true],
      [1, true],
    ],
  );
  assert.ok(live.body.threads!.every((x) => x.heartbeat_age_ms < 3000));
  const viaOtherHost = await fetch(`http://127.0.0.1:${admin}/healthz`, { headers: { Host: 'pod-10-0-0-7:8081' } });
  assert.equal(viaOtherHost.status, 200);

  // Not ready: /down/ has nothing listening; the reason names the mapping and the backend.
  const notReady = await health(admin, '/readyz');
  assert.equal(notReady.status, 503);
  assert.equal(notReady.body.status, 'not ready');
  assert.deepEqual(notReady.body.reasons, [
    `/down/ → fcgi://127.0.0.1:${dead}: connect ECONNREFUSED 127.0.0.1:${dead}`,
  ]);
  assert.deepEqual(notReady.body.mappings!.map((m) => [m.route, m.usable]).sort(), [
    ['/app/', true],
    ['/down/', false],
    ['/web/', true],
  ]);

  // Disabling the balancer's only member makes its mapping unusable, at once.
  const members = await (await fetch(`http://127.0.0.1:${admin}/api/balancers`)).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(await (await fetch(`http://127.0.0.1:${admin}/`)).text())![1]!;
  assert.match(members, /balancer:\/\/web/);
  const disable = await fetch(`http://127.0.0.1:${admin}/api/members/0`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
    body: '{"action":"disable"}',
  });
  assert.equal(disable.status, 200);
  assert.ok(
    (await health(admin, '/readyz')).body.reasons.some((r) =>
      r.startsWith('/web/ → balancer://web: no usable member (fcgi://'),
    ),
  );
  await fetch(`http://127.0.0.1:${admin}/api/members/0`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
    body: '{"action":"enable"}',
  });

  // Some traffic for the status page: both threads, both backends, a few failures.
  for (let i = 0; i < 40; i++) assert.equal((await get(port, i % 2 === 0 ? '/app/hello' : '/web/hello')).status, 200);
  for (let i = 0; i < 3; i++) assert.equal((await get(port, '/down/x')).status, 503);

  // An open client connection shows in the metrics (uWS reports opens and closes).
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  await new Promise<void>((done, fail) =>
    httpGet({ host: '127.0.0.1', port, path: '/app/hello', agent }, (res) => {
      res.resume();
      res.on('end', done);
    }).on('error', fail),
  );
  assert.match(
    await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text(),
    /^fcgate_http_connections_open [1-9]\d*$/m,
  );
  agent.destroy();

  const auto = await (await fetch(`http://127.0.0.1:${admin}/server-status?auto`)).text();
  const kv = new Map(
    auto
      .split('\n')
      .slice(1)
      .filter((l) => l.includes(': '))
      .map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]),
  );
  assert.equal(kv.get('Total Accesses'), '44');
  assert.equal(kv.get('ThreadsUp'), '2');
  assert.equal(kv.get('ServerVersion')!.startsWith('fcgate/'), true);
  assert.match(
    auto,
    new RegExp(`^Backend: fcgi://127\\.0\\.0\\.1:${a.port} idle=\\d+ busy=0 open=\\d+ max=\\d+ queued=0$`, 'm'),
  );
  assert.match(auto, /^Member: balancer:\/\/web fcgi:\/\/127\.0\.0\.1:\d+ state=ok loadfactor=1$/m);

  const skip = skipUnlessFound('chromium', existsSync(CHROMIUM));
  if (!skip) {
    const { chromium } = await import('playwright-core');
    const profile = mkdtempSync(join(tmpdir(), 'fcgate-chromium-'));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      timeout: 30_000,
      headless: true,
      viewport: { width: 1300, height: 800 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      page.setDefaultTimeout(10_000);
      await page.goto(`http://127.0.0.1:${admin}/server-status`);
      assert.equal(await page.title(), 'fcgate server status');
      assert.equal(await page.locator('#threads tbody tr').count(), 2);
      assert.deepEqual(await page.locator('#threads tbody tr td:nth-child(2)').allInnerTexts(), ['Up', 'Up']);
      assert.ok(Number(await page.locator('#rps b').innerText()) > 0);
      assert.match(await page.locator('#p50 b').innerText(), /^\d+(\.\d+)? (ms|µs)$/);
      assert.equal(await page.locator(`#pools tr[data-backend="fcgi://127.0.0.1:${a.port}"]`).count(), 1);
      assert.match(
        await page.locator('pre.errors').innerText(),
        new RegExp(`FCGATE_CONNECT_FAILED backend=fcgi://127\\.0\\.0\\.1:${dead}`),
      );
      // The pages link to each other.
      await page.locator('nav a', { hasText: 'Balancer manager' }).click();
      await page.waitForURL(`http://127.0.0.1:${admin}/`);
      await page.goto(`http://127.0.0.1:${admin}/server-status`);
      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = join(ARTIFACTS, 'server-status.png');
      await page.screenshot({ path: shot, fullPage: true });
      process.stderr.write(`server status screenshot: ${shot}\n`);
    } finally {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    }
  } else {
    t.diagnostic(skip);
  }

  // Draining: a slow request in flight, SIGTERM, and /readyz turns 503 while /healthz stays up.
  const slow = get(port, '/app/slow?ms=1500');
  await new Promise((r) => setTimeout(r, 200)); // let the request reach the app
  gw.child.kill('SIGTERM');
  await gw.waitLine(/SIGTERM: draining/);
  const draining = await health(admin, '/readyz');
  assert.equal(draining.status, 503);
  assert.ok(
    draining.body.reasons.includes('draining (SIGTERM): finishing the requests in flight'),
    JSON.stringify(draining.body),
  );
  assert.equal((await slow).status, 200);
  assert.equal(await gw.exited(), 0);
  stopped = true;
});
