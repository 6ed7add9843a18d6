// The demo app's misbehaving routes, for the gateway's integration tests: garbage bytes,
// a connection closed before or inside a response, STDERR, verbatim CGI header lines,
// a request that never ends, data after the end of STDOUT, and a per-connection counter.
// Mounted only with `testRoutes: true` (never by `npm start`).
import { ProtocolStatus, RecordType } from '../protocol/constants.js';
import { encodeEndRequest } from '../protocol/management.js';
import { frameCopy, streamEnd } from '../protocol/stream-writer.js';
import { intParam, sendText, type DemoRoute } from './demo-respond.js';

/** Bytes that are not a FastCGI record (version byte 'H'). */
const GARBAGE = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nthis is not FastCGI\n', 'latin1');

/** Not FastCGI at all, then the connection ends. */
const garbage: DemoRoute = (_req, res) => {
  res.rawWrite(GARBAGE);
  res.endConnection();
};

/**
 * A complete head and `bytes` (default 1000) of body, then the connection ends without
 * END_REQUEST. `location=PATH`: the head is a local redirect (Location without Status).
 */
const dieMidResponse: DemoRoute = (_req, res, target) => {
  const q = new URLSearchParams(target.query);
  const n = intParam(q, 'bytes', 1000, 1 << 24) ?? 1000;
  const location = q.get('location');
  if (location !== null) {
    res.write(`Location: ${location}\r\n\r\n`);
    res.endConnection();
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': n * 2 });
  res.write(Buffer.alloc(n, 'x'));
  res.endConnection();
};

/** The connection ends before any STDOUT. */
const closeBeforeHead: DemoRoute = (_req, res) => res.endConnection();

/** Part of a head, then the connection ends. */
const closeInHead: DemoRoute = (_req, res) => {
  res.write('Status: 200 OK\r\nContent-Ty');
  res.endConnection();
};

/** `lines` (default 3) STDERR lines, then a normal answer. */
const stderr: DemoRoute = (req, res, target) => {
  const n = intParam(new URLSearchParams(target.query), 'lines', 3, 1000) ?? 3;
  for (let i = 0; i < n; i++) res.stderr(`demo stderr line ${i} of request ${req.id}\n`);
  sendText(res, 200, `wrote ${n} stderr lines\n`);
};

/**
 * CGI header lines written verbatim: each `h=` parameter is one line, in order
 * (`?h=Status: 302 Found&h=Location: /x&h=Set-Cookie: a=1&h=Set-Cookie: b=2`),
 * then the blank line and `body=`. `lf=1` ends lines with LF only; `raw=` replaces
 * everything with its own text as the whole STDOUT (unterminated heads, no head, …).
 */
const headers: DemoRoute = (_req, res, target) => {
  const q = new URLSearchParams(target.query);
  const raw = q.get('raw');
  if (raw !== null) {
    res.write(raw);
    res.end();
    return;
  }
  const eol = q.get('lf') === '1' ? '\n' : '\r\n';
  let head = '';
  for (const line of q.getAll('h')) head += line + eol;
  res.write(head + eol + (q.get('body') ?? ''));
  res.end();
};

/** Never answers; ends only by an abort or the connection closing. */
const hang: DemoRoute = () => {};

/** Which backend connection served this, and how many requests it has begun (reuse checks). */
const countConnection: DemoRoute = (req, res) => {
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'X-Connection': req.connectionId,
    'X-Connection-Requests': req.requestOnConnection,
  });
  res.write(`{"connection":${req.connectionId},"requests":${req.requestOnConnection},"keepConn":${req.keepConn}}\n`);
  res.end();
};

/** A complete answer, the empty STDOUT record, then more STDOUT, then END_REQUEST. */
const afterEnd: DemoRoute = (req, res) => {
  res.write('Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nbefore the end\n');
  res.rawWrite(streamEnd(RecordType.Stdout, req.id));
  res.rawWrite(frameCopy(RecordType.Stdout, req.id, Buffer.from('AFTER THE END\n')));
  res.rawWrite(encodeEndRequest(req.id, 0, ProtocolStatus.RequestComplete));
  res.detach();
};

/**
 * A complete answer and END_REQUEST, then STDOUT records for the same request id that look
 * like a whole other response (a buggy or hostile app): in the same write, or `delay=MS`
 * later. `close=1` then ends the connection (else it stays open for more requests).
 */
const strayAfterEndRequest: DemoRoute = (req, res, target) => {
  const q = new URLSearchParams(target.query);
  const delay = intParam(q, 'delay', 0, 10_000) ?? 0;
  const stray = Buffer.concat([
    frameCopy(
      RecordType.Stdout,
      req.id,
      Buffer.from(
        'Status: 201 Created\r\nContent-Type: text/plain\r\nX-Stray: 1\r\n\r\nSTRAY BYTES FROM AN EARLIER REQUEST\n',
      ),
    ),
    streamEnd(RecordType.Stdout, req.id),
    encodeEndRequest(req.id, 0, ProtocolStatus.RequestComplete),
  ]);
  const answer = Buffer.concat([
    frameCopy(
      RecordType.Stdout,
      req.id,
      Buffer.from('Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nthe real answer\n'),
    ),
    streamEnd(RecordType.Stdout, req.id),
    encodeEndRequest(req.id, 0, ProtocolStatus.RequestComplete),
  ]);
  if (delay === 0) res.rawWrite(Buffer.concat([answer, stray]));
  else {
    res.rawWrite(answer);
    setTimeout(() => res.rawWrite(stray), delay);
  }
  res.detach();
};

export const testRoutes: ReadonlyMap<string, DemoRoute> = new Map<string, DemoRoute>([
  ['/test/garbage', garbage],
  ['/test/die-mid-response', dieMidResponse],
  ['/test/close-before-head', closeBeforeHead],
  ['/test/close-in-head', closeInHead],
  ['/test/stderr', stderr],
  ['/test/headers', headers],
  ['/test/hang', hang],
  ['/test/count-connection', countConnection],
  ['/test/after-end', afterEnd],
  ['/test/stray-after-end-request', strayAfterEndRequest],
]);
