// mod_log_config's and the core's log directives, and fcgate's RequestIdHeader:
//   LogFormat format [nickname]        TransferLog file|"|cmd"
//   CustomLog file|"|cmd"|off format|nickname [env=[!]var]
//   ErrorLog file|"|cmd"|stderr        LogLevel level [area:level …]
//   ErrorLogFormat json|…              BufferedLogs On|Off
//   RequestIdHeader name|off           (default X-Request-Id)
// Paths are taken from the config file's folder; `/dev/stdout` and `/dev/stderr` are the
// process's own streams (written without blocking). What the formats mean is src/log's.
import type { BuildState, Context } from './build-state.js';
import type { DirectiveNode } from './lexer.js';
import { JSON_FORMAT, parseLogFormat, PREDEFINED_FORMATS } from './log-format.js';
import type { LogLevelName, LogSettings, LogTarget } from './model.js';

const LOG_LEVELS: readonly LogLevelName[] = ['emerg', 'alert', 'crit', 'error', 'warn', 'notice', 'info', 'debug'];

/** Areas LogLevel knows (Apache's module names for what fcgate does, and fcgate's own). */
const LOG_AREAS: ReadonlySet<string> = new Set([
  'core',
  'proxy',
  'proxy_fcgi',
  'proxy_balancer',
  'proxy_hcheck',
  'log_config',
  'status',
  'admin',
  'unique_id',
]);

const CLF = PREDEFINED_FORMATS.get('common')!;

/** The log settings of a configuration that says nothing about logs. */
function defaultLogSettings(): LogSettings {
  return {
    formats: new Map(PREDEFINED_FORMATS),
    defaultFormat: CLF,
    access: null,
    errorLog: { kind: 'stderr' },
    level: 'warn',
    areaLevels: new Map(),
    errorFormat: 'text',
    requestIdHeader: 'X-Request-Id',
    buffered: true,
  };
}

function logs(st: BuildState): LogSettings {
  return (st.cfg.logs ??= defaultLogSettings());
}

function target(st: BuildState, d: DirectiveNode, name: string, raw: string, allowStdio: boolean): LogTarget {
  if (raw.startsWith('|')) {
    const shell = raw.startsWith('|$');
    const command = raw.slice(shell ? 2 : raw.startsWith('||') ? 2 : 1).trim();
    if (command === '') st.fail(d, name, 'a piped log needs a command after |');
    return { kind: 'pipe', command, shell };
  }
  const lower = raw.toLowerCase();
  if (lower === 'stderr' || raw === '/dev/stderr' || raw === '/proc/self/fd/2') return { kind: 'stderr' };
  if (lower === 'stdout' || raw === '/dev/stdout' || raw === '/proc/self/fd/1') {
    if (!allowStdio) st.fail(d, name, 'the error log goes to stderr, a file or a piped command');
    return { kind: 'stdout' };
  }
  if (lower.startsWith('syslog'))
    st.fail(d, name, 'syslog is not supported: pipe to logger(1) instead, e.g. "|/usr/bin/logger -t fcgate"');
  if (raw === '') st.fail(d, name, 'expected a file name or "|command"');
  return { kind: 'file', path: st.absolutePath(raw) };
}

/** A format string or nickname, checked. */
function formatOf(st: BuildState, d: DirectiveNode, name: string, arg: string): string {
  const known = logs(st).formats.get(arg);
  const format = known ?? arg;
  if (known === undefined && !arg.includes('%') && /^[\w.-]+$/.test(arg)) {
    st.fail(d, name, `unknown format nickname "${arg}" (define it with LogFormat "…" ${arg} before this line)`);
  }
  try {
    parseLogFormat(format);
  } catch (e) {
    st.fail(d, name, (e as Error).message);
  }
  return format;
}

function logFormat(st: BuildState, _c: Context, d: DirectiveNode): void {
  if (d.args.length < 1 || d.args.length > 2)
    st.fail(d, 'LogFormat', 'expected a format (or nickname) and an optional nickname');
  const s = logs(st);
  if (d.args.length === 1) {
    s.defaultFormat = formatOf(st, d, 'LogFormat', d.args[0]!);
    return;
  }
  const fmt = d.args[0]! === 'json' ? JSON_FORMAT : d.args[0]!;
  if (fmt !== JSON_FORMAT) {
    try {
      parseLogFormat(fmt);
    } catch (e) {
      st.fail(d, 'LogFormat', (e as Error).message);
    }
  }
  s.formats.set(d.args[1]!, fmt);
}

