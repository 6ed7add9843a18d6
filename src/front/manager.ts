// The balancer manager's HTTP side: an HTML page and a JSON API to enable, disable,
// drain, stop or re-weight a member live. Off unless `BalancerManager [host:]port` is
// configured; then it listens on that address alone, never on the proxied ports.
//
// Why its own node:http listener and not a route on the uWS App: the proxied port may be
// public and routes there are the operator's (a <Location> mistake must not expose the
// manager); a separate listener binds loopback by default and is exclusive (no
// SO_REUSEPORT sharing); it runs once (in the main thread when there are serving threads)
// and sees a handful of requests, so node:http's cost does not matter and keeps it simple.
//
// Who may use it:
// - Loopback host, no FCGATE_MANAGER_TOKEN: anyone on this machine (as Apache's
//   balancer-manager behind `Require local`).
// - FCGATE_MANAGER_TOKEN set (required for any other host): every request carries it as
//   `Authorization: Bearer …`, or the browser logs in once with /?token=… and gets an
//   HttpOnly SameSite=Strict cookie.
// - Always: the Host header must name this listener (DNS rebinding), a browser's Origin
//   must be this listener, and every change carries the page's CSRF token (form field
//   `csrf` or header X-CSRF-Token); a Bearer token stands for it in scripts.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthChecker, MemberHealth } from '../balancer/health-check.js';
import { Flag, type BalancerBoard } from '../balancer/shared-state.js';
import type { BalancerStats } from '../balancer/stats.js';
import type { ManagerSettings } from '../config/model.js';
import { renderManagerPage } from './manager-page.js';
import { readVariable } from '../tuning.js';

/** Where the manager reads and writes; a Gateway in one process, the main thread with serving threads. */
export interface ControlSource {
  /** Every balancer, counters summed over the serving threads. */
  stats(): BalancerStats[] | Promise<BalancerStats[]>;
  /** The shared member state all threads read. */
  board: BalancerBoard;
  /** Health-check state and history ([] when nothing is checked). */
  health(): MemberHealth[];
}

export interface ControlOptions {
  settings: Pick<ManagerSettings, 'host' | 'port'>;
  /** FCGATE_MANAGER_TOKEN, or null. */
  token: string | null;
  log: (line: string) => void;
}

/** What a member change may be. */
export type MemberAction = 'enable' | 'disable' | 'drain' | 'stop' | 'standby-on' | 'standby-off'
  | 'ignore-errors-on' | 'ignore-errors-off' | 'loadfactor';

const ACTIONS: ReadonlySet<string> = new Set(['enable', 'disable', 'drain', 'stop', 'standby-on', 'standby-off',
  'ignore-errors-on', 'ignore-errors-off', 'loadfactor']);

const DONE: Record<string, string> = {
  enable: 'enabled', disable: 'disabled', drain: 'draining', stop: 'stopped', 'standby-on': 'a hot standby',
  'standby-off': 'no longer a hot standby', 'ignore-errors-on': 'ignoring errors', 'ignore-errors-off': 'counting errors',
  loadfactor: 'given a new load factor',
};

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\./.test(host);
const MAX_BODY = 16 * 1024;

/** Applies one action to slot `slot` of the board; throws a RangeError for a bad load factor. */
export function applyMemberAction(board: BalancerBoard, slot: number, action: MemberAction, loadFactor?: number): void {
  switch (action) {
    case 'enable': board.setFlags(slot, 0, Flag.Disabled | Flag.Stopped | Flag.Drain); return;
    case 'disable': board.setFlags(slot, Flag.Disabled, 0); return;
    case 'drain': board.setFlags(slot, Flag.Drain, 0); return;
    case 'stop': board.setFlags(slot, Flag.Stopped, 0); return;
    case 'standby-on': board.setFlags(slot, Flag.Standby, 0); return;
    case 'standby-off': board.setFlags(slot, 0, Flag.Standby); return;
    case 'ignore-errors-on': board.setFlags(slot, Flag.IgnoreErrors, 0); return;
    case 'ignore-errors-off': board.setFlags(slot, 0, Flag.IgnoreErrors); return;
    case 'loadfactor':
      if (loadFactor === undefined || !/^\d+(\.\d{1,2})?$/.test(String(loadFactor))) throw new RangeError('loadfactor: expected a number from 1 to 100 with at most two decimals');
      board.setLoadFactor(slot, loadFactor);
      return;
  }
}

