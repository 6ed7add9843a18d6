// `fcgate serve`: options, then the service life around startGateway (serve.ts): the
// privilege plan and the pid file check before anything is opened; once every port is open
// the pid file, the drop to `User`/`Group` and the access checks as that user; then the
// signals until SIGTERM, and the pid file removed at exit.
import type { GatewayConfig } from '../config/model.js';
import { checkServingAccess } from './access-checks.js';
import { defineCommand, UsageError, type ExitCode } from './command.js';
import { environmentHelp, tuningFromEnv } from './environment-help.js';
import { PidFile } from './pid-file.js';
import type { SourceSettings } from '../threads/config-source.js';
import { dropPrivileges, planPrivileges, userName, type PrivilegePlan } from './privileges.js';
import { startGateway } from './serve.js';
import { catchSignals, SIGNALS_HELP } from './signals.js';

const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
};

/** Options that serve and check share: a file, or the flags for the simple case. */
export const CONFIG_OPTIONS = {
  config: { type: 'string', short: 'c', value: 'FILE', help: 'Apache-syntax configuration file' },
  listen: {
    type: 'string',
    multiple: true,
    value: 'ADDR',
    help: 'Listen: [host:]port to accept HTTP on (default 127.0.0.1:8080)',
  },
  pass: {
    type: 'string',
    multiple: true,
    value: 'PATH=URL',
    help: 'ProxyPass PATH URL, e.g. /app/=fcgi://127.0.0.1:9000/srv/app/',
  },
  'document-root': {
    type: 'string',
    value: 'DIR',
    help: 'DocumentRoot: static files, and the folder PHP paths live in',
  },
  user: { type: 'string', value: 'USER', help: 'User: started as root, serve as USER once the ports are open' },
  group: { type: 'string', value: 'GROUP', help: "Group: with --user (default: the user's own group)" },
  'pid-file': { type: 'string', value: 'FILE', help: 'PidFile: write the process id there while serving' },
} as const;

type ConfigValues = {
  config?: string;
  listen?: string[];
  pass?: string[];
  'document-root'?: string;
  user?: string;
  group?: string;
  'pid-file'?: string;
};

/** The settings the flags stand for; UsageError when they say nothing or mix a file with flags. */
export function configSettings(v: ConfigValues, command: string): SourceSettings {
  const flagsGiven = ['listen', 'pass', 'document-root', 'user', 'group', 'pid-file'].filter(
    (k) => v[k as keyof ConfigValues] !== undefined,
  );
  if (v.config !== undefined) {
    if (flagsGiven.length > 0) {
      throw new UsageError(
        `use either -c FILE or the flags, not both (--${flagsGiven[0]} with -c): put its directive in the file`,
        command,
      );
    }
    return { config: v.config, listen: [], pass: [] };
  }
  if ((v.pass ?? []).length === 0) {
    throw new UsageError(
      `nothing to ${command === 'check' ? 'check' : 'serve'}: give a configuration file `
        + `(fcgate ${command} -c /etc/fcgate/fcgate.conf) or at least one --pass PATH=URL`,
      command,
    );
  }
  return {
    listen: v.listen ?? [],
    pass: v.pass ?? [],
    ...(v['document-root'] !== undefined ? { documentRoot: v['document-root'] } : {}),
    ...(v.user !== undefined ? { user: v.user } : {}),
    ...(v.group !== undefined ? { group: v.group } : {}),
    ...(v['pid-file'] !== undefined ? { pidFile: v['pid-file'] } : {}),
  };
}

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'serve HTTP in front of FastCGI apps, from a configuration file or flags',
  usage: [
    'serve -c FILE',
    'serve --pass PATH=URL [--pass PATH=URL ...] [--listen ADDR ...] [--document-root DIR] [--user USER]',
  ],
  description: `Accepts HTTP on the Listen addresses and passes requests to FastCGI apps as the
configuration says (Apache syntax: ProxyPass, ProxyPassMatch, SetHandler, balancers). The
flags are the simple case without a file; each stands for the directive it names.
Started as root, fcgate opens its ports, then serves as User (it refuses to serve as root
unless FCGATE_ALLOW_ROOT=1). In a fcgi:// URL, the path after host:port is the script's
path on the app's machine: PHP-FPM needs the DocumentRoot there (see the README).`,
  options: CONFIG_OPTIONS,
  examples: [
    'fcgate serve -c /etc/fcgate/fcgate.conf',
    "fcgate serve --listen 127.0.0.1:8080 --pass '/app/=fcgi://127.0.0.1:9000/var/www/app/'",
    "sudo fcgate serve --listen 80 --pass '/=fcgi://127.0.0.1:9000/var/www/html/' --user www-data",
  ],
  more: () => `${SIGNALS_HELP}\n\n${environmentHelp()}`,
  async run(v): Promise<ExitCode> {
    const settings = configSettings(v, 'serve');
    const tuning = tuningFromEnv();
    const signals = catchSignals();
    let plan: PrivilegePlan = { drop: null, notes: [] };
    let pidFile: PidFile | null = null;
    // Lines before the configured error log is open go to stderr (`log`); afterBind gets
    // the error log itself.
    const running = await startGateway({
      ...settings,
      tuning,
      beforeBind: (cfg: GatewayConfig) => {
        plan = planPrivileges({ user: cfg.user, group: cfg.group }, tuning.FCGATE_ALLOW_ROOT);
        for (const n of plan.notes) log(`FCGATE_PRIVILEGES ${n}`);
        if (cfg.pidFile !== undefined) {
          pidFile = new PidFile(cfg.pidFile);
          const stale = pidFile.check();
          if (stale !== null) log(`FCGATE_PIDFILE ${stale}`);
        }
      },
      afterBind: (cfg: GatewayConfig, log: (line: string) => void) => {
        if (pidFile !== null) {
          pidFile.write(plan.drop);
          const file = pidFile;
          // Every way out (drain finished, a fatal error, a second signal) passes here.
          process.once('exit', () => {
            const note = file.remove();
            if (note !== null) log(`FCGATE_PIDFILE ${note}`);
          });
        }
        if (plan.drop !== null) {
          dropPrivileges(plan.drop);
          log(
            `FCGATE_PRIVILEGES serving as ${plan.drop.user}:${plan.drop.group} (uid ${plan.drop.uid}, gid `
              + `${plan.drop.gid}) in every thread`,
          );
        }
        const report = checkServingAccess(
          cfg,
          userName(process.geteuid?.() ?? -1),
          [],
          tuning.FCGATE_SPOOL_DIR || undefined,
        );
        for (const w of report.warnings) log(`FCGATE_ACCESS ${w}`);
        if (report.errors.length > 0) throw new Error(report.errors.join('; '));
      },
    });
    return await signals.serve(running);
  },
});
