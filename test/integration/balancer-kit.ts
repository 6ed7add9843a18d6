// Test members for the balancer integration tests: built-in FastCGI app instances that
// answer with their own name (and the BALANCER_* params they got), a slow route, a
// failing route, a health route, and a way to kill one mid-load. Plus request helpers.
import { FcgiServer } from '../../src/app/responder-server.js';

export interface TestMember {
  name: string;
  port: number;
  server: FcgiServer;
  /** Requests this member answered. */
  served: number;
  /** Status /health answers (200 by default). */
  healthStatus: number;
  /** Status every other route answers (200 by default). */
  status: number;
  /** Closes the listener and every connection at once (a crash). */
  kill(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a member on 127.0.0.1:`port` (0 = free). Routes: /health → healthStatus;
 * /slow?ms=N waits N ms first; anything else → `name` plus the BALANCER_* params,
 * and the request body's length, one per line, with `status` (padded with '.' to N bytes with ?pad=N).
 */
export async function startMember(name: string, port = 0): Promise<TestMember> {
  const m: TestMember = {
    name,
    port: 0,
    server: null as unknown as FcgiServer,
    served: 0,
    healthStatus: 200,
    status: 200,
    kill: async () => {
      await m.server.destroyAll();
    },
    close: async () => {
      await m.server.close(200).catch(() => {});
      await m.server.destroyAll();
    },
  };
  m.server = new FcgiServer(
    async (req, res) => {
      const uri = req.param('REQUEST_URI');
      // Drain STDIN so bodies don't stall.
      let bodyBytes = 0;
      for await (const chunk of req.stdin) bodyBytes += (chunk as Buffer).length;
      if (uri.startsWith('/health') || req.param('SCRIPT_NAME') === '/health') {
        res.writeHead(m.healthStatus, { 'Content-Type': 'text/plain' });
        res.write('health\n');
        res.end();
        return;
      }
      const slow = /[?&]ms=(\d+)/.exec(uri);
      if (uri.includes('/slow') && slow !== null) await new Promise((r) => setTimeout(r, Number(slow[1])));
      if (res.finished) return;
      m.served++;
      res.writeHead(m.status, { 'Content-Type': 'text/plain' });
      const params = ['BALANCER_NAME', 'BALANCER_WORKER_NAME', 'BALANCER_WORKER_ROUTE'].map((n) => req.param(n));
      const text = `${[name, ...params, bodyBytes].join('\n')}\n`;
      const pad = /[?&]pad=(\d+)/.exec(uri);
      res.write(pad === null ? text : text.padEnd(Number(pad[1]), '.'));
      res.end();
    },
    { log: () => {} },
  );
  const bound = await m.server.listen({ host: '127.0.0.1', port });
  m.port = (bound as { port: number }).port;
  return m;
}

/**
 * Body of a member's answer: [member name, BALANCER_NAME, BALANCER_WORKER_NAME,
 * BALANCER_WORKER_ROUTE, request body bytes].
 */
export async function ask(url: string, init?: RequestInit): Promise<{ status: number; lines: string[] }> {
  const r = await fetch(url, init);
  const text = await r.text();
  return { status: r.status, lines: text.split('\n') };
}

/** `n` sequential GETs; the member names in order ('-' for a non-200). */
export async function sequence(url: string, n: number, init?: RequestInit): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await ask(url, init);
    out.push(r.status === 200 ? r.lines[0]! : `-${r.status}`);
  }
  return out;
}

/** Polls `cond` every 20 ms until true or `timeoutMs` passes (then throws `what`). */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
