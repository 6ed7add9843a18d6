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
  { name: 'FCGATE_SPOOL_MEMORY', default: 1024 * 1024, min: 0, max: 1 << 30, unit: 'bytes', help: 'bytes of one buffered request body (chunked, or over FCGATE_BODY_BUFFER) kept in memory before the rest goes to a temporary file' },
  { name: 'FCGATE_SPOOL_MEMORY_TOTAL', default: 64 * 1024 * 1024, min: 0, max: 2 ** 40, unit: 'bytes', help: 'memory for buffered request bodies over all requests and threads; past it bodies go to disk at once' },
  { name: 'FCGATE_SPOOL_DISK_TOTAL', default: 8 * 1024 * 1024 * 1024, min: 0, max: 2 ** 40, unit: 'bytes', help: 'temporary-file bytes for buffered request bodies over all requests and threads; past it a body gets 507' },
  { name: 'FCGATE_BODY_TIMEOUT', default: 60_000, min: 0, max: 3_600_000, unit: 'ms', help: 'longest pause between two pieces of a request body before 408 (0 = none; nginx client_body_timeout)' },
  { name: 'FCGATE_MAX_HEAD', default: 64 * 1024, min: 256, max: 16 * 1024 * 1024, unit: 'bytes', help: 'largest CGI header block from the app; larger is a 502' },
  { name: 'FCGATE_QUEUE_LIMIT', default: 1024, min: 0, max: 1 << 24, unit: 'requests', help: 'requests per backend and thread that may wait for a connection; more get 503' },
  { name: 'FCGATE_DEFAULT_MAX_CONNS', default: 16, min: 1, max: 1 << 20, unit: 'connections', help: "connections per backend over all threads when neither `max` nor the app's FCGI_MAX_CONNS says" },
  { name: 'FCGATE_CONN_MAX_REQUESTS', default: 0, min: 0, max: Number.MAX_SAFE_INTEGER, unit: 'requests', help: 'requests per backend connection before it is closed (0 = no limit)' },
  { name: 'FCGATE_BODY_BUFFER', default: 256 * 1024, min: 1024, max: 1 << 30, unit: 'bytes', help: 'request bodies with a Content-Length up to this size are received whole in memory before the app is contacted; larger ones are spooled (requestbuffering=on) or streamed (off)' },
  { name: 'FCGATE_RETRY_AFTER', default: 1, min: 0, max: 86400, unit: 'seconds', help: 'Retry-After sent with 503 answers for a full pool' },
  { name: 'FCGATE_REDIRECT_LIMIT', default: 10, min: 0, max: 100, unit: 'redirects', help: 'local redirects (Location: /path) followed for one request' },
  { name: 'FCGATE_PROBE_TIMEOUT', default: 2000, min: 1, max: 600000, unit: 'ms', help: 'how long the startup FCGI_GET_VALUES probe of each backend may take' },
  { name: 'FCGATE_DRAIN_MS', default: 10000, min: 0, max: 3600000, unit: 'ms', help: 'on SIGTERM, how long in-flight requests may take to finish' },
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
