// The built-in demo FastCGI app behind `npm start` and the gateway's integration tests:
// routes /, /env, /hello, /bytes, /echo, /slow, /stream on the responder server, routed
// on the app-relative path (target-path.ts) so it works mounted under a prefix. The
// failure routes under /test/ live in demo-test-routes.ts and exist only with testRoutes.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createFcgiServer,
  type BoundAddress,
  type FcgiRequest,
  type FcgiResponse,
  type FcgiServer,
  type FcgiServerOptions,
  type ListenAddress,
} from './responder-server.js';
import { parseListenAddress } from './listen-address.js';
import { resolveTarget } from './target-path.js';
import { testRoutes } from './demo-test-routes.js';
import { badRequest, intParam, sendText, type DemoLimits, type DemoRoute } from './demo-respond.js';
import { renderEnvPage } from './demo-env-page.js';

export type { DemoLimits, DemoRoute } from './demo-respond.js';

export interface DemoAppOptions extends Partial<DemoLimits> {
  /** `host:port`, `unix:/path`, or an address object; port 0 picks a free port. */
  listen: string | ListenAddress;
  mpxsConns?: boolean;
  maxConns?: number;
  /** The /test/* failure routes (gateway integration tests only; never in `npm start`). */
  testRoutes?: boolean;
  /** Further server options (limits, log). */
  server?: FcgiServerOptions;
}

export interface DemoApp {
  address: BoundAddress;
  server: FcgiServer;
  /** Graceful: stops listening, ends connections after their requests. */
  close(): Promise<void>;
}

/** Byte i of every /bytes body is BYTES_PATTERN[i % 64]: 63 printable characters and a newline. */
export const BYTES_PATTERN = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-\n';
// 65472 = 1023 * 64: a whole number of pattern periods that fits one record unpadded,
// so the same Buffer is sent again and again, framed by reference, never copied.
const PATTERN_CHUNK = Buffer.alloc(65472, BYTES_PATTERN, 'latin1');

const hello: DemoRoute = (_req, res) => sendText(res, 200, 'Hello from the fcgate demo app\n');

const env: DemoRoute = (req, res, target) => sendText(res, 200, renderEnvPage(req, target), 'text/html; charset=utf-8');

const bytes: DemoRoute = async (req, res, target, limits) => {
  const n = intParam(new URLSearchParams(target.query), 'n', 1024, limits.maxBytes);
  if (n === null) {
    badRequest(res, `n must be an integer in 0..${limits.maxBytes}`);
    return;
  }
  // cl=0: no Content-Length (the gateway frames the body chunked), as apps that stream do.
  const headers: Record<string, string | number> = { 'Content-Type': 'application/octet-stream' };
  if (new URLSearchParams(target.query).get('cl') !== '0') headers['Content-Length'] = n;
  res.writeHead(200, headers);
  // HEAD: the head only (n may be 2^40; a gateway would read and drop all of it).
  let left = req.param('REQUEST_METHOD') === 'HEAD' ? 0 : n;
  while (left > 0 && !res.finished) {
    const k = Math.min(left, PATTERN_CHUNK.length);
    left -= k;
    if (!res.write(k === PATTERN_CHUNK.length ? PATTERN_CHUNK : PATTERN_CHUNK.subarray(0, k))) await res.drained();
  }
  res.end();
};

/**
 * The body's length and SHA-256, with CONTENT_LENGTH as received. `rate=B` reads the body at
 * most B bytes/s (an app that reads slowly); `delay=MS` answers MS after the body (a slow app).
 */
const echo: DemoRoute = async (req, res, target, limits) => {
  const q = new URLSearchParams(target.query);
  const rate = intParam(q, 'rate', 0, 1 << 30);
  const delay = intParam(q, 'delay', 0, limits.maxSlowMs);
  if (rate === null || delay === null) {
    badRequest(res, `rate must be in 0..2^30, delay in 0..${limits.maxSlowMs}`);
    return;
  }
  const hash = createHash('sha256');
  let length = 0;
  const t0 = Date.now();
  try {
    for await (const chunk of req.stdin as AsyncIterable<Buffer>) {
      hash.update(chunk);
      length += chunk.length;
      if (rate > 0) {
        const due = (length / rate) * 1000 - (Date.now() - t0);
        if (due > 1) await sleep(due, undefined, { signal: req.signal });
      }
    }
    if (delay > 0) await sleep(delay, undefined, { signal: req.signal });
  } catch {
    return; // aborted or connection lost: nobody to answer
  }
  const cl = req.param('CONTENT_LENGTH');
  sendText(
    res,
    200,
    `{"length":${length},"sha256":"${hash.digest('hex')}","content_length":${JSON.stringify(cl)}}\n`,
    'application/json',
  );
};

