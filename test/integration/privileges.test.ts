// `User`, `Group`, `PidFile` and the root rule (issue 13), as root with the real
// unprivileged user `nobody`: the ports are bound as root, then every thread of the process
// serves as nobody (all four uids and gids, no capabilities, no supplementary groups of
// root's); the spool and a SIGHUP reload work after the drop; the pid file is written and
// removed; root without User is refused (exit 2) unless FCGATE_ALLOW_ROOT=1; an unwritable
// spool stops startup (exit 1). Runs as root only (CI does; elsewhere it is skipped).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, get, startApp, startCli, type Proc } from '../threads/cli-process.js';

const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : process.env['CI'] ? false : 'needs root (it drops to nobody): run it as root, as CI does';
if (skip !== false) process.stderr.write(`\n*** privileges test SKIPPED: ${skip} ***\n\n`);

const NOBODY = 65534;

/** Uid, Gid, Groups and CapEff of every thread of `pid`, counted by distinct value. */
function threadCredentials(pid: number): {
  threads: number;
  uid: Set<string>;
  gid: Set<string>;
  groups: Set<string>;
  capEff: Set<string>;
} {
  const out = {
    threads: 0,
    uid: new Set<string>(),
    gid: new Set<string>(),
    groups: new Set<string>(),
    capEff: new Set<string>(),
  };
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
    } catch {
      continue;
    }
    const field = (name: string): string =>
      (new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '').trim().replace(/\s+/g, ' ');
    out.threads++;
    out.uid.add(field('Uid'));
    out.gid.add(field('Gid'));
    out.groups.add(field('Groups'));
    out.capEff.add(field('CapEff'));
  }
  return out;
}

/** A chunked POST (no Content-Length): the gateway spools it before sending it on. */
function postChunked(port: number, path: string, body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    for (let at = 0; at < body.length; at += 16 * 1024) req.write(body.subarray(at, at + 16 * 1024));
    req.end();
  });
}

