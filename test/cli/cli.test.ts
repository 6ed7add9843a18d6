// The command line as a newcomer meets it: `fcgate start` (npm start) serves the demo page
// through the gateway and stops cleanly on SIGTERM; `fcgate check` explains a good file and
// names the file and line of a bad one; a bad tuning value stops startup naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/free-port.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function run(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('fcgate start serves the demo page through the gateway, and SIGTERM stops it with exit 0', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN, 'start', '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FCGATE_THREADS: '1' },
  });
  try {
    let out = '';
    child.stdout.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed within 15 s: ${out}`)), 15_000);
      child.stdout.on('data', (d: string) => {
        out += d;
        if (out.includes(`http://127.0.0.1:${port}/`)) { clearTimeout(timer); resolve(); }
      });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${code}: ${out}`)); });
    });
    assert.match(out, /Open http:\/\/127\.0\.0\.1:\d+\/ in a browser/);
    const page = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const html = await page.text();
    assert.match(html, /REQUEST_URI/);
    assert.match(html, /GATEWAY_INTERFACE/);
    const hello = await fetch(`http://127.0.0.1:${port}/hello`);
    assert.equal(await hello.text(), 'Hello from the fcgate demo app\n');
  } finally {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000))]);
    if (code === 'hung') child.kill('SIGKILL');
    assert.equal(code, 0);
  }
});

test('fcgate check: a good file is explained, a bad one names file, line and problem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fcgate-cli-'));
  try {
    const good = join(dir, 'good.conf');
    writeFileSync(good, 'Listen 127.0.0.1:8080\nProxyPass /mon_appli/ fcgi://localhost:4000/\n');
    const ok = run(['check', '-c', good]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /Syntax OK/);
    assert.match(ok.stdout, /localhost:4000/);

    const bad = join(dir, 'bad.conf');
    writeFileSync(bad, 'Listen 127.0.0.1:8080\n# a comment\nProxyPazz /x/ fcgi://localhost:4000/\n');
    const r = run(['check', '-c', bad]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bad\.conf:3: .*ProxyPazz/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an invalid FCGATE_* value stops startup and names the variable', () => {
  const r = run(['serve', '--listen', '127.0.0.1:1', '--pass', '/=fcgi://127.0.0.1:1/'], { FCGATE_MAX_BODY: 'lots' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /FCGATE_MAX_BODY must be an integer/);
});

test('--help lists the commands and the tuning variables; unknown commands fail', () => {
  const help = run(['--help']);
  assert.equal(help.status, 0);
  for (const word of ['serve', 'check', 'start', 'demo-app', 'FCGATE_MAX_BODY', 'FCGATE_THREADS']) assert.ok(help.stdout.includes(word), word);
  const bad = run(['frobnicate']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown command "frobnicate"/);
});
