// Loads uWebSockets.js, proves that the native binary (not a JS fallback) is what runs,
// and describes the build (package, upstream version, binary path and SHA-256, known
// limits). Two builds are pinned (native-notes/uws.md §1): the newer one is loaded where
// it loads (glibc ≥ 2.38), else the older one. It does not create Apps or listen: see
// listen.ts. Facts behind each check and each limit: native-notes/uws.md.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The module's type; the value comes from require() below (the packages are CommonJS). */
export type Uws = typeof import('uWebSockets.js');
export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';

/**
 * Default for UWS_HTTP_MAX_HEADERS_SIZE. uWS reads that variable once, when the addon is
 * loaded, and uses it as the limit for a request head that arrives in more than one read
 * (its own default, 4096, answers 431 to a 5 KB cookie header sent over a real network).
 * 32 KiB matches nginx's default total (4 × 8k large_client_header_buffers).
 */
export const DEFAULT_MAX_HEADERS_SIZE = 32768;

/** A pinned build fcgate can serve with (package.json names both, exactly). */
export interface UwsCandidate {
  /** What FCGATE_UWS_BUILD names it by: the pinned package version. */
  id: '20.57.0' | '3.0.6';
  /** The name fcgate require()s (package.json's dependency key). */
  requireName: string;
  /** Upstream uWebSockets.js version or commit the binaries were built from. */
  upstream: string;
  /** What the binary needs from the system to load. */
  needs: string;
  /** Measured limits of this build that reach users (native-notes/uws.md §4). */
  limits: readonly string[];
}

const SHARED_LIMITS = [
  'HTTP/1.0 requests get 505 (make front proxies and load testers speak HTTP/1.1)',
  'a request pipelined behind a pending response aborts that response and closes the connection',
  // Not listed: uWS's receive-rate floor (16 KiB/s per timeout window). front/body-intake.ts
  // restarts uWS's timer for slow bodies and applies FCGATE_BODY_TIMEOUT instead.
] as const;

/** The pinned builds, most preferred first. */
export const UWS_BUILDS: readonly UwsCandidate[] = [
  {
    id: '20.57.0',
    requireName: '@btc-vision/uwebsockets.js',
    upstream: 'v20.57.0',
    needs: 'glibc >= 2.38 (Debian 13, Ubuntu 24.04)',
    limits: SHARED_LIMITS,
  },
  {
    id: '3.0.6',
    requireName: 'uWebSockets.js',
    upstream: 'b8704be92ff2',
    needs: 'glibc >= 2.27',
    limits: [
      'a request line split across two reads gets 505 (long URLs over a real network)',
      "header names with '_', '.' or \"'\" get no answer (closed at the ~10 s idle timeout)",
      ...SHARED_LIMITS,
    ],
  },
];

export interface UwsBuild {
  /** UWS_BUILDS id of the build that loaded. */
  id: UwsCandidate['id'];
  /** The name in the package's own package.json ("uwebsockets": a republish, see native-notes/uws.md). */
  packageName: string;
  packageVersion: string;
  /** uWebSockets.js commit the republisher says the binaries were built from, or the upstream tag. */
  sourceCommit: string;
  /** The .node file that was loaded. */
  binaryPath: string;
  /** Node's module ABI (process.versions.modules) the binary is built for. */
  abi: string;
  /** UWS_HTTP_MAX_HEADERS_SIZE in force when the addon was loaded. */
  maxHeadersSize: number;
  /** How the build was chosen: 'auto' or the FCGATE_UWS_BUILD value. */
  selection: string;
  /** Builds tried before this one and why each did not load (auto selection only). */
  skipped: Array<{ id: string; reason: string }>;
  limits: readonly string[];
}

export class UwsLoadError extends Error {
  readonly code = 'FCGATE_UWS_NATIVE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UwsLoadError';
  }
}

const requireCjs = createRequire(import.meta.url);
let loaded: Uws | null = null;
let build: UwsBuild | null = null;
let sha256: string | null = null;

export interface LoadOptions {
  /**
   * Sets UWS_HTTP_MAX_HEADERS_SIZE before the addon loads, unless the environment already
   * has it. Only the first load in a process counts (worker threads share the addon and
   * see a copy of process.env): call loadUws() in the main thread before starting workers.
   */
  maxHeadersSize?: number;
  /**
   * Which build: 'auto' (default: FCGATE_UWS_BUILD, else the newest that loads) or a
   * UWS_BUILDS id. A named build that does not load is an error, never a fallback.
   */
  build?: string;
  /** Receives the startup lines (describeUws() and the build's limits) on the first load. */
  log?: (line: string) => void;
}

