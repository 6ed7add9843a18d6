// The admin listener (`AdminListen [host:]port`, synonym `BalancerManager`): the balancer
// manager, /metrics, /server-status, /healthz and /readyz on an address of their own,
// never on the proxied ports (a <Location> mistake there must not expose them). One
// node:http server in the main thread: a few requests a second, so simplicity wins.
//
// Who may use it:
// - /healthz and /readyz: anyone who reaches the address (probes carry no credentials;
//   they reveal backend names and states, nothing else).
// - Everything else, loopback host without FCGATE_MANAGER_TOKEN: anyone on this machine
//   (as Apache's balancer-manager behind `Require local`), and the Host header must name
//   this listener (DNS rebinding).
// - With FCGATE_MANAGER_TOKEN (required for a non-loopback host): `Authorization: Bearer
//   <token>` (scripts, Prometheus' `authorization` setting), or a session cookie from the
//   login form (auth.ts: digest compare, HMAC-derived cookie, never the token in a URL).
// Changes to members also need the page's CSRF token or the Bearer token (manager.ts).
import { readVariable } from '../tuning.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ManagerSettings } from '../config/model.js';
import { encodeProtobuf, PROTOBUF_CONTENT_TYPE } from '../metrics/protobuf.js';
import { negotiate } from '../metrics/negotiate.js';
import { encodeOpenMetrics, encodeText, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE } from '../metrics/text.js';
import { buildFamilies, type BuildInfo } from '../observe/families.js';
import { StatusWindow } from '../observe/status-window.js';
import type { Telemetry } from '../observe/telemetry.js';
import { SESSION_COOKIE, SESSION_TTL_S, TokenAuth } from './auth.js';
import { liveness, ReadinessCheck } from './health.js';
import { ManagerRoutes, type ControlSource } from './manager.js';
import { readBody, send } from './respond.js';
import { renderStatusAuto, renderStatusPage, statusData } from './status-page.js';

export interface AdminSource extends ControlSource {
  telemetry: Telemetry;
  build: BuildInfo;
}

