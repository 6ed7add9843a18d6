// contrib/ as shipped (issue 13): the systemd unit passes `systemd-analyze verify` (no
// warning either) and its offline security review, stops within the drain, runs a command
// line fcgate accepts, and sets only variables fcgate knows; the logrotate snippet really
// rotates (logrotate itself, as root) and its SIGUSR1 reaches a running fcgate through the
// PidFile, without opening Node's inspector; and the unit's privilege model (www-data with
// only CAP_NET_BIND_SERVICE, made with setpriv as systemd would) binds a port below 1024
// and lets a replaced serving thread listen again. systemd-analyze and logrotate come from
// scripts/install-deps.sh; under CI a missing one fails the test instead of skipping it.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  chownSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandArgs } from '../../src/cli/command.js';
import { lookupAccount } from '../../src/cli/privileges.js';
import { serveCommand } from '../../src/cli/serve-command.js';
import { readTuning } from '../../src/tuning.js';
import { parseDuration } from '../../src/units.js';
import { skipUnlessFound, stopGroup, trackGroup } from '../helpers/process.js';
import { CLI, freePort, get, startApp, startCli } from '../threads/cli-process.js';

const CONTRIB = fileURLToPath(new URL('../../../contrib/', import.meta.url));
const UNIT = readFileSync(join(CONTRIB, 'fcgate.service'), 'utf8');
const LOGROTATE = readFileSync(join(CONTRIB, 'fcgate.logrotate'), 'utf8');

function findProgram(name: string): string | null {
  for (const d of [...(process.env['PATH'] ?? '').split(':'), '/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    if (d === '') continue;
    try {
      accessSync(join(d, name), constants.X_OK);
      return join(d, name);
    } catch {
      /* next */
    }
  }
  return null;
}
const analyze = findProgram('systemd-analyze');
const logrotate = findProgram('logrotate');

/** Values of `key` in the unit (every line `key=value`, in order). */
function unitValues(key: string): string[] {
  return UNIT.split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));
}

/** systemd's time span: `20s`, `1min 30s`, `500ms`, or plain seconds. */
function seconds(span: string): number {
  let ms = 0;
  for (const part of span.trim().split(/\s+/)) ms += parseDuration(/^\d+$/.test(part) ? `${part}s` : part, 'ms')!;
  return ms / 1000;
}

