// Which path and query an app mounted behind a gateway should route on, from the CGI
// environment alone. Behind `ProxyPass /app/ fcgi://host:9000/` Apache (and fcgate) send
// SCRIPT_FILENAME `proxy:fcgi://host:9000/hello` for `/app/hello` and REQUEST_URI
// `/app/hello` (docs/apache-differences.md, "What fcgate copies"): the part after the authority is the app's own
// path. Run directly (cgi-fcgi, PHP-FPM style env) REQUEST_URI or SCRIPT_NAME+PATH_INFO is.

export interface AppTarget {
  /** The app-relative path, %-decoded where that is valid: `/hello`. */
  path: string;
  /** The raw query string without '?'. */
  query: string;
  /** Where the app is mounted as the client sees it (`/app`), '' when unknown or at the root. */
  base: string;
}

const PROXY_URL = /^proxy:[a-z][a-z0-9+.-]*:\/\/[^/]*/i;

function decode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** The path part of a request target: query cut, absolute-form scheme and authority removed. */
function uriPath(uri: string): string {
  const q = uri.indexOf('?');
  let p = q >= 0 ? uri.slice(0, q) : uri;
  const abs = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(p);
  if (abs !== null) p = p.slice(abs[0].length);
  return p === '' ? '/' : p;
}

export function resolveTarget(params: ReadonlyMap<string, string>): AppTarget {
  const uri = params.get('REQUEST_URI') || undefined; // empty counts as absent
  const q = uri === undefined ? -1 : uri.indexOf('?');
  const query = params.get('QUERY_STRING') ?? (q >= 0 ? uri!.slice(q + 1) : '');
  const clientPath = uri === undefined ? undefined : decode(uriPath(uri));

  let path: string;
  const sf = params.get('SCRIPT_FILENAME') ?? '';
  const proxied = PROXY_URL.exec(sf);
  if (proxied !== null) {
    path = decode(uriPath(sf.slice(proxied[0].length)));
    if (!path.startsWith('/')) path = '/' + path;
  } else if (clientPath !== undefined) {
    path = clientPath;
  } else {
    path = (params.get('SCRIPT_NAME') ?? '') + (params.get('PATH_INFO') ?? '');
    if (path === '') path = '/';
  }

  let base = '';
  if (clientPath !== undefined && clientPath !== path && clientPath.endsWith(path)) {
    base = clientPath.slice(0, clientPath.length - path.length);
  }
  if (base.endsWith('/')) base = base.slice(0, -1);
  return { path, query, base };
}