function customLog(st: BuildState, _c: Context, d: DirectiveNode): void {
  const name = 'CustomLog';
  const s = logs(st);
  if (d.args.length === 1 && d.args[0]!.toLowerCase() === 'off') {
    s.access = [];
    return;
  }
  if (d.args.length < 2 || d.args.length > 3)
    st.fail(d, name, 'expected a file or "|command", a format or nickname, and an optional env=[!]var');
  const t = target(st, d, name, d.args[0]!, true);
  const format = formatOf(st, d, name, d.args[1]!);
  let env: { name: string; negate: boolean } | null = null;
  const cond = d.args[2];
  if (cond !== undefined) {
    const m = /^env=(!?)([^\s!]+)$/i.exec(cond);
    if (m === null)
      st.fail(
        d,
        name,
        cond.toLowerCase().startsWith('expr=')
          ? 'expr= conditions are not supported: use env=[!]var with SetEnvIf'
          : `expected env=[!]var, got "${cond}"`,
      );
    env = { name: m[2]!, negate: m[1] === '!' };
  }
  (s.access ??= []).push({ target: t, format, env, file: d.file, line: d.line });
}

function transferLog(st: BuildState, _c: Context, d: DirectiveNode): void {
  if (d.args.length !== 1) st.fail(d, 'TransferLog', 'expected a file or "|command"');
  const s = logs(st);
  (s.access ??= []).push({
    target: target(st, d, 'TransferLog', d.args[0]!, true),
    format: s.defaultFormat,
    env: null,
    file: d.file,
    line: d.line,
  });
}

function errorLog(st: BuildState, _c: Context, d: DirectiveNode): void {
  if (d.args.length !== 1) st.fail(d, 'ErrorLog', 'expected a file, "|command" or stderr');
  logs(st).errorLog = target(st, d, 'ErrorLog', d.args[0]!, false);
}

/** Apache's trace1…trace8 are finer than debug: fcgate has nothing finer, so they mean debug. */
function level(st: BuildState, d: DirectiveNode, word: string): LogLevelName {
  const w = word.toLowerCase();
  if (/^trace[1-8]$/.test(w)) return 'debug';
  if (!(LOG_LEVELS as readonly string[]).includes(w))
    st.fail(d, 'LogLevel', `unknown level "${word}" (emerg, alert, crit, error, warn, notice, info, debug)`);
  return w as LogLevelName;
}

function logLevel(st: BuildState, _c: Context, d: DirectiveNode): void {
  if (d.args.length === 0) st.fail(d, 'LogLevel', 'expected a level, e.g. LogLevel warn proxy_fcgi:debug');
  const s = logs(st);
  for (const a of d.args) {
    const colon = a.indexOf(':');
    if (colon < 0) {
      s.level = level(st, d, a);
      continue;
    }
    const area = a
      .slice(0, colon)
      .toLowerCase()
      .replace(/^mod_/, '')
      .replace(/_module$/, '');
    const lv = level(st, d, a.slice(colon + 1));
    if (!LOG_AREAS.has(area))
      st.cfg.warnings.push(
        `${d.file}:${d.line}: LogLevel: fcgate logs nothing for "${area}"; areas: ${[...LOG_AREAS].join(', ')}`,
      );
    s.areaLevels.set(area, lv);
  }
}

function errorLogFormat(st: BuildState, _c: Context, d: DirectiveNode): void {
  if (d.args.length < 1) st.fail(d, 'ErrorLogFormat', 'expected json, or a format');
  const s = logs(st);
  const a = d.args.join(' ');
  if (a.toLowerCase() === 'json') {
    s.errorFormat = 'json';
    return;
  }
  s.errorFormat = 'text';
  if (a.toLowerCase() !== 'default') {
    st.cfg.warnings.push(
      `${d.file}:${d.line}: ErrorLogFormat: fcgate writes its own line layout (ISO time, [area:level], `
        + `pid:tid, code, request id, backend, cause); only "json" changes it`,
    );
  }
}

function requestIdHeader(st: BuildState, _c: Context, d: DirectiveNode): void {
  if (d.args.length !== 1) st.fail(d, 'RequestIdHeader', 'expected a header name or off');
  const v = d.args[0]!;
  if (v.toLowerCase() === 'off') {
    logs(st).requestIdHeader = null;
    return;
  }
  if (!/^[!#$%&'*+.^`|~\w-]+$/.test(v)) st.fail(d, 'RequestIdHeader', `"${v}" is not a header name`);
  logs(st).requestIdHeader = v;
}

function bufferedLogs(st: BuildState, _c: Context, d: DirectiveNode): void {
  const v = (d.args[0] ?? '').toLowerCase();
  if (d.args.length !== 1 || (v !== 'on' && v !== 'off')) st.fail(d, 'BufferedLogs', 'expected On or Off');
  logs(st).buffered = v === 'on';
}

/** The directive table's entries (server context only). */
export const LOG_DIRECTIVES: ReadonlyArray<[string, (st: BuildState, ctx: Context, d: DirectiveNode) => void]> = [
  ['LogFormat', logFormat],
  ['CustomLog', customLog],
  ['TransferLog', transferLog],
  ['ErrorLog', errorLog],
  ['LogLevel', logLevel],
  ['ErrorLogFormat', errorLogFormat],
  ['RequestIdHeader', requestIdHeader],
  ['BufferedLogs', bufferedLogs],
];

/** A configuration's log settings (defaults when it has none). */
export function logSettingsOf(cfg: { logs?: LogSettings }): LogSettings {
  return cfg.logs ?? defaultLogSettings();
}
