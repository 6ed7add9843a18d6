// The balancer manager on the admin listener: its JSON API and its guards (Host, Origin,
// CSRF, token, session cookie), and the page in a real browser (headless Chromium through
// playwright-core): a click on "Drain" stops new traffic to that member. The screenshot is
// kept in test-artifacts/. Token and IPv6 handling: issue 9, item 13.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AdminServer, startAdmin } from '../../src/admin/server.js';
import { SESSION_COOKIE } from '../../src/admin/auth.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { skipUnlessFound } from '../helpers/process.js';
import { sequence, startMember, type TestMember } from './balancer-kit.js';

const CHROMIUM = process.env['FCGATE_CHROMIUM'] ?? '/usr/bin/chromium';
const ARTIFACTS = resolve(process.cwd(), 'test-artifacts');

async function cluster(t: {
  after(fn: () => Promise<void>): void;
}): Promise<{ gw: TestGateway; a: TestMember; b: TestMember }> {
  const a = await startMember('a');
  const b = await startMember('b');
  const gw = await startTestGateway({
    probe: false,
    telemetry: true,
    accessLogs: false,
    config: `
ProxyPass /app/ balancer://web/
<Proxy balancer://web>
  BalancerMember fcgi://127.0.0.1:${a.port} route=one
  BalancerMember fcgi://127.0.0.1:${b.port} route=two hcmethod=TCP hcinterval=1
</Proxy>
`,
  });
  t.after(async () => {
    await gw.stop();
    await a.close();
    await b.close();
  });
  return { gw, a, b };
}

