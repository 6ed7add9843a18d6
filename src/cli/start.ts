// `npm start` / `fcgate start`: the built-in demo FastCGI app on a free loopback port,
// and the gateway in front of it, then the URL to open.
import { startDemoApp } from '../app/demo.js';
import type { Tuning } from '../tuning.js';
import { startGateway, type RunningGateway } from './serve.js';

export async function startDemo(listen: string, tuning: Tuning): Promise<RunningGateway> {
  const app = await startDemoApp({ listen: '127.0.0.1:0' });
  const a = app.address as { host: string; port: number };
  const running = await startGateway({
    listen: [listen], pass: [`/=fcgi://127.0.0.1:${a.port}/`], tuning,
    say: () => {},
  });
  process.stdout.write(
    `fcgate demo: the built-in FastCGI app listens on fcgi://127.0.0.1:${a.port}/\n` +
    `             the gateway serves it on ${running.urls[0]}\n\n` +
    `  Open ${running.urls[0]} in a browser: the page shows the CGI environment the app received.\n` +
    `  Try also: ${running.urls[0]}hello  ${running.urls[0]}bytes?n=1000  ${running.urls[0]}stream?chunks=5&interval=500\n\n` +
    `  Ctrl-C stops both.\n`);
  return {
    ...running,
    stop: async () => { await running.stop(); await app.close(); },
  };
}
