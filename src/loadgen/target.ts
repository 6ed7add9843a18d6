// What `fcgate bench` loads: a target URL parsed into where to connect and what to ask.
//
//   http://127.0.0.1:8080/hello?x=1                 HTTP/1.1 over TCP
//   fcgi://127.0.0.1:9000/index.php?x=1             FastCGI over TCP (port 9000 by default)
//   unix:/run/php/php-fpm.sock|fcgi://localhost/index.php   FastCGI over a unix socket
//   unix:/run/fcgate.sock|http://localhost/hello    HTTP over a unix socket
//
// The `unix:PATH|URL` form is Apache's (mod_proxy's `unix:/path|fcgi://host/`): the URL
// after the bar names the host (HTTP Host / SERVER_NAME) and the path; the socket is where
// to connect. Parsing only: no sockets here.

export type TargetKind = 'http' | 'fcgi';

/** Where to connect: TCP or a unix socket. */
export type ConnectAddress = { host: string; port: number } | { path: string };

export interface Target {
  /** The text as the user gave it (reports show it). */
  text: string;
  kind: TargetKind;
  address: ConnectAddress;
  /** Host name from the URL, without brackets ([::1] → ::1). */
  hostname: string;
  /** The port named in the URL, or the scheme's default (80 / 9000). */
  port: number;
  /** `host[:port]` as the HTTP Host header writes it (default port left out). */
  hostHeader: string;
  /** Decoded only as far as the URL parser does: as it goes on the wire. Starts with '/'. */
  path: string;
  /** Without the '?'; '' when there is none. */
  query: string;
}

/** A bad target; the CLI prints the message and exits 2. */
export class TargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetError';
  }
}

const DEFAULT_PORT: Record<TargetKind, number> = { http: 80, fcgi: 9000 };

/** `address` as reports print it: `127.0.0.1:9000`, `[::1]:9000`, `unix:/run/php.sock`. */
export function formatConnectAddress(a: ConnectAddress): string {
  if ('path' in a) return `unix:${a.path}`;
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Parses a target; throws a TargetError saying what is wrong and what is expected. */
export function parseTarget(text: string): Target {
  let socketPath: string | null = null;
  let rest = text.trim();
  if (rest.startsWith('unix:')) {
    const bar = rest.indexOf('|');
    if (bar < 0) {
      throw new TargetError(
        `target "${text}": a unix socket target is unix:/path|fcgi://host/script or unix:/path|http://host/path`,
      );
    }
    socketPath = rest.slice(5, bar);
    if (socketPath === '') throw new TargetError(`target "${text}": empty unix socket path`);
    rest = rest.slice(bar + 1);
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(rest)?.[1]?.toLowerCase();
  if (scheme !== 'http' && scheme !== 'fcgi') {
    if (scheme === 'https')
      throw new TargetError(`target "${text}": https is not supported (load the plain HTTP listener)`);
    throw new TargetError(
      `target "${text}": expected http://host[:port]/path, fcgi://host[:port]/script, or unix:/path|fcgi://host/script`,
    );
  }
  let url: URL;
  try {
    url = new URL(rest);
  } catch {
    throw new TargetError(`target "${text}": not a valid URL`);
  }
  if (url.username !== '' || url.password !== '')
    throw new TargetError(`target "${text}": user:password@ is not supported (send -H 'Authorization: …')`);
  if (url.hash !== '') throw new TargetError(`target "${text}": a #fragment is never sent; leave it out`);
  const kind: TargetKind = scheme;
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (hostname === '') throw new TargetError(`target "${text}": no host`);
  const port = url.port === '' ? DEFAULT_PORT[kind] : Number(url.port);
  // Non-special schemes (fcgi:) keep the path as written; an empty one means '/'.
  const path = url.pathname === '' ? '/' : url.pathname;
  const query = url.search.startsWith('?') ? url.search.slice(1) : '';
  const hostForHeader = hostname.includes(':') ? `[${hostname}]` : hostname;
  const hostHeader = url.port === '' ? hostForHeader : `${hostForHeader}:${port}`;
  const address: ConnectAddress = socketPath !== null ? { path: socketPath } : { host: hostname, port };
  return { text, kind, address, hostname, port, hostHeader, path, query };
}

/** True when both targets connect to the same place (a --urls file must use one). */
export function sameAddress(a: ConnectAddress, b: ConnectAddress): boolean {
  if ('path' in a || 'path' in b) return 'path' in a && 'path' in b && a.path === b.path;
  return a.host === b.host && a.port === b.port;
}
