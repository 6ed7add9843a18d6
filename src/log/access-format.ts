// Access-log formats compiled once into a list of writers: `%h %l %u %t "%r" %>s %b`
// becomes [remoteHost, "-", "-", time, ' "', requestLine, '" ', status, " ", bodyBytes],
// each a function from the finished request to its text, so a request costs the calls
// and one string concatenation, no parsing and no regex (beyond the one test per field
// that escaping makes). Letters as mod_log_config; fcgate's notes (`%{name}n`):
//   backend   the FastCGI backend that served (balancer member's worker name)
//   balancer  balancer://name when a balancer chose it      member  = backend when balanced
//   route     the config mapping (ProxyPass pattern, …)     error   the FCGATE_* code
//   ttfb_us   time from arrival to the app's response head, µs
//   pool_wait_us  time waiting for a backend connection (queue + connect), µs
//   thread    the serving thread's slot
// The `json` nickname writes one JSON object per line with the fields of jsonFormat().
// Over 400 lines on purpose: one writer per mod_log_config letter: a table.
import { JSON_FORMAT, parseLogFormat, type LogToken } from '../config/log-format.js';
import type { RequestRecord } from '../request-record.js';
import { clfFormat, SecondCache, strftime } from './clock.js';
import { escapeLogItem, jsonString } from './escape.js';

/** What one thread knows when it formats: fixed for its life. */
export interface FormatHost {
  /** ServerName, else this machine's host name (%v). */
  serverName: string;
  pid: number;
  /** worker_threads.threadId (%{tid}P). */
  threadId: number;
  /** The serving thread's slot (%{thread}n). */
  slot: number;
  /** The route label of a record's routeIndex. */
  routeName(index: number): string;
}

/** The request being logged; one object reused by the thread. */
export interface AccessEntry {
  record: RequestRecord;
  /** performance.now() when the response was complete. */
  endedAt: number;
  /** Epoch ms of arrival and completion. */
  wallStart: number;
  wallEnd: number;
}

type Writer = (e: AccessEntry) => string;
export type AccessFormatter = (e: AccessEntry) => string;

const dash = (s: string | null | undefined): string =>
  s === null || s === undefined || s === '' ? '-' : escapeLogItem(s);

function header(e: AccessEntry, lower: string): string | undefined {
  const h = e.record.snapshot?.headers;
  if (h === undefined) return undefined;
  for (let i = 0; i < h.length; i++) if (h[i]![0] === lower) return h[i]![1];
  return undefined;
}

function responseHeader(e: AccessEntry, lower: string): string | undefined {
  const r = e.record;
  const lists = [r.head?.headers, r.extraHeaders];
  let out: string | undefined;
  for (const h of lists) {
    if (h === undefined) continue;
    for (let i = 0; i < h.length; i += 2) {
      if (h[i]!.toLowerCase() === lower) out = out === undefined ? h[i + 1]! : `${out}, ${h[i + 1]!}`;
    }
  }
  if (out === undefined && lower === 'content-length' && r.bytesOut > 0) return String(r.bytesOut);
  return out;
}

