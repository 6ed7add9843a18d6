// Every environment variable fcgate reads, in one table: name, kind, default, limits, help.
// `fcgate --help`, the README's table (test/cli/readme.test.ts compares them) and the code
// (readTuning, readVariable) all read this table, so adding a knob is adding one entry to
// VARIABLES. An invalid value stops startup naming the variable; an unknown FCGATE_* name
// gets one warning line with the closest known one. Units: src/units.ts.

// Over 400 lines on purpose: the registry of every environment variable: a table.
import { didYouMean } from './closest-name.js';
import { formatDuration, formatSize, parseDuration, parseSize, type DurationUnit } from './units.js';

/**
 * Who reads a variable: 'all' = every serving command (serve, start), part of Tuning;
 * 'start' = only `fcgate start` (read with readVariable, never validated elsewhere).
 */
export type Scope = 'all' | 'start';

interface Common<N extends string, S extends Scope> {
  readonly name: N;
  readonly help: string;
  readonly scope: S;
  /** Read by fcgate for the test suite only; listed, but never set it in production. */
  readonly testOnly?: boolean;
  /** Not listed with its value anywhere (a password). */
  readonly secret?: boolean;
}
export interface CountVariable<N extends string = string, S extends Scope = Scope> extends Common<N, S> {
  readonly kind: 'count';
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly unit: string;
}
export interface BytesVariable<N extends string = string, S extends Scope = Scope> extends Common<N, S> {
  readonly kind: 'bytes';
  readonly default: number;
  readonly min: number;
  readonly max: number;
}
export interface DurationVariable<N extends string = string, S extends Scope = Scope> extends Common<N, S> {
  readonly kind: 'duration';
  readonly unit: DurationUnit;
  readonly default: number;
  readonly min: number;
  readonly max: number;
}
export interface TextVariable<N extends string = string, S extends Scope = Scope> extends Common<N, S> {
  readonly kind: 'text';
  readonly default: string;
  readonly pattern: RegExp;
  readonly rule: string;
}
export interface FlagVariable<N extends string = string, S extends Scope = Scope> extends Common<N, S> {
  readonly kind: 'flag';
  readonly default: false;
}
export type Variable = CountVariable | BytesVariable | DurationVariable | TextVariable | FlagVariable;

type Extra<S extends Scope> = { scope?: S; testOnly?: boolean; secret?: boolean };

function count<const N extends string, const S extends Scope = 'all'>(
  name: N,
  dflt: number,
  min: number,
  max: number,
  unit: string,
  help: string,
  extra: Extra<S> = {},
): CountVariable<N, S> {
  return {
    name,
    kind: 'count',
    default: dflt,
    min,
    max,
    unit,
    help,
    scope: (extra.scope ?? 'all') as S,
    ...flags(extra),
  };
}
function bytes<const N extends string>(
  name: N,
  dflt: number,
  min: number,
  max: number,
  help: string,
): BytesVariable<N, 'all'> {
  return { name, kind: 'bytes', default: dflt, min, max, help, scope: 'all' };
}
function duration<const N extends string>(
  name: N,
  unit: DurationUnit,
  dflt: number,
  min: number,
  max: number,
  help: string,
): DurationVariable<N, 'all'> {
  return { name, kind: 'duration', unit, default: dflt, min, max, help, scope: 'all' };
}
function text<const N extends string>(
  name: N,
  dflt: string,
  pattern: RegExp,
  rule: string,
  help: string,
  extra: Extra<'all'> = {},
): TextVariable<N, 'all'> {
  return { name, kind: 'text', default: dflt, pattern, rule, help, scope: 'all', ...flags(extra) };
}
function flag<const N extends string>(name: N, help: string, extra: Extra<'all'> = {}): FlagVariable<N, 'all'> {
  return { name, kind: 'flag', default: false, help, scope: 'all', ...flags(extra) };
}
const flags = (e: Extra<Scope>): { testOnly?: boolean; secret?: boolean } => ({
  ...(e.testOnly ? { testOnly: true } : {}),
  ...(e.secret ? { secret: true } : {}),
});

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const SAFE = Number.MAX_SAFE_INTEGER;