test('the JSON API changes a member for every request at once; Host, Origin and CSRF are checked', async (t) => {
  const { gw, a, b } = await cluster(t);
  const logs: string[] = [];
  const control = (await startAdmin(
    { host: '127.0.0.1', port: 0, tokenRequired: false, file: 'x', line: 1 },
    gw.adminSource(),
    (l) => logs.push(l),
    {},
  ))!;
  t.after(() => control.close());
  const port = Number(/:(\d+)\//.exec(logs[0]!)![1]);
  const base = `http://127.0.0.1:${port}`;

  const list = (await (await fetch(`${base}/api/balancers`)).json()) as {
    balancers: Array<{ name: string; members: Array<{ name: string; state: string }> }>;
  };
  assert.equal(list.balancers[0]!.name, 'balancer://web');
  assert.deepEqual(
    list.balancers[0]!.members.map((m) => m.state),
    ['ok', 'ok'],
  );

  const post = (body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${base}/api/members/1`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  assert.equal((await post({ action: 'drain' })).status, 403); // no CSRF token
  assert.equal((await post({ action: 'drain', csrf: 'nope' })).status, 403);
  assert.equal((await post({ action: 'drain', csrf: control.csrf }, { Origin: 'http://evil.example' })).status, 403);
  assert.equal((await post({ action: 'explode', csrf: control.csrf })).status, 400);
  assert.equal((await post({ action: 'loadfactor', loadfactor: 101, csrf: control.csrf })).status, 400);
  // DNS rebinding: a page on attacker.example resolved to 127.0.0.1 sends its own Host (fetch
  // cannot set Host: node:http can).
  const rebinding = await new Promise<number>((resolve, reject) => {
    httpGet(
      { host: '127.0.0.1', port, path: '/api/balancers', headers: { Host: `attacker.example:${port}` } },
      (res) => {
        res.resume();
        resolve(res.statusCode!);
      },
    ).on('error', reject);
  });
  assert.equal(rebinding, 421);

  const before = b.served;
  const r = await post({ action: 'disable', csrf: control.csrf });
  assert.equal(r.status, 200);
  assert.equal(((await r.json()) as { member: { state: string } }).member.state, 'disabled');
  assert.equal((await sequence(`${gw.base}/app/`, 4)).join(''), 'aaaa');
  assert.equal(b.served, before);
  assert.equal((await post({ action: 'enable', csrf: control.csrf })).status, 200);
  const lf = await fetch(`${base}/api/members/0`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': control.csrf },
    body: JSON.stringify({ action: 'loadfactor', loadfactor: 3 }),
  });
  assert.equal(lf.status, 200);
  assert.equal(gw.gateway.balancerBoard.lbFactor(0), 300);
  assert.ok(
    logs.some((l) => /^FCGATE_MANAGER_CHANGE member=fcgi:\/\/127\.0\.0\.1:\d+ action=loadfactor loadfactor=3/.test(l)),
    logs.join('\n'),
  );
  void a;
});

test('no open door: a non-loopback manager needs a token, and then every request needs it', async (t) => {
  const { gw } = await cluster(t);
  const source = gw.adminSource();
  assert.throws(
    () => new AdminServer(source, { settings: { host: '0.0.0.0', port: 0 }, token: null, log: () => {} }),
    /FCGATE_MANAGER_TOKEN must be set/,
  );
  assert.throws(
    () => new AdminServer(source, { settings: { host: '0.0.0.0', port: 0 }, token: 'short', log: () => {} }),
    /16 characters/,
  );
  const token = 'a-long-enough-secret-token';
  const control = new AdminServer(source, { settings: { host: '127.0.0.1', port: 0 }, token, log: () => {} });
  const port = await control.listen();
  t.after(() => control.close());
  const base = `http://127.0.0.1:${port}`;
  assert.equal((await fetch(`${base}/`)).status, 401);
  assert.equal((await fetch(`${base}/api/balancers`, { headers: { Authorization: 'Bearer wrong' } })).status, 401);
  assert.equal((await fetch(`${base}/api/balancers`, { headers: { Authorization: `Bearer ${token}` } })).status, 200);
  // A script with the token needs no CSRF token; a cookie session does.
  const drain = await fetch(`${base}/api/members/0`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: '{"action":"drain"}',
  });
  assert.equal(drain.status, 200);
  // Issue 9 item 13: the token is never taken from a URL …
  assert.equal((await fetch(`${base}/?token=${token}`, { redirect: 'manual' })).status, 400);
  // … a browser logs in with a form POST and gets a cookie derived from the token, not the token.
  const form = (v: string): RequestInit => ({
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: v }).toString(),
  });
  assert.equal((await fetch(`${base}/login`, form('wrong'))).status, 401);
  assert.equal((await fetch(`${base}/login`, form(token + 'x'))).status, 401);
  const login = await fetch(`${base}/login`, form(token));
  assert.equal(login.status, 303);
  const cookie = login.headers.get('set-cookie')!;
  assert.match(cookie, /HttpOnly; SameSite=Strict/);
  const session = cookie.split(';')[0]!;
  assert.ok(!session.includes(token) && !session.includes(encodeURIComponent(token)), 'the cookie is not the token');
  assert.match(session, new RegExp(`^${SESSION_COOKIE}=\\d+\\.[A-Za-z0-9_-]{43}$`));
  assert.equal((await fetch(`${base}/`, { headers: { Cookie: session } })).status, 200);
  assert.equal(
    (
      await fetch(`${base}/api/members/0`, {
        method: 'POST',
        headers: { Cookie: session, 'Content-Type': 'application/json' },
        body: '{"action":"enable"}',
      })
    ).status,
    403,
  );
  // A forged or altered session is refused; so is the raw token as a cookie (the old scheme).
  const [, value] = session.split('=');
  const [expiry, mac] = value!.split('.');
  assert.equal(
    (await fetch(`${base}/`, { headers: { Cookie: `${SESSION_COOKIE}=${Number(expiry) + 1}.${mac}` } })).status,
    401,
  );
  assert.equal((await fetch(`${base}/`, { headers: { Cookie: `${SESSION_COOKIE}=${token}` } })).status, 401);
  // A browser without a session gets the login form.
  const page = await fetch(`${base}/`, { headers: { Accept: 'text/html' } });
  assert.equal(page.status, 401);
  assert.match(await page.text(), /<form method="post" action="\/login">/);
  // The same token under another listener's session is useless once the token changes.
  const other = new AdminServer(source, {
    settings: { host: '127.0.0.1', port: 0 },
    token: token + '-rotated',
    log: () => {},
  });
  const otherPort = await other.listen();
  t.after(() => other.close());
  assert.equal((await fetch(`http://127.0.0.1:${otherPort}/`, { headers: { Cookie: session } })).status, 401);
});

