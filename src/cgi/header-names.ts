// Request header name → FastCGI param name (RFC 3875 §4.1.18 "protocol-specific
// meta-variables"), with Apache's rules, cached per name. It does not decide values,
// order or CGIPassAuth: environment.ts does.
//
// Apache (server/util_script.c, ap_add_common_vars + http2env) turns a header into
// `HTTP_` + the name upper-cased with '-' → '_', and drops the header when its name
// holds anything but ASCII letters, digits and '-' (so `X_Under_Score`, `a.b`, `x~y`,
// `wow!` never reach the app: `X-Real_IP` and `X-Real-IP` would otherwise both become
// HTTP_X_REAL_IP, letting a client spoof a header a proxy in front had set).
// Special cases, all case-insensitive:
//   Content-Type / Content-Length → CONTENT_TYPE / CONTENT_LENGTH, in header order;
//   Proxy → never sent (httpoxy, CVE-2016-5385: HTTP_PROXY collides with the proxy
//           setting many HTTP client libraries read from the environment);
//   Authorization / Proxy-Authorization → only with `CGIPassAuth On` (flagged `auth`).

/** What one request header becomes. Shared, immutable: never mutate. */
export interface HeaderParam {
  /** The param name, e.g. 'HTTP_USER_AGENT', 'CONTENT_TYPE'. */
  readonly name: string;
  /** Authorization or Proxy-Authorization: sent only with CGIPassAuth On. */
  readonly auth: boolean;
}

/** Entries the unknown-name cache holds before it is emptied and refilled. */
export const HEADER_CACHE_LIMIT = 256;

function makeParam(name: string, auth: boolean): HeaderParam {
  return Object.freeze({ name, auth });
}

/**
 * Derives the param for a header name, or null when Apache would not export it.
 * Runs only on a cache miss; accepts any case.
 */
function deriveParam(headerName: string): HeaderParam | null {
  const n = headerName.length;
  if (n === 0) return null;
  let out = 'HTTP_';
  for (let i = 0; i < n; i++) {
    const c = headerName.charCodeAt(i);
    if (c >= 97 && c <= 122)
      out += String.fromCharCode(c - 32); // a-z → A-Z
    else if ((c >= 65 && c <= 90) || (c >= 48 && c <= 57)) out += headerName[i];
    else if (c === 45)
      out += '_'; // '-'
    else return null; // '_', '.', '~', '!', …
  }
  switch (out) {
    case 'HTTP_PROXY':
      return null; // httpoxy
    case 'HTTP_CONTENT_TYPE':
      return makeParam('CONTENT_TYPE', false);
    case 'HTTP_CONTENT_LENGTH':
      return makeParam('CONTENT_LENGTH', false);
    case 'HTTP_AUTHORIZATION':
    case 'HTTP_PROXY_AUTHORIZATION':
      return makeParam(out, true);
    default:
      return makeParam(out, false);
  }
}

// Headers browsers, curl, load balancers and CDNs commonly send. Everything else goes
// through the bounded cache below.
const COMMON_HEADERS = [
  'accept',
  'accept-charset',
  'accept-datetime',
  'accept-encoding',
  'accept-language',
  'access-control-request-headers',
  'access-control-request-method',
  'authorization',
  'cache-control',
  'cdn-loop',
  'connection',
  'content-encoding',
  'content-language',
  'content-length',
  'content-md5',
  'content-type',
  'cookie',
  'dnt',
  'early-data',
  'expect',
  'forwarded',
  'from',
  'host',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'keep-alive',
  'max-forwards',
  'origin',
  'pragma',
  'priority',
  'proxy-authorization',
  'purpose',
  'range',
  'referer',
  'save-data',
  'sec-ch-ua',
  'sec-ch-ua-mobile',
  'sec-ch-ua-platform',
  'sec-fetch-dest',
  'sec-fetch-mode',
  'sec-fetch-site',
  'sec-fetch-user',
  'sec-gpc',
  'sec-purpose',
  'sec-websocket-key',
  'sec-websocket-protocol',
  'sec-websocket-version',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'upgrade-insecure-requests',
  'user-agent',
  'via',
  'warning',
  'x-api-key',
  'x-correlation-id',
  'x-csrf-token',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-proto',
  'x-forwarded-scheme',
  'x-forwarded-ssl',
  'x-http-method-override',
  'x-original-url',
  'x-real-ip',
  'x-request-id',
  'x-requested-with',
  'x-xsrf-token',
] as const;

const wellKnown = new Map<string, HeaderParam>();
for (const h of COMMON_HEADERS) wellKnown.set(h, deriveParam(h)!);

/** Lower-case header name → its param, for the common headers (built once at load). */
export const WELL_KNOWN_HEADERS: ReadonlyMap<string, HeaderParam> = wellKnown;

// A dropped name is cached too, so a client repeating `X_Foo` costs one Map lookup.
const DROPPED: HeaderParam = makeParam('', false);
const seen = new Map<string, HeaderParam>();

/**
 * The param a request header becomes, or null when it is never sent (httpoxy,
 * names with characters other than letters, digits and '-'). `auth` params must
 * still be checked against CGIPassAuth by the caller.
 * Expects the lower-case name (as RequestSnapshot stores them); other cases work
 * but miss the well-known table.
 */
export function headerParamName(lowerName: string): HeaderParam | null {
  let p = wellKnown.get(lowerName);
  if (p !== undefined) return p;
  p = seen.get(lowerName);
  if (p === undefined) {
    // Emptying the whole cache when full keeps it bounded against clients that send
    // random names; deriving a name again is cheap, so no LRU bookkeeping.
    if (seen.size >= HEADER_CACHE_LIMIT) seen.clear();
    p = deriveParam(lowerName) ?? DROPPED;
    seen.set(lowerName, p);
  }
  return p === DROPPED ? null : p;
}