/** The table. Order is the order of --help and of the README. */
export const VARIABLES = [
  count('FCGATE_THREADS', 0, 0, 1024, 'threads', 'serving threads (0 = one per CPU core)'),
  count(
    'FCGATE_IN_PROCESS',
    0,
    0,
    1,
    'flag',
    'with FCGATE_THREADS=1: serve in the main thread (one V8 isolate less: about 20 MiB and 10 % CPU per request); a crash of the serving code then ends the process (systemd restarts it) instead of a thread being replaced',
  ),
  bytes('FCGATE_MAX_BODY', GiB, 0, SAFE, 'largest request body; larger ones get 413'),
  bytes(
    'FCGATE_SPOOL_MEMORY',
    MiB,
    0,
    GiB,
    'bytes of one buffered request body (chunked, or over FCGATE_BODY_BUFFER) kept in memory before the rest goes to an unlinked temporary file',
  ),
  bytes(
    'FCGATE_SPOOL_MEMORY_TOTAL',
    64 * MiB,
    0,
    1024 * GiB,
    'memory for buffered request bodies over all requests and threads; past it, bodies go to disk at once',
  ),
  bytes(
    'FCGATE_SPOOL_DISK_TOTAL',
    8 * GiB,
    0,
    1024 * GiB,
    'temporary-file bytes for buffered request bodies over all requests and threads; past it a body gets 507',
  ),
  text(
    'FCGATE_SPOOL_DIR',
    '',
    /^(\/.*)?$/,
    'an absolute directory path',
    'directory for request-body temporary files (created 0600, unlinked at once); empty: TMPDIR or /tmp',
  ),
  duration(
    'FCGATE_BODY_TIMEOUT',
    'ms',
    60_000,
    0,
    3_600_000,
    'longest pause between two pieces of a request body before 408 and a closed connection (0 = none; nginx client_body_timeout)',
  ),
  duration(
    'FCGATE_SEND_TIMEOUT',
    'ms',
    60_000,
    0,
    3_600_000,
    "longest time a client may take nothing of a response the gateway holds back; then its connection is closed and the app's request aborted (0 = uWS's own timer only; nginx send_timeout)",
  ),
  bytes('FCGATE_MAX_HEAD', 64 * KiB, 256, 16 * MiB, 'largest CGI header block from the app; larger is a 502'),
  bytes(
    'FCGATE_STDERR_LIMIT',
    64 * KiB,
    0,
    GiB,
    "bytes of an app's STDERR logged for one request (lines of at most 2048 characters); the rest is counted in one line, not kept",
  ),
  bytes(
    'FCGATE_BODY_BUFFER',
    256 * KiB,
    KiB,
    GiB,
    'request bodies with a Content-Length up to this size are received whole in memory before the app is contacted (one write to the app); larger ones are spooled (requestbuffering=on) or streamed (off)',
  ),
  bytes(
    'FCGATE_MUX_HOLD',
    MiB,
    KiB,
    GiB,
    'on a multiplexed connection (multiplex=), response bytes held for one request whose client reads slowly; past it the connection stops reading (its other requests wait, new ones go to other connections)',
  ),
  count(
    'FCGATE_QUEUE_LIMIT',
    1024,
    0,
    1 << 24,
    'requests',
    'requests per backend and thread waiting for a connection; more get 503',
  ),
  count(
    'FCGATE_DEFAULT_MAX_CONNS',
    16,
    1,
    1 << 20,
    'connections',
    "connections per backend over all threads when neither `max` nor the app's FCGI_MAX_CONNS says",
  ),
  count(
    'FCGATE_CONN_MAX_REQUESTS',
    0,
    0,
    SAFE,
    'requests',
    'requests per backend connection before it is closed (0 = no limit)',
  ),
  duration('FCGATE_RETRY_AFTER', 's', 1, 0, 86_400, 'Retry-After sent with 503 answers'),
  count('FCGATE_REDIRECT_LIMIT', 10, 0, 100, 'redirects', 'local redirects (Location: /path) followed for one request'),
  duration(
    'FCGATE_PROBE_TIMEOUT',
    'ms',
    2000,
    1,
    600_000,
    'how long the startup FCGI_GET_VALUES probe of each backend may take',
  ),
  duration('FCGATE_DRAIN_MS', 'ms', 10_000, 0, 3_600_000, 'on SIGTERM, how long in-flight requests may take to finish'),
  bytes(
    'FCGATE_LOG_BUFFER',
    4 * MiB,
    64 * KiB,
    GiB,
    'log bytes waiting to be written per log output; past it lines are dropped and counted (fcgate_log_lines_dropped_total)',
  ),
  duration(
    'FCGATE_LOG_FLUSH_MS',
    'ms',
    100,
    0,
    10_000,
    "how long a serving thread's log lines may wait before they are written (0: every event-loop turn); 64 KiB go at once",
  ),
  count(
    'FCGATE_METRICS',
    1,
    0,
    1,
    'flag',
    'count requests into the metrics (0: /metrics shows no request counts or latencies; the cost row of bench:e2e compares)',
  ),
  text(
    'FCGATE_SERVER_SOFTWARE',
    'fcgate',
    /^[\x20-\x7e]{1,256}$/,
    '1 to 256 printable ASCII characters',
    'SERVER_SOFTWARE sent to apps',
  ),
  text(
    'FCGATE_MANAGER_TOKEN',
    '',
    /^[\x21-\x7e]*$/,
    'printable ASCII without spaces',
    'token for the admin listener (`Authorization: Bearer …` or its login form); required (16 characters or more) when it listens on a non-loopback address',
    { secret: true },
  ),
  flag(
    'FCGATE_ALLOW_ROOT',
    '`fcgate serve` started as root with no `User` refuses to start; 1 lets it serve as root anyway',
  ),
  text(
    'FCGATE_UWS_BUILD',
    'auto',
    /^(auto|20\.57\.0|3\.0\.6)$/,
    'auto, 20.57.0 or 3.0.6',
    'uWebSockets.js build: auto (the newest that loads on this system), or one named (a named build that does not load stops startup)',
  ),
  bytes(
    'UWS_HTTP_MAX_HEADERS_SIZE',
    32 * KiB,
    KiB,
    16 * MiB,
    'largest request head uWebSockets.js accepts when it arrives in several reads; larger is a 431',
  ),
  count('PORT', 8080, 1, 65_535, 'port', '`fcgate start` only: the gateway port when --listen is not given', {
    scope: 'start',
  }),
  flag('FCGATE_TEST_HOOKS', 'enables hooks used only by the test suite (never set it in production)', {
    testOnly: true,
  }),
] as const;