/** A ControlSource over one in-process gateway (single-process mode and tests). */
export function gatewaySource(g: { balancerStats(): BalancerStats[]; balancerBoard: BalancerBoard; healthChecker: HealthChecker | null }): ControlSource {
  return { stats: () => g.balancerStats(), board: g.balancerBoard, health: () => g.healthChecker?.snapshot() ?? [] };
}

export class BalancerControl {
  /** The CSRF token embedded in the page (random per start). */
  readonly csrf = randomBytes(18).toString('base64url');
  private server: Server | null = null;
  private allowedHosts = new Set<string>();

  constructor(private readonly source: ControlSource, private readonly options: ControlOptions) {
    const { host } = options.settings;
    if (!isLoopback(host) && (options.token === null || options.token.length < 16)) {
      throw new Error(`BalancerManager ${host}: not a loopback address, so FCGATE_MANAGER_TOKEN must be set (16 characters or more)`);
    }
  }

  /** Listens; resolves to the bound port. */
  async listen(): Promise<number> {
    const server = createServer((req, res) => { void this.handle(req, res); });
    server.headersTimeout = 10_000;
    server.requestTimeout = 15_000;
    const { host, port } = this.options.settings;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => { server.off('error', reject); resolve(); });
    });
    this.server = server;
    const bound = (server.address() as AddressInfo).port;
    const names = host === '::1' ? ['[::1]'] : [host];
    if (isLoopback(host)) names.push('localhost', '127.0.0.1', '[::1]');
    for (const n of names) this.allowedHosts.add(`${n}:${bound}`.toLowerCase());
    this.options.log(`FCGATE_MANAGER listening on http://${host.includes(':') ? `[${host}]` : host}:${bound}/ (${this.options.token === null ? 'loopback, no token' : 'token required'})`);
    return bound;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s === null) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      res.setHeader('X-Frame-Options', 'DENY');
      res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Referrer-Policy', 'same-origin');   // no-referrer makes Chromium send "Origin: null" on the page's own forms
      const host = (req.headers.host ?? '').toLowerCase();
      if (!this.allowedHosts.has(host)) return this.send(res, 421, 'text/plain', 'wrong Host for the balancer manager\n');
      const url = new URL(req.url ?? '/', `http://${host}`);
      const method = req.method ?? 'GET';
      if (method === 'GET' && url.pathname === '/' && this.options.token !== null && url.searchParams.has('token')) {
        return this.login(res, url.searchParams.get('token')!);
      }
      const bearer = this.bearer(req);
      if (this.options.token !== null && !bearer && !this.cookieOk(req)) {
        return this.send(res, 401, 'text/plain', 'FCGATE_MANAGER_TOKEN required: Authorization: Bearer <token>, or open /?token=<token> once\n', ['WWW-Authenticate', 'Bearer']);
      }
      if (method === 'GET' && url.pathname === '/') return await this.page(res, url);
      if (method === 'GET' && url.pathname === '/api/balancers') {
        return this.send(res, 200, 'application/json', JSON.stringify({ balancers: await this.source.stats(), health: this.source.health() }));
      }
      const m = /^\/(api\/)?members\/(\d+)$/.exec(url.pathname);
      if (m !== null) {
        if (method !== 'POST') return this.send(res, 405, 'text/plain', 'POST only\n', ['Allow', 'POST']);
        return await this.change(req, res, Number(m[2]), m[1] !== undefined, bearer);
      }
      this.send(res, 404, 'text/plain', 'not found\n');
    } catch (err) {
      this.options.log(`FCGATE_MANAGER_ERROR cause="${(err as Error).message.replace(/"/g, "'")}"`);
      if (!res.headersSent) this.send(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    }
  }

  private async page(res: ServerResponse, url: URL): Promise<void> {
    const stats = await this.source.stats();
    let notice: string | null = null;
    const did = url.searchParams.get('did');
    const slot = Number(url.searchParams.get('slot'));
    if (did !== null && DONE[did] !== undefined) {
      const member = stats.flatMap((b) => b.members).find((x) => x.slot === slot);
      if (member !== undefined) notice = `${member.name} is now ${DONE[did]}.`;
    }
    this.send(res, 200, 'text/html; charset=utf-8', renderManagerPage(stats, this.source.health(), this.csrf, Date.now(), notice));
  }

  /** POST /members/N (form, answers 303 to the page) or /api/members/N (JSON in and out). */
  private async change(req: IncomingMessage, res: ServerResponse, slot: number, api: boolean, bearer: boolean): Promise<void> {
    const origin = req.headers.origin;
    if (origin !== undefined && !this.allowedHosts.has(origin.replace(/^https?:\/\//, '').toLowerCase())) {
      return this.send(res, 403, 'text/plain', 'cross-origin request refused\n');
    }
    const body = await readBody(req);
    if (body === null) return this.send(res, 413, 'text/plain', 'body too large\n');
    let fields: Record<string, string>;
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type === 'application/json') {
      try {
        const j = JSON.parse(body) as Record<string, unknown>;
        fields = Object.fromEntries(Object.entries(j).map(([k, v]) => [k, String(v)]));
      } catch { return this.send(res, 400, 'application/json', JSON.stringify({ error: 'invalid JSON' })); }
    } else if (type === 'application/x-www-form-urlencoded') {
      fields = Object.fromEntries(new URLSearchParams(body));
    } else {
      return this.send(res, 415, 'text/plain', 'expected application/json or a form\n');
    }
    const csrf = fields['csrf'] ?? (req.headers['x-csrf-token'] as string | undefined) ?? '';
    if (!bearer && !safeEqual(csrf, this.csrf)) return this.send(res, 403, 'text/plain', 'missing or wrong CSRF token (reload the page)\n');
    if (slot >= this.source.board.size) return this.send(res, 404, 'text/plain', `no member ${slot}\n`);
    const action = fields['action'] ?? '';
    if (!ACTIONS.has(action)) return this.send(res, 400, 'text/plain', `unknown action "${action.slice(0, 40)}"\n`);
    try {
      applyMemberAction(this.source.board, slot, action as MemberAction, fields['loadfactor'] === undefined ? undefined : Number(fields['loadfactor']));
    } catch (err) {
      return this.send(res, 400, api ? 'application/json' : 'text/plain', api ? JSON.stringify({ error: (err as Error).message }) : `${(err as Error).message}\n`);
    }
    const stats = await this.source.stats();
    const member = stats.flatMap((b) => b.members).find((x) => x.slot === slot)!;
    this.options.log(`FCGATE_MANAGER_CHANGE member=${member.name} action=${action}${action === 'loadfactor' ? ` loadfactor=${member.loadFactor}` : ''} now=${member.state}${member.status ? `(${member.status})` : ''}`);
    if (api) return this.send(res, 200, 'application/json', JSON.stringify({ member }));
    res.writeHead(303, { Location: `/?did=${encodeURIComponent(action)}&slot=${slot}`, 'Content-Length': '0' });
    res.end();
  }

  private bearer(req: IncomingMessage): boolean {
    const a = req.headers.authorization;
    if (this.options.token === null || a === undefined || !a.startsWith('Bearer ')) return false;
    return safeEqual(a.slice(7).trim(), this.options.token);
  }

  private cookieOk(req: IncomingMessage): boolean {
    const c = req.headers.cookie;
    if (c === undefined || this.options.token === null) return false;
    const m = /(?:^|;\s*)fcgate_manager=([^;]*)/.exec(c);
    return m !== null && safeEqual(decodeURIComponent(m[1]!), this.options.token);
  }

  private login(res: ServerResponse, token: string): void {
    if (!safeEqual(token, this.options.token!)) return this.send(res, 401, 'text/plain', 'wrong token\n');
    res.writeHead(303, {
      Location: '/', 'Content-Length': '0',
      'Set-Cookie': `fcgate_manager=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
    });
    res.end();
  }

  private send(res: ServerResponse, status: number, type: string, body: string, extra: string[] = []): void {
    const headers: Record<string, string> = { 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)) };
    for (let i = 0; i < extra.length; i += 2) headers[extra[i]!] = extra[i + 1]!;
    res.writeHead(status, headers);
    res.end(body);
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The request body as text, or null past MAX_BODY. */
function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) { resolve(null); req.destroy(); return; }
      parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * Starts the manager when the configuration asks for it (`BalancerManager`); null otherwise.
 * The token comes from FCGATE_MANAGER_TOKEN in `env`.
 */
export async function startBalancerControl(settings: ManagerSettings | null | undefined, source: ControlSource,
                                           log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<BalancerControl | null> {
  if (settings === null || settings === undefined) return null;
  const token = readVariable('FCGATE_MANAGER_TOKEN', env);
  const control = new BalancerControl(source, { settings, token: token === '' ? null : token, log });
  await control.listen();
  return control;
}
