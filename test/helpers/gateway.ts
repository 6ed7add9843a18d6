// Starts the real gateway in this test process on a loopback port, from configuration
// text (Apache syntax) with tuning overrides, and collects its error-log lines.
// Placeholders in the text: none; build the text with the ports you started.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/front/server.js';
import { probeAndBudget } from '../../src/cli/serve.js';
import { readTuning, type Tuning } from '../../src/tuning.js';
import { freePort } from './free-port.js';

export interface TestGateway {
  gateway: Gateway;
  port: number;
  /** http://127.0.0.1:PORT (no trailing slash). */
  base: string;
  /** Error-log lines so far. */
  logs: string[];
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
  const gateway = new Gateway({ config, tuning, log, ...(budgets ? { budgets } : {}) });
  const bound = await gateway.listen();
  const port = bound[0]!.port;
  return {
    gateway, port, base: `http://127.0.0.1:${port}`, logs,
    stop: async () => {
      gateway.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
