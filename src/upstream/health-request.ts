// The sockets of the balancer's active health checks (mod_proxy_hcheck's hcmethod): a TCP
// connect, or one FastCGI request for hcuri read by the same client loop as every proxied
// request (UpstreamConnection) up to its CGI head. The GET_VALUES method is probe.ts's.
// Judging the answer (2xx/3xx, or a ProxyHCExpr) and the pass/fail bookkeeping are the
// balancer's (balancer/health-check.ts): nothing here knows about members or thresholds.
import type { WorkerSettings } from '../config/model.js';
import { CgiHeadParser, HEAD_ERROR, HEAD_INCOMPLETE } from '../cgi/response-head.js';
import { writePreamble } from '../protocol/request-writer.js';
import { openConnection, type ConnectionUser, type UpstreamConnection } from './connection.js';

/** What a checked request got: its CGI status and header lines (name, value, …), or why not. */
export type HealthAnswer = { status: number; headers: readonly string[]; error?: undefined } | { error: string };

const HEAD_LIMIT = 16 * 1024;

/** Opens a connection and closes it at once: "connected", or why not. */
export function connectCheck(w: WorkerSettings, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    openConnection(w.address, w.name, timeoutMs, (err, conn) => {
      conn?.destroy();
      resolve(conn === null ? (err?.message ?? 'connect failed') : null);
    });
  });
}

/**
 * One FastCGI request `method uri` with the smallest CGI environment PHP-FPM's ping needs
 * (SCRIPT_NAME and SCRIPT_FILENAME = the path), on a connection of its own (not kept).
 * Resolves with the CGI head once it is read, or the failure; within `timeoutMs` in all.
 */
export function requestCheck(w: WorkerSettings, method: string, uri: string, timeoutMs: number): Promise<HealthAnswer> {
  const q = uri.indexOf('?');
  const path = q < 0 ? uri : uri.slice(0, q);
  const host = w.address.kind === 'tcp' ? w.address.host : 'localhost';
  const params = [
    'GATEWAY_INTERFACE',
    'CGI/1.1',
    'SERVER_SOFTWARE',
    'fcgate-hcheck',
    'SERVER_PROTOCOL',
    'HTTP/1.1',
    'REQUEST_METHOD',
    method,
    'REQUEST_URI',
    uri,
    'QUERY_STRING',
    q < 0 ? '' : uri.slice(q + 1),
    'SCRIPT_NAME',
    path,
    'SCRIPT_FILENAME',
    path,
    'SERVER_NAME',
    host,
    'SERVER_ADDR',
    '127.0.0.1',
    'REMOTE_ADDR',
    '127.0.0.1',
    'HTTP_HOST',
    host,
    'HTTP_USER_AGENT',
    'fcgate-hcheck',
  ];
  return new Promise((resolve) => {
    let conn: UpstreamConnection | null = null;
    let settled = false;
    const done = (answer: HealthAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn?.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done({ error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    openConnection(
      w.address,
      w.name,
      timeoutMs,
      (err, c) => {
        if (c === null) {
          done({ error: err?.message ?? 'connect failed' });
          return;
        }
        if (settled) {
          c.destroy();
          return;
        }
        conn = c;
        const parser = new CgiHeadParser(HEAD_LIMIT);
        const user: ConnectionUser = {
          onStdout(data) {
            if (parser.complete) return true;
            const at = parser.push(data);
            if (at === HEAD_ERROR) done({ error: `bad CGI head: ${parser.error?.detail ?? ''}` });
            else if (at !== HEAD_INCOMPLETE) {
              const h = parser.result();
              done({ status: h.status, headers: h.headers });
            }
            return true;
          },
          onStdoutEnd() {},
          onStderr() {},
          onEndRequest() {
            if (!parser.complete) done({ error: 'END_REQUEST before a complete CGI head' });
          },
          onConnectionFailed(_kind, detail) {
            done({ error: detail });
          },
          onWritable() {},
        };
        const id = c.nextRequestId();
        c.attach(user, id, timeoutMs);
        c.write(writePreamble(id, params, { keepConn: false, endStdin: true }));
      },
      true,
    );
  });
}