type AnyVariable = (typeof VARIABLES)[number];
export type VariableName = AnyVariable['name'];
type ValueOf<V> = V extends { kind: 'text' } ? string : V extends { kind: 'flag' } ? boolean : number;
type ByName<N extends VariableName> = Extract<AnyVariable, { name: N }>;
type AllScope = Extract<AnyVariable, { scope: 'all' }>;

/** The values every serving command reads (numbers in bytes, ms or s as the table says). */
export type Tuning = { [V in AllScope as V['name']]: ValueOf<V> };
const BY_NAME = new Map<string, Variable>(VARIABLES.map((v) => [v.name, v]));

/**
 * Variables fcgate's own development tools read (test helpers, benchmarks, the e2e
 * scripts): never a warning for these, and not part of the product's table.
 */
const DEVELOPMENT_PREFIXES = ['FCGATE_TEST_', 'FCGATE_BENCH_', 'FCGATE_E2E_', 'FCGATE_FUZZ_'] as const;
const DEVELOPMENT_NAMES = ['FCGATE_PHP_FPM', 'FCGATE_CHROMIUM'] as const;

/** An invalid value: the message names the variable, what it takes and what it got. */
export class TuningError extends Error {
  readonly code = 'FCGATE_CONFIG' as const;
  constructor(message: string) {
    super(message);
    this.name = 'TuningError';
  }
}

/** What a variable takes, for errors: "a size (bytes, or 10MB, 64KiB, 1G), 1KiB–16MiB". */
function describeAccepts(v: Variable): string {
  const range = describeRange(v).replace(/^[^,]*, /, '');
  switch (v.kind) {
    case 'count':
      return `a whole number, ${range}`;
    case 'bytes':
      return `a size (bytes, or 10MB, 64KiB, 1G), ${range}`;
    case 'duration':
      return `a duration (a number of ${v.unit === 'ms' ? 'milliseconds' : 'seconds'}, or 500ms, 30s, 2m), ${range}`;
    case 'text':
      return v.rule;
    case 'flag':
      return '1 or 0 (also true/false, yes/no, on/off)';
  }
}

