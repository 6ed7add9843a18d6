// `fcgate bench` arguments: node's util.parseArgs, then every value checked and turned
// into BenchOptions. Any problem is a BenchArgError naming the flag; the command prints it
// and exits 2. The usage text lives here too, beside the flags it describes.
import { accessSync, constants, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { checkRequestSpec } from '../loadgen/http-request.js';
import type { BenchOptions, TargetSet } from '../loadgen/options.js';
import { processExists } from '../loadgen/proc-stats.js';
import type { RequestSpec } from '../loadgen/request-spec.js';
import { parseRate } from '../loadgen/schedule.js';
import { parseTarget } from '../loadgen/target.js';
import { parseDuration } from '../loadgen/units.js';
import { parseUrlList, type WeightedTarget } from '../loadgen/url-list.js';

export const BENCH_USAGE = `Usage: fcgate bench [options] URL
       fcgate bench [options] --urls FILE
       fcgate bench [options] --compare URL_A URL_B

A load generator for HTTP and FastCGI targets (docs/bench.md has the details).
URL: http://host[:port]/path?query             HTTP/1.1
     fcgi://host[:port]/script.php?query       FastCGI straight to the app (port 9000 by default)
     unix:/path.sock|fcgi://localhost/script.php   FastCGI over a unix socket (also |http://…)

Load:
  -c, --connections N    connections (default 10)
  -d, --duration TIME    measured time, e.g. 10s, 2m (default 10s; 5s per round with --compare)
  -n, --requests N       measured requests instead of a duration
      --warmup TIME      load before measuring, not counted (default 0)
      --rate R | R1:R2:TIME   open loop: R requests/s, or a ramp from R1 to R2 over TIME;
                         latency counted from each request's due time (coordinated omission)
  -t, --threads N        load threads (default: cores - 1, at least 1; at most -c)
      --timeout TIME     per request, connect included (default 10s)
Request:
  -m, --method METHOD    (default GET)
  -H, --header 'Name: value'   repeatable
      --body TEXT | --body-file FILE
      --no-keepalive     a new connection per request (FastCGI: no FCGI_KEEP_CONN)
FastCGI:
      --docroot DIR      SCRIPT_FILENAME = DIR + path (default: the path alone)
      --param NAME=VALUE add or replace a CGI param; --param NAME removes one (repeatable)
      --multiplex N      N requests at once per connection if the app says FCGI_MPXS_CONNS=1
Several URLs:
      --urls FILE        one "URL [WEIGHT]" per line, same scheme and address for all
Output:
      --json             the report as one JSON object on stdout (schema: docs/bench.md)
      --html FILE        a self-contained HTML report (latency distribution, req/s over time)
      --percentiles FILE HdrHistogram's percentile distribution (ms)
      --no-progress      no live line (it is only drawn when stdout is a terminal anyway)
      --json-schema      print the JSON schema and exit
Cost of the target (Linux /proc):
      --pid PID[,PID…]   CPU µs per request (user, system) and peak RSS of these processes
                         and all their children, over the measured window
Compare:
      --compare URL_A URL_B   A and B take turns, same settings; table with the ratio B/A
      --rounds N         rounds of A then B (default 5)
      --pid-a PID[,…], --pid-b PID[,…]   target processes of A and of B
Exit status: 0; 1 with --fail-on-errors when a request failed or got a status outside
200..399, or when the target cannot be reached at all; 2 for bad arguments.
      --fail-on-errors
  -h, --help
`;

export class BenchArgError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchArgError';
  }
}

export interface BenchCliArgs {
  options: BenchOptions;
  compare: boolean;
  json: boolean;
  html: string | null;
  percentiles: string | null;
  progress: boolean;
}

