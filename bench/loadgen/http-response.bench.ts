// Bench: reading one HTTP/1.1 response as fcgate bench does per request (nginx's answer to
// a static file: 8 header fields, a 13-byte body, in one socket read), HttpResponseParser
// against a naive parser that decodes the head to a string, splits it into lines and
// fields and looks up Content-Length and Connection. Both yield status, body length and
// keep-alive; neither keeps the body. Not timed: the socket.
import { deepStrictEqual } from 'node:assert/strict';
import { HttpResponseParser } from '../../src/loadgen/http-response.js';
import { runSuite } from '../harness.js';

const response = Buffer.from(
  'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Fri, 04 Dec 2026 04:40:05 GMT\r\n'
    + 'Content-Type: text/plain\r\nContent-Length: 13\r\nLast-Modified: Fri, 04 Dec 2026 04:39:10 GMT\r\n'
    + 'Connection: keep-alive\r\nETag: "6938d2ae-d"\r\nAccept-Ranges: bytes\r\n\r\nHello, world\n',
  'latin1',
);

interface Outcome {
  status: number;
  bodyBytes: number;
  keepAlive: boolean;
}

const parser = new HttpResponseParser();
function candidate(): Outcome {
  parser.begin(false);
  parser.push(response, 0, response.length);
  if (!parser.complete) throw new Error('incomplete');
  return { status: parser.status, bodyBytes: parser.bodyBytes, keepAlive: parser.keepAlive };
}

function naive(): Outcome {
  const text = response.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const lines = text.slice(0, end).split('\r\n');
  const status = Number(lines[0]!.split(' ')[1]);
  const fields: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    fields[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(fields['content-length']);
  const body = response.length - (end + 4);
  if (body !== length) throw new Error('incomplete');
  return { status, bodyBytes: length, keepAlive: (fields['connection'] ?? '').toLowerCase() !== 'close' };
}

deepStrictEqual(candidate(), naive());
deepStrictEqual(candidate(), { status: 200, bodyBytes: 13, keepAlive: true });

runSuite({
  suite: 'http-response',
  input: `nginx's answer to a static file: ${response.length} bytes, 8 fields, in one read`,
  candidates: [{ name: 'HttpResponseParser', fn: () => candidate().bodyBytes }],
  baseline: { name: 'naive string split', fn: () => naive().bodyBytes },
});
