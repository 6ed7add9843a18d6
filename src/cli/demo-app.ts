// `fcgate demo-app`: runs the built-in demo FastCGI app until SIGINT/SIGTERM.
// Argument parsing and signals only; the app is src/app/demo.ts.
import { createFcgiServer, type ListenAddress } from '../app/responder-server.js';
import { createDemoHandler } from '../app/demo.js';
import { formatAddress, parseListenAddress } from '../app/listen-address.js';
import {
  commandHelp,
  defineCommand,
  parseCommandArgs,
  UsageError,
  type ExitCode,
  type OptionValues,
} from './command.js';

export interface DemoAppArgs {
  listen: ListenAddress[];
  mpxsConns: boolean;
  maxConns: number | undefined;
  testRoutes: boolean;
}

const OPTIONS = {
  listen: {
    type: 'string',
    multiple: true,
    value: 'ADDR',
    help: 'host:port, [v6]:port, port or unix:/path (default 127.0.0.1:9000)',
  },
  mpxs: { type: 'string', value: 'on|off', help: 'multiplex requests on one connection, FCGI_MPXS_CONNS (default on)' },
  'max-conns': { type: 'string', value: 'N', help: 'connections served at once, FCGI_MAX_CONNS (default 256)' },
  'test-routes': { type: 'boolean', help: 'also serve the /test/* failure routes (for gateway tests only)' },
} as const;

/** Parses demo-app arguments (a leading `demo-app` is skipped); throws UsageError naming the bad one. */
export function parseDemoAppArgs(argv: readonly string[]): DemoAppArgs | 'help' {
  const v = parseCommandArgs(demoAppCommand, argv[0] === 'demo-app' ? argv.slice(1) : argv);
  return v === 'help' ? 'help' : demoAppArgs(v);
}

function demoAppArgs(v: OptionValues<typeof OPTIONS>): DemoAppArgs {
  const bad = (what: string): never => {
    throw new UsageError(what, 'demo-app');
  };
  const listen = (v.listen ?? ['127.0.0.1:9000']).map((a) => {
    try {
      return parseListenAddress(a);
    } catch (err) {
      return bad(`--listen ${(err as Error).message}`);
    }
  });
  if (v.mpxs !== undefined && v.mpxs !== 'on' && v.mpxs !== 'off') bad(`--mpxs must be on or off (got ${v.mpxs})`);
  let maxConns: number | undefined;
  if (v['max-conns'] !== undefined) {
    maxConns = Number(v['max-conns']);
    if (!/^\d+$/.test(v['max-conns']) || !Number.isSafeInteger(maxConns) || maxConns < 1) {
      bad(`--max-conns must be a positive integer (got ${v['max-conns']})`);
    }
  }
  return { listen, mpxsConns: v.mpxs !== 'off', maxConns, testRoutes: v['test-routes'] === true };
}

export const demoAppCommand = defineCommand({
  name: 'demo-app',
  summary: 'only the built-in demo FastCGI app (no gateway)',
  usage: ['demo-app [--listen ADDR ...] [--mpxs on|off] [--max-conns N]'],
  description: `Runs the built-in demo FastCGI responder (routes /, /env, /hello, /bytes, /echo, /slow,
/stream) until SIGTERM or SIGINT: a backend to try the gateway against.`,
  options: OPTIONS,
  examples: [
    'fcgate demo-app --listen 127.0.0.1:9000',
    'fcgate demo-app --listen unix:/tmp/demo.sock --mpxs off --max-conns 4',
  ],
  async run(v): Promise<ExitCode> {
    await runDemoApp(demoAppArgs(v));
    return 0;
  },
});

/** Parses `argv` and runs the demo app (tests start it this way, without main.ts). */
export async function runDemoAppCli(argv: string[]): Promise<void> {
  const args = parseDemoAppArgs(argv);
  if (args === 'help') {
    process.stdout.write(commandHelp(demoAppCommand));
    return;
  }
  await runDemoApp(args);
}

/** Runs the demo app on every --listen address; resolves after SIGINT/SIGTERM closed it. */
async function runDemoApp(args: DemoAppArgs): Promise<void> {
  const server = createFcgiServer(createDemoHandler({ testRoutes: args.testRoutes }), {
    mpxsConns: args.mpxsConns,
    ...(args.maxConns !== undefined ? { maxConns: args.maxConns } : {}),
  });
  try {
    for (const a of args.listen) {
      const bound = await server.listen(a);
      process.stdout.write(
        `fcgate demo app listening on ${formatAddress(bound)}`
          + ` (mpxs ${args.mpxsConns ? 'on' : 'off'}, max-conns ${server.options.maxConns}`
          + `${args.testRoutes ? ', test routes on' : ''})\n`,
      );
    }
  } catch (err) {
    await server.destroyAll();
    throw err;
  }
  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals): void => {
      signals++;
      if (signals === 1) {
        process.stdout.write(`fcgate demo app: ${sig}, finishing requests in flight (again to stop now)\n`);
        server.close(10_000).then(done, done);
      } else {
        server.destroyAll().then(done, done);
      }
    };
    const done = (): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
