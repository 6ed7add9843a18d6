// A serving thread's uWS apps, one per `Listen`: plain HTTP (App) or TLS (SSLApp, front/tls.ts),
// each routing every request to the gateway's handler and reporting connection counts; and on
// SIGHUP, TLS listeners replaced by new ones with the certificate files as they are then.
// Nothing here reads a request: the gateway does (onRequest).
import type { GatewayConfig, ListenAddress } from '../config/model.js';
import { sitesOn } from '../config/sites.js';
import { closeListening, listenApp, type Listening } from './listen.js';
import type { LocalEndpoint } from './snapshot.js';
import { certificateOf, tlsApp, TlsFiles, type TlsSite } from './tls.js';
import { loadUws, type HttpRequest, type HttpResponse, type TemplatedApp } from './uws.js';

export interface ListenersOptions {
  /** SO_REUSEPORT (the serving threads share their ports); false: this process alone binds each port. */
  shared: boolean;
  log: (line: string) => void;
  onRequest: (res: HttpResponse, req: HttpRequest, local: LocalEndpoint) => void;
  /** +1 per connection opened, -1 per closed (uWS's filter), for the metrics. */
  onConnections: (count: number) => void;
}

/** One uWS app and its listener. */
interface AppEntry {
  app: TemplatedApp;
  listening: Listening | null;
  local: LocalEndpoint;
  listen: ListenAddress;
  /** The sites of a TLS listener (the default first); null for plain HTTP. */
  tls: TlsSite[] | null;
  handler: (res: HttpResponse, req: HttpRequest) => void;
  /** Connections open now, and whether a TLS reload replaced it. */
  open: number;
  retired: boolean;
}

let markRemoved = false;

export class Listeners {
  private readonly apps: AppEntry[] = [];
  /** Listeners replaced by a TLS reload that still have connections. */
  private readonly retired = new Set<AppEntry>();
  /** Chain files written for TLS sites (removed at close). */
  private readonly tlsFiles = new TlsFiles();

  constructor(private readonly options: ListenersOptions) {}

  /** Listens on every address of `config`; returns the bound endpoints. */
  async listen(config: GatewayConfig): Promise<LocalEndpoint[]> {
    const uws = loadUws();
    // Don't advertise the library in every response ("uWebSockets: 20"): undocumented but
    // measured, process-wide (native-notes/uws.md).
    const cfg = (uws as unknown as { _cfg?: (key: string) => void })._cfg;
    if (typeof cfg === 'function' && !markRemoved) {
      cfg('999999990007');
      markRemoved = true;
    }
    const out: LocalEndpoint[] = [];
    for (const l of config.listen) {
      const host = l.host ?? '0.0.0.0';
      const https = l.protocol === 'https';
      const local: LocalEndpoint = https
        ? { address: host, port: l.port, scheme: 'https' }
        : { address: host, port: l.port };
      const handler = (res: HttpResponse, req: HttpRequest): void => this.options.onRequest(res, req, local);
      let app: TemplatedApp;
      let tls: TlsSite[] | null = null;
      if (https) {
        tls = sitesOn(config, l);
        try {
          app = tlsApp(uws, tls, this.tlsFiles, handler);
        } catch (err) {
          throw new Error(
            `Listen ${host}:${l.port} https: uWebSockets.js could not load the certificate `
              + `${certificateOf(tls[0]!)}: ${(err as Error).message}`,
          );
        }
      } else {
        app = uws.App();
        app.any('/*', handler);
      }
      const entry: AppEntry = { app, listening: null, local, listen: l, tls, handler, open: 0, retired: false };
      app.filter((_res, count) => this.onConnections(entry, count as number));
      entry.listening = await listenApp(app, host, l.port, { exclusive: !this.options.shared });
      entry.local.port = entry.listening.port;
      this.apps.push(entry);
      out.push({ ...entry.local });
    }
    return out;
  }

  /** Stops accepting; open connections go on. */
  stopListening(): void {
    for (const a of this.apps)
      if (a.listening !== null) {
        closeListening(a.listening);
        a.listening = null;
      }
  }

  /** Closes every app and its connections at once. */
  close(): void {
    this.stopListening();
    for (const a of this.apps) a.app.close();
    for (const a of this.retired) a.app.close();
    this.retired.clear();
    this.tlsFiles.remove();
  }

  /**
   * SIGHUP with TLS listeners whose files may have changed: a new SSLApp with the files as
   * they are now listens on the same port (SO_REUSEPORT: the serving threads share their
   * ports), then the old listen socket closes; the old app keeps its open connections and is
   * closed once the last one is gone (front/tls.ts says why not in place). Listeners that
   * listen alone (exclusive port) cannot: a line says a restart is needed. One line each.
   * A listener the new configuration no longer has keeps serving as it was (restart).
   */
  reloadTls(config: GatewayConfig): void {
    const uws = loadUws();
    const log = this.options.log;
    for (const a of [...this.apps]) {
      if (a.tls === null || a.listening === null) continue;
      const l = a.listen;
      const where = `listen=${a.local.address}:${a.local.port}`;
      if (!config.listen.some((x) => x.host === l.host && x.port === l.port && x.protocol === 'https')) continue;
      if (!this.options.shared) {
        log(
          `FCGATE_TLS_RELOAD_FAILED ${where} cause="this gateway listens alone (exclusive port): restart it to serve new certificates"`,
        );
        continue;
      }
      const after = sitesOn(config, l);
      let app: TemplatedApp;
      try {
        app = tlsApp(uws, after, this.tlsFiles, a.handler);
      } catch (err) {
        log(
          `FCGATE_TLS_RELOAD_FAILED ${where} cause="${(err as Error).message.replace(/"/g, "'")}": the old certificates stay`,
        );
        continue;
      }
      const entry: AppEntry = { ...a, app, listening: null, tls: after, open: 0, retired: false };
      app.filter((_res, count) => this.onConnections(entry, count as number));
      listenApp(app, a.local.address, a.local.port, { exclusive: false }).then(
        (listening) => {
          entry.listening = listening;
          this.apps.push(entry);
          this.retire(a);
          log(
            `FCGATE_TLS_RELOADED ${where} default_certificate=${certificateOf(after[0]!)} `
              + `names=${after.flatMap((x) => x.names).join(',') || '(none)'}`,
          );
        },
        (err: Error) => {
          app.close();
          log(`FCGATE_TLS_RELOAD_FAILED ${where} cause="${err.message.replace(/"/g, "'")}": the old certificates stay`);
        },
      );
    }
  }

  /** A listener replaced (TLS reload): it stops accepting; its app closes with its last connection. */
  private retire(a: AppEntry): void {
    const i = this.apps.indexOf(a);
    if (i >= 0) this.apps.splice(i, 1);
    if (a.listening !== null) {
      closeListening(a.listening);
      a.listening = null;
    }
    a.retired = true;
    if (a.open <= 0) a.app.close();
    else this.retired.add(a);
  }

  private onConnections(a: AppEntry, count: number): void {
    a.open += count;
    this.options.onConnections(count);
    if (a.retired && a.open <= 0 && this.retired.delete(a)) setImmediate(() => a.app.close());
  }
}
