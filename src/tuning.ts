// Tuning by environment variables: every FCGATE_* knob, its default, and its check.
// An invalid value stops startup with a message naming the variable.
// `fcgate --help` and the README print TUNING's table.

export interface Knob {
  name: string;
  default: number;
  min: number;
  max: number;
  unit: string;
  help: string;
}

const KNOBS = [
  { name: 'FCGATE_THREADS', default: 0, min: 0, max: 1024, unit: 'threads', help: 'serving threads (0 = one per CPU core)' },
  { name: 'FCGATE_MAX_BODY', default: 1024 * 1024 * 1024, min: 0, max: Number.MAX_SAFE_INTEGER, unit: 'bytes', help: 'largest request body; larger ones get 413' },
  { name: 'FCGATE_SPOOL_MEMORY', default: 1024 * 1024, min: 0, max: 1 << 30, unit: 'bytes', help: 'bytes of a body without Content-Length kept in memory before spooling to a temporary file' },
  { name: 'FCGATE_MAX_HEAD', default: 64 * 1024, min: 256, max: 16 * 1024 * 1024, unit: 'bytes', help: 'largest CGI header block from the app; larger is a 502' },
  { name: 'FCGATE_QUEUE_LIMIT', default: 1024, min: 0, max: 1 << 24, unit: 'requests', help: 'requests per backend and thread that may wait for a connection; more get 503' },
  { name: 'FCGATE_DEFAULT_MAX_CONNS', default: 16, min: 1, max: 1 << 20, unit: 'connections', help: "connections per backend over all threads when neither `max` nor the app's FCGI_MAX_CONNS says" },
  { name: 'FCGATE_CONN_MAX_REQUESTS', default: 0, min: 0, max: Number.MAX_SAFE_INTEGER, unit: 'requests', help: 'requests per backend connection before it is closed (0 = no limit)' },
  { name: 'FCGATE_BODY_BUFFER', default: 256 * 1024, min: 1024, max: 1 << 30, unit: 'bytes', help: 'request body held per request while the backend connection is not ready or congested, before the client is paused' },
  { name: 'FCGATE_RETRY_AFTER', default: 1, min: 0, max: 86400, unit: 'seconds', help: 'Retry-After sent with 503 answers for a full pool' },
  { name: 'FCGATE_REDIRECT_LIMIT', default: 10, min: 0, max: 100, unit: 'redirects', help: 'local redirects (Location: /path) followed for one request' },
  { name: 'FCGATE_PROBE_TIMEOUT', default: 2000, min: 1, max: 600000, unit: 'ms', help: 'how long the startup FCGI_GET_VALUES probe of each backend may take' },
  { name: 'FCGATE_DRAIN_MS', default: 10000, min: 0, max: 3600000, unit: 'ms', help: 'on SIGTERM, how long in-flight requests may take to finish' },
  { name: 'FCGATE_LOG_BUFFER', default: 4 * 1024 * 1024, min: 64 * 1024, max: 1 << 30, unit: 'bytes', help: 'log bytes waiting to be written per log output; past it lines are dropped and counted (fcgate_log_lines_dropped_total)' },
  { name: 'FCGATE_METRICS', default: 1, min: 0, max: 1, unit: 'flag', help: 'count requests into the metrics slabs (0: /metrics shows no request counts or latencies; the cost row of bench:e2e compares)' },
  { name: 'FCGATE_LOG_FLUSH_MS', default: 100, min: 0, max: 10000, unit: 'ms', help: "how long a serving thread's log lines may wait before they are written (0: every event-loop turn); 64 KiB go at once" },
] as const satisfies readonly Knob[];

export type KnobName = (typeof KNOBS)[number]['name'];
export type Tuning = Record<KnobName, number>;
export const TUNING: readonly Knob[] = KNOBS;

/** Reads every knob from `env`; throws an Error naming the first invalid one. */
export function readTuning(env: NodeJS.ProcessEnv = process.env): Tuning {
  const out = {} as Tuning;
  for (const k of KNOBS) {
    const raw = env[k.name];
    if (raw === undefined || raw === '') { out[k.name] = k.default; continue; }
    const v = Number(raw.trim());
    if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(v) || v < k.min || v > k.max) {
      throw new Error(`${k.name} must be an integer from ${k.min} to ${k.max} (${k.unit}); got "${raw}"`);
    }
    out[k.name] = v;
  }
  return out;
}

/** The table for --help. */
export function describeTuning(): string {
  const w = Math.max(...KNOBS.map((k) => k.name.length));
  return KNOBS.map((k) => `  ${k.name.padEnd(w)}  ${k.help} (default ${k.default}${k.unit === 'threads' ? '' : ' ' + k.unit})`).join('\n');
}
