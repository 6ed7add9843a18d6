// Hand-built inputs for the cgi tests: request snapshots and ResolvedRequest objects
// as front/ and the router would produce them. Not a test file itself.

import type { FcgiSetEnvRule, ExpressionContext, ResolvedRequest, WorkerSettings } from '../../src/config/model.js';
import type { RequestSnapshot } from '../../src/request.js';
import type { ServerInfo } from '../../src/cgi/environment.js';
import { FileKind, type FileProbe } from '../../src/cgi/file-probe.js';

/** A DocumentRoot that does not exist on disk, for rows that never look at the disk. */
export const DOCROOT = '/srv/fcgate-test-docroot';

export function snapshot(over: Partial<RequestSnapshot> = {}): RequestSnapshot {
  return {
    method: 'GET',
    path: '/',
    query: '',
    headers: [['host', 'localhost:8181']],
    remoteAddress: '127.0.0.1',
    remotePort: '50000',
    localAddress: '127.0.0.1',
    localPort: 8181,
    scheme: 'http',
    protocol: 'HTTP/1.1',
    ...over,
  };
}

export function worker(name: string, over: Partial<WorkerSettings> = {}): WorkerSettings {
  const unix = name.startsWith('unix:');
  const m = /^fcgi:\/\/([^:/]+):(\d+)/.exec(name);
  return {
    name,
    address: unix
      ? { kind: 'unix', path: name.slice(5, name.indexOf('|')) }
      : { kind: 'tcp', host: m ? m[1]! : 'localhost', port: m ? Number(m[2]) : 8000 },
    reuse: true,
    max: null,
    timeoutMs: 60000,
    connectTimeoutMs: 5000,
    acquireMs: 5000,
    ttlMs: 60000,
    flushPackets: 'auto',
    flushWaitMs: 10,
    requestBuffering: true,
    loadFactor: 1,
    lbSet: 0,
    route: '',
    retryMs: 60000,
    status: '',
    ...over,
  };
}

export function resolved(over: Partial<ResolvedRequest> = {}): ResolvedRequest {
  return {
    form: 'proxypass',
    worker: worker('fcgi://localhost:4000'),
    balancer: null,
    targetPath: '/',
    decodedPath: '/',
    scriptName: null,
    pathInfo: null,
    env: new Map(),
    fcgiSetEnv: [],
    backendType: 'FPM',
    cgiPassAuth: false,
    documentRoot: DOCROOT,
    serverName: null,
    contextPrefix: '',
    contextDocumentRoot: DOCROOT,
    ...over,
  };
}

/** A probe that says every path is missing and counts its calls. */
export function missingProbe(): FileProbe & { calls: number } {
  const p = ((_path: string) => {
    p.calls++;
    return FileKind.Missing;
  }) as FileProbe & { calls: number };
  p.calls = 0;
  return p;
}

export function server(probe: FileProbe = missingProbe()): ServerInfo {
  return { software: 'fcgate', admin: '[no address given]', probe };
}

/** The list as an object, for asserting a few params; also checks names are unique. */
export function asRecord(list: readonly string[]): Record<string, string> {
  if (list.length % 2 !== 0) throw new Error('odd list length');
  const o: Record<string, string> = {};
  for (let i = 0; i < list.length; i += 2) {
    if (Object.hasOwn(o, list[i]!)) throw new Error(`duplicate param ${list[i]}`);
    o[list[i]!] = list[i + 1]!;
  }
  return o;
}

export function names(list: readonly string[]): string[] {
  return list.filter((_, i) => i % 2 === 0);
}

/**
 * A rule as config/ would build it, written by hand: `cond` returns captures or null,
 * `value` a template function.
 */
export function rule(
  name: string,
  cond: (ctx: ExpressionContext) => string[] | null,
  value: ((ctx: ExpressionContext, caps: string[]) => string) | null,
): FcgiSetEnvRule {
  return {
    name,
    unset: value === null,
    test: cond,
    value:
      value
      ?? (() => {
        throw new Error('unset rule has no value');
      }),
  };
}
export const always = (): string[] => [''];
