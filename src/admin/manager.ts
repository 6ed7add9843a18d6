// The balancer manager on the admin listener: an HTML page and a JSON API to enable,
// disable, drain, stop or re-weight a member live, for every serving thread at once (the
// shared BalancerBoard). Who may reach it (Host, token, session) is server.ts's business;
// here: the page, the API, and the CSRF token every browser change carries (form field
// `csrf` or header X-CSRF-Token; a request with the Bearer token stands for it in scripts),
// and a browser's Origin must be the listener itself.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HealthChecker, MemberHealth } from '../balancer/health-check.js';
import { Flag, type BalancerBoard } from '../balancer/shared-state.js';
import type { BalancerStats } from '../balancer/stats.js';
import { digestEqual } from './auth.js';
import { renderManagerPage } from './manager-page.js';
import { readBody, send } from './respond.js';

/** Where the manager reads and writes; a Gateway in one process, the main thread with serving threads. */
export interface ControlSource {
  /** Every balancer, counters summed over the serving threads. */
  stats(): BalancerStats[] | Promise<BalancerStats[]>;
  /** The shared member state all threads read. */
  board: BalancerBoard;
  /** Health-check state and history ([] when nothing is checked). */
  health(): MemberHealth[];
}

/** What a member change may be. */
export type MemberAction =
  | 'enable'
  | 'disable'
  | 'drain'
  | 'stop'
  | 'standby-on'
  | 'standby-off'
  | 'ignore-errors-on'
  | 'ignore-errors-off'
  | 'loadfactor';

const ACTIONS: ReadonlySet<string> = new Set([
  'enable',
  'disable',
  'drain',
  'stop',
  'standby-on',
  'standby-off',
  'ignore-errors-on',
  'ignore-errors-off',
  'loadfactor',
]);

const DONE: Record<string, string> = {
  enable: 'enabled',
  disable: 'disabled',
  drain: 'draining',
  stop: 'stopped',
  'standby-on': 'a hot standby',
  'standby-off': 'no longer a hot standby',
  'ignore-errors-on': 'ignoring errors',
  'ignore-errors-off': 'counting errors',
  loadfactor: 'given a new load factor',
};

/** Applies one action to slot `slot` of the board; throws a RangeError for a bad load factor. */
function applyMemberAction(board: BalancerBoard, slot: number, action: MemberAction, loadFactor?: number): void {
  switch (action) {
    case 'enable':
      board.setFlags(slot, 0, Flag.Disabled | Flag.Stopped | Flag.Drain);
      return;
    case 'disable':
      board.setFlags(slot, Flag.Disabled, 0);
      return;
    case 'drain':
      board.setFlags(slot, Flag.Drain, 0);
      return;
    case 'stop':
      board.setFlags(slot, Flag.Stopped, 0);
      return;
    case 'standby-on':
      board.setFlags(slot, Flag.Standby, 0);
      return;
    case 'standby-off':
      board.setFlags(slot, 0, Flag.Standby);
      return;
    case 'ignore-errors-on':
      board.setFlags(slot, Flag.IgnoreErrors, 0);
      return;
    case 'ignore-errors-off':
      board.setFlags(slot, 0, Flag.IgnoreErrors);
      return;
    case 'loadfactor':
      if (loadFactor === undefined || !/^\d+(\.\d{1,2})?$/.test(String(loadFactor)))
        throw new RangeError('loadfactor: expected a number from 1 to 100 with at most two decimals');
      board.setLoadFactor(slot, loadFactor);
      return;
  }
}

/** A ControlSource over one in-process gateway (single-process mode and tests). */
export function gatewaySource(g: {
  balancerStats(): BalancerStats[];
  balancerBoard: BalancerBoard;
  healthChecker: HealthChecker | null;
}): ControlSource {
  return { stats: () => g.balancerStats(), board: g.balancerBoard, health: () => g.healthChecker?.snapshot() ?? [] };
}

export class ManagerRoutes {
  /** The CSRF token embedded in the page (random per start). */
  readonly csrf = randomBytes(18).toString('base64url');

