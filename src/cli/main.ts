#!/usr/bin/env node
// fcgate's command line: the table of commands, the global --help and --version, and the
// one place where an error becomes a message and an exit code (command.ts lists them).
// Adding a command is adding its object to COMMANDS.
import { ConfigError } from '../config/config-error.js';
import { TuningError } from '../tuning.js';
import { didYouMean } from '../closest-name.js';
import { checkCommand } from './check.js';
import { commandHelp, EXIT_CODES_HELP, parseCommandArgs, UsageError, type Command, type ExitCode } from './command.js';
import { demoAppCommand } from './demo-app.js';
import { environmentHelp } from './environment-help.js';
import { serveCommand } from './serve-command.js';
import { SIGNALS_HELP } from './signals.js';
import { startCommand } from './start.js';
import { VERSION, versionText } from './version.js';

/** Every command, in the order --help lists them. */
const COMMANDS: readonly Command[] = [serveCommand, checkCommand, startCommand, demoAppCommand];

function mainHelp(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return `fcgate ${VERSION}: an HTTP-to-FastCGI gateway (Apache mod_proxy_fcgi configuration, uWebSockets.js speed)

Usage: fcgate <command> [options]       fcgate <command> --help: its options and examples

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`).join('\n')}
  ${'bench'.padEnd(w)}  load an http://, fcgi:// or unix:…|fcgi:// target and measure it (fcgate bench --help)

Options:
  -h, --help      this help (also: fcgate help <command>)
  -v, --version   fcgate's version, Node.js, and the uWebSockets.js build

${SIGNALS_HELP}

${environmentHelp()}

${EXIT_CODES_HELP}
`;
}

async function main(argv: string[]): Promise<ExitCode> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help') {
    process.stdout.write(mainHelp());
    return 0;
  }
  if (first === '-v' || first === '--version') {
    const v = versionText();
    process.stdout.write(v.text);
    return v.ok ? 0 : 1;
  }
  const byName = (name: string): Command => {
    const c = COMMANDS.find((x) => x.name === name);
    if (c === undefined) {
      throw new UsageError(
        `unknown command "${name}"${didYouMean(
          name,
          COMMANDS.map((x) => x.name),
        )}`,
      );
    }
    return c;
  };
  // bench takes URLs as positional arguments and parses its own options (src/cli/bench.ts).
  if (first === 'bench' || (first === 'help' && rest[0] === 'bench')) {
    const { runBenchCli } = await import('./bench.js');
    return (await runBenchCli(first === 'help' ? ['--help'] : rest)) as ExitCode;
  }
  if (first === 'help') {
    process.stdout.write(rest[0] === undefined ? mainHelp() : commandHelp(byName(rest[0])));
    return 0;
  }
  if (first.startsWith('-'))
    throw new UsageError(
      `unknown option ${first}${didYouMean(first, ['--help', '--version']) || ': a command comes first'}`,
    );
  const cmd = byName(first);
  const values = parseCommandArgs(cmd, rest);
  if (values === 'help') {
    process.stdout.write(commandHelp(cmd));
    return 0;
  }
  return await cmd.run(values);
}

/** One message per failure, no stack: `fcgate serve: …` for usage, `fcgate: …` otherwise. */
function report(err: unknown): ExitCode {
  if (err instanceof UsageError) {
    const help = err.command === null ? 'fcgate --help' : `fcgate ${err.command} --help`;
    process.stderr.write(`fcgate${err.command === null ? '' : ` ${err.command}`}: ${err.message}\n(see ${help})\n`);
    return 2;
  }
  if (err instanceof ConfigError || err instanceof TuningError) {
    process.stderr.write(`fcgate: ${err.message}\n`);
    return 2;
  }
  process.stderr.write(`fcgate: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    // A server has stopped: its threads and sockets are closed; exit now rather than wait for
    // a straggling timer. Other commands end the same way.
    process.exit(code);
  },
  (err: unknown) => process.exit(report(err)),
);
