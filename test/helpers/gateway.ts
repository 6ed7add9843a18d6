// Starts the real gateway in this test process on a loopback port, from configuration
// text (Apache syntax) with tuning overrides, and collects its error-log lines.
// Placeholders in the text: none; build the text with the ports you started.
// With `telemetry`, the gateway reports to a Telemetry of its own (metrics, access logs
// opened from the configuration) that an admin listener can serve.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdminSource } from '../../src/admin/server.js';
import { gatewaySource } from '../../src/admin/manager.js';
import { parseConfig } from '../../src/config/load.js';
import { Gateway, type GatewayOptions } from '../../src/front/gateway.js';
import { probeAndBudget } from '../../src/cli/serve.js';
import { Telemetry } from '../../src/observe/telemetry.js';
import { readTuning, type Tuning } from '../../src/tuning.js';
import { freePort } from './free-port.js';

export interface TestGateway {
  gateway: Gateway;
  port: number;
  /** http://127.0.0.1:PORT (no trailing slash). */
  base: string;
  /** Error-log lines so far. */
  logs: string[];
  /** With `telemetry: true`: the gateway's metrics and log outputs. */
  telemetry: Telemetry | null;
  /** An admin listener's source over this gateway (needs `telemetry: true`). */
  adminSource(): AdminSource;
  /** The configuration file's folder (relative log paths land here). */
  dir: string;
  stop(): Promise<void>;
}

export interface TestGatewayOptions {
  /** Configuration text; a `Listen 127.0.0.1:<free port>` line is added when it has no Listen. */
  config: string;
  tuning?: Partial<Tuning>;
  /** Echo log lines to stderr as well (debugging). */
  echo?: boolean;
  /** Run the FCGI_GET_VALUES probe as `fcgate serve` does (default true). */
  probe?: boolean;
  /** More Gateway options (a shared spool account, …). */
  gatewayOptions?: Partial<GatewayOptions>;
  /** Metrics and logs through a Telemetry of the test's own (default false: ids and metrics only). */
  telemetry?: boolean;
  /** With telemetry: write the configuration's access logs (default true). */
  accessLogs?: boolean;
}

export async function startTestGateway(opts: TestGatewayOptions): Promise<TestGateway> {
  const text = /^\s*Listen\s/m.test(opts.config) ? opts.config : `Listen 127.0.0.1:${await freePort()}\n${opts.config}`;
  const dir = mkdtempSync(join(tmpdir(), 'fcgate-gw-'));
  const file = join(dir, 'fcgate.conf');
  writeFileSync(file, text);
  const config = parseConfig(text, file);
  const tuning: Tuning = { ...readTuning({}), ...opts.tuning };
  const logs: string[] = [];
  const log = (line: string): void => {
    logs.push(line);
    if (opts.echo) process.stderr.write(`[gateway] ${line}\n`);
  };
  const budgets = opts.probe === false ? undefined : await probeAndBudget(config, tuning, log);
  let telemetry: Telemetry | null = null;
  if (opts.telemetry) {
    telemetry = new Telemetry(config, {
      slots: 1,
      logBuffer: tuning.FCGATE_LOG_BUFFER,
      version: 'test',
      pipeRestartMs: 100,
    });
    telemetry.applyLogs(config, opts.accessLogs ?? true);
  }
  const observer = telemetry?.localObserver(config, {
    accessLogs: opts.accessLogs ?? true,
    flushMs: tuning.FCGATE_LOG_FLUSH_MS,
  });
  const gateway = new Gateway({
    config,
    tuning,
    log,
    ...(budgets ? { budgets } : {}),
    ...(observer ? { observer } : {}),
    ...opts.gatewayOptions,
  });
  if (telemetry !== null) {
    telemetry.context = {
      config: () => gateway.config,
      board: () => gateway.balancerBoard,
      health: () => gateway.healthChecker?.snapshot() ?? [],
      cap: (name) => gateway.capOf(name),
      threads: () => [{ slot: 0, ready: true, restarts: 0 }],
      draining: () => false,
    };
  }
  const bound = await gateway.listen();
  const port = bound[0]!.port;
  return {
    gateway,
    port,
    base: `http://127.0.0.1:${port}`,
    logs,
    telemetry,
    dir,
    adminSource: () => {
      if (telemetry === null) throw new Error('startTestGateway: adminSource() needs telemetry: true');
      return { ...gatewaySource(gateway), telemetry, build: { version: 'test', uws: 'uws', node: process.version } };
    },
    stop: async () => {
      gateway.close();
      await telemetry?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
