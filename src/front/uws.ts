// Loads uWebSockets.js, proves that the native binary (not a JS fallback) is what runs,
// and describes the build (package version, upstream commit, binary path and SHA-256).
// It does not create Apps or listen: see listen.ts. Facts behind each check: native-notes/uws.md.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The module's type; the value comes from require() below (the package is CommonJS). */
export type Uws = typeof import('uWebSockets.js');
export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';

/**
 * Default for UWS_HTTP_MAX_HEADERS_SIZE. uWS reads that variable once, when the addon is
 * loaded, and uses it as the limit for a request head that arrives in more than one read
 * (its own default, 4096, answers 431 to a 5 KB cookie header sent over a real network).
 * 32 KiB matches nginx's default total (4 × 8k large_client_header_buffers).
 */
export const DEFAULT_MAX_HEADERS_SIZE = 32768;

export interface UwsBuild {
  /** The name in package.json ("uwebsockets": a republish, see native-notes/uws.md). */
  packageName: string;
  packageVersion: string;
  /** uWebSockets.js commit the republisher says the binaries were built from. */
  sourceCommit: string;
  /** The .node file that was loaded. */
  binaryPath: string;
  /** Node's module ABI (process.versions.modules) the binary is built for. */
  abi: string;
  /** UWS_HTTP_MAX_HEADERS_SIZE in force when the addon was loaded. */
  maxHeadersSize: number;
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
}

/**
 * Returns the uWebSockets.js module, loading it on first call. Throws UwsLoadError when the
 * native binary for this platform and Node ABI is missing or is not native code.
 */
export function loadUws(options: LoadOptions = {}): Uws {
  if (loaded !== null) return loaded;
  const abi = process.versions.modules;
  const target = `${process.platform}-${process.arch} Node ABI ${abi}`;
  let pkgDir: string;
  try {
    pkgDir = dirname(requireCjs.resolve('uWebSockets.js/package.json'));
  } catch (err) {
    throw new UwsLoadError(`fcgate needs the native uWebSockets.js binary for ${target}: ` +
      'the package uWebSockets.js (npm:uwebsockets@3.0.6) is not installed', { cause: err });
  }
  const binaryPath = join(pkgDir, `uws_${process.platform}_${process.arch}_${abi}.node`);
  if (!existsSync(binaryPath)) {
    throw new UwsLoadError(`fcgate needs the native uWebSockets.js binary for ${target}: ` +
      `${binaryPath} does not exist`);
  }
  const wanted = options.maxHeadersSize ?? DEFAULT_MAX_HEADERS_SIZE;
  if (!Number.isSafeInteger(wanted) || wanted <= 0) {
    throw new UwsLoadError(`maxHeadersSize must be a positive integer, got ${wanted}`);
  }
  if (process.env.UWS_HTTP_MAX_HEADERS_SIZE === undefined) {
    process.env.UWS_HTTP_MAX_HEADERS_SIZE = String(wanted);
  }
  let mod: Uws;
  try {
    mod = requireCjs('uWebSockets.js') as Uws;
  } catch (err) {
    throw new UwsLoadError(`fcgate needs the native uWebSockets.js binary for ${target}: ` +
      `loading ${binaryPath} failed: ${(err as Error).message}`, { cause: err });
  }
  if (typeof mod.App !== 'function' ||
      !Function.prototype.toString.call(mod.App).includes('[native code]')) {
    throw new UwsLoadError(`fcgate needs the native uWebSockets.js binary for ${target}: ` +
      'uWebSockets.js loaded, but App is not native code (a pure-JS fallback?)');
  }
  if (requireCjs.cache[binaryPath] === undefined) {
    // uws.js require()s exactly this file; anything else means a different loader ran.
    throw new UwsLoadError(`fcgate needs the native uWebSockets.js binary for ${target}: ` +
      `uWebSockets.js did not load ${binaryPath}`);
  }
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as
    { name?: string; version?: string };
  const commitFile = join(pkgDir, 'source_commit');
  build = {
    packageName: pkg.name ?? 'unknown',
    packageVersion: pkg.version ?? 'unknown',
    sourceCommit: existsSync(commitFile) ? readFileSync(commitFile, 'utf8').trim() : 'unknown',
    binaryPath,
    abi,
    maxHeadersSize: Number(process.env.UWS_HTTP_MAX_HEADERS_SIZE),
  };
  loaded = mod;
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

/** One line for the startup log: version, upstream commit, binary. */
export function describeUws(): string {
  const b = uwsBuild();
  return `uWebSockets.js ${b.packageName}@${b.packageVersion} (upstream ${b.sourceCommit.slice(0, 12)})` +
    ` binary ${b.binaryPath.slice(b.binaryPath.lastIndexOf('/') + 1)}` +
    ` max_headers_size=${b.maxHeadersSize}`;
}