export interface AdminOptions {
  settings: Pick<ManagerSettings, 'host' | 'port'>;
  /** FCGATE_MANAGER_TOKEN, or null. */
  token: string | null;
  log: (line: string) => void;
}

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\./.test(host);
/** `[v6]` for an IPv6 address, the host as is otherwise (Host headers and URLs bracket IPv6). */
const bracketed = (host: string): string => (host.includes(':') ? `[${host}]` : host);

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(message: string | null): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>fcgate admin login</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:3em auto;max-width:28em;color:#1b1f24}
input{width:100%;padding:.4em;margin:.4em 0 .8em;box-sizing:border-box}button{padding:.4em 1.2em}
.err{color:#b31d28}</style></head><body>
<h1>fcgate admin</h1>${message === null ? '' : `<p class="err" role="alert">${esc(message)}</p>`}
<form method="post" action="/login"><label for="token">FCGATE_MANAGER_TOKEN</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus required>
<button type="submit">Log in</button></form></body></html>
`;
}

export class AdminServer {
  readonly manager: ManagerRoutes;
  readonly window: StatusWindow;
  readonly readiness: ReadinessCheck;
  private readonly auth: TokenAuth | null;
  private server: Server | null = null;
  private readonly allowedHosts = new Set<string>();

  constructor(
    private readonly source: AdminSource,
    private readonly options: AdminOptions,
  ) {
    const { host } = options.settings;
    if (!isLoopback(host) && (options.token === null || options.token.length < 16)) {
      throw new Error(
        `AdminListen ${host}: not a loopback address, so FCGATE_MANAGER_TOKEN must be set (16 characters or more)`,
      );
    }
    this.auth = options.token === null ? null : new TokenAuth(options.token);
    this.manager = new ManagerRoutes(source, options.log);
    this.window = new StatusWindow(source.telemetry);
    this.readiness = new ReadinessCheck(source.telemetry);
  }

  /** The CSRF token of the manager page. */
  get csrf(): string {
    return this.manager.csrf;
  }

  /** Listens; resolves to the bound port. */
  async listen(): Promise<number> {
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    server.headersTimeout = 10_000;
    server.requestTimeout = 15_000;
    const { host, port } = this.options.settings;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const bound = (server.address() as AddressInfo).port;
    const names = [bracketed(host)];
    if (isLoopback(host)) names.push('localhost', '127.0.0.1', '[::1]');
    for (const n of names) this.allowedHosts.add(`${n}:${bound}`.toLowerCase());
    this.window.start();
    this.options.log(
      `FCGATE_MANAGER listening on http://${bracketed(host)}:${bound}/ `
        + `(${this.auth === null ? 'loopback, no token' : 'token required'}): balancer manager, /metrics, `
        + `/server-status, /healthz, /readyz`,
    );
    return bound;
  }

  async close(): Promise<void> {
    this.window.stop();
    const s = this.server;
    this.server = null;
    if (s === null) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      res.setHeader('X-Frame-Options', 'DENY');
      res.setHeader(
        'Content-Security-Policy',
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'self'; "
          + "frame-ancestors 'none'",
      );
      res.setHeader('Cache-Control', 'no-store');
      // no-referrer would make Chromium send "Origin: null" on the page's own forms.
      res.setHeader('Referrer-Policy', 'same-origin');
      const method = req.method ?? 'GET';
      const raw = req.url ?? '/';
      const q = raw.indexOf('?');
      const path = q < 0 ? raw : raw.slice(0, q);
      const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
      if (path === '/healthz' || path === '/readyz') return await this.health(res, method, path);
      // Without a token the Host must name this listener (DNS rebinding); with one, the token decides.
      if (this.auth === null && !this.allowedHosts.has((req.headers.host ?? '').toLowerCase())) {
        return send(res, 421, 'text/plain', 'wrong Host for the admin listener\n');
      }
      if (query.has('token')) {
        return send(
          res,
          400,
          'text/plain',
          'the token is not accepted in a URL (it would end up in logs and browser history): use '
            + 'Authorization: Bearer <token>, or log in at /login\n',
        );
      }
      if (path === '/login') return await this.login(req, res, method);
      if (path === '/logout' && method === 'POST') {
        res.writeHead(303, {
          Location: '/login',
          'Content-Length': '0',
          'Set-Cookie': `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`,
        });
        res.end();
        return;
      }
      let bearer = false;
      let session: string | null = null;
      if (this.auth !== null) {
        bearer = this.auth.bearerOk(req.headers.authorization);
        if (!bearer && this.auth.cookieOk(req.headers.cookie)) session = 'cookie';
        if (!bearer && session === null) {
          if (method === 'GET' && (req.headers.accept ?? '').includes('text/html')) {
            return send(res, 401, 'text/html; charset=utf-8', loginPage(null), ['WWW-Authenticate', 'Bearer']);
          }
          return send(
            res,
            401,
            'text/plain',
            'FCGATE_MANAGER_TOKEN required: Authorization: Bearer <token>, or log in at /login\n',
            ['WWW-Authenticate', 'Bearer'],
          );
        }
      }
      if (path === '/metrics' && (method === 'GET' || method === 'HEAD')) return this.metrics(req, res);
      if (path === '/server-status' && (method === 'GET' || method === 'HEAD'))
        return this.status(req, res, query, session !== null);
      if (await this.manager.handle(req, res, method, path, query, bearer, session)) return;
      send(res, 404, 'text/plain', 'not found\n');
    } catch (err) {
      this.options.log(`FCGATE_ADMIN_ERROR cause="${(err as Error).message.replace(/"/g, "'")}"`);
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    }
  }

  private async health(res: ServerResponse, method: string, path: string): Promise<void> {
    if (method !== 'GET' && method !== 'HEAD')
      return send(res, 405, 'text/plain', 'GET only\n', ['Allow', 'GET, HEAD']);
    if (path === '/healthz') {
      const l = liveness(this.source.telemetry);
      return send(
        res,
        l.ok ? 200 : 503,
        'application/json',
        JSON.stringify({ status: l.ok ? 'ok' : 'unhealthy', reasons: l.reasons, threads: l.threads }) + '\n',
      );
    }
    const r = await this.readiness.check();
    send(
      res,
      r.ready ? 200 : 503,
      'application/json',
      JSON.stringify({ status: r.ready ? 'ready' : 'not ready', reasons: r.reasons, mappings: r.mappings }) + '\n',
    );
  }

  private metrics(req: IncomingMessage, res: ServerResponse): void {
    const families = buildFamilies(this.source.telemetry, this.source.build);
    const kind = negotiate(req.headers.accept);
    res.setHeader('Vary', 'Accept');
    if (kind === 'protobuf') send(res, 200, PROTOBUF_CONTENT_TYPE, encodeProtobuf(families));
    else if (kind === 'openmetrics') send(res, 200, OPENMETRICS_CONTENT_TYPE, encodeOpenMetrics(families));
    else send(res, 200, TEXT_CONTENT_TYPE, encodeText(families));
  }

  private status(req: IncomingMessage, res: ServerResponse, query: URLSearchParams, loggedIn: boolean): void {
    const d = statusData(this.source.telemetry, this.window, this.source.build);
    if (query.has('auto')) {
      send(res, 200, 'text/plain; charset=utf-8', renderStatusAuto(d, (req.headers.host ?? '').replace(/:\d+$/, '')));
      return;
    }
    const refresh = Number(query.get('refresh'));
    send(
      res,
      200,
      'text/html; charset=utf-8',
      renderStatusPage(d, loggedIn, Number.isInteger(refresh) && refresh > 0 && refresh <= 3600 ? refresh : null),
    );
  }

  private async login(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    if (this.auth === null) {
      res.writeHead(303, { Location: '/', 'Content-Length': '0' });
      res.end();
      return;
    }
    if (method === 'GET') return send(res, 200, 'text/html; charset=utf-8', loginPage(null));
    if (method !== 'POST') return send(res, 405, 'text/plain', 'GET or POST\n', ['Allow', 'GET, POST']);
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const body = await readBody(req);
    if (body === null) return send(res, 413, 'text/plain', 'body too large\n');
    if (type !== 'application/x-www-form-urlencoded') return send(res, 415, 'text/plain', 'expected a form\n');
    const token = new URLSearchParams(body).get('token') ?? '';
    if (!this.auth.tokenOk(token)) return send(res, 401, 'text/html; charset=utf-8', loginPage('Wrong token.'));
    const cookie =
      `${SESSION_COOKIE}=${this.auth.session()}; HttpOnly; SameSite=Strict; Path=/; ` + `Max-Age=${SESSION_TTL_S}`;
    res.writeHead(303, { Location: '/', 'Content-Length': '0', 'Set-Cookie': cookie });
    res.end();
  }
}

/**
 * Starts the admin listener when the configuration asks for it (`AdminListen` or
 * `BalancerManager`); null otherwise. The token comes from FCGATE_MANAGER_TOKEN in `env`.
 */
export async function startAdmin(
  settings: ManagerSettings | null | undefined,
  source: AdminSource,
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AdminServer | null> {
  if (settings === null || settings === undefined) return null;
  const token = readVariable('FCGATE_MANAGER_TOKEN', env);
  const admin = new AdminServer(source, { settings, token: token === '' ? null : token, log });
  await admin.listen();
  return admin;
}