const OPTIONS = {
  connections: { type: 'string', short: 'c' },
  duration: { type: 'string', short: 'd' },
  requests: { type: 'string', short: 'n' },
  warmup: { type: 'string' },
  rate: { type: 'string' },
  threads: { type: 'string', short: 't' },
  timeout: { type: 'string' },
  method: { type: 'string', short: 'm' },
  header: { type: 'string', short: 'H', multiple: true },
  body: { type: 'string' },
  'body-file': { type: 'string' },
  'no-keepalive': { type: 'boolean' },
  docroot: { type: 'string' },
  param: { type: 'string', multiple: true },
  multiplex: { type: 'string' },
  urls: { type: 'string' },
  json: { type: 'boolean' },
  html: { type: 'string' },
  percentiles: { type: 'string' },
  'no-progress': { type: 'boolean' },
  'json-schema': { type: 'boolean' },
  pid: { type: 'string', multiple: true },
  compare: { type: 'boolean' },
  rounds: { type: 'string' },
  'pid-a': { type: 'string', multiple: true },
  'pid-b': { type: 'string', multiple: true },
  'fail-on-errors': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function int(flag: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new BenchArgError(`${flag} must be an integer in ${min}..${max} (got "${text}")`);
  }
  return Number(text);
}

function duration(flag: string, text: string | undefined, minMs: number): number | undefined {
  if (text === undefined) return undefined;
  let ms: number;
  try {
    ms = parseDuration(text, flag);
  } catch (err) {
    throw new BenchArgError((err as Error).message);
  }
  if (ms < minMs) throw new BenchArgError(`${flag} must be at least ${minMs} ms (got "${text}")`);
  return ms;
}

function pids(flag: string, values: string[] | undefined): number[] {
  const out: number[] = [];
  for (const v of values ?? []) {
    for (const p of v.split(',')) {
      const t = p.trim();
      if (!/^\d+$/.test(t) || Number(t) < 1) throw new BenchArgError(`${flag}: "${t}" is not a process id`);
      if (!processExists(Number(t))) throw new BenchArgError(`${flag}: no process ${t} (is /proc mounted? Linux only)`);
      out.push(Number(t));
    }
  }
  return out;
}

function target(text: string): WeightedTarget {
  try {
    return { target: parseTarget(text), weight: 1 };
  } catch (err) {
    throw new BenchArgError((err as Error).message);
  }
}

function header(text: string): [string, string] {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new BenchArgError(`-H "${text}": expected 'Name: value'`);
  return [text.slice(0, colon).trim(), text.slice(colon + 1).trim()];
}

function param(text: string): [string, string | null] {
  const eq = text.indexOf('=');
  const name = eq < 0 ? text : text.slice(0, eq);
  if (name === '' || /[\s=]/.test(name)) throw new BenchArgError(`--param "${text}": expected NAME=VALUE or NAME`);
  return [name, eq < 0 ? null : text.slice(eq + 1)];
}

/** util.parseArgs over OPTIONS; its errors become BenchArgErrors, without Node's positional-argument hint. */
function parseOptions(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new BenchArgError(`${(err as Error).message.replace(/\. To specify a positional argument.*$/s, '')}`);
  }
}