test('issue 9 item 13: the admin listener on IPv6 addresses other than ::1 (Host not parsed as a URL)', async (t) => {
  const { gw } = await cluster(t);
  const token = 'a-long-enough-secret-token';
  // "::" is not loopback: it needs the token, and the Host a client sends is whatever address it used.
  const control = new AdminServer(gw.adminSource(), { settings: { host: '::', port: 0 }, token, log: () => {} });
  const port = await control.listen();
  t.after(() => control.close());
  const ask = (host: string, path = '/api/balancers'): Promise<number> =>
    new Promise((resolve, reject) => {
      httpGet(
        { host: '::1', family: 6, port, path, headers: { Host: host, Authorization: `Bearer ${token}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      ).on('error', reject);
    });
  assert.equal(await ask(`[::1]:${port}`), 200);
  assert.equal(await ask(`[2001:db8::7]:${port}`), 200);
  assert.equal(await ask(`[fe80::1%25eth0]:${port}`), 200); // a zone id made new URL() throw: 500
  assert.equal(await ask(`[fe80::1%25eth0]:${port}`, '/metrics'), 200);
  // Loopback without a token: the Host must name the listener, IPv6 in brackets.
  const local = new AdminServer(gw.adminSource(), { settings: { host: '::1', port: 0 }, token: null, log: () => {} });
  const localPort = await local.listen();
  t.after(() => local.close());
  const askLocal = (host: string): Promise<number> =>
    new Promise((resolve, reject) => {
      httpGet({ host: '::1', family: 6, port: localPort, path: '/api/balancers', headers: { Host: host } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      }).on('error', reject);
    });
  assert.equal(await askLocal(`[::1]:${localPort}`), 200);
  assert.equal(await askLocal(`localhost:${localPort}`), 200);
  assert.equal(await askLocal(`evil.example:${localPort}`), 421);
});

test('in a real browser: the page shows the members; clicking Drain stops new traffic to that member', async (t) => {
  const skip = skipUnlessFound('chromium', existsSync(CHROMIUM));
  if (skip) {
    t.skip(skip);
    return;
  }
  const { chromium } = await import('playwright-core');
  const { gw, a, b } = await cluster(t);
  const control = new AdminServer(gw.adminSource(), {
    settings: { host: '127.0.0.1', port: 0 },
    token: null,
    log: () => {},
  });
  const port = await control.listen();
  t.after(() => control.close());
  // Some traffic first, so the page has numbers and a health history to show.
  assert.equal((await sequence(`${gw.base}/app/`, 6)).join(''), 'ababab');

  const profile = mkdtempSync(join(tmpdir(), 'fcgate-chromium-'));
  // A fresh profile directory (playwright passes it as --user-data-dir).
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    timeout: 30_000,
    headless: true,
    viewport: { width: 1400, height: 700 },
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
  t.after(async () => {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(10_000);
  await page.goto(`http://127.0.0.1:${port}/`);
  assert.equal(await page.title(), 'fcgate balancer manager');
  const rowB = page.locator(`tr[data-member="fcgi://127.0.0.1:${b.port}"]`);
  assert.equal(await rowB.getAttribute('data-state'), 'ok');
  assert.match(await rowB.locator('td').nth(2).innerText(), /^3$/);

  await rowB.locator('button[data-action="drain"]').click();
  await page.waitForURL(/did=drain/);
  const drained = page.locator(`tr[data-member="fcgi://127.0.0.1:${b.port}"]`);
  assert.equal(await drained.getAttribute('data-state'), 'draining');
  assert.match(await page.locator('.notice').innerText(), /is now draining/);
  mkdirSync(ARTIFACTS, { recursive: true });
  const shot = join(ARTIFACTS, 'balancer-manager.png');
  await page.screenshot({ path: shot, fullPage: true });
  process.stderr.write(`balancer manager screenshot: ${shot}\n`);

  const before = b.served;
  assert.equal((await sequence(`${gw.base}/app/`, 10)).join(''), 'aaaaaaaaaa');
  assert.equal(b.served, before, 'a drained member gets no new traffic');
  // Sticky sessions for the drained member still reach it (Apache's N).
  assert.equal((await sequence(`${gw.base}/app/x?route=y.two`, 1)).join(''), 'a'); // no stickysession configured here
  await drained.locator('button[data-action="enable"]').click();
  await page.waitForURL(/did=enable/);
  assert.equal(await page.locator(`tr[data-member="fcgi://127.0.0.1:${b.port}"]`).getAttribute('data-state'), 'ok');
  assert.ok((await sequence(`${gw.base}/app/`, 4)).includes('b'));
  void a;
});