describe('User, Group, PidFile as root', { skip }, () => {
  let app: { proc: Proc; port: number };
  let dir: string;
  before(async () => {
    app = await startApp();
    dir = mkdtempSync(join(tmpdir(), 'fcgate-priv-'));
    chmodSync(dir, 0o755); // nobody must read the configuration (SIGHUP)
  });
  after(async () => {
    await app.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const writeConf = (name: string, port: number, lines: string[]): string => {
    const file = join(dir, name);
    writeFileSync(
      file,
      [`Listen 127.0.0.1:${port}`, `ProxyPass /app/ fcgi://127.0.0.1:${app.port}/`, ...lines, ''].join('\n'),
    );
    return file;
  };

  test('binds as root, every thread serves as nobody; spool, reload and pid file work after the drop', async () => {
    const port = await freePort();
    const pidFile = join(dir, 'run', 'fcgate.pid'); // its folder is created for nobody
    const conf = writeConf('nobody.conf', port, ['User nobody', `PidFile ${pidFile}`]);
    const gw = startCli(['serve', '-c', conf], {
      FCGATE_THREADS: '2',
      FCGATE_ALLOW_ROOT: '',
      FCGATE_SPOOL_MEMORY: '1KiB',
    });
    try {
      await gw.waitLine(/^fcgate listening on /, 15_000);
      assert.ok(
        gw.lines.some((l) =>
          / FCGATE_PRIVILEGES serving as nobody:nogroup \(uid 65534, gid 65534\) in every thread$/.test(l),
        ),
        gw.lines.join('\n'),
      );
      assert.equal(readFileSync(pidFile, 'utf8'), `${gw.child.pid}\n`);

      const cred = threadCredentials(gw.child.pid!);
      assert.ok(cred.threads >= 3, `main and 2 serving threads at least (${cred.threads})`);
      assert.deepEqual([...cred.uid], [`${NOBODY} ${NOBODY} ${NOBODY} ${NOBODY}`]); // real, effective, saved, fs
      assert.deepEqual([...cred.gid], [`${NOBODY} ${NOBODY} ${NOBODY} ${NOBODY}`]);
      assert.deepEqual([...cred.groups], [String(NOBODY)]);
      assert.deepEqual([...cred.capEff], ['0000000000000000']);

      const hello = await get(port, '/app/hello');
      assert.deepEqual(hello, { status: 200, body: 'Hello from the fcgate demo app\n' });
      // 200 KiB without Content-Length, over FCGATE_SPOOL_MEMORY: spooled to a file in TMPDIR as nobody.
      const body = Buffer.alloc(200 * 1024, 'spool me ');
      const echo = await postChunked(port, '/app/echo', body);
      assert.equal(echo.status, 200);
      assert.deepEqual(JSON.parse(echo.body), {
        length: body.length,
        sha256: createHash('sha256').update(body).digest('hex'),
        content_length: String(body.length),
      });

      const from = gw.lines.length;
      gw.child.kill('SIGHUP');
      await gw.waitLine(/ FCGATE_RELOADED config=/, 10_000, from);
      assert.ok(!gw.lines.some((l) => /FCGATE_ACCESS/.test(l)), 'nothing nobody could not open');

      gw.child.kill('SIGTERM');
      assert.equal(await gw.exited(), 0);
      assert.equal(existsSync(pidFile), false, 'the pid file is removed at exit');
    } finally {
      await gw.stop();
    }
  });

  test('a thread replaced after the drop cannot rejoin the port; the others keep serving (documented)', async () => {
    const port = await freePort();
    const conf = writeConf('crash.conf', port, ['User nobody']);
    const gw = startCli(['serve', '-c', conf], { FCGATE_THREADS: '2', FCGATE_ALLOW_ROOT: '', FCGATE_TEST_HOOKS: '1' });
    try {
      await gw.waitLine(/^fcgate listening on /, 15_000);
      const from = gw.lines.length;
      gw.child.stdin!.write('crash 1\n');
      await gw.waitLine(/FCGATE_THREAD_RESTART thread=1 .*delay_ms=0/, 5000, from);
      // The replacement binds as nobody while thread 0 holds root's socket: refused (SO_REUSEPORT is per user).
      await gw.waitLine(
        /FCGATE_THREAD_RESTART thread=1 cause=".*cannot listen on 127\.0\.0\.1:\d+.*of another user/,
        5000,
        from,
      );
      for (let i = 0; i < 5; i++) assert.equal((await get(port, '/app/hello')).status, 200);
      assert.equal(gw.child.exitCode, null, 'still serving');
    } finally {
      await gw.stop();
    }
  });

  test('root without User is refused before anything opens (exit 2); FCGATE_ALLOW_ROOT=1 serves as root', async () => {
    const port = await freePort();
    const conf = writeConf('root.conf', port, []);
    const refused = startCli(['serve', '-c', conf], { FCGATE_THREADS: '1', FCGATE_ALLOW_ROOT: '' });
    assert.equal(await refused.exited(), 2);
    assert.match(
      refused.lines.join('\n'),
      /^fcgate: refusing to serve as root: add `User www-data`.*FCGATE_ALLOW_ROOT=1/m,
    );
    assert.ok(!refused.lines.some((l) => /FCGATE_PROBE|listening/.test(l)), 'nothing was started');

    const userRoot = startCli(['serve', '-c', writeConf('user-root.conf', port, ['User root'])], {
      FCGATE_THREADS: '1',
      FCGATE_ALLOW_ROOT: '0',
    });
    assert.equal(await userRoot.exited(), 2);

    const allowed = startCli(['serve', '-c', conf], { FCGATE_THREADS: '1', FCGATE_ALLOW_ROOT: '1' });
    try {
      await allowed.waitLine(/FCGATE_PRIVILEGES serving as root \(FCGATE_ALLOW_ROOT=1\)/, 15_000);
      await allowed.waitLine(/^fcgate listening on /, 15_000);
      assert.deepEqual([...threadCredentials(allowed.child.pid!).uid], ['0 0 0 0']);
    } finally {
      await allowed.stop();
    }
  });

  test('a PidFile in a folder nobody cannot write: warned at startup, emptied (not left stale) at exit', async () => {
    const port = await freePort();
    const pidFile = join(dir, 'fcgate.pid'); // dir: root's, 0755
    const gw = startCli(['serve', '-c', writeConf('pid.conf', port, ['User nobody', `PidFile ${pidFile}`])], {
      FCGATE_THREADS: '1',
      FCGATE_ALLOW_ROOT: '',
    });
    try {
      await gw.waitLine(/^fcgate listening on /, 15_000);
      // The error log writes in batches (FCGATE_LOG_FLUSH_MS): the line may follow the stdout one.
      await gw.waitLine(/FCGATE_ACCESS PidFile \(removed at exit\): nobody cannot write .* \(EACCES\)/, 5000);
      assert.ok(
        gw.lines.some((l) =>
          l.includes(`FCGATE_ACCESS PidFile (removed at exit): nobody cannot write ${dir} (EACCES)`),
        ),
        gw.lines.join('\n'),
      );
      assert.equal(readFileSync(pidFile, 'utf8'), `${gw.child.pid}\n`);
      gw.child.kill('SIGTERM');
      assert.equal(await gw.exited(), 0);
      assert.equal(readFileSync(pidFile, 'utf8'), '');
      assert.ok(
        gw.lines.some((l) =>
          / FCGATE_PIDFILE PidFile .* could not be removed \(EACCES\).*; it was emptied instead$/.test(l),
        ),
        gw.lines.join('\n'),
      );
    } finally {
      await gw.stop();
    }
  });

  test('a spool directory nobody cannot write stops startup after the drop (exit 1); the pid file goes', async () => {
    const port = await freePort();
    const spool = join(dir, 'root-only');
    mkdirSync(spool, { mode: 0o700 });
    const pidFile = join(dir, 'run-spool', 'fcgate.pid');
    const conf = writeConf('spool.conf', port, ['User nobody', `PidFile ${pidFile}`]);
    const gw = startCli(['serve', '-c', conf], { FCGATE_THREADS: '1', FCGATE_ALLOW_ROOT: '', TMPDIR: spool });
    assert.equal(await gw.exited(), 1);
    assert.match(
      gw.lines.join('\n'),
      new RegExp(
        `^fcgate: the spool directory ${spool} \\(FCGATE_SPOOL_DIR, else TMPDIR\\) is not writable by nobody: .*EACCES`,
        'm',
      ),
    );
    assert.equal(existsSync(pidFile), false);
  });
});
