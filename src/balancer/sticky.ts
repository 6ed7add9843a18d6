// Sticky sessions as mod_proxy_balancer finds them: `stickysession=NAME` (or
// `COOKIE|urlparam`) names a cookie and a URL parameter whose value ends in ".route";
// the member whose `route` equals it gets the request. Only string work: which member
// that is, and what happens when it is unusable, is balancer.ts's.
//
//   stickysession=JSESSIONID   Cookie: JSESSIONID=abc.node2      → route "node2"
//   stickysession=PHPSESSID|sid  /x?sid=77.b  or  /x;sid=77.b      → route "b" (URL first)
//   value without a '.'                                            → no route (Apache too)

export interface StickyNames {
  cookie: string;
  url: string;
}

/** `JSESSIONID|jsessionid` → cookie JSESSIONID, URL parameter jsessionid; one name = both. */
export function stickyNames(setting: string): StickyNames {
  const bar = setting.indexOf('|');
  return bar < 0
    ? { cookie: setting, url: setting }
    : { cookie: setting.slice(0, bar), url: setting.slice(bar + 1) || setting.slice(0, bar) };
}

/** The part after the first '.', or null (Apache: no dot, no route). */
function routeOf(value: string | null): string | null {
  if (value === null) return null;
  const dot = value.indexOf('.');
  return dot < 0 || dot === value.length - 1 ? null : value.slice(dot + 1);
}

/** `name=value` among `sep`-separated pairs (query string, path parameters, cookie header). */
function pairValue(text: string, name: string, sep: RegExp): string | null {
  for (const part of text.split(sep)) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/**
 * The route a request asks for: the URL parameter (`?name=` / `&name=` / `;name=` in the
 * path, Apache's scolonpathdelim default) first, then the cookie. `cookie` is the joined
 * Cookie header or undefined.
 */
export function stickyRoute(
  names: StickyNames,
  path: string,
  query: string,
  cookie: string | undefined,
): string | null {
  let v: string | null = null;
  const semi = path.indexOf(';');
  if (semi >= 0) v = pairValue(path.slice(semi + 1), names.url, /[;/]/);
  if (v === null && query !== '') v = pairValue(query, names.url, /[&;]/);
  let route = routeOf(v);
  if (route === null && cookie !== undefined) route = routeOf(pairValue(cookie, names.cookie, /;/));
  return route;
}
