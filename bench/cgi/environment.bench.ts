// Bench: buildParams for a PHP-FPM-sized request (a browser's 13 headers, ProxyPass to
// PHP-FPM, FPM SCRIPT_FILENAME, no path info, no ProxyFCGISetEnvIf) against a naive
// builder that fills an object with regex-checked, upper-cased header names and
// flattens it. Not timed: encoding the list into PARAMS records (protocol/).
import { deepStrictEqual } from 'node:assert/strict';
import type { ResolvedRequest } from '../../src/config/model.js';
import type { RequestSnapshot } from '../../src/request.js';
import { buildParams, type ServerInfo } from '../../src/cgi/environment.js';
import { FileKind } from '../../src/cgi/file-probe.js';
import { runSuite } from '../harness.js';

const req: RequestSnapshot = {
  method: 'GET',
  path: '/app/index.php',
  query: 'page=2&sort=desc',
  headers: [
    ['host', 'www.example.com'],
    ['connection', 'keep-alive'],
    ['sec-ch-ua', '"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"'],
    ['sec-ch-ua-mobile', '?0'],
    ['sec-ch-ua-platform', '"Linux"'],
    ['upgrade-insecure-requests', '1'],
    [
      'user-agent',
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    ],
    ['accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'],
    ['sec-fetch-site', 'same-origin'],
    ['sec-fetch-mode', 'navigate'],
    ['referer', 'https://www.example.com/app/index.php?page=1'],
    ['accept-encoding', 'gzip, deflate, br, zstd'],
    ['cookie', 'PHPSESSID=4f9c2a7be1d04c6f8a3e5b2d7c1a9e60; lang=en'],
  ],
  remoteAddress: '203.0.113.7',
  remotePort: '51234',
  localAddress: '198.51.100.2',
  localPort: 443,
  scheme: 'https',
  protocol: 'HTTP/1.1',
};

const r: ResolvedRequest = {
  form: 'proxypass',
  worker: {
    name: 'fcgi://127.0.0.1:9000',
    address: { kind: 'tcp', host: '127.0.0.1', port: 9000 },
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
  },
  balancer: null,
  targetPath: '/var/www/html/app/index.php',
  decodedPath: '/app/index.php',
  scriptName: null,
  pathInfo: null,
  env: new Map(),
  fcgiSetEnv: [],
  backendType: 'FPM',
  cgiPassAuth: false,
  documentRoot: '/var/www/html',
  serverName: 'www.example.com',
  contextPrefix: '',
  contextDocumentRoot: '/var/www/html',
};

const server: ServerInfo = { software: 'fcgate', admin: '[no address given]', probe: () => FileKind.Missing };

/** The naive way: an object keyed by param name, regex and string ops per header. Same rules for this input. */
function naive(q: RequestSnapshot, rr: ResolvedRequest, s: ServerInfo): string[] {
  const env: Record<string, string> = {};
  for (const [k, v] of rr.env) if (k !== 'proxy-fcgi-pathinfo' && k !== 'proxy-sendcl') env[k] = v;
  if (q.scheme === 'https') env['HTTPS'] = 'on';
  let host: string | undefined;
  for (const [name, value] of q.headers) {
    if (!/^[A-Za-z0-9-]+$/.test(name)) continue;
    const lower = name.toLowerCase();
    if (lower === 'proxy') continue;
    if ((lower === 'authorization' || lower === 'proxy-authorization') && !rr.cgiPassAuth) continue;
    if (lower === 'host') host = value;
    const key =
      lower === 'content-type'
        ? 'CONTENT_TYPE'
        : lower === 'content-length'
          ? 'CONTENT_LENGTH'
          : 'HTTP_' + name.toUpperCase().replace(/-/g, '_');
    env[key] = value;
  }
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(host ?? rr.serverName ?? q.localAddress)!;
  env['SERVER_SIGNATURE'] = '';
  env['SERVER_SOFTWARE'] = s.software;
  env['SERVER_NAME'] = m[1]!.toLowerCase().replace(/\.$/, '');
  env['SERVER_ADDR'] = q.localAddress;
  env['SERVER_PORT'] = m[2] !== undefined ? String(Number(m[2])) : q.scheme === 'https' ? '443' : '80';
  env['REMOTE_ADDR'] = q.remoteAddress;
  env['DOCUMENT_ROOT'] = rr.documentRoot;
  env['REQUEST_SCHEME'] = q.scheme;
  env['CONTEXT_PREFIX'] = rr.contextPrefix;
  env['CONTEXT_DOCUMENT_ROOT'] = rr.contextDocumentRoot;
  env['SERVER_ADMIN'] = s.admin;
  const authority = rr
    .worker!.name.replace(/^.*fcgi:\/\//i, '')
    .split('/')[0]!
    .toLowerCase();
  const path = rr.targetPath
    .split('/')
    .map((seg) => encodeURIComponent(decodeURIComponent(seg)))
    .join('/');
  env['SCRIPT_FILENAME'] = `proxy:fcgi://${authority}${path}`;
  env['REMOTE_PORT'] = q.remotePort;
  env['GATEWAY_INTERFACE'] = 'CGI/1.1';
  env['SERVER_PROTOCOL'] = q.protocol;
  env['REQUEST_METHOD'] = q.method;
  env['QUERY_STRING'] = q.query;
  env['REQUEST_URI'] = q.query ? `${q.path}?${q.query}` : q.path;
  env['SCRIPT_NAME'] = rr.decodedPath;
  const out: string[] = [];
  for (const k in env) out.push(k, env[k]!);
  return out;
}

deepStrictEqual(buildParams(req, r, server).list, naive(req, r, server));

runSuite({
  suite: 'environment',
  input:
    `GET ${req.path}?${req.query} over https, ${req.headers.length} browser headers, ProxyPass to PHP-FPM (FPM `
    + `type), ${buildParams(req, r, server).list.length / 2} params`,
  candidates: [{ name: 'buildParams', fn: () => buildParams(req, r, server).list.length }],
  baseline: { name: 'naive object + regex', fn: () => naive(req, r, server).length },
});
