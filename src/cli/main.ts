#!/usr/bin/env node
// fcgate's command line: serve | check | start | demo-app | bench | --help.
// Argument parsing, startup checks, probes and signals; the work is elsewhere.
import { readFileSync } from 'node:fs';
import { runDemoAppCli } from './demo-app.js';
import { startGateway, type RunningGateway } from './serve.js';
import { describeTuning, readTuning } from '../tuning.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const HELP = `fcgate ${VERSION}: an HTTP-to-FastCGI gateway (Apache mod_proxy_fcgi configuration, uWebSockets.js speed)

Usage:
  fcgate serve -c fcgate.conf            serve with an Apache-syntax configuration file
  fcgate serve --listen ADDR --pass PATH=URL [--pass …] [--document-root DIR]
                                         the simple case without a file, e.g.
                                         --listen 127.0.0.1:8080 --pass /app/=fcgi://127.0.0.1:9000/
  fcgate check -c fcgate.conf            validate a configuration and print what it means
  fcgate start [--listen ADDR]           the demo: the built-in FastCGI app behind the gateway
                                         (default --listen 127.0.0.1:8080; PORT=… works too)
  fcgate demo-app --listen ADDR          only the built-in demo FastCGI app (see fcgate demo-app --help)
  fcgate bench [options] URL             load an http:// or fcgi:// target (see fcgate bench --help)
  fcgate --help | --version

Signals (serve, start):
  SIGTERM, SIGINT   drain: stop accepting, let in-flight requests finish (FCGATE_DRAIN_MS), exit 0
  SIGHUP            reload the configuration without dropping connections (an invalid one is
                    logged and the old one stays; Listen changes need a restart)
  SIGUSR2           print one line "FCGATE_STATS {json}" to stderr: requests served and in
                    flight per serving thread, pools and connection caps over all threads

Environment (tuning; an invalid value stops startup):
${describeTuning()}
  FCGATE_SERVER_SOFTWARE  SERVER_SOFTWARE sent to apps (default fcgate)
`;

interface ServeArgs { config?: string; listen: string[]; pass: string[]; documentRoot?: string }

function parseServeArgs(args: string[]): ServeArgs {
  const out: ServeArgs = { listen: [], pass: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const value = (): string => {
      if (eq > 0) return a.slice(eq + 1);
      const v = args[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '-c': case '--config': out.config = value(); break;
      case '--listen': out.listen.push(value()); break;
      case '--pass': out.pass.push(value()); break;
      case '--document-root': out.documentRoot = value(); break;
      default: throw new Error(`unknown argument ${a} (see fcgate --help)`);
    }
  }
  if (out.config !== undefined && (out.pass.length > 0 || out.listen.length > 0)) {
    throw new Error('use either -c FILE or --listen/--pass, not both');
  }
  if (out.config === undefined && out.pass.length === 0) throw new Error('nothing to serve: give -c FILE or --pass PATH=URL');
  return out;
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined: case '-h': case '--help': case 'help':
      process.stdout.write(HELP);
      return;
    case '--version': case '-v':
      process.stdout.write(`fcgate ${VERSION}\n`);
      return;
    case 'demo-app':
      await runDemoAppCli(rest);
      return;
    case 'bench': {
      const { runBenchCli } = await import('./bench.js');
      process.exitCode = await runBenchCli(rest);
      return;
    }
    case 'check': {
      const args = parseServeArgs(rest);
      const { loadGatewayConfig } = await import('./serve.js');
      const { describeConfig } = await import('../config/describe.js');
      readTuning();
      const cfg = loadGatewayConfig(args);
      process.stdout.write(describeConfig(cfg) + '\nSyntax OK\n');
      return;
    }
    case 'serve': {
      const args = parseServeArgs(rest);
      const running = await startGateway({ ...args, tuning: readTuning() });
      holdUntilSignal(running);
      return;
    }
    case 'start': {
      const args = parseServeArgs([...rest, '--pass', '/=fcgi://127.0.0.1:1/']);
      const { startDemo } = await import('./start.js');
      const running = await startDemo(args.listen[0] ?? `127.0.0.1:${process.env['PORT'] ?? '8080'}`, readTuning());
      holdUntilSignal(running);
      return;
    }
    default:
      throw new Error(`unknown command "${cmd}" (see fcgate --help)`);
  }
}

function holdUntilSignal(running: RunningGateway): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) { process.exit(1); }
    stopping = true;
    process.stderr.write(`fcgate: ${signal}: draining (up to ${running.drainMs} ms)\n`);
    running.stop().then(() => process.exit(0), (err: Error) => {
      process.stderr.write(`fcgate: ${err.message}\n`);
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // SIGHUP: reload the configuration (an invalid one is logged; the old one stays).
  process.on('SIGHUP', () => { if (!stopping) void running.reload(); });
  // SIGUSR2: one line `FCGATE_STATS {json}` on stderr, counters of every serving thread.
  process.on('SIGUSR2', () => {
    void running.stats().then((st) => process.stderr.write(`FCGATE_STATS ${JSON.stringify(st)}\n`));
  });
}

main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`fcgate: ${err.message}\n`);
  process.exit(2);
});
