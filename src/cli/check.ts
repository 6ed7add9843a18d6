// `fcgate check`: reads a configuration (file or flags) and the environment as `serve`
// would, resolves User and Group, and prints what it all means; serves nothing.
import { describeConfig } from '../config/describe.js';
import { formatDefault, readVariable, VARIABLES, type Variable } from '../tuning.js';
import { defineCommand, type ExitCode } from './command.js';
import { environmentHelp, tuningFromEnv } from './environment-help.js';
import { planPrivileges } from './privileges.js';
import { CONFIG_OPTIONS, configSettings } from './serve-command.js';
import { loadGatewayConfig } from './serve.js';

export const checkCommand = defineCommand({
  name: 'check',
  summary: 'validate a configuration and the FCGATE_* environment, and explain them',
  usage: ['check -c FILE', 'check --pass PATH=URL [...]   (the same flags as serve)'],
  description: `Reads the configuration and the environment exactly as serve does and prints
what they mean: listeners, routes, workers, balancers, who serves, tuning values that
differ from the defaults. Exit 0 and "Syntax OK" when serve would accept them; an
error names the file, the line and what is wrong (exit 2).`,
  options: CONFIG_OPTIONS,
  examples: [
    'fcgate check -c /etc/fcgate/fcgate.conf',
    "FCGATE_MAX_BODY=10MB fcgate check --pass '/=fcgi://127.0.0.1:9000/var/www/html/'",
  ],
  more: environmentHelp,
  async run(v): Promise<ExitCode> {
    const settings = configSettings(v, 'check');
    tuningFromEnv();
    const cfg = loadGatewayConfig(settings);
    // Names are resolved now (an unknown user is an error); whether serve would refuse
    // root depends on who starts it, so that is only said.
    const plan = planPrivileges({ user: cfg.user, group: cfg.group }, true, 0);
    const lines = [describeConfig(cfg).trimEnd()];
    lines.push(
      `serving user: ${
        plan.drop !== null
          ? `${plan.drop.user}:${plan.drop.group} once the ports are open (when started as root)`
          : cfg.user === undefined
            ? 'whoever starts fcgate (started as root, serve refuses without User unless FCGATE_ALLOW_ROOT=1)'
            : 'root (FCGATE_ALLOW_ROOT=1 needed)'
      }`,
    );
    if (cfg.pidFile !== undefined) lines.push(`pid file: ${cfg.pidFile}`);
    const changed = VARIABLES.filter(
      (x) => x.scope === 'all' && !x.secret && process.env[x.name] !== undefined && process.env[x.name] !== '',
    );
    lines.push(`tuning: ${changed.length === 0 ? 'all defaults' : changed.map((x) => inForce(x)).join(', ')}`);
    process.stdout.write(lines.join('\n') + '\nSyntax OK\n');
    return 0;
  },
});

/** `FCGATE_MAX_BODY=10MB (10000000 bytes)`: what was written and what it means. */
function inForce(v: Variable): string {
  const raw = process.env[v.name]!;
  const value = readVariable(v.name as never, process.env) as unknown;
  const meaning = v.kind === 'bytes' ? `${value} bytes` : v.kind === 'duration' ? `${value} ${v.unit}` : String(value);
  return `${v.name}=${raw} (${meaning}; default ${formatDefault(v)})`;
}
