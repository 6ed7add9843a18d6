// How to run Node with each pinned uWebSockets.js build (src/front/uws.ts UWS_BUILDS):
// plainly when the system's C library loads it, else, for the newer build on a glibc older
// than 2.38 (Debian 12), through Debian 13's dynamic loader extracted by
// scripts/install-deps.sh into .test-deps/libc6-trixie (test-only; DESIGN §2). It runs
// nothing itself; the uWS behaviour driver spawns the commands.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { glibcVersion, UWS_BUILDS, type UwsCandidate } from '../../src/front/uws.js';
import { skipUnlessFound } from './process.js';

/** The repository root (the compiled helper lives in dist/test/helpers). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Where install-deps.sh extracts Debian 13's libc6 (FCGATE_TEST_LIBC_DIR overrides). */
export const TEST_LIBC_DIR = process.env['FCGATE_TEST_LIBC_DIR'] ?? `${ROOT}.test-deps/libc6-trixie`;

const MULTIARCH: Record<string, [string, string]> = {
  x64: ['x86_64-linux-gnu', 'ld-linux-x86-64.so.2'],
  arm64: ['aarch64-linux-gnu', 'ld-linux-aarch64.so.1'],
};

export interface BuildRunner {
  build: UwsCandidate;
  /** argv[0..] that starts Node: [node] or [ld.so, --library-path, dirs, node]. */
  node: string[];
  /** How it runs, for test names: 'system glibc 2.36' or 'Debian 13 glibc (…/ld-linux…)'. */
  how: string;
  /** A skip reason (outside CI only), or false. */
  skip: string | false;
}

/** True when glibc `v` is at least `min` ("2.36" vs "2.38"). */
export function glibcAtLeast(v: string | null, min: string): boolean {
  if (v === null) return false;
  const [a, b] = v.split('.').map(Number);
  const [c, d] = min.split('.').map(Number);
  return a! > c! || (a === c && b! >= d!);
}

/** The node binary: under a foreign loader process.execPath is the loader, so the driver says. */
export function nodeCommand(): string[] {
  const given = process.env['FCGATE_TEST_NODE'];
  return given === undefined ? [process.execPath] : (JSON.parse(given) as string[]);
}

/** One runner per pinned build. */
export function buildRunners(): BuildRunner[] {
  const glibc = glibcVersion();
  const node = nodeCommand();
  return UWS_BUILDS.map((build) => {
    if (build.id !== '20.57.0' || glibcAtLeast(glibc, '2.38')) {
      return { build, node, how: `system glibc ${glibc ?? 'none'}`, skip: false };
    }
    const arch = MULTIARCH[process.arch];
    const lib = arch === undefined ? '' : `${TEST_LIBC_DIR}/usr/lib/${arch[0]}`;
    const ldso = arch === undefined ? '' : `${lib}/${arch[1]}`;
    const found = arch !== undefined && existsSync(ldso);
    return {
      build,
      node: [ldso, '--library-path', `${lib}:/lib/${arch?.[0]}:/usr/lib/${arch?.[0]}`, node[node.length - 1]!],
      how: `Debian 13 glibc from ${TEST_LIBC_DIR} (system glibc ${glibc ?? 'none'})`,
      skip: skipUnlessFound(`Debian 13 libc6 for uWebSockets.js ${build.id} (${ldso || process.arch})`, found),
    };
  });
}
