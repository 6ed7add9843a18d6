// What the gateway keeps of one HTTP request: a plain snapshot copied out of uWS
// synchronously (front/snapshot.ts), read by config routing and the CGI builder.
// No uWS types here: tests build snapshots by hand.

export interface RequestSnapshot {
  /** Request method, upper-cased (uWS hands it lower-case). */
  method: string;
  /** The raw path as received, %-escapes and dot segments untouched, no query. */
  path: string;
  /** The raw query string without '?'; '' when there is none. */
  query: string;
  /**
   * Request headers in arrival order, names lower-case, one entry per name:
   * repeated headers joined with ", " (Cookie with "; ").
   */
  headers: Array<[name: string, value: string]>;
  remoteAddress: string;
  /** Client port when known (PROXY protocol); uWS offers none otherwise. */
  remotePort: string;
  /** The address and port of the listening socket the request came in on. */
  localAddress: string;
  localPort: number;
  /** 'http' or 'https'. */
  scheme: string;
  /** Always 'HTTP/1.1' through uWS. */
  protocol: string;
}

/** Case-insensitive header lookup on a snapshot (names are stored lower-case). */
export function headerOf(req: RequestSnapshot, lowerName: string): string | undefined {
  const h = req.headers;
  for (let i = 0; i < h.length; i++) if (h[i]![0] === lowerName) return h[i]![1];
  return undefined;
}
