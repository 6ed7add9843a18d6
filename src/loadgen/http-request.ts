// The bytes of one HTTP/1.1 request, built once per URL before the run: every request of
// that URL is the same Buffer written again (one write per request, nothing built per
// request). Head and body go together in one Buffer.
//
//   GET /hello?x=1 HTTP/1.1\r\n
//   Host: 127.0.0.1:8080\r\n          (unless -H Host: … was given)
//   X-From-H: value\r\n               (each -H, in order)
//   Content-Length: 5\r\n             (a body, or POST/PUT/PATCH without one: 0)
//   Connection: close\r\n             (--no-keepalive)
//   \r\n
//   hello
import { headerValue, methodTakesBody, type RequestSpec } from './request-spec.js';
import type { Target } from './target.js';

/** RFC 9110 token characters (methods and header names). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Checks -m and -H values once, before the run; throws a message for the CLI (exit 2). */
export function checkRequestSpec(spec: RequestSpec): void {
  if (!TOKEN.test(spec.method)) throw new RangeError(`-m: "${spec.method}" is not a valid HTTP method`);
  for (const [name, value] of spec.headers) {
    if (!TOKEN.test(name)) throw new RangeError(`-H: "${name}" is not a valid header name`);
    if (/[\r\n\0]/.test(value)) throw new RangeError(`-H ${name}: the value holds CR, LF or NUL`);
    const lower = name.toLowerCase();
    if (lower === 'content-length' || lower === 'transfer-encoding') {
      throw new RangeError(`-H ${name}: set by fcgate bench from --body/--body-file; leave it out`);
    }
  }
}

/** The whole request as one Buffer (header values as UTF-8, as they came from the command line). */
export function buildHttpRequest(target: Target, spec: RequestSpec): Buffer {
  let head = `${spec.method} ${target.path}${target.query === '' ? '' : `?${target.query}`} HTTP/1.1\r\n`;
  if (headerValue(spec, 'host') === undefined) head += `Host: ${target.hostHeader}\r\n`;
  for (const [name, value] of spec.headers) head += `${name}: ${value}\r\n`;
  const bodyLength = spec.body?.length ?? 0;
  if (bodyLength > 0 || methodTakesBody(spec.method)) head += `Content-Length: ${bodyLength}\r\n`;
  if (!spec.keepAlive && headerValue(spec, 'connection') === undefined) head += 'Connection: close\r\n';
  head += '\r\n';
  const headLength = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLength + bodyLength);
  out.write(head, 0, headLength, 'utf8');
  if (spec.body !== null) out.set(spec.body, headLength);
  return out;
}
