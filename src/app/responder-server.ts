// The FastCGI responder server: listens on TCP or unix sockets, keeps at most maxConns
// connections served (later ones wait unread in a bounded accept queue, as an app's
// listen backlog would hold them), and closes gracefully. What happens on a connection
// is responder-connection.ts's; the handler API is responder-exchange.ts's.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { lstatSync, unlinkSync } from 'node:fs';
import { AppConnection, type ConnectionHost } from './responder-connection.js';
import {
  resolveServerOptions,
  type FcgiHandler,
  type FcgiServerOptions,
  type ResolvedServerOptions,
} from './options.js';

export type { FcgiHandler, FcgiServerOptions } from './options.js';
export { FcgiRequest, FcgiResponse, APP_STATUS_ABORTED, type HeaderValue } from './responder-exchange.js';

/** Where to listen: TCP (port 0 picks a free port) or a unix socket path. */
export type ListenAddress = { host: string; port: number } | { path: string };
/** Where the server actually listens. */
export type BoundAddress = { host: string; port: number; family: string } | { path: string };

export class FcgiServer implements ConnectionHost {
  readonly options: ResolvedServerOptions;
  running = 0;
  private shuttingDown = false;
  private readonly servers: Server[] = [];
  private readonly bound: BoundAddress[] = [];
  private readonly connections = new Set<AppConnection>();
  private readonly waiting: Socket[] = [];
  private serial = 0;

  constructor(
    readonly handler: FcgiHandler,
    options: FcgiServerOptions = {},
  ) {
    this.options = resolveServerOptions(options);
  }

  get closing(): boolean {
    return this.shuttingDown;
  }
  /** Connections being served now (not counting the accept queue). */
  get connectionCount(): number {
    return this.connections.size;
  }
  /** Connections accepted but waiting for a free slot. */
  get queuedCount(): number {
    return this.waiting.length;
  }
  /** Every address listened on so far. */
  get addresses(): readonly BoundAddress[] {
    return this.bound;
  }

  /** Starts listening on one more address; resolves to the bound address. */
  async listen(address: ListenAddress): Promise<BoundAddress> {
    if (this.shuttingDown) throw new Error('FcgiServer.listen after close');
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => this.accept(s));
    server.on('error', (err) => this.options.log(`listener error: ${err.message}`));
    if ('path' in address) {
      await listenUnix(server, address.path);
    } else {
      await listenOnce(server, () => server.listen({ host: address.host, port: address.port, exclusive: true }));
    }
    this.servers.push(server);
    const a = server.address();
    const out: BoundAddress =
      a === null || typeof a === 'string'
        ? { path: 'path' in address ? address.path : String(a) }
        : { host: a.address, port: a.port, family: a.family };
    this.bound.push(out);
    return out;
  }

  /**
   * Stops listening and ends each connection once its requests are answered. After
   * `graceMs` (default 30 s) whatever is still open is destroyed. Resolves when all is closed.
   */
  async close(graceMs = 30_000): Promise<void> {
    this.shuttingDown = true;
    const closed = this.closeListeners();
    for (const s of this.waiting.splice(0)) s.destroy();
    for (const c of this.connections) c.endWhenIdle();
    const timer = setTimeout(() => this.destroyConnections(), graceMs);
    timer.unref();
    try {
      await closed;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops listening and destroys every connection at once (tests, fatal errors). */
  async destroyAll(): Promise<void> {
    this.shuttingDown = true;
    const closed = this.closeListeners();
    this.destroyConnections();
    await closed;
  }

  connectionClosed(conn: AppConnection): void {
    this.connections.delete(conn);
    while (this.waiting.length > 0 && this.connections.size < this.options.maxConns) {
      const next = this.waiting.shift()!;
      if (!next.destroyed) this.serve(next);
    }
  }

  private accept(socket: Socket): void {
    if (this.shuttingDown) {
      socket.destroy();
      return;
    }
    if (this.connections.size < this.options.maxConns) {
      this.serve(socket);
      return;
    }
    if (this.waiting.length >= this.options.acceptQueue) {
      this.options.log(`accept queue full (${this.options.acceptQueue}): connection closed`);
      socket.destroy();
      return;
    }
    this.waiting.push(socket);
    socket.on('error', () => socket.destroy()); // a reset while queued: just drop it
    socket.once('close', () => {
      const at = this.waiting.indexOf(socket);
      if (at >= 0) this.waiting.splice(at, 1);
    });
  }

  private serve(socket: Socket): void {
    socket.setNoDelay(true);
    const conn = new AppConnection(socket, this, ++this.serial);
    this.connections.add(conn);
    socket.resume();
  }

  private destroyConnections(): void {
    for (const s of this.waiting.splice(0)) s.destroy();
    for (const c of [...this.connections]) c.destroy();
  }

  private closeListeners(): Promise<void> {
    const all = this.servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (!s.listening) {
            resolve();
            return;
          }
          s.close(() => resolve());
        }),
    );
    return Promise.all(all).then(() => undefined);
  }
}

/** A FastCGI responder server running `handler` for each request. Call listen() next. */
export function createFcgiServer(handler: FcgiHandler, options: FcgiServerOptions = {}): FcgiServer {
  return new FcgiServer(handler, options);
}

function listenOnce(server: Server, start: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    start();
  });
}

/** Listens on a unix socket; a stale socket file nobody answers on is removed first (never another kind of file). */
async function listenUnix(server: Server, path: string): Promise<void> {
  try {
    await listenOnce(server, () => server.listen({ path, exclusive: true }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !isSocket(path) || (await answers(path))) throw err;
    unlinkSync(path);
    await listenOnce(server, () => server.listen({ path, exclusive: true }));
  }
}

function isSocket(path: string): boolean {
  try {
    return lstatSync(path).isSocket();
  } catch {
    return false;
  }
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