  constructor(
    private readonly source: ControlSource,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Serves `path` when it is the manager's (/, /api/balancers, /members/N, /api/members/N);
   * false otherwise. `bearer`: the request carried the admin token (scripts: no CSRF needed).
   */
  async handle(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    path: string,
    query: URLSearchParams,
    bearer: boolean,
    session: string | null,
  ): Promise<boolean> {
    if (method === 'GET' && path === '/') {
      await this.page(res, query, session);
      return true;
    }
    if (method === 'GET' && path === '/api/balancers') {
      send(
        res,
        200,
        'application/json',
        JSON.stringify({ balancers: await this.source.stats(), health: this.source.health() }),
      );
      return true;
    }
    const m = /^\/(api\/)?members\/(\d+)$/.exec(path);
    if (m === null) return false;
    if (method !== 'POST') {
      send(res, 405, 'text/plain', 'POST only\n', ['Allow', 'POST']);
      return true;
    }
    await this.change(req, res, Number(m[2]), m[1] !== undefined, bearer);
    return true;
  }

  private async page(res: ServerResponse, query: URLSearchParams, session: string | null): Promise<void> {
    const stats = await this.source.stats();
    let notice: string | null = null;
    const did = query.get('did');
    const slot = Number(query.get('slot'));
    if (did !== null && DONE[did] !== undefined) {
      const member = stats.flatMap((b) => b.members).find((x) => x.slot === slot);
      if (member !== undefined) notice = `${member.name} is now ${DONE[did]}.`;
    }
    send(
      res,
      200,
      'text/html; charset=utf-8',
      renderManagerPage(stats, this.source.health(), this.csrf, Date.now(), notice, session !== null),
    );
  }

  /** POST /members/N (form, answers 303 to the page) or /api/members/N (JSON in and out). */
  private async change(
    req: IncomingMessage,
    res: ServerResponse,
    slot: number,
    api: boolean,
    bearer: boolean,
  ): Promise<void> {
    const origin = req.headers.origin;
    const host = (req.headers.host ?? '').toLowerCase();
    if (origin !== undefined && origin.replace(/^https?:\/\//, '').toLowerCase() !== host) {
      return send(res, 403, 'text/plain', 'cross-origin request refused\n');
    }
    const body = await readBody(req);
    if (body === null) return send(res, 413, 'text/plain', 'body too large\n');
    let fields: Record<string, string>;
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type === 'application/json') {
      try {
        const j = JSON.parse(body) as Record<string, unknown>;
        fields = Object.fromEntries(Object.entries(j).map(([k, v]) => [k, String(v)]));
      } catch {
        return send(res, 400, 'application/json', JSON.stringify({ error: 'invalid JSON' }));
      }
    } else if (type === 'application/x-www-form-urlencoded') {
      fields = Object.fromEntries(new URLSearchParams(body));
    } else {
      return send(res, 415, 'text/plain', 'expected application/json or a form\n');
    }
    const csrf = fields['csrf'] ?? (req.headers['x-csrf-token'] as string | undefined) ?? '';
    if (!bearer && !digestEqual(csrf, this.csrf))
      return send(res, 403, 'text/plain', 'missing or wrong CSRF token (reload the page)\n');
    if (slot >= this.source.board.size) return send(res, 404, 'text/plain', `no member ${slot}\n`);
    const action = fields['action'] ?? '';
    if (!ACTIONS.has(action)) return send(res, 400, 'text/plain', `unknown action "${action.slice(0, 40)}"\n`);
    try {
      applyMemberAction(
        this.source.board,
        slot,
        action as MemberAction,
        fields['loadfactor'] === undefined ? undefined : Number(fields['loadfactor']),
      );
    } catch (err) {
      return send(
        res,
        400,
        api ? 'application/json' : 'text/plain',
        api ? JSON.stringify({ error: (err as Error).message }) : `${(err as Error).message}\n`,
      );
    }
    const stats = await this.source.stats();
    const member = stats.flatMap((b) => b.members).find((x) => x.slot === slot)!;
    this.log(
      `FCGATE_MANAGER_CHANGE member=${member.name} `
        + `action=${action}${action === 'loadfactor' ? ` loadfactor=${member.loadFactor}` : ''} `
        + `now=${member.state}${member.status ? `(${member.status})` : ''}`,
    );
    if (api) return send(res, 200, 'application/json', JSON.stringify({ member }));
    res.writeHead(303, { Location: `/?did=${encodeURIComponent(action)}&slot=${slot}`, 'Content-Length': '0' });
    res.end();
  }
}