function cookie(e: AccessEntry, name: string): string | undefined {
  const c = header(e, 'cookie');
  if (c === undefined) return undefined;
  for (const part of c.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The status the client got; 499 (nginx's "client closed request") when it got none. */
const finalStatus = (r: RequestRecord): number => (r.status !== 0 ? r.status : 499);

/** Status texts, so that a line does not convert the same few numbers again and again. */
const STATUS_TEXT: string[] = Array.from({ length: 600 }, (_, i) => String(i));
const statusText = (n: number): string => STATUS_TEXT[n] ?? String(n);

/** %r. Each part is escaped on its own (a regex over a flat string, not over a concatenation). */
function requestLine(e: AccessEntry): string {
  const s = e.record.snapshot;
  if (s === null) return '-';
  return (
    escapeLogItem(s.method)
    + ' '
    + escapeLogItem(s.path)
    + (s.query !== '' ? '?' + escapeLogItem(s.query) : '')
    + ' '
    + escapeLogItem(s.protocol)
  );
}

/** The client address: formatted by fcgate itself from the socket's bytes, never from the client. */
const address = (a: string | undefined): string => (a === undefined || a === '' ? '-' : a);

/** %U: the path %-decoded as Apache's r->uri (invalid escapes kept as written). */
function decodedPath(path: string): string {
  if (!path.includes('%')) return path;
  try {
    return decodeURIComponent(path);
  } catch {
    return path.replace(/%([0-9a-fA-F]{2})/g, (m, h: string) => {
      const c = parseInt(h, 16);
      return c < 0x80 ? String.fromCharCode(c) : m;
    });
  }
}

/** %I: request line, headers and body bytes as received (header text re-measured; uWS keeps no raw copy). */
function bytesReceived(e: AccessEntry): number {
  const s = e.record.snapshot;
  if (s === null) return e.record.bytesIn;
  let n =
    s.method.length + 1 + s.path.length + (s.query !== '' ? 1 + s.query.length : 0) + 1 + s.protocol.length + 2 + 2;
  for (const [k, v] of s.headers) n += k.length + 2 + v.length + 2;
  return n + e.record.bytesIn;
}

/**
 * %O: status line, headers and body bytes sent. Headers are the ones fcgate wrote plus
 * what uWS adds (Date, and Content-Length or Transfer-Encoding): an estimate within a few
 * bytes (chunk framing is not counted).
 */
function bytesSent(e: AccessEntry): number {
  const r = e.record;
  if (r.status === 0) return 0;
  let n =
    'HTTP/1.1 200 OK\r\n'.length
    + 4 /* reason length beyond "OK", typical */
    + 'Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n'.length;
  for (const h of [r.head?.headers, r.extraHeaders]) {
    if (h === undefined) continue;
    for (let i = 0; i < h.length; i += 2) n += h[i]!.length + 2 + h[i + 1]!.length + 2;
  }
  n += `Content-Length: ${r.bytesOut}\r\n`.length + 2;
  return n + r.bytesOut;
}

function timeWriter(arg: string | null): Writer {
  if (arg === null) {
    const cache = new SecondCache(clfFormat);
    return (e) => cache.at(e.wallStart);
  }
  let fmt = arg;
  let end = false;
  if (fmt.startsWith('begin:')) fmt = fmt.slice(6);
  else if (fmt.startsWith('end:')) {
    fmt = fmt.slice(4);
    end = true;
  }
  const when = (e: AccessEntry): number => (end ? e.wallEnd : e.wallStart);
  switch (fmt) {
    case 'sec':
      return (e) => String(Math.floor(when(e) / 1000));
    case 'msec':
      return (e) => String(Math.floor(when(e)));
    case 'usec':
      return (e) => String(Math.floor(when(e) * 1000));
    case 'msec_frac':
      return (e) => String(Math.floor(when(e)) % 1000).padStart(3, '0');
    case 'usec_frac':
      return (e) => String(Math.floor(when(e) * 1000) % 1_000_000).padStart(6, '0');
  }
  const cache = new SecondCache((d) => strftime(fmt, d));
  return (e) => cache.at(when(e));
}

function durationWriter(arg: string | null, inMicros: boolean): Writer {
  const us = (e: AccessEntry): number => Math.max(0, Math.round((e.endedAt - e.record.startedAt) * 1000));
  if (inMicros) return (e) => String(us(e));
  switch (arg) {
    case 'ms':
      return (e) => String(Math.floor(us(e) / 1000));
    case 'us':
      return (e) => String(us(e));
    case null:
    case 's':
      return (e) => String(Math.floor(us(e) / 1_000_000));
    default:
      throw new Error(`%{${arg}}T: expected ms, us or s`);
  }
}

/** fcgate's notes, by name; unknown names log "-", as Apache does for a note nobody set. */
function noteWriter(name: string, host: FormatHost): Writer {
  switch (name) {
    case 'backend':
      return (e) => dash(e.record.exchange?.backend);
    case 'balancer':
      return (e) => dash(e.record.balancer);
    case 'member':
      return (e) => (e.record.balancer === null ? '-' : dash(e.record.exchange?.backend));
    case 'route':
      return (e) => escapeLogItem(host.routeName(e.record.routeIndex));
    case 'error':
      return (e) => e.record.errorCode ?? '-';
    case 'ttfb_us':
      return (e) =>
        e.record.firstByteAt === 0 ? '-' : String(Math.round((e.record.firstByteAt - e.record.startedAt) * 1000));
    case 'pool_wait_us':
      return (e) => {
        const x = e.record.exchange;
        return x === null || x.acquiredAt === 0 ? '-' : String(Math.round((x.acquiredAt - x.startedAt) * 1000));
      };
    case 'thread':
      return () => String(host.slot);
    default:
      return () => '-';
  }
}

function envValue(e: AccessEntry, name: string): string | undefined {
  if (name === 'UNIQUE_ID') return e.record.requestId;
  return e.record.env?.get(name);
}

function fieldWriter(t: Extract<LogToken, { kind: 'field' }>, host: FormatHost): Writer {
  const arg = t.arg;
  switch (t.letter) {
    case 'a':
    case 'h':
      return arg === 'c'
        ? (e) => dash(e.record.peerAddress ?? e.record.snapshot?.remoteAddress)
        : (e) => address(e.record.snapshot?.remoteAddress);
    case 'A':
      return (e) => dash(e.record.snapshot?.localAddress);
    case 'B':
      return (e) => String(e.record.bytesOut);
    case 'b':
      return (e) => (e.record.bytesOut === 0 ? '-' : String(e.record.bytesOut));
    case 'C':
      return (e) => dash(cookie(e, arg!));
    case 'D':
      return durationWriter(null, true);
    case 'T':
      return durationWriter(arg, false);
    case 'e':
      return (e) => dash(envValue(e, arg!));
    case 'H':
      return (e) => dash(e.record.snapshot?.protocol);
    case 'i': {
      const lower = arg!.toLowerCase();
      return (e) => dash(header(e, lower));
    }
    case 'o': {
      const lower = arg!.toLowerCase();
      return (e) => dash(responseHeader(e, lower));
    }
    case 'I':
      return (e) => String(bytesReceived(e));
    case 'O':
      return (e) => String(bytesSent(e));
    case 'k':
    case 'l':
    case 'u':
      return () => '-';
    case 'L':
      return (e) => dash(e.record.requestId);
    case 'm':
      return (e) => dash(e.record.snapshot?.method);
    case 'n':
      return noteWriter(arg!, host);
    case 'p':
      if (arg === 'remote') return (e) => dash(e.record.snapshot?.remotePort);
      if (arg !== null && arg !== 'canonical' && arg !== 'local')
        throw new Error(`%{${arg}}p: expected canonical, local or remote`);
      return (e) => String(e.record.snapshot?.localPort ?? '-');
    case 'P':
      if (arg === 'tid') return () => String(host.threadId);
      if (arg === 'hextid') return () => host.threadId.toString(16);
      if (arg !== null && arg !== 'pid') throw new Error(`%{${arg}}P: expected pid, tid or hextid`);
      return () => String(host.pid);
    case 'q':
      return (e) => {
        const q = e.record.snapshot?.query;
        return q === undefined || q === '' ? '' : escapeLogItem('?' + q);
      };
    case 'r':
      return requestLine;
    case 'R':
      return (e) => (e.record.exchange !== null || e.record.balancer !== null ? 'proxy-server' : '-');
    case 's':
      return (e) => statusText(finalStatus(e.record));
    case 't':
      return timeWriter(arg);
    case 'U':
      return (e) => {
        const p = e.record.snapshot?.path;
        return p === undefined ? '-' : escapeLogItem(decodedPath(p));
      };
    case 'v': {
      const v = escapeLogItem(host.serverName);
      return () => v;
    }
    case 'V':
      return (e) => {
        const h = header(e, 'host');
        if (h === undefined || h === '') return escapeLogItem(host.serverName);
        const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.split(':')[0]!;
        return escapeLogItem(name.toLowerCase());
      };
    case 'X':
      return (e) => (e.record.aborted ? 'X' : '+');
  }
  throw new Error(`unrecognized LogFormat directive %${t.letter}`);
}

/** Wraps a writer with `%400,501{…}i` / `%!200{…}i`: "-" unless the status is (or is not) listed. */
function conditional(w: Writer, statuses: number[], negate: boolean): Writer {
  return (e) => (statuses.includes(finalStatus(e.record)) !== negate ? w(e) : '-');
}

/** Fields whose text is the same for every request of this thread: written into the format at compile time. */
function constantText(t: Extract<LogToken, { kind: 'field' }>, host: FormatHost): string | null {
  if (t.statuses !== null) return null;
  switch (t.letter) {
    case 'k':
    case 'l':
    case 'u':
      return '-';
    case 'v':
      return escapeLogItem(host.serverName);
    case 'P':
      return t.arg === 'tid'
        ? String(host.threadId)
        : t.arg === 'hextid'
          ? host.threadId.toString(16)
          : t.arg === null || t.arg === 'pid'
            ? String(host.pid)
            : null;
    case 'n':
      return t.arg === 'thread' ? String(host.slot) : null;
    default:
      return null;
  }
}

/**
 * Compiles a format string (already checked by config/) or the json marker (`suffix`, the
 * log's newline, goes into the last text): adjacent literal text and per-thread constants
 * merge into one string, so a line is the fields' writers with the texts between them, e.g.
 * combined = [h, ' - - ', t, ' "', r, '" ', s, ' ', b, ' "', i, '" "', i, '"'].
 */
export function compileAccessFormat(format: string, host: FormatHost, suffix = ''): AccessFormatter {
  if (format === JSON_FORMAT) {
    const j = jsonFormat(host);
    return suffix === '' ? j : (e) => j(e) + suffix;
  }
  const writers: Writer[] = [];
  const texts: string[] = ['']; // texts[k] goes before writers[k]; the last one after all
  for (const t of parseLogFormat(format)) {
    const constant = t.kind === 'text' ? t.text : constantText(t, host);
    if (constant !== null) {
      texts[texts.length - 1] += constant;
      continue;
    }
    if (t.kind === 'text') continue;
    const w = fieldWriter(t, host);
    writers.push(t.statuses === null ? w : conditional(w, t.statuses, t.negate));
    texts.push('');
  }
  texts[texts.length - 1] += suffix;
  const n = writers.length;
  return (e) => {
    let line = texts[0]!;
    for (let i = 0; i < n; i++) line += writers[i]!(e) + texts[i + 1]!;
    return line;
  };
}

/**
 * The `json` nickname: one object per request (no newline inside, ASCII only), fields
 * null when unknown:
 * {"time","request_id","remote_addr","method","uri","query","protocol","host","status",
 *  "bytes_in","bytes_out","duration_us","ttfb_us","pool_wait_us","referer","user_agent",
 *  "route","backend","balancer","error","aborted","thread"}
 */
function jsonFormat(host: FormatHost): AccessFormatter {
  const num = (n: number | null): string => (n === null ? 'null' : String(n));
  return (e) => {
    const r = e.record;
    const s = r.snapshot;
    const x = r.exchange;
    return (
      '{"time":"'
      + new Date(e.wallStart).toISOString()
      + '","request_id":'
      + jsonString(r.requestId)
      + ',"remote_addr":'
      + jsonString(s?.remoteAddress)
      + ',"method":'
      + jsonString(s?.method)
      + ',"uri":'
      + jsonString(s?.path)
      + ',"query":'
      + jsonString(s === null ? null : s.query)
      + ',"protocol":'
      + jsonString(s?.protocol)
      + ',"host":'
      + jsonString(header(e, 'host'))
      + ',"status":'
      + finalStatus(r)
      + ',"bytes_in":'
      + r.bytesIn
      + ',"bytes_out":'
      + r.bytesOut
      + ',"duration_us":'
      + Math.max(0, Math.round((e.endedAt - r.startedAt) * 1000))
      + ',"ttfb_us":'
      + num(r.firstByteAt === 0 ? null : Math.round((r.firstByteAt - r.startedAt) * 1000))
      + ',"pool_wait_us":'
      + num(x === null || x.acquiredAt === 0 ? null : Math.round((x.acquiredAt - x.startedAt) * 1000))
      + ',"referer":'
      + jsonString(header(e, 'referer'))
      + ',"user_agent":'
      + jsonString(header(e, 'user-agent'))
      + ',"route":'
      + jsonString(host.routeName(r.routeIndex))
      + ',"backend":'
      + jsonString(x?.backend)
      + ',"balancer":'
      + jsonString(r.balancer)
      + ',"error":'
      + jsonString(r.errorCode)
      + ',"aborted":'
      + (r.aborted ? 'true' : 'false')
      + ',"thread":'
      + host.slot
      + '}'
    );
  };
}
