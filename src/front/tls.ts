// TLS listeners (issue 11 §2): `Listen 443 https` + `SSLEngine on` served by uWS's SSLApp
// in every serving thread. The listener's default site (the first vhost on it, else the main
// server) gives the certificate a client without a matching SNI name gets; every site on it
// that has names is also added as an SNI context (addServerName + its own domain router, with
// the same handler), so each name gets its own certificate.
//
// What the SSLApp options reach (uSockets): key and certificate files, a passphrase (fcgate
// refuses encrypted keys at load: no SSLPassPhraseDialog), the TLS ≤ 1.2 cipher list;
// TLS 1.2 is the minimum and there is no maximum (the config check refuses an SSLProtocol
// that asks for something else). A chain file (SSLCertificateChainFile) is appended to the
// certificate in a file of fcgate's own (0600, in a private 0700 folder under the OS temp
// dir, removed at exit), since uSockets reads one PEM file for the whole chain.
//
// Reload (SIGHUP): the gateway opens a new SSLApp with the files as they are now on the same
// port and retires the old one (gateway.ts reloadTls): new connections get the new
// certificates, open ones keep theirs. Not in place: removeServerName on a context that live
// connections use crashed the process (SIGSEGV, uwebsockets@3.0.6, measured while writing
// test/integration/tls.test.ts), and the default context has no call to replace it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SiteConfig } from '../config/model.js';
import type { SslSettings } from '../config/ssl.js';
import type { HttpRequest, HttpResponse, TemplatedApp, Uws } from './uws.js';

type AppOptions = Parameters<Uws['SSLApp']>[0];
type Handler = (res: HttpResponse, req: HttpRequest) => void;

/** The files uSockets reads for one site: a full chain written by fcgate when needed. */
export class TlsFiles {
  private dir: string | null = null;
  private serial = 0;

  /** The SSLApp options for `ssl` (certificate and key checked at load). */
  options(ssl: SslSettings): AppOptions {
    const cert = ssl.certificateFile!.path;
    const o: AppOptions = { key_file_name: ssl.keyFile!.path, cert_file_name: cert };
    if (ssl.chainFile !== null) {
      const pem = `${readFileSync(cert, 'latin1').trimEnd()}\n${readFileSync(ssl.chainFile.path, 'latin1').trimEnd()}\n`;
      this.dir ??= mkdtempSync(join(tmpdir(), 'fcgate-tls-'));
      const file = join(this.dir, `chain-${process.pid}-${++this.serial}.pem`);
      writeFileSync(file, pem, { mode: 0o600 });
      o.cert_file_name = file;
    }
    if (ssl.cipherSuite !== null) o.ssl_ciphers = ssl.cipherSuite;
    return o;
  }

  /** Removes the chain files (at close). */
  remove(): void {
    if (this.dir !== null) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}

/** One site on a TLS listener and the names its certificate answers. */
export interface TlsSite {
  site: SiteConfig;
  names: readonly string[];
}

/**
 * An SSLApp for a listener whose sites are `sites` (the default first), every name routed
 * to `handler`. Throws when uSockets cannot load the files (the message names them).
 */
export function tlsApp(uws: Uws, sites: readonly TlsSite[], files: TlsFiles, handler: Handler): TemplatedApp {
  const first = sites[0]!.site.ssl!;
  const app = uws.SSLApp(files.options(first));
  app.any('/*', handler);
  addNames(app, sites, files, handler);
  return app;
}

function addNames(app: TemplatedApp, sites: readonly TlsSite[], files: TlsFiles, handler: Handler): string[] {
  const done = new Set<string>();
  for (const s of sites) {
    const ssl = s.site.ssl;
    if (ssl === null || ssl.engine !== true) continue;
    for (const name of s.names) {
      if (done.has(name)) continue; // a name of two sites: the first one's (Apache's order)
      done.add(name);
      app.addServerName(name, files.options(ssl));
      app.domain(name).any('/*', handler);
    }
  }
  return [...done];
}

/** The certificate file a site serves, for log lines. */
export const certificateOf = (s: TlsSite): string => s.site.ssl?.certificateFile?.path ?? '(none)';