const target = (): string => `${process.platform}-${process.arch} Node ABI ${process.versions.modules}`;

let glibc: string | null | undefined;

/** The C library's version, e.g. "2.36"; null off glibc. Asked once (a diagnostic report costs ms). */
export function glibcVersion(): string | null {
  if (glibc === undefined) {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
    glibc = header?.glibcVersionRuntime ?? null;
  }
  return glibc;
}

/**
 * Set by the first auto selection of a process: worker threads (which see a copy of the
 * environment) then load that build first instead of failing again on a newer one (~10 ms).
 */
const LOADED_ENV = 'FCGATE_UWS_BUILD_LOADED';

/** The build selection in force: options.build, else FCGATE_UWS_BUILD, else 'auto'. */
export function uwsSelection(options: LoadOptions = {}): string {
  const v = options.build ?? process.env['FCGATE_UWS_BUILD'] ?? 'auto';
  if (v !== 'auto' && !UWS_BUILDS.some((b) => b.id === v)) {
    throw new UwsLoadError(`FCGATE_UWS_BUILD must be auto, ${UWS_BUILDS.map((b) => b.id).join(' or ')}; got "${v}"`);
  }
  return v;
}

/** The short reason a build did not load: the loader's own last line (`GLIBC_2.38' not found …`). */
function loadFailure(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const glibc = /version `(GLIBC_[0-9.]+)' not found/.exec(text);
  if (glibc !== null) return `the binary needs ${glibc[1]}, this system has glibc ${glibcVersion() ?? 'unknown'}`;
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return lines[lines.length - 1] ?? text;
}

interface Attempt {
  mod: Uws;
  pkgDir: string;
  binaryPath: string;
}

/** Loads one candidate and checks it is the native binary; throws UwsLoadError. */
function tryLoad(c: UwsCandidate): Attempt {
  const abi = process.versions.modules;
  let pkgDir: string;
  try {
    // The main file, not package.json: the newer package's "exports" hides package.json.
    pkgDir = dirname(requireCjs.resolve(c.requireName));
  } catch (err) {
    throw new UwsLoadError(
      `fcgate needs the native uWebSockets.js binary for ${target()}: `
        + `the package ${c.requireName} (uWebSockets.js ${c.id}) is not installed`,
      { cause: err },
    );
  }
  const binaryPath = join(pkgDir, `uws_${process.platform}_${process.arch}_${abi}.node`);
  if (!existsSync(binaryPath)) {
    throw new UwsLoadError(
      `fcgate needs the native uWebSockets.js binary for ${target()}: ` + `${binaryPath} does not exist`,
    );
  }
  let mod: Uws;
  try {
    mod = requireCjs(c.requireName) as Uws;
  } catch (err) {
    throw new UwsLoadError(
      `fcgate needs the native uWebSockets.js binary for ${target()}: `
        + `loading ${binaryPath} failed: ${loadFailure(err)}`,
      { cause: err },
    );
  }
  if (typeof mod.App !== 'function' || !Function.prototype.toString.call(mod.App).includes('[native code]')) {
    throw new UwsLoadError(
      `fcgate needs the native uWebSockets.js binary for ${target()}: `
        + `${c.requireName} loaded, but App is not native code (a pure-JS fallback?)`,
    );
  }
  if (requireCjs.cache[binaryPath] === undefined) {
    // uws.js require()s exactly this file; anything else means a different loader ran.
    throw new UwsLoadError(
      `fcgate needs the native uWebSockets.js binary for ${target()}: ` + `${c.requireName} did not load ${binaryPath}`,
    );
  }
  return { mod, pkgDir, binaryPath };
}

/**
 * Returns the uWebSockets.js module, loading it on first call: the build FCGATE_UWS_BUILD
 * names, or the first of UWS_BUILDS that loads. Throws UwsLoadError when no native binary
 * for this platform and Node ABI loads, or when one loads that is not native code.
 */
export function loadUws(options: LoadOptions = {}): Uws {
  if (loaded !== null) return loaded;
  const selection = uwsSelection(options);
  const wanted = options.maxHeadersSize ?? DEFAULT_MAX_HEADERS_SIZE;
  if (!Number.isSafeInteger(wanted) || wanted <= 0) {
    throw new UwsLoadError(`maxHeadersSize must be a positive integer, got ${wanted}`);
  }
  if (process.env['UWS_HTTP_MAX_HEADERS_SIZE'] === undefined) {
    process.env['UWS_HTTP_MAX_HEADERS_SIZE'] = String(wanted);
  }
  const known = process.env[LOADED_ENV];
  const candidates =
    selection !== 'auto'
      ? UWS_BUILDS.filter((b) => b.id === selection)
      : UWS_BUILDS.some((b) => b.id === known)
        ? [...UWS_BUILDS.filter((b) => b.id === known), ...UWS_BUILDS.filter((b) => b.id !== known)]
        : UWS_BUILDS;
  const skipped: Array<{ id: string; reason: string }> = [];
  let chosen: UwsCandidate | null = null;
  let attempt: Attempt | null = null;
  for (const c of candidates) {
    try {
      attempt = tryLoad(c);
      chosen = c;
      break;
    } catch (err) {
      const last = c === candidates[candidates.length - 1];
      if (last && skipped.length === 0) throw err;
      if (last) {
        throw new UwsLoadError(
          `${(err as Error).message}; also tried ${skipped.map((s) => `${s.id} (${s.reason})`).join(', ')}`,
          { cause: err },
        );
      }
      skipped.push({ id: c.id, reason: (err as Error).message.replace(/^fcgate needs [^:]*: /, '') });
    }
  }
  const { mod, pkgDir, binaryPath } = attempt!;
  const c = chosen!;
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { name?: string; version?: string };
  const commitFile = join(pkgDir, 'source_commit');
  build = {
    id: c.id,
    packageName: pkg.name ?? 'unknown',
    packageVersion: pkg.version ?? 'unknown',
    sourceCommit: existsSync(commitFile) ? readFileSync(commitFile, 'utf8').trim() : c.upstream,
    binaryPath,
    abi: process.versions.modules,
    maxHeadersSize: Number(process.env['UWS_HTTP_MAX_HEADERS_SIZE']),
    selection,
    skipped,
    limits: c.limits,
  };
  loaded = mod;
  if (selection === 'auto') process.env[LOADED_ENV] = c.id;
  if (options.log !== undefined) for (const line of uwsStartupLines()) options.log(line);
  return mod;
}

/** The build that loadUws() loaded (loads it if needed). */
export function uwsBuild(): UwsBuild {
  if (build === null) loadUws();
  return build!;
}

/** SHA-256 (hex) of the loaded binary; computed on first call, then cached. */
export function uwsBinarySha256(): string {
  if (sha256 === null) {
    sha256 = createHash('sha256').update(readFileSync(uwsBuild().binaryPath)).digest('hex');
  }
  return sha256;
}

/** One line for the startup log: package, upstream, binary, why a newer build was skipped. */
export function describeUws(): string {
  const b = uwsBuild();
  const skipped =
    b.skipped.length === 0
      ? ''
      : `; ${b.skipped.map((s) => `uWebSockets.js ${s.id} not loadable here: ${s.reason}`).join('; ')}`;
  return (
    `uWebSockets.js ${b.packageName}@${b.packageVersion} (upstream ${b.sourceCommit.slice(0, 12)})`
    + ` binary ${b.binaryPath.slice(b.binaryPath.lastIndexOf('/') + 1)}`
    + ` max_headers_size=${b.maxHeadersSize}${skipped}`
  );
}

/** The startup log lines: which build serves (and why), then its known limits, one line. */
export function uwsStartupLines(): string[] {
  const b = uwsBuild();
  return [
    `FCGATE_UWS_BUILD ${b.id} serves (${b.selection === 'auto' ? 'auto' : 'FCGATE_UWS_BUILD'}): ${describeUws()}`,
    `FCGATE_UWS_LIMITS ${b.id}: ${b.limits.join('; ')} (native-notes/uws.md)`,
  ];
}

/** For `fcgate --version`: the build in use, its binary's SHA-256, glibc, and every pinned build. */
export function uwsVersionText(): string {
  const b = uwsBuild();
  const lines = [
    `uWebSockets.js: ${b.packageName}@${b.packageVersion} (upstream ${b.sourceCommit}), selection ${b.selection}`,
    `  binary ${b.binaryPath} sha256 ${uwsBinarySha256()}`,
    `  glibc ${glibcVersion() ?? 'none'}, ${target()}`,
    `  known limits: ${b.limits.join('; ')}`,
  ];
  for (const s of b.skipped) lines.push(`  not used: ${s.id}: ${s.reason}`);
  return lines.join('\n');
}
