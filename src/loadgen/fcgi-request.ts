// The bytes of one FastCGI request, built once per URL and request id before they are
// needed: BEGIN_REQUEST, the CGI environment a web server would send as PARAMS, and the
// body as STDIN, all by src/protocol (writePreamble, frameCopy). Every request of that URL
// and id is the same Buffer written again.
//
// The environment (RFC 3875 §4.1 plus what nginx's fastcgi_params and Apache send):
//   GATEWAY_INTERFACE=CGI/1.1  SERVER_SOFTWARE=fcgate-bench  SERVER_PROTOCOL=HTTP/1.1
//   REQUEST_METHOD, REQUEST_SCHEME=http, REQUEST_URI=path?query, DOCUMENT_URI=path,
//   SCRIPT_NAME=path, SCRIPT_FILENAME=docroot+path (the path alone without --docroot),
//   DOCUMENT_ROOT (with --docroot), QUERY_STRING, SERVER_NAME / SERVER_PORT (from the URL),
//   SERVER_ADDR=REMOTE_ADDR=127.0.0.1, CONTENT_TYPE / CONTENT_LENGTH (a body, or a POST),
//   HTTP_HOST and one HTTP_* per -H header (Content-Type/-Length go to CONTENT_*; a Proxy
//   header is dropped, as web servers do since httpoxy). --param NAME=VALUE then adds or
//   replaces, --param NAME removes.
import { frameCopy, writePreamble, RecordType } from '../protocol/index.js';
import { methodTakesBody, type RequestSpec } from './request-spec.js';
import type { Target } from './target.js';

/** The CGI environment for `target` as a flat [name, value, …] list. */
export function buildCgiParams(target: Target, spec: RequestSpec): string[] {
  const env = new Map<string, string>();
  const docroot = spec.docroot === null ? null : spec.docroot.replace(/\/+$/, '');
  env.set('GATEWAY_INTERFACE', 'CGI/1.1');
  env.set('SERVER_SOFTWARE', 'fcgate-bench');
  env.set('SERVER_PROTOCOL', 'HTTP/1.1');
  env.set('REQUEST_METHOD', spec.method);
  env.set('REQUEST_SCHEME', 'http');
  env.set('REQUEST_URI', target.query === '' ? target.path : `${target.path}?${target.query}`);
  env.set('DOCUMENT_URI', target.path);
  env.set('SCRIPT_NAME', target.path);
  env.set('SCRIPT_FILENAME', docroot === null ? target.path : `${docroot}${target.path}`);
  if (docroot !== null) env.set('DOCUMENT_ROOT', docroot === '' ? '/' : docroot);
  env.set('QUERY_STRING', target.query);
  env.set('SERVER_NAME', target.hostname);
  env.set('SERVER_PORT', String(target.port));
  env.set('SERVER_ADDR', '127.0.0.1');
  env.set('REMOTE_ADDR', '127.0.0.1');
  const bodyLength = spec.body?.length ?? 0;
  if (bodyLength > 0 || methodTakesBody(spec.method)) env.set('CONTENT_LENGTH', String(bodyLength));
  env.set('HTTP_HOST', target.hostHeader);
  for (const [name, value] of spec.headers) {
    const lower = name.toLowerCase();
    if (lower === 'content-type') {
      env.set('CONTENT_TYPE', value);
      continue;
    }
    if (lower === 'proxy') continue;
    const key = `HTTP_${name.toUpperCase().replace(/-/g, '_')}`;
    // Repeated request headers are joined as a web server joins them (RFC 9110 §5.3).
    const had = env.get(key);
    env.set(key, had === undefined || key === 'HTTP_HOST' ? value : `${had}, ${value}`);
  }
  for (const [name, value] of spec.params) {
    if (value === null) env.delete(name);
    else env.set(name, value);
  }
  const flat: string[] = [];
  for (const [k, v] of env) flat.push(k, v);
  return flat;
}

/**
 * One whole request for request id `id`: BEGIN_REQUEST (FCGI_KEEP_CONN as asked), PARAMS,
 * and STDIN (the body, then the empty record) in one Buffer.
 */
export function buildFcgiRequest(
  id: number,
  params: readonly string[],
  body: Uint8Array | null,
  keepConn: boolean,
): Buffer {
  const hasBody = body !== null && body.length > 0;
  const preamble = writePreamble(id, params, { keepConn, endStdin: !hasBody });
  if (!hasBody) return preamble;
  const stdin = frameCopy(RecordType.Stdin, id, body, true);
  const out = Buffer.allocUnsafe(preamble.length + stdin.length);
  preamble.copy(out, 0);
  stdin.copy(out, preamble.length);
  return out;
}
