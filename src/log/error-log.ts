// The error log's line layout and LogLevel filtering. Every part of fcgate logs through
// a `log(line)` callback with lines that start with their FCGATE_* code
// (`FCGATE_CONNECT_FAILED backend=fcgi://… req=… GET /x cause="…"`); this file gives each
// code its level and area (Apache's module names), drops what LogLevel filters out, and
// writes the line as
//   2024-05-01T12:00:00.123Z [proxy_fcgi:error] [pid 812:tid 2] FCGATE_CONNECT_FAILED backend=… req=… cause="…"
// or, with ErrorLogFormat json, as one object:
//   {"time":…,"level":"error","area":"proxy_fcgi","pid":812,"tid":2,"code":"FCGATE_CONNECT_FAILED",
//    "request_id":…,"backend":…,"member":…,"cause":…,"message":"<the whole line>"}
// Control characters and non-ASCII in a line are escaped (\n, \xhh of the UTF-8 bytes), so an
// app's STDERR can neither forge lines nor send terminal escapes; JSON lines keep the text
// exact (\uXXXX). Every line is ASCII.
// As in Apache, notice-level lines (startup, reload) are written whatever LogLevel says.
import type { LogLevelName, LogSettings } from '../config/model.js';
import { escapeJson } from './escape.js';

const LEVEL_RANK: Readonly<Record<LogLevelName, number>> = {
  emerg: 0,
  alert: 1,
  crit: 2,
  error: 3,
  warn: 4,
  notice: 5,
  info: 6,
  debug: 7,
};

type Class = readonly [LogLevelName, string];

/** Level and area by code; codes not listed are core:error. */
const CLASSES: Readonly<Record<string, Class>> = {
  FCGATE_APP_STDERR: ['error', 'proxy_fcgi'],
  FCGATE_PROTOCOL: ['error', 'proxy_fcgi'],
  FCGATE_BAD_CGI_HEADER: ['error', 'proxy_fcgi'],
  FCGATE_APP_CLOSED: ['error', 'proxy_fcgi'],
  FCGATE_CONNECT_FAILED: ['error', 'proxy_fcgi'],
  FCGATE_CONNECT_TIMEOUT: ['error', 'proxy_fcgi'],
  FCGATE_HEADER_TIMEOUT: ['error', 'proxy_fcgi'],
  FCGATE_READ_TIMEOUT: ['error', 'proxy_fcgi'],
  FCGATE_BACKEND_OVERLOADED: ['error', 'proxy_fcgi'],
  FCGATE_REDIRECT_LOOP: ['error', 'proxy_fcgi'],
  FCGATE_QUEUE_FULL: ['error', 'proxy'],
  FCGATE_SHUTTING_DOWN: ['info', 'proxy'],
  FCGATE_PROBE: ['notice', 'proxy'],
  FCGATE_NO_MEMBER: ['error', 'proxy_balancer'],
  FCGATE_MEMBER_ERROR: ['error', 'proxy_balancer'],
  FCGATE_FAILOVER: ['warn', 'proxy_balancer'],
  FCGATE_BALANCER_STATE: ['warn', 'proxy_balancer'],
  FCGATE_HEALTH_FAIL: ['warn', 'proxy_hcheck'],
  FCGATE_HEALTH_PASS: ['info', 'proxy_hcheck'],
  FCGATE_BAD_REQUEST: ['info', 'core'],
  FCGATE_NOT_FOUND: ['info', 'core'],
  FCGATE_NO_ROUTE: ['info', 'core'],
  FCGATE_METHOD_NOT_ALLOWED: ['info', 'core'],
  FCGATE_LENGTH_REQUIRED: ['info', 'core'],
  FCGATE_BODY_TOO_LARGE: ['error', 'core'],
  FCGATE_CLIENT_ABORTED: ['info', 'core'],
  FCGATE_INTERNAL: ['error', 'core'],
  FCGATE_THREAD_READY: ['notice', 'core'],
  FCGATE_THREAD_RESTART: ['error', 'core'],
  FCGATE_THREAD_CRASH: ['crit', 'core'],
  FCGATE_THREAD_ERROR: ['error', 'core'],
  FCGATE_RELOADED: ['notice', 'core'],
  FCGATE_RELOAD_FAILED: ['error', 'core'],
  FCGATE_RELOAD_LISTEN: ['warn', 'core'],
  FCGATE_CONFIG_WARNING: ['warn', 'core'],
  FCGATE_PRIVILEGES: ['notice', 'core'],
  FCGATE_ACCESS: ['warn', 'core'],
  FCGATE_PIDFILE: ['warn', 'core'],
  FCGATE_BAD_FRAMING: ['info', 'core'],
  FCGATE_EXPECTATION_FAILED: ['info', 'core'],
  FCGATE_UNKNOWN_CODING: ['info', 'core'],
  FCGATE_BODY_TIMEOUT: ['info', 'core'],
  FCGATE_SPOOL_FULL: ['error', 'core'],
  FCGATE_APP_AFTER_END: ['warn', 'proxy_fcgi'],
  FCGATE_IDLE_LOST: ['warn', 'proxy_fcgi'],
  FCGATE_IDLE_RELEASED: ['notice', 'proxy'],
  FCGATE_REUSE_OFF: ['notice', 'proxy'],
  FCGATE_MUX_HELD: ['notice', 'proxy'],
  FCGATE_MANAGER: ['notice', 'admin'],
  FCGATE_MANAGER_CHANGE: ['notice', 'admin'],
  FCGATE_MANAGER_ERROR: ['error', 'admin'],
  FCGATE_ADMIN: ['notice', 'admin'],
  FCGATE_ADMIN_ERROR: ['error', 'admin'],
  FCGATE_LOG_DROPPED: ['warn', 'log_config'],
  FCGATE_LOG_ERROR: ['error', 'log_config'],
  FCGATE_LOG_PIPE: ['warn', 'log_config'],
  FCGATE_LOG_REOPENED: ['notice', 'log_config'],
};

