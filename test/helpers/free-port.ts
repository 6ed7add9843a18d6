// A free loopback TCP port for tests: listen on port 0, read the port, close.
// Does not reserve the port; another process may take it before the caller binds it,
// so prefer listening on port 0 directly wherever the thing under test allows it.
import { createServer } from 'node:net';

/** Resolves to a TCP port that was free on `host` a moment ago. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port: 0, host, exclusive: true }, () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error(`freePort: unexpected address ${String(addr)}`));
        return;
      }
      const port = addr.port;
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}
