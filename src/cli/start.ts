// `npm start` / `fcgate start`: the built-in demo FastCGI app, and the gateway in front of
// it, then the URL to open. The app's address is free by default, or --app-listen.
import { startDemoApp } from '../app/demo.js';
import { formatAddress } from '../app/listen-address.js';
import { readVariable, type Tuning } from '../tuning.js';
import { defineCommand, UsageError, type ExitCode } from './command.js';
import { environmentHelp, tuningFromEnv } from './environment-help.js';
import { startGateway, type RunningGateway } from './serve.js';
import { catchSignals, SIGNALS_HELP } from './signals.js';

async function startDemo(listen: string, tuning: Tuning, appListen = '127.0.0.1:0'): Promise<RunningGateway> {
  let app: Awaited<ReturnType<typeof startDemoApp>>;
  try {
    app = await startDemoApp({ listen: appListen });
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(`--app-listen ${(err as Error).message}`, 'start');
    throw new Error(`the demo app cannot listen on ${appListen}: ${(err as Error).message}`);
  }
  const a = app.address;
  const pass = 'path' in a ? `/=unix:${a.path}|fcgi://localhost/` : `/=fcgi://${formatAddress(a)}/`;
  let running: RunningGateway;
  try {
    running = await startGateway({ listen: [listen], pass: [pass], tuning, say: () => {} });
  } catch (err) {
    await app.close();
    throw err;
  }
  const url = running.urls[0]!;
  process.stdout.write(
    `fcgate demo: the built-in FastCGI app listens on `
      + `${'path' in a ? `unix:${a.path}` : `fcgi://${formatAddress(a)}/`}\n`
      + `             the gateway serves it on ${url}\n\n`
      + `  Open ${url} in a browser: the page shows the CGI environment the app received.\n`
      + `  Try also: ${url}hello  ${url}bytes?n=1000  ${url}stream?chunks=5&interval=500\n\n`
      + `  Ctrl-C stops both.\n`,
  );
  return {
    ...running,
    stop: async () => {
      await running.stop();
      await app.close();
    },
  };
}

export const startCommand = defineCommand({
  name: 'start',
  summary: 'the demo: the built-in FastCGI app behind the gateway (what npm start runs)',
  usage: ['start [--listen ADDR] [--app-listen ADDR]'],
  description: `Starts the built-in demo FastCGI app and the gateway in front of it, and prints the URL
to open. The page shows the CGI environment the app received through the gateway.`,
  options: {
    listen: {
      type: 'string',
      value: 'ADDR',
      help: 'where the gateway accepts HTTP (default 127.0.0.1:8080, or 127.0.0.1:$PORT)',
    },
    'app-listen': {
      type: 'string',
      value: 'ADDR',
      help: "the demo app's FastCGI address: host:port or unix:/path (default: a free loopback port)",
    },
  },
  examples: ['npm start', 'npm start -- --listen 127.0.0.1:9090 --app-listen 127.0.0.1:9000', 'PORT=9090 fcgate start'],
  more: () => `${SIGNALS_HELP}\n\n${environmentHelp()}`,
  async run(v): Promise<ExitCode> {
    const tuning = tuningFromEnv();
    const listen = v.listen ?? `127.0.0.1:${readVariable('PORT')}`;
    const signals = catchSignals();
    return await signals.serve(await startDemo(listen, tuning, v['app-listen']));
  },
});