/** The level and area of a line (by its leading FCGATE_* code). */
export function classify(code: string): Class {
  return CLASSES[code] ?? ['error', 'core'];
}

/** The leading FCGATE_* word of a line, or '' when it has none. */
function codeOf(line: string): string {
  if (!line.startsWith('FCGATE_')) return '';
  const sp = line.indexOf(' ');
  return sp < 0 ? line : line.slice(0, sp);
}

/** `key=value` or `key="value"` from a log line (`req=`, `backend=`, `member=`, `cause=`). */
export function fieldOf(line: string, key: string): string | null {
  const at = line.indexOf(' ' + key + '=');
  if (at < 0) return null;
  const from = at + key.length + 2;
  if (line[from] === '"') {
    const end = line.indexOf('"', from + 1);
    return line.slice(from + 1, end < 0 ? line.length : end);
  }
  const end = line.indexOf(' ', from);
  return line.slice(from, end < 0 ? line.length : end);
}

const UNSAFE = /[^\x20-\x7e]/;

/** Control characters as \n, \r, \t or \xhh, non-ASCII as \xhh of its UTF-8 bytes; quotes stay as they are. */
export function escapeControls(s: string): string {
  if (!UNSAFE.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e) {
      out += s[i]!;
      continue;
    }
    if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c < 0x80) out += '\\x' + c.toString(16).padStart(2, '0');
    else {
      let j = i + 1;
      while (j < s.length && s.charCodeAt(j) >= 0x80) j++;
      for (const b of Buffer.from(s.slice(i, j), 'utf8')) out += '\\x' + b.toString(16).padStart(2, '0');
      i = j - 1;
    }
  }
  return out;
}

export interface ErrorLogHost {
  pid: number;
  threadId: number;
}

/** Filters and formats error-log lines for one thread (or the main thread). */
export class ErrorLogFormat {
  private global: number;
  private areas: Map<string, number>;
  private json: boolean;

  constructor(
    settings: Pick<LogSettings, 'level' | 'areaLevels' | 'errorFormat'>,
    private readonly host: ErrorLogHost,
  ) {
    this.global = LEVEL_RANK[settings.level];
    this.areas = new Map([...settings.areaLevels].map(([a, l]) => [a, LEVEL_RANK[l]]));
    this.json = settings.errorFormat === 'json';
  }

  /** Whether a line of this level and area is written (notice always is). */
  enabled(level: LogLevelName, area: string): boolean {
    const rank = LEVEL_RANK[level];
    return rank === LEVEL_RANK.notice || rank <= (this.areas.get(area) ?? this.global);
  }

  /** The text to write for `line` (with its newline), or null when LogLevel filters it out. */
  format(line: string, now = Date.now()): string | null {
    const code = codeOf(line);
    const [level, area] = classify(code);
    if (!this.enabled(level, area)) return null;
    const time = new Date(now).toISOString();
    const text = escapeControls(line);
    if (!this.json) return `${time} [${area}:${level}] [pid ${this.host.pid}:tid ${this.host.threadId}] ${text}\n`;
    const f = (k: string): string => {
      const v = fieldOf(line, k);
      return v === null ? 'null' : '"' + escapeJson(v) + '"';
    };
    return (
      `{"time":"${time}","level":"${level}","area":"${area}","pid":${this.host.pid},"tid":${this.host.threadId}`
      + `,"code":${code === '' ? 'null' : '"' + code + '"'},"request_id":${f('req')},"backend":${f('backend')}`
      + `,"member":${f('member')},"cause":${f('cause')},"message":"${escapeJson(line)}"}\n`
    );
  }
}
