// Issue 8, as a real client sees it: git over smart HTTP through fcgate, fcgiwrap and
// git-http-backend. A clone is a large response without Content-Length (chunked framing under
// git's own reading pace), a push a large chunked upload (spooled, then CONTENT_LENGTH), and
// fcgiwrap is one process that does not answer FCGI_GET_VALUES (no kept connections).
// Before the fixes a clone of a 180 MB repository failed 6 of 6 ("Malformed encoding found in
// chunked-encoding") and fcgiwrap hung requests behind the gateway's idle connections.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../helpers/free-port.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { skipUnlessFound, waitForConnect } from '../helpers/process.js';

const FCGIWRAP = ['/usr/sbin/fcgiwrap', '/usr/bin/fcgiwrap'].find((p) => existsSync(p));
const BACKEND = '/usr/lib/git-core/git-http-backend';
const found = FCGIWRAP !== undefined && existsSync(BACKEND);

const run = promisify(execFile);
/** git, asynchronously: the gateway under test runs in this process and must keep serving. */
const git = async (cwd: string, ...args: string[]): Promise<string> =>
  (
    await run(
      'git',
      ['-c', 'user.email=t@example.com', '-c', 'user.name=fcgate test', '-c', 'init.defaultBranch=main', ...args],
      {
        cwd,
        encoding: 'utf8',
        timeout: 120_000,
        maxBuffer: 1 << 20,
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
      },
    )
  ).stdout;

describe('git clone and push over smart HTTP: fcgate → fcgiwrap → git-http-backend', {
  skip: skipUnlessFound('fcgiwrap and git-http-backend', found),
}, () => {
  let dir: string;
  let wrap: ChildProcess;
  let gw: TestGateway;
  let big: Buffer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fcgate-git-'));
    await git(dir, 'init', '-q', '--bare', 'repo.git');
    await git(join(dir, 'repo.git'), 'config', 'http.receivepack', 'true');
    await git(join(dir, 'repo.git'), 'symbolic-ref', 'HEAD', 'refs/heads/main');
    await git(dir, 'init', '-q', 'seed');
    big = randomBytes(40 * 1024 * 1024); // incompressible: the pack is as large
    writeFileSync(join(dir, 'seed', 'big.bin'), big);
    await git(join(dir, 'seed'), 'add', 'big.bin');
    await git(join(dir, 'seed'), 'commit', '-q', '-m', 'big');
    await git(join(dir, 'seed'), 'push', '-q', join(dir, 'repo.git'), 'HEAD:refs/heads/main');
    const port = await freePort();
    wrap = spawn(FCGIWRAP!, ['-s', `tcp:127.0.0.1:${port}`], { stdio: 'ignore' });
    await waitForConnect({ host: '127.0.0.1', port }, { timeoutMs: 5000 });
    // Apache's recipe for git-http-backend through mod_proxy_fcgi, as written.
    gw = await startTestGateway({
      tuning: { FCGATE_PROBE_TIMEOUT: 500 },
      config: `ProxyFCGIBackendType GENERIC
SetEnv GIT_PROJECT_ROOT ${dir}
SetEnv GIT_HTTP_EXPORT_ALL 1
SetEnv REMOTE_USER tester
ProxyPassMatch "^/git/.*$" "fcgi://127.0.0.1:${port}${BACKEND}"
ProxyFCGISetEnvIf "true" SCRIPT_FILENAME "${BACKEND}"
ProxyFCGISetEnvIf "reqenv('REQUEST_URI') =~ m|^/git(/[^?]*)|" PATH_INFO "$1"
`,
    });
  });
  after(async () => {
    await gw?.stop();
    wrap?.kill('SIGKILL');
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('clones 40 MB whole (chunked responses, git reading at its own pace), twice', async () => {
    for (const name of ['clone1', 'clone2']) {
      await git(dir, 'clone', '-q', `${gw.base}/git/repo.git`, name);
      assert.ok(readFileSync(join(dir, name, 'big.bin')).equals(big));
      await git(join(dir, name), 'fsck', '--no-progress');
    }
    assert.deepEqual(
      gw.logs.filter((l) => !/^FCGATE_(PROBE|REUSE_OFF)/.test(l)),
      [],
    );
  });

  it('pushes a 12 MB commit (a chunked upload, spooled) and the repository has it', async () => {
    const up = randomBytes(12 * 1024 * 1024);
    writeFileSync(join(dir, 'clone1', 'up.bin'), up);
    await git(join(dir, 'clone1'), 'add', 'up.bin');
    await git(join(dir, 'clone1'), 'commit', '-q', '-m', 'up');
    await git(join(dir, 'clone1'), 'push', '-q', 'origin', 'HEAD:main');
    assert.equal((await git(join(dir, 'repo.git'), 'log', '--format=%s', 'main')).trim(), 'up\nbig');
    await git(join(dir, 'clone2'), 'pull', '-q', '--ff-only');
    assert.ok(readFileSync(join(dir, 'clone2', 'up.bin')).equals(up));
  });
});
