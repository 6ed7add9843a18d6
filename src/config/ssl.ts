// mod_ssl's directives, parsed and checked here, served by front/tls.ts (uWS's
// SSLApp): `SSLEngine`, `SSLCertificateFile`, `SSLCertificateKeyFile`,
// `SSLCertificateChainFile`, `SSLProtocol`, `SSLCipherSuite`. Files are read and parsed
// now (node:crypto), so a missing file, a file that is no certificate or key, an encrypted
// key or a key that does not belong to the certificate stops startup naming the file.

import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';

export type TlsProtocol = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
const TLS_PROTOCOLS: readonly TlsProtocol[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

export interface PemFile {
  path: string;
  file: string;
  line: number;
}

export interface SslSettings {
  /** SSLEngine on/off; null = not set here. */
  engine: boolean | null;
  /** Where SSLEngine was set (for errors). */
  engineAt: { file: string; line: number } | null;
  certificateFile: PemFile | null;
  keyFile: PemFile | null;
  chainFile: PemFile | null;
  /** SSLProtocol as enabled protocols; null = not set (phase 2 picks the default). */
  protocols: TlsProtocol[] | null;
  /** SSLCipherSuite for TLS ≤ 1.2 (OpenSSL cipher list) and for TLS 1.3 (`SSLCipherSuite TLSv1.3 …`). */
  cipherSuite: string | null;
  cipherSuiteTls13: string | null;
}

export const emptySsl = (): SslSettings => ({
  engine: null,
  engineAt: null,
  certificateFile: null,
  keyFile: null,
  chainFile: null,
  protocols: null,
  cipherSuite: null,
  cipherSuiteTls13: null,
});

/**
 * `SSLProtocol [+|-]protocol …` as mod_ssl reads it: a word without a sign replaces the
 * set, `+` adds, `-` removes; `all` is TLSv1 to TLSv1.3. SSLv2/SSLv3 may only be removed.
 *   all -TLSv1 -TLSv1.1  → TLSv1.2 TLSv1.3
 */
export function parseProtocols(args: readonly string[]): TlsProtocol[] {
  if (args.length === 0) throw new Error('expected protocols, e.g. "all -TLSv1 -TLSv1.1"');
  let set = new Set<TlsProtocol>();
  for (const a of args) {
    const sign = a[0] === '+' || a[0] === '-' ? a[0] : '';
    const name = a.slice(sign.length);
    let these: TlsProtocol[];
    if (name.toLowerCase() === 'all') these = [...TLS_PROTOCOLS];
    else if (/^sslv[23]$/i.test(name)) {
      if (sign !== '-') throw new Error(`${name} is not supported (insecure; only "-${name}" is accepted)`);
      continue;
    } else {
      const p = TLS_PROTOCOLS.find((t) => t.toLowerCase() === name.toLowerCase());
      if (p === undefined) throw new Error(`unknown protocol "${a}" (all, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)`);
      these = [p];
    }
    if (sign === '-') for (const t of these) set.delete(t);
    else if (sign === '+') for (const t of these) set.add(t);
    else set = new Set(these);
  }
  const out = TLS_PROTOCOLS.filter((t) => set.has(t));
  if (out.length === 0) throw new Error(`"${args.join(' ')}" enables no protocol`);
  return out;
}

/** Reads and checks a certificate file (one or more PEM certificates); returns the first. */
export function checkCertificate(text: string, path: string): X509Certificate {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (blocks === null) throw new Error(`${path} holds no PEM certificate`);
  let first: X509Certificate | null = null;
  for (const b of blocks) {
    try {
      const c = new X509Certificate(b);
      first ??= c;
    } catch (e) {
      throw new Error(`${path}: a certificate cannot be read: ${(e as Error).message}`);
    }
  }
  return first!;
}

/** Reads and checks a private key file (PEM; an encrypted key is refused). */
export function checkKey(text: string, path: string): KeyObject {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw new Error(`${path} holds no PEM private key`);
  try {
    return createPrivateKey({ key: text, format: 'pem' });
  } catch (e) {
    const msg = (e as Error).message;
    if (/passphrase|encrypted/i.test(msg) || /ENCRYPTED/.test(text)) {
      throw new Error(`${path}: the key is encrypted; fcgate needs it unencrypted (no SSLPassPhraseDialog)`);
    }
    throw new Error(`${path}: the private key cannot be read: ${msg}`);
  }
}

/** Does the key belong to the certificate? Throws naming both files when not. */
export function checkPair(cert: X509Certificate, key: KeyObject, certPath: string, keyPath: string): void {
  if (!cert.checkPrivateKey(key)) {
    throw new Error(`${keyPath} is not the private key of the certificate in ${certPath}`);
  }
}