const slow: DemoRoute = async (req, res, target, limits) => {
  const ms = intParam(new URLSearchParams(target.query), 'ms', 1000, limits.maxSlowMs);
  if (ms === null) {
    badRequest(res, `ms must be an integer in 0..${limits.maxSlowMs}`);
    return;
  }
  try {
    await sleep(ms, undefined, { signal: req.signal });
  } catch {
    return;
  }
  sendText(res, 200, `slept ${ms} ms\n`);
};

const stream: DemoRoute = async (req, res, target, limits) => {
  const q = new URLSearchParams(target.query);
  const chunks = intParam(q, 'chunks', 5, limits.maxStreamChunks);
  const interval = intParam(q, 'interval', 200, limits.maxStreamIntervalMs);
  if (chunks === null || interval === null) {
    badRequest(res, `chunks must be in 0..${limits.maxStreamChunks}, interval in 0..${limits.maxStreamIntervalMs}`);
    return;
  }
  const sse = req.param('HTTP_ACCEPT').includes('text/event-stream');
  res.writeHead(
    200,
    sse
      ? { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' }
      : { 'Content-Type': 'text/plain; charset=utf-8' },
  );
  for (let i = 0; i < chunks; i++) {
    if (i > 0) {
      try {
        await sleep(interval, undefined, { signal: req.signal });
      } catch {
        return;
      }
    }
    if (res.finished) return;
    if (!res.write(sse ? `data: chunk ${i}\n\n` : `chunk ${i}\n`)) await res.drained();
  }
  res.end();
};

const routes = new Map<string, DemoRoute>([
  ['/', env],
  ['/env', env],
  ['/hello', hello],
  ['/bytes', bytes],
  ['/echo', echo],
  ['/slow', slow],
  ['/stream', stream],
]);

/**
 * Finds the route for `path`: an exact match, else the longest suffix after a '/' that
 * names a route other than '/' (`/var/www/hello` → /hello), for mappings whose
 * SCRIPT_FILENAME carries a document root or a prefix.
 */
function findRoute(table: ReadonlyMap<string, DemoRoute>, path: string): DemoRoute | undefined {
  const exact = table.get(path);
  if (exact !== undefined) return exact;
  for (let at = path.indexOf('/', 1); at > 0; at = path.indexOf('/', at + 1)) {
    const tail = path.slice(at);
    if (tail === '/') break;
    const r = table.get(tail);
    if (r !== undefined) return r;
  }
  return undefined;
}

/** The demo's request handler (for mounting on a server of one's own). */
export function createDemoHandler(
  options: Partial<DemoLimits> & { testRoutes?: boolean } = {},
): (req: FcgiRequest, res: FcgiResponse) => void | Promise<void> {
  const limits: DemoLimits = {
    maxBytes: options.maxBytes ?? 2 ** 40,
    maxSlowMs: options.maxSlowMs ?? 60_000,
    maxStreamChunks: options.maxStreamChunks ?? 100_000,
    maxStreamIntervalMs: options.maxStreamIntervalMs ?? 60_000,
  };
  const table = new Map(routes);
  if (options.testRoutes === true) for (const [p, r] of testRoutes) table.set(p, r);
  return (req, res) => {
    const target = resolveTarget(req.params);
    const route = findRoute(table, target.path);
    if (route === undefined) {
      sendText(res, 404, `Not Found: ${target.path}\n`);
      return;
    }
    return route(req, res, target, limits);
  };
}

/** Starts the demo app listening on `options.listen`. */
export async function startDemoApp(options: DemoAppOptions): Promise<DemoApp> {
  const address = typeof options.listen === 'string' ? parseListenAddress(options.listen) : options.listen;
  const serverOptions: FcgiServerOptions = { ...options.server };
  if (options.mpxsConns !== undefined) serverOptions.mpxsConns = options.mpxsConns;
  if (options.maxConns !== undefined) serverOptions.maxConns = options.maxConns;
  const server = createFcgiServer(createDemoHandler(options), serverOptions);
  const bound = await server.listen(address);
  return { address: bound, server, close: () => server.close() };
}
