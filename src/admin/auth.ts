// Who may use the admin listener when FCGATE_MANAGER_TOKEN is set (issue 9, item 13):
// - the token is compared by its SHA-256 digest with timingSafeEqual, so neither its
//   content nor its length shows in the time an answer takes;
// - it is accepted only in `Authorization: Bearer …` or the login form's POST body, never
//   in a URL (URLs end up in logs, history and Referer headers);
// - a browser that logged in gets a session cookie derived from the token, not the token:
//   `<expiry>.<HMAC-SHA256(token, "fcgate-admin-session:" + expiry)>`, valid until its
//   expiry, and invalid everywhere as soon as the token changes.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'fcgate_admin';
/** How long a login lasts. */
export const SESSION_TTL_S = 12 * 3600;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Equal texts, compared without leaking where they differ or how long either is. */
export function digestEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

function mac(token: string, expiry: number): string {
  return createHmac('sha256', token).update(`fcgate-admin-session:${expiry}`).digest('base64url');
}

export class TokenAuth {
  constructor(private readonly token: string) {}

  /** An Authorization header value that carries the token. */
  bearerOk(authorization: string | undefined): boolean {
    if (authorization === undefined || !/^bearer /i.test(authorization)) return false;
    return digestEqual(authorization.slice(7).trim(), this.token);
  }

  /** A token typed into the login form. */
  tokenOk(given: string): boolean {
    return digestEqual(given, this.token);
  }

  /** A new session cookie value, valid for SESSION_TTL_S from `nowS`. */
  session(nowS = Math.floor(Date.now() / 1000)): string {
    const expiry = nowS + SESSION_TTL_S;
    return `${expiry}.${mac(this.token, expiry)}`;
  }

  /** Whether a Cookie header holds a valid, unexpired session. */
  cookieOk(cookieHeader: string | undefined, nowS = Math.floor(Date.now() / 1000)): boolean {
    if (cookieHeader === undefined) return false;
    const m = new RegExp(`(?:^|;\\s*)${SESSION_COOKIE}=(\\d{1,12})\\.([A-Za-z0-9_-]{1,100})`).exec(cookieHeader);
    if (m === null) return false;
    const expiry = Number(m[1]);
    if (expiry < nowS) return false;
    return digestEqual(m[2]!, mac(this.token, expiry));
  }
}
