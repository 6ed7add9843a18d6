// The npm package (issue 13): `npm pack` ships the compiled program (no tests, sources, source
// maps or declarations), the docs, examples, contrib, README and LICENSE, and nothing else;
// the tarball installs in a clean directory and `npx fcgate` runs from it. npm uses its
// cache first (--prefer-offline), so the install needs the registry only for what the cache
// lacks. Run after `npm run build` (npm test does it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  license: string;
};
const quiet = {
  ...process.env,
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
};

function npm(args: string[], cwd: string, timeoutMs = 180_000): string {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', env: quiet, timeout: timeoutMs });
  assert.equal(r.status, 0, `npm ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

test('npm pack ships dist/src .js, the metrics .proto, docs, examples, contrib, README, LICENSE, package.json', () => {
  const [pack] = JSON.parse(npm(['pack', '--dry-run', '--json', '--ignore-scripts'], ROOT)) as Array<{
    files: Array<{ path: string }>;
  }>;
  const shipped = pack!.files.map((f) => f.path).sort();
  const allowed = new RegExp(
    String.raw`^(dist/src/.+\.js|src/metrics/metric\.proto|docs/.+|examples/.+|contrib/.+|`
      + String.raw`README\.md|LICENSE|package\.json)$`,
  );
  assert.deepEqual(
    shipped.filter((p) => !allowed.test(p)),
    [],
    'nothing outside the list',
  );
  assert.deepEqual(
    shipped.filter((p) => /(^|\/)test\/|\.map$|\.d\.ts$|\.ts$|^bench\/|^scripts\//.test(p)),
    [],
  );
  // Every source file is there compiled, the other files of src/ as they are (metrics/metric.proto,
  // read at run time by src/metrics/protobuf.ts); every example and contrib file is there.
  const expected = [
    ...files(join(ROOT, 'src')).map((f) =>
      f.endsWith('.ts') ? `dist/src/${relative(join(ROOT, 'src'), f).replace(/\.ts$/, '.js')}` : relative(ROOT, f),
    ),
    ...['docs', 'examples', 'contrib'].flatMap((d) => files(join(ROOT, d)).map((f) => relative(ROOT, f))),
    'README.md',
    'LICENSE',
    'package.json',
  ].sort();
  assert.deepEqual(shipped, expected);
  assert.match(readFileSync(join(ROOT, 'LICENSE'), 'utf8'), new RegExp(`^${PKG.license} License\n`));
});

test('the tarball installs in a clean directory and `npx fcgate` runs from it', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fcgate-pack-'));
  try {
    const [packed] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir], ROOT)) as Array<{
      filename: string;
    }>;
    assert.equal(packed!.filename, `${PKG.name}-${PKG.version}.tgz`);
    const app = join(dir, 'app');
    mkdirSync(app);
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', `../${packed!.filename}`], app);
    const run = (args: string[]): { status: number | null; stdout: string; stderr: string } =>
      spawnSync('npx', ['--no', '--', 'fcgate', ...args], { cwd: app, encoding: 'utf8', env: quiet, timeout: 60_000 });
    const v = run(['--version']);
    assert.equal(v.status, 0, v.stderr);
    assert.match(
      v.stdout,
      new RegExp(
        `^fcgate ${PKG.version.replaceAll('.', '\\.')}\nNode\\.js v[\\d.]+ .*\nuWebSockets\\.js: `
          + `(uwebsockets|@btc-vision/uwebsockets\\.js)@`,
      ),
    );
    // The shipped examples check from the installed package.
    const c = run(['check', '-c', 'node_modules/fcgate/examples/proxypassmatch-tcp.conf']);
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stdout, /Syntax OK\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