/** What a variable takes, short (the units are explained once above the list). */
function describeRange(v: Variable): string {
  const range = (min: number, max: number, f: (n: number) => string): string =>
    max === SAFE ? `${f(min)} or more` : `${f(min)}–${f(max)}`;
  switch (v.kind) {
    case 'count':
      return `${v.unit}, ${range(v.min, v.max, String)}`;
    case 'bytes':
      return `size, ${range(v.min, v.max, formatSize)}`;
    case 'duration':
      return `duration (a plain number is ${v.unit}), ${range(v.min, v.max, (n) => formatDuration(n, v.unit))}`;
    case 'text':
      return v.rule;
    case 'flag':
      return '1 or 0';
  }
}

/** The default as written in help and the README. */
export function formatDefault(v: Variable): string {
  switch (v.kind) {
    case 'count':
      return String(v.default);
    case 'bytes':
      return formatSize(v.default);
    case 'duration':
      return formatDuration(v.default, v.unit);
    case 'text':
      return v.default === '' ? '(none)' : v.default;
    case 'flag':
      return '0';
  }
}

/** Parses one value; throws TuningError naming the variable. */
function parseValue(v: Variable, raw: string): number | string | boolean {
  const bad = (): never => {
    throw new TuningError(`${v.name} must be ${describeAccepts(v)}; got "${v.secret ? '…' : raw}"`);
  };
  const t = raw.trim();
  switch (v.kind) {
    case 'count': {
      if (!/^\d+$/.test(t)) return bad();
      const n = Number(t);
      return Number.isSafeInteger(n) && n >= v.min && n <= v.max ? n : bad();
    }
    case 'bytes': {
      const n = parseSize(t);
      return n !== null && n >= v.min && n <= v.max ? n : bad();
    }
    case 'duration': {
      const n = parseDuration(t, v.unit);
      return n !== null && n >= v.min && n <= v.max ? n : bad();
    }
    case 'text':
      return v.pattern.test(raw) ? raw : bad();
    case 'flag': {
      const l = t.toLowerCase();
      if (l === '1' || l === 'true' || l === 'yes' || l === 'on') return true;
      if (l === '0' || l === 'false' || l === 'no' || l === 'off') return false;
      return bad();
    }
  }
}

/** One variable's value from `env` (its default when unset or empty); throws TuningError. */
export function readVariable<N extends VariableName>(
  name: N,
  env: NodeJS.ProcessEnv = process.env,
): ValueOf<ByName<N>> {
  const v = BY_NAME.get(name)!;
  const raw = env[name];
  return (raw === undefined || raw === '' ? v.default : parseValue(v, raw)) as ValueOf<ByName<N>>;
}

/** Every serving command's variables from `env`; throws TuningError naming the first invalid one. */
export function readTuning(env: NodeJS.ProcessEnv = process.env): Tuning {
  const out: Record<string, unknown> = {};
  for (const v of VARIABLES) if (v.scope === 'all') out[v.name] = readVariable(v.name, env);
  return out as Tuning;
}

/** One warning line per FCGATE_* name in `env` that fcgate does not read, with the closest known name. */
export function unknownVariableWarnings(env: NodeJS.ProcessEnv = process.env): string[] {
  const known = VARIABLES.map((v) => v.name as string);
  const out: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('FCGATE_') || BY_NAME.has(name)) continue;
    if (DEVELOPMENT_PREFIXES.some((p) => name.startsWith(p)) || (DEVELOPMENT_NAMES as readonly string[]).includes(name))
      continue;
    out.push(
      `${name} is not a variable fcgate reads${didYouMean(name, known) || ' (see fcgate --help)'}; it is ignored`,
    );
  }
  return out;
}

/** The variables as `fcgate --help` lists them (two columns, wrapped to `width`). */
export function describeVariables(width = 100): string {
  const w = Math.max(...VARIABLES.map((v) => v.name.length));
  const lines: string[] = [];
  for (const v of VARIABLES) {
    const text = `${v.help} [default ${formatDefault(v)}; ${describeRange(v)}]`;
    lines.push(...wrap(text, width - w - 4).map((l, i) => `  ${(i === 0 ? v.name : '').padEnd(w)}  ${l}`));
  }
  return lines.join('\n');
}

/** The README's table (between its tuning markers). */
export function tuningMarkdown(): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  const rows = VARIABLES.map(
    (v) => `| \`${v.name}\` | ${formatDefault(v)} | ${cell(describeRange(v))} | ${cell(v.help)} |`,
  );
  return ['| variable | default | value | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') out.push(line);
  return out;
}