/** Parses `fcgate bench` arguments; 'help' and 'schema' ask for texts, not a run. */
export function parseBenchArgs(argv: string[]): BenchCliArgs | 'help' | 'schema' {
  const parsed = parseOptions(argv);
  const v = parsed.values;
  if (v.help) return 'help';
  if (v['json-schema']) return 'schema';
  const positionals = parsed.positionals;
  const compare = v.compare === true;

  // Targets.
  let sets: TargetSet[];
  if (compare) {
    if (positionals.length !== 2) throw new BenchArgError(`--compare needs two URLs (got ${positionals.length})`);
    if (v.urls !== undefined) throw new BenchArgError('--compare takes two URLs, not --urls');
    if (v.pid !== undefined) throw new BenchArgError('with --compare, give --pid-a and --pid-b instead of --pid');
    sets = [
      { label: 'A', entries: [target(positionals[0]!)], pids: pids('--pid-a', v['pid-a']) },
      { label: 'B', entries: [target(positionals[1]!)], pids: pids('--pid-b', v['pid-b']) },
    ];
  } else {
    if (v['pid-a'] !== undefined || v['pid-b'] !== undefined)
      throw new BenchArgError('--pid-a and --pid-b go with --compare; use --pid');
    if (v.rounds !== undefined) throw new BenchArgError('--rounds goes with --compare');
    let entries: WeightedTarget[];
    if (v.urls !== undefined) {
      if (positionals.length > 0) throw new BenchArgError('give either a URL or --urls FILE, not both');
      let text: string;
      try {
        text = readFileSync(v.urls, 'utf8');
      } catch (err) {
        throw new BenchArgError(`--urls ${v.urls}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      try {
        entries = parseUrlList(text, v.urls);
      } catch (err) {
        throw new BenchArgError((err as Error).message);
      }
    } else {
      if (positionals.length === 0) throw new BenchArgError('no target URL (see fcgate bench --help)');
      if (positionals.length > 1)
        throw new BenchArgError(
          `one target URL expected, got ${positionals.length} (several: --urls FILE; two to compare: --compare)`,
        );
      entries = [target(positionals[0]!)];
    }
    sets = [{ label: null, entries, pids: pids('--pid', v.pid) }];
  }
  const kinds = new Set(sets.map((s) => s.entries[0]!.target.kind));

  // Load.
  const connections = int('-c', v.connections, 1, 100_000) ?? 10;
  const requests = int('-n', v.requests, 1, Number.MAX_SAFE_INTEGER) ?? null;
  if (requests !== null && v.duration !== undefined) throw new BenchArgError('give either -d or -n, not both');
  const rampMs = v.rate !== undefined ? rate(v.rate).rampMs : 0;
  const durationMs: number | null =
    requests !== null ? null : (duration('-d', v.duration, 1) ?? (compare ? 5000 : rampMs > 0 ? rampMs : 10_000));
  if (durationMs !== null && durationMs > 7 * 24 * 3_600_000) throw new BenchArgError('-d: at most a week');
  const warmupMs = duration('--warmup', v.warmup, 0) ?? 0;
  const timeoutMs = duration('--timeout', v.timeout, 1) ?? 10_000;
  const threads = int('-t', v.threads, 1, 1024) ?? Math.max(1, availableParallelism() - 1);
  const multiplex = int('--multiplex', v.multiplex, 1, 1024) ?? 1;
  if (v.multiplex !== undefined && !kinds.has('fcgi')) throw new BenchArgError('--multiplex is for fcgi:// targets');
  if ((v.docroot !== undefined || v.param !== undefined) && !kinds.has('fcgi')) {
    throw new BenchArgError(`${v.docroot !== undefined ? '--docroot' : '--param'} is for fcgi:// targets`);
  }
  const rounds = int('--rounds', v.rounds, 1, 1000) ?? 5;

  // Request.
  if (v.body !== undefined && v['body-file'] !== undefined)
    throw new BenchArgError('give either --body or --body-file, not both');
  let body: Uint8Array | null = null;
  if (v.body !== undefined) body = new Uint8Array(Buffer.from(v.body, 'utf8'));
  if (v['body-file'] !== undefined) {
    try {
      body = new Uint8Array(readFileSync(v['body-file']));
    } catch (err) {
      throw new BenchArgError(
        `--body-file ${v['body-file']}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }
  if (body !== null && body.length === 0) body = null;
  const request: RequestSpec = {
    method: v.method ?? (body !== null ? 'POST' : 'GET'),
    headers: (v.header ?? []).map(header),
    body,
    keepAlive: v['no-keepalive'] !== true,
    docroot: v.docroot ?? null,
    params: (v.param ?? []).map(param),
  };
  try {
    checkRequestSpec(request);
  } catch (err) {
    throw new BenchArgError((err as Error).message);
  }
  if (request.method === 'HEAD' && body !== null) throw new BenchArgError('-m HEAD with a body makes no sense');

  for (const [flag, file] of [
    ['--html', v.html],
    ['--percentiles', v.percentiles],
  ] as const) {
    if (file === undefined) continue;
    try {
      accessSync(dirname(resolve(file)), constants.W_OK);
    } catch {
      throw new BenchArgError(`${flag} ${file}: cannot write in ${dirname(resolve(file))}`);
    }
  }

  return {
    options: {
      sets,
      connections,
      threads,
      durationMs,
      requests,
      warmupMs,
      rate: v.rate !== undefined ? rate(v.rate) : null,
      timeoutMs,
      request,
      multiplex,
      rounds,
      failOnErrors: v['fail-on-errors'] === true,
    },
    compare,
    json: v.json === true,
    html: v.html ?? null,
    percentiles: v.percentiles ?? null,
    progress: v['no-progress'] !== true,
  };
}

function rate(text: string): ReturnType<typeof parseRate> {
  try {
    return parseRate(text);
  } catch (err) {
    throw new BenchArgError((err as Error).message);
  }
}
