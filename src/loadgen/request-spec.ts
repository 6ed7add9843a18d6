// What every request of a run carries besides its URL: method, headers, body, keep-alive,
// and for FastCGI targets the document root and --param overrides. Plain data: it
// crosses to the load threads by structured clone.

export interface RequestSpec {
  method: string;
  /** [name, value] in the order given (-H), names as written. */
  headers: Array<[string, string]>;
  /** The body bytes, or null for none. */
  body: Uint8Array | null;
  /** HTTP keep-alive / FCGI_KEEP_CONN (off with --no-keepalive). */
  keepAlive: boolean;
  /** FastCGI: SCRIPT_FILENAME is docroot + path; DOCUMENT_ROOT is sent. null: the path alone. */
  docroot: string | null;
  /** FastCGI --param: [name, value] adds or replaces; [name, null] removes. */
  params: Array<[string, string | null]>;
}

/** Whether the method expects a body (a Content-Length is sent for these even when empty). */
export function methodTakesBody(method: string): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH';
}

/** The value of header `name` (case-insensitive, the last one given), or undefined. */
export function headerValue(spec: RequestSpec, name: string): string | undefined {
  const lower = name.toLowerCase();
  let found: string | undefined;
  for (const [n, v] of spec.headers) if (n.toLowerCase() === lower) found = v;
  return found;
}
