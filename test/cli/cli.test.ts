// The command line as a newcomer meets it (issue 13): `fcgate start` (npm start) serves the
// demo page through the gateway, its app port can be fixed, and SIGTERM stops it with 0;
// every command has --help; --version names fcgate, Node.js and the uWS build; the exit
// codes are 0 / 1 (runtime) / 2 (usage, configuration); messages carry no internal labels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/free-port.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const PKG = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

function run(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('fcgate start: the demo page through the gateway, --app-listen fixes the app port, SIGTERM exits 0', async () => {
  const port = await freePort();
  const appPort = await freePort();
  const child = spawn(
    process.execPath,
    [MAIN, 'start', '--listen', `127.0.0.1:${port}`, '--app-listen', `127.0.0.1:${appPort}`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FCGATE_THREADS: '1' },
    },
  );
  try {
    let out = '';
    child.stdout.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed within 15 s: ${out}`)), 15_000);
      child.stdout.on('data', (d: string) => {
        out += d;
        if (out.includes('Ctrl-C')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`exited ${code}: ${out}`));
      });
    });
    assert.match(out, new RegExp(`the built-in FastCGI app listens on fcgi://127\\.0\\.0\\.1:${appPort}/`));
    assert.match(out, new RegExp(`Open http://127\\.0\\.0\\.1:${port}/ in a browser`));
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

test('fcgate check: a good file is explained, a bad one names file, line, problem and the likely directive', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fcgate-cli-'));
  try {
    const good = join(dir, 'good.conf');
    writeFileSync(good, 'Listen 127.0.0.1:8080\nProxyPass /mon_appli/ fcgi://localhost:4000/\nUser nobody\n');
    const ok = run(['check', '-c', good], { FCGATE_MAX_BODY: '10MB', FCGATE_DRAIN_MS: '30s' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /Syntax OK/);
    assert.match(ok.stdout, /localhost:4000/);
    assert.match(ok.stdout, /^serving user: nobody:nogroup once the ports are open/m);
    assert.match(
      ok.stdout,
      /^tuning: FCGATE_MAX_BODY=10MB \(10000000 bytes; default 1GiB\), FCGATE_DRAIN_MS=30s \(30000 ms; default 10s\)$/m,
    );

    const bad = join(dir, 'bad.conf');
    writeFileSync(bad, 'Listen 127.0.0.1:8080\n# a comment\nProxyPazz /x/ fcgi://localhost:4000/\n');
    const r = run(['check', '-c', bad]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `fcgate: ${bad}:3: ProxyPazz: unknown directive (did you mean ProxyPass?)\n`);

    const user = join(dir, 'user.conf');
    writeFileSync(user, 'User no-such-user-here\n');
    const u = run(['check', '-c', user]);
    assert.equal(u.status, 2);
    assert.equal(u.stderr, 'fcgate: User no-such-user-here: no such user on this machine\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fcgate check or serve with nothing to do says what to give (exit 2)', () => {
  for (const cmd of ['check', 'serve']) {
    const r = run([cmd]);
    assert.equal(r.status, 2);
    assert.equal(
      r.stderr,
      `fcgate ${cmd}: nothing to ${cmd}: give a configuration file (fcgate ${cmd} -c /etc/fcgate/fcgate.conf)`
        + ` or at least one --pass PATH=URL\n(see fcgate ${cmd} --help)\n`,
    );
  }
});

test('the environment: an invalid value names the variable (exit 2); a misspelt name gets one warning', () => {
  const r = run(['check', '--pass', '/=fcgi://127.0.0.1:1/'], { FCGATE_MAX_BODY: 'lots' });
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'fcgate: FCGATE_MAX_BODY must be a size (bytes, or 10MB, 64KiB, 1G), 0 or more; got "lots"\n');
  const w = run(['check', '--pass', '/=fcgi://127.0.0.1:1/'], { FCGATE_THREDS: '2' });
  assert.equal(w.status, 0, w.stderr);
  assert.equal(
    w.stderr,
    'fcgate: warning: FCGATE_THREDS is not a variable fcgate reads (did you mean FCGATE_THREADS?); it is ignored\n',
  );
});

test('flag errors name the flag, with no internal label; usage errors point to the command help', () => {
  const r = run(['check', '--listen', '127.0.0.1:99999', '--pass', '/=fcgi://127.0.0.1:1/']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'fcgate: --listen 127.0.0.1:99999: expected [address:]port, got "127.0.0.1:99999"\n');
  const u = run(['serve', '--lisen', '8080']);
  assert.equal(u.status, 2);
  assert.equal(u.stderr, 'fcgate serve: unknown option --lisen (did you mean --listen?)\n(see fcgate serve --help)\n');
  const both = run(['serve', '-c', 'x.conf', '--pass', '/=fcgi://h:1/']);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /^fcgate serve: use either -c FILE or the flags, not both/);
});

test('a runtime failure exits 1: the port is taken', async () => {
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  try {
    const port = (taken.address() as { port: number }).port;
    const r = spawnSync(
      process.execPath,
      [MAIN, 'serve', '--listen', `127.0.0.1:${port}`, '--pass', '/=fcgi://127.0.0.1:1/'],
      {
        env: { ...process.env, FCGATE_THREADS: '1', FCGATE_ALLOW_ROOT: '1', FCGATE_PROBE_TIMEOUT: '200' },
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`^fcgate: cannot listen on 127\\.0\\.0\\.1:${port}: another process is already listening there`, 'm'),
    );
  } finally {
    await new Promise<void>((r) => taken.close(() => r()));
  }
});

test('--help lists commands, variables and exit codes; every command has --help; unknown commands fail', () => {
  const help = run(['--help']);
  assert.equal(help.status, 0);
  for (const word of [
    'serve',
    'check',
    'start',
    'demo-app',
    'FCGATE_MAX_BODY',
    'FCGATE_MANAGER_TOKEN',
    'UWS_HTTP_MAX_HEADERS_SIZE',
    'FCGATE_TEST_HOOKS',
    'FCGATE_ALLOW_ROOT',
    'Exit status:',
  ])
    assert.ok(help.stdout.includes(word), word);
  for (const cmd of ['serve', 'check', 'start', 'demo-app']) {
    const h = run([cmd, '--help']);
    assert.equal(h.status, 0, `${cmd} --help: ${h.stderr}`);
    assert.match(h.stdout, new RegExp(`^Usage: fcgate ${cmd}`));
    assert.match(h.stdout, /\nOptions:\n[\s\S]*\nExamples:\n  \S[\s\S]*\nExit status:\n/);
    assert.equal(run(['help', cmd]).stdout, h.stdout);
  }
  const bad = run(['sevre']);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'fcgate: unknown command "sevre" (did you mean serve?)\n(see fcgate --help)\n');
});

test('--version: fcgate, Node.js and the uWebSockets.js build', () => {
  const r = run(['--version']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines[0], `fcgate ${PKG.version}`);
  assert.equal(
    lines[1],
    `Node.js ${process.version} (${process.platform}-${process.arch}, ABI ${process.versions.modules})`,
  );
  // The build that serves (uws.ts: the newest that loads here), its binary, limits, and why another was not used.
  assert.match(
    lines[2]!,
    /^uWebSockets\.js: (uwebsockets|@btc-vision\/uwebsockets\.js)@\d+\.\d+\.\d+ \(upstream [0-9a-f]{40}\), selection/,
  );
  assert.match(lines[3]!, /^ {2}binary \S+uws_\w+\.node sha256 [0-9a-f]{64}$/);
  assert.ok(lines.some((l) => l.startsWith('  known limits: ')));
  assert.equal(lines[lines.length - 1], '  max_headers_size=32768');
  assert.match(run(['-v'], { UWS_HTTP_MAX_HEADERS_SIZE: '64KiB' }).stdout, /max_headers_size=65536\n$/);
});
