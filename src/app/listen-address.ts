// Listen addresses as operators write them: `host:port`, `[::1]:port`, a bare port,
// `unix:/path` or an absolute path. Parsing only; responder-server.ts does the listening.
import type { BoundAddress, ListenAddress } from './responder-server.js';

/** Parses a listen address; throws a RangeError naming the bad value. */
export function parseListenAddress(text: string, defaultHost = '127.0.0.1'): ListenAddress {
  const s = text.trim();
  if (s.startsWith('unix:')) {
    const path = s.slice(5);
    if (path === '') throw new RangeError(`listen address "${text}": empty unix socket path`);
    return { path };
  }
  if (s.startsWith('/')) return { path: s };
  let host = defaultHost;
  let portText = s;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(s);
  if (v6 !== null) {
    host = v6[1]!;
    portText = v6[2]!;
  } else if (s.includes(':')) {
    const at = s.lastIndexOf(':');
    host = s.slice(0, at);
    portText = s.slice(at + 1);
    if (host === '' || host.includes(':'))
      throw new RangeError(`listen address "${text}": write IPv6 hosts as [addr]:port`);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new RangeError(`listen address "${text}": port must be 0..65535`);
  }
  return { host, port: Number(portText) };
}

/** `127.0.0.1:9000`, `[::1]:9000` or `unix:/path`, as the CLI prints it. */
export function formatAddress(a: BoundAddress | ListenAddress): string {
  if ('path' in a) return `unix:${a.path}`;
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
