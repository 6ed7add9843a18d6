// Listening with uWS so that the port belongs to this fcgate process alone: a probe before
// binding, uWS listen (shared across this process's threads, or exclusive), unix sockets that
// never steal a live path, closing, and a /proc check for foreign co-listeners.
// Routes and request handling are not here. Mechanism and measurements: native-notes/uws.md.

import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, unlinkSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { loadUws, type TemplatedApp, type us_listen_socket } from './uws.js';

/** LIBUS_LISTEN_EXCLUSIVE_PORT: bind without SO_REUSEPORT (uws.d.ts declares the enum, the addon exports the number). */
const LISTEN_EXCLUSIVE_PORT = 1;

export type ListenErrorCode = 'FCGATE_PORT_IN_USE' | 'FCGATE_LISTEN_FAILED' | 'FCGATE_PORT_SHARED';

export class ListenError extends Error {
  constructor(
    readonly code: ListenErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ListenError';
  }
}

export interface Listening {
  /** The bound port; 0 for a unix socket. */
  port: number;
  listenSocket: us_listen_socket;
  /** The unix socket path, when listening on one (closeListening unlinks it). */
  path?: string;
}

export interface ListenOptions {
  /**
   * true: bind without SO_REUSEPORT (LIBUS_LISTEN_EXCLUSIVE_PORT); no other socket, not even
   * another App of this process, can bind the port. false (default): SO_REUSEPORT, so the N
   * serving threads can each listen on the same port; run claimPort() first, once.
   * Port 0 never gets SO_REUSEPORT from uWS: to share, pick a port with pickFreePort().
   */
  exclusive?: boolean;
}

const hostLabel = (host: string, port: number): string =>
  host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;

/**
 * Makes sure nobody else listens on host:port: binds a plain Node server there (SO_REUSEADDR
 * only, no SO_REUSEPORT) and closes it. Any listener already there, a uWS one with
 * SO_REUSEPORT included, makes that bind fail, so a second fcgate on the same port stops here
 * instead of silently taking half of the connections. Call it once per port, in the main
 * thread, before the serving threads listen.
 */
export async function claimPort(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(
          new ListenError(
            'FCGATE_PORT_IN_USE',
            `cannot listen on ${hostLabel(host, port)}: another process is already listening there `
              + `(see: ss -ltnp 'sport = :${port}'); fcgate needs the port to itself`,
            { cause: err },
          ),
        );
      } else {
        reject(
          new ListenError('FCGATE_LISTEN_FAILED', `cannot listen on ${hostLabel(host, port)}: ${err.message}`, {
            cause: err,
          }),
        );
      }
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** A currently free port on host (for tests and for sharing a "port 0" across threads). */
export async function pickFreePort(host = '127.0.0.1'): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host, port: 0, exclusive: true }, () => {
      const addr = probe.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * app.listen(host, port) as a promise. uWS calls back synchronously with false on failure
 * and says nothing about why: the error names the usual causes.
 */
export function listenApp(
  app: TemplatedApp,
  host: string,
  port: number,
  options: ListenOptions = {},
): Promise<Listening> {
  const uws = loadUws();
  return new Promise<Listening>((resolve, reject) => {
    const done = (ls: us_listen_socket | false): void => {
      if (ls === false) {
        reject(
          new ListenError(
            'FCGATE_LISTEN_FAILED',
            `cannot listen on ${hostLabel(host, port)}`
              + (options.exclusive ? ' (exclusive)' : '')
              + ': the address is in use by a socket without SO_REUSEPORT or of another user, '
              + 'or it is not an address of this machine',
          ),
        );
        return;
      }
      resolve({ port: uws.us_socket_local_port(ls as never), listenSocket: ls });
    };
    // The addon takes (host, port, options, cb); the .d.ts only declares (port, options, cb).
    const listen = app.listen as unknown as (
      h: string,
      p: number,
      o: number,
      cb: (ls: us_listen_socket | false) => void,
    ) => void;
    listen.call(app, host, port, options.exclusive ? LISTEN_EXCLUSIVE_PORT : 0, done);
  });
}

/**
 * Listens on a unix socket path. uWS itself unlinks whatever is at the path before binding
 * (a live socket of another server, even a regular file), so this refuses a path that is
 * not a socket and a socket that accepts connections, and removes only a dead socket.
 * Only one App can own a path: unix sockets have no SO_REUSEPORT.
 */
export async function listenUnix(app: TemplatedApp, path: string): Promise<Listening> {
  let st: import('node:fs').Stats | null;
  try {
    st = lstatSync(path);
  } catch {
    st = null;
  }
  if (st !== null) {
    if (!st.isSocket()) {
      throw new ListenError('FCGATE_LISTEN_FAILED', `cannot listen on unix:${path}: it exists and is not a socket`);
    }
    if (await socketAlive(path)) {
      throw new ListenError(
        'FCGATE_PORT_IN_USE',
        `cannot listen on unix:${path}: another process is accepting connections there`,
      );
    }
    unlinkSync(path);
  }
  return await new Promise<Listening>((resolve, reject) => {
    app.listen_unix((ls) => {
      if ((ls as unknown) === false) {
        reject(new ListenError('FCGATE_LISTEN_FAILED', `cannot listen on unix:${path}`));
      } else {
        resolve({ port: 0, listenSocket: ls, path });
      }
    }, path);
  });
}

function socketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Stops accepting on one listen socket (open connections stay); unlinks a unix path. */
export function closeListening(listening: Listening): void {
  loadUws().us_listen_socket_close(listening.listenSocket);
  if (listening.path !== undefined && existsSync(listening.path)) {
    try {
      unlinkSync(listening.path);
    } catch {
      /* already gone: nothing to clean */
    }
  }
}

/**
 * Counts TCP sockets in LISTEN state on `port` that belong to no file descriptor of this
 * process (every thread shares the process's descriptor table): another program that
 * joined our SO_REUSEPORT group would show up here. Linux only (/proc); returns 0 where
 * /proc is missing. Sockets of other users' processes are visible too (only the inode is
 * compared), so a positive count is reliable.
 */
export function foreignListeners(port: number): number {
  const listening = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    const lines = text.split('\n');
    for (let i = 1; i < lines.length; i++) {
      const f = lines[i]!.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (f.length < 10 || f[3] !== '0A') continue; // 0A = TCP_LISTEN
      const local = f[1]!;
      if (parseInt(local.slice(local.indexOf(':') + 1), 16) !== port) continue;
      listening.add(f[9]!);
    }
  }
  if (listening.size === 0) return 0;
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return 0;
  }
  for (const fd of fds) {
    let link: string;
    try {
      link = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (link.startsWith('socket:[')) listening.delete(link.slice(8, -1));
  }
  return listening.size;
}

/** Throws FCGATE_PORT_SHARED when foreignListeners(port) finds another listener. */
export function assertPortOwned(port: number): void {
  const n = foreignListeners(port);
  if (n > 0) {
    throw new ListenError(
      'FCGATE_PORT_SHARED',
      `port ${port}: ${n} listening socket(s) of another process share it (SO_REUSEPORT); `
        + `they take a share of the connections (see: ss -ltnp 'sport = :${port}')`,
    );
  }
}
