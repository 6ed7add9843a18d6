// `fcgate demo-app`: runs the built-in demo FastCGI app until SIGINT/SIGTERM.
// Argument parsing and signals only; the app is src/app/demo.ts.
import { createFcgiServer, type ListenAddress } from '../app/server.js';
import { createDemoHandler } from '../app/demo.js';
import { formatAddress, parseListenAddress } from '../app/listen-address.js';

export const DEMO_APP_USAGE = `Usage: fcgate demo-app [--listen ADDR]... [--mpxs on|off] [--max-conns N]
Runs the built-in demo FastCGI responder (routes /, /env, /hello, /bytes, /echo, /slow, /stream).
  --listen ADDR     host:port, [v6]:port, port or unix:/path (repeatable; default 127.0.0.1:9000)
  --mpxs on|off     multiplex requests on one connection, FCGI_MPXS_CONNS (default on)
  --max-conns N     connections served at once, FCGI_MAX_CONNS (default 256)
  --test-routes     also serve the /test/* failure routes (for gateway tests only)
`;

export interface DemoAppArgs {
  listen: ListenAddress[];
  mpxsConns: boolean;
  maxConns: number | undefined;
  testRoutes: boolean;
}

/** Parses demo-app arguments (a leading `demo-app` is skipped); throws naming the bad one. */
export function parseDemoAppArgs(argv: readonly string[]): DemoAppArgs | 'help' {
  const out: DemoAppArgs = { listen: [], mpxsConns: true, maxConns: undefined, testRoutes: false };
  const args = argv[0] === 'demo-app' ? argv.slice(1) : argv.slice();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = args[++i];
      if (v === undefined) throw new Error(`demo-app: ${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--listen': out.listen.push(parseListenAddress(value())); break;
      case '--mpxs': {
        const v = value();
        if (v !== 'on' && v !== 'off') throw new Error(`demo-app: --mpxs must be on or off (got ${v})`);
        out.mpxsConns = v === 'on';
        break;
      }
      case '--max-conns': {
        const v = value();
        const n = Number(v);
        if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) {
          throw new Error(`demo-app: --max-conns must be a positive integer (got ${v})`);
        }
        out.maxConns = n;
        break;
      }
      case '--test-routes': out.testRoutes = true; break;
      case '-h': case '--help': return 'help';
      default: throw new Error(`demo-app: unknown argument ${arg}\n${DEMO_APP_USAGE}`);
    }
  }
  if (out.listen.length === 0) out.listen.push({ host: '127.0.0.1', port: 9000 });
  return out;
}

/** Runs the demo app on every --listen address; resolves after SIGINT/SIGTERM closed it. */
export async function runDemoAppCli(argv: string[]): Promise<void> {
  const args = parseDemoAppArgs(argv);
  if (args === 'help') { process.stdout.write(DEMO_APP_USAGE); return; }
  const server = createFcgiServer(createDemoHandler({ testRoutes: args.testRoutes }), {
    mpxsConns: args.mpxsConns,
    ...(args.maxConns !== undefined ? { maxConns: args.maxConns } : {}),
  });
  try {
    for (const a of args.listen) {
      const bound = await server.listen(a);
      process.stdout.write(`fcgate demo app listening on ${formatAddress(bound)}`
        + ` (mpxs ${args.mpxsConns ? 'on' : 'off'}, max-conns ${server.options.maxConns}`
        + `${args.testRoutes ? ', test routes on' : ''})\n`);
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