describe('contrib/fcgate.service', { skip: skipUnlessFound('systemd-analyze', analyze !== null) }, () => {
  let dir: string;
  let unit: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'fcgate-unit-'));
    // verify checks that ExecStart's program exists: point it at this build.
    const bin = join(dir, 'fcgate');
    writeFileSync(bin, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`);
    chmodSync(bin, 0o755);
    unit = join(dir, 'fcgate.service');
    assert.match(UNIT, /^ExecStart=\/usr\/local\/bin\/fcgate /m);
    writeFileSync(unit, UNIT.replace(/^ExecStart=\/usr\/local\/bin\/fcgate /m, `ExecStart=${bin} `));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('systemd-analyze verify: no error and no warning', () => {
    const r = spawnSync(analyze!, ['verify', unit], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout + r.stderr, '');
  });

  test('systemd-analyze security (offline): exposure stays low', () => {
    const r = spawnSync(analyze!, ['security', '--offline=true', '--no-pager', unit], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const m = /Overall exposure level for fcgate\.service: (\d+\.\d)/.exec(r.stdout);
    assert.ok(m, r.stdout.slice(-400));
    assert.ok(Number(m[1]) <= 2.5, `exposure ${m[1]} (2.0 when written)`);
  });

  test('the unit: reload is SIGHUP, stop is SIGTERM with time for the drain, hardening in place', () => {
    assert.deepEqual(unitValues('ExecReload'), ['/bin/kill -HUP $MAINPID']);
    assert.deepEqual(unitValues('KillSignal'), ['SIGTERM']);
    const env = Object.fromEntries(unitValues('Environment').map((e) => e.split('=', 2) as [string, string]));
    const drainMs = readTuning(env).FCGATE_DRAIN_MS; // throws on an unknown value
    assert.ok(
      seconds(unitValues('TimeoutStopSec')[0]!) >= drainMs / 1000 + 5,
      'TimeoutStopSec leaves 5 s after the drain',
    );
    assert.deepEqual(unitValues('RestartPreventExitStatus'), ['2']); // exit 2: configuration error
    for (const [k, v] of [
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      ['AmbientCapabilities', 'CAP_NET_BIND_SERVICE'],
      ['CapabilityBoundingSet', 'CAP_NET_BIND_SERVICE'],
      ['PrivateTmp', 'yes'],
      ['User', 'www-data'],
    ] as const) {
      assert.deepEqual(unitValues(k), [v], k);
    }
    assert.deepEqual(unitValues('MemoryDenyWriteExecute'), [], 'V8 needs W+X memory');
    const args = unitValues('ExecStart')[0]!.split(/\s+/).slice(1);
    assert.equal(args[0], 'serve');
    assert.deepEqual(parseCommandArgs(serveCommand, args.slice(1)), { config: '/etc/fcgate/fcgate.conf' });
  });
});

const isRoot = process.getuid?.() === 0;
const rotateSkip =
  skipUnlessFound('logrotate', logrotate !== null)
  || (isRoot || process.env['CI'] ? false : 'the snippet rotates as www-data: needs root');

describe('contrib/fcgate.logrotate', { skip: rotateSkip }, () => {
  test('logrotate rotates /var/log/fcgate/*.log as www-data; SIGUSR1 reaches fcgate through its PidFile', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fcgate-logrotate-'));
    chmodSync(dir, 0o755);
    const logs = join(dir, 'log');
    const run = join(dir, 'run');
    mkdirSync(logs);
    const wwwData = lookupAccount('passwd', 'www-data')!.id;
    const adm = lookupAccount('group', 'adm')!.id;
    chownSync(logs, wwwData, adm); // as LogsDirectory= makes it
    writeFileSync(join(logs, 'access.log'), '127.0.0.1 - - "GET / HTTP/1.1" 200 5\n');
    const conf = join(dir, 'fcgate.logrotate');
    const pidFile = join(run, 'fcgate.pid');
    assert.match(LOGROTATE, /\/run\/fcgate\/fcgate\.pid/);
    writeFileSync(
      conf,
      LOGROTATE.replaceAll('/var/log/fcgate', logs)
        .replaceAll('/run/fcgate/fcgate.pid', pidFile)
        // the systemd branch must not find a real fcgate.service on a developer's machine
        .replace('fcgate.service', 'fcgate-test-none.service'),
    );
    const port = await freePort();
    const gw = startCli(
      [
        'serve',
        '--listen',
        `127.0.0.1:${port}`,
        '--pass',
        '/=fcgi://127.0.0.1:1/',
        '--user',
        'www-data',
        '--pid-file',
        pidFile,
      ],
      { FCGATE_THREADS: '1', FCGATE_ALLOW_ROOT: '', FCGATE_PROBE_TIMEOUT: '200' },
    );
    try {
      await gw.waitLine(/^fcgate listening on /, 15_000);
      const r = spawnSync(logrotate!, ['-f', '-s', join(dir, 'state'), conf], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.equal(readFileSync(join(logs, 'access.log.1'), 'utf8'), '127.0.0.1 - - "GET / HTTP/1.1" 200 5\n');
      const fresh = statSync(join(logs, 'access.log'));
      assert.deepEqual([fresh.size, fresh.uid, fresh.gid, fresh.mode & 0o777], [0, wwwData, adm, 0o640]);
      await gw.waitLine(/ FCGATE_LOG_REOPENED SIGUSR1/, 5000);
      assert.ok(!gw.lines.some((l) => /Debugger listening/.test(l)), 'SIGUSR1 did not open the inspector');
      gw.child.kill('SIGTERM');
      assert.equal(await gw.exited(), 0);
      assert.equal(existsSync(pidFile), false);
    } finally {
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A port below 1024 free on 127.0.0.1 (root may bind it to find out), or null. */
async function freeLowPort(): Promise<number | null> {
  for (let port = 1023; port > 900; port--) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  return null;
}

const setpriv = findProgram('setpriv');
const capsSkip =
  skipUnlessFound('setpriv', setpriv !== null) || (isRoot || process.env['CI'] ? false : 'setpriv needs root');

describe("the unit's privilege model: www-data with CAP_NET_BIND_SERVICE only", { skip: capsSkip }, () => {
  test('binds a port below 1024 as www-data; a replaced serving thread listens again (nothing dropped)', async () => {
    const low = await freeLowPort();
    assert.ok(low !== null, 'a free port in 901..1023 on 127.0.0.1');
    const { proc: demo, port: app } = await startApp();
    // What User=www-data, AmbientCapabilities= and CapabilityBoundingSet=CAP_NET_BIND_SERVICE,
    // NoNewPrivileges=yes make of the process.
    const child = spawn(
      setpriv!,
      [
        '--reuid=www-data',
        '--regid=www-data',
        '--init-groups',
        '--no-new-privs',
        '--inh-caps=+net_bind_service',
        '--ambient-caps=+net_bind_service',
        '--bounding-set=-all,+net_bind_service',
        process.execPath,
        CLI,
        'serve',
        '--listen',
        `127.0.0.1:${low}`,
        '--pass',
        `/=fcgi://127.0.0.1:${app}/`,
      ],
      {
        env: { ...process.env, FCGATE_THREADS: '2', FCGATE_ALLOW_ROOT: '', FCGATE_TEST_HOOKS: '1' },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      },
    );
    trackGroup(child.pid!);
    let out = '';
    const seen = (re: RegExp, ms: number): Promise<void> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          clearInterval(poll);
          reject(new Error(`no ${re} within ${ms} ms:\n${out}`));
        }, ms);
        const poll = setInterval(() => {
          if (re.test(out)) {
            clearTimeout(timer);
            clearInterval(poll);
            resolve();
          }
        }, 20);
      });
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    try {
      await seen(/fcgate listening on /, 15_000);
      assert.doesNotMatch(out, /FCGATE_PRIVILEGES|refusing/);
      assert.deepEqual(await get(low!, '/hello'), { status: 200, body: 'Hello from the fcgate demo app\n' });
      child.stdin.write('crash 1\n');
      await seen(/FCGATE_THREAD_READY thread=1 restarts=1: listening again/, 10_000);
      for (let i = 0; i < 4; i++) assert.equal((await get(low!, '/hello')).status, 200);
      const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0, out);
    } finally {
      await stopGroup(child, 'SIGKILL', 2000);
      await demo.stop();
    }
  });
});
