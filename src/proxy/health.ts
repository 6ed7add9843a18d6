// The balancer's active health checks for one configuration, wired to upstream/'s sockets.
// One place starts, restarts (reload: a new config and board) and stops them, for both
// modes: the main thread of `fcgate serve` (once for all serving threads) and a gateway
// that runs alone (tests, embedding).
import {
  HealthChecker,
  type HealthCheckerOptions,
  type HealthTransport,
  type MemberHealth,
} from '../balancer/health-check.js';
import type { BalancerBoard } from '../balancer/shared-state.js';
import type { GatewayConfig } from '../config/model.js';
import { connectCheck, requestCheck } from '../upstream/health-request.js';
import { probeBackend } from '../upstream/probe.js';

const upstreamHealthTransport: HealthTransport = {
  connect: connectCheck,
  getValues: (w, timeoutMs) =>
    probeBackend(w.address, w.name, timeoutMs).then((p) =>
      p.error !== null
        ? { ok: false, detail: p.error }
        : {
            ok: true,
            detail:
              Object.entries(p.raw)
                .map(([k, v]) => `${k}=${v}`)
                .join(' ') || 'answered',
          },
    ),
  request: requestCheck,
};

export class HealthChecks {
  private checker: HealthChecker | null = null;

  constructor(private readonly options: Omit<HealthCheckerOptions, 'transport'> & { transport?: HealthTransport }) {}

  /** Checks `config`'s members that have an hcmethod from now on (stops the previous ones). */
  apply(config: GatewayConfig, board: BalancerBoard): void {
    this.stop();
    if (!HealthChecker.wanted(config)) return;
    this.checker = new HealthChecker(config, board, {
      ...this.options,
      transport: this.options.transport ?? upstreamHealthTransport,
    });
    this.checker.start();
  }

  stop(): void {
    this.checker?.stop();
    this.checker = null;
  }

  /** The running checker (tests; the manager's history), or null. */
  get current(): HealthChecker | null {
    return this.checker;
  }

  /** Every checked member's state and history. */
  snapshot(): MemberHealth[] {
    return this.checker?.snapshot() ?? [];
  }
}
