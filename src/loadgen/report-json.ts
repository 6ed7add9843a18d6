// --json: one versioned object per invocation, and its JSON Schema (draft 2020-12), which
// docs/bench.md quotes verbatim (a test keeps the two equal and validates real output
// against it). Version 1; a change that removes or renames a field bumps `version`.
import type { CompareReport } from './compare.js';
import { PERCENTILES, percentileKey } from './histogram.js';
import { encodeHistogram } from './histogram.js';
import { ERROR_KIND_NAMES } from './lane.js';
import type { ProcessCost, RunReport } from './run.js';

const JSON_FORMAT = 'fcgate-bench';
const JSON_VERSION = 1;

const num = { type: 'number', minimum: 0 } as const;
const int = { type: 'integer', minimum: 0 } as const;
const nullable = (s: object): object => ({ anyOf: [s, { type: 'null' }] });
const obj = (properties: Record<string, object>, required = Object.keys(properties)): object => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});

const latencyProps: Record<string, object> = { min: num, mean: num, stdev: num, max: num };
for (const p of PERCENTILES) latencyProps[percentileKey(p)] = num;
const errorProps: Record<string, object> = {};
for (const k of ERROR_KIND_NAMES) errorProps[k] = int;
const figureKeys = ['rps', 'p50Us', 'p99Us', 'errors', 'targetCpuUsPerRequest', 'targetPeakRssBytes'];
const spread = obj({ median: num, min: num, max: num });

export const JSON_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'fcgate bench report',
  type: 'object',
  properties: {
    format: { const: JSON_FORMAT },
    version: { const: JSON_VERSION },
    tool: obj({ name: { type: 'string' }, version: { type: 'string' }, node: { type: 'string' } }),
    createdAt: { type: 'string' },
    mode: { enum: ['single', 'compare'] },
    result: nullable({ $ref: '#/$defs/run' }),
    compare: nullable(
      obj({
        rounds: int,
        medians: obj({ a: { $ref: '#/$defs/figures' }, b: { $ref: '#/$defs/figures' } }),
        ratios: obj(Object.fromEntries(figureKeys.map((k) => [k, nullable({ $ref: '#/$defs/spread' })]))),
        runs: obj({
          a: { type: 'array', items: { $ref: '#/$defs/run' } },
          b: { type: 'array', items: { $ref: '#/$defs/run' } },
        }),
      }),
    ),
  },
  required: ['format', 'version', 'tool', 'createdAt', 'mode', 'result', 'compare'],
  additionalProperties: false,
  $defs: {
    spread,
    figures: obj(Object.fromEntries(figureKeys.map((k) => [k, nullable(num)]))),
    cost: obj({
      pids: { type: 'array', items: { type: 'integer', minimum: 1 } },
      processes: int,
      cpuUsPerRequest: obj({ user: num, system: num, total: num }),
      cores: num,
      peakRssBytes: int,
      peakAnonBytes: int,
    }),
    run: obj({
      label: nullable({ enum: ['A', 'B'] }),
      round: nullable({ type: 'integer', minimum: 1 }),
      target: obj({
        kind: { enum: ['http', 'fcgi'] },
        address: { type: 'string' },
        urls: {
          type: 'array',
          minItems: 1,
          items: obj({ url: { type: 'string' }, weight: { type: 'integer', minimum: 1 } }),
        },
      }),
      settings: obj({
        loop: { enum: ['closed', 'open'] },
        threads: { type: 'integer', minimum: 1 },
        connections: { type: 'integer', minimum: 1 },
        multiplex: { type: 'integer', minimum: 1 },
        durationMs: nullable(num),
        requests: nullable(int),
        warmupMs: num,
        timeoutMs: num,
        keepAlive: { type: 'boolean' },
        method: { type: 'string' },
        rate: nullable(obj({ from: num, to: num, rampMs: num })),
      }),
      window: obj({ start: { type: 'string' }, seconds: num }),
      requests: obj({ responses: int, errors: int, non2xx3xx: int, perSecond: num }),
      status: { type: 'object', additionalProperties: int, propertyNames: { pattern: '^[0-9]{3}$' } },
      errors: obj(errorProps),
      firstErrors: { type: 'object', additionalProperties: { type: 'string' } },
      transfer: obj({ bytesIn: int, bytesOut: int, bytesInPerSecond: num, bytesOutPerSecond: num }),
      latencyUs: obj(latencyProps),
      histogram: { type: 'string' },
      timeline: {
        type: 'array',
        items: obj({
          second: int,
          responses: int,
          errors: int,
          bytesIn: int,
          p50Us: num,
          p90Us: num,
          p99Us: num,
          maxUs: num,
          rssBytes: int,
        }),
      },
      warmup: obj({ responses: int, errors: int, bytesIn: int, bytesOut: int }),
      openLoop: nullable(obj({ askedRate: num, achievedRate: num, lagMeanUs: num, lagMaxUs: num, lateBusy: int })),
      fcgi: nullable(
        obj({
          multiplexAsked: { type: 'integer', minimum: 1 },
          getValues: nullable({ type: 'object', additionalProperties: { type: 'string' } }),
          stderrRequests: int,
        }),
      ),
      targetCost: nullable({ $ref: '#/$defs/cost' }),
      selfCost: { $ref: '#/$defs/cost' },
      notes: { type: 'array', items: { type: 'string' } },
    }),
  },
} as const;

/** JSON indented by two, with containers that fit in `width` columns kept on one line. */
export function formatJson(value: unknown, width = 100, indent = ''): string {
  const flat = JSON.stringify(value);
  if (flat === undefined || flat.length + indent.length <= width || value === null || typeof value !== 'object')
    return flat ?? 'null';
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    return `[\n${value.map((v) => inner + formatJson(v, width, inner)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  const lines = entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${formatJson(v, width, inner)}`);
  return `{\n${lines.join(',\n')}\n${indent}}`;
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

function cost(c: ProcessCost): object {
  return {
    pids: c.pids,
    processes: c.processes,
    cpuUsPerRequest: {
      user: round3(c.userUsPerRequest),
      system: round3(c.systemUsPerRequest),
      total: round3(c.userUsPerRequest + c.systemUsPerRequest),
    },
    cores: round3(c.cores),
    peakRssBytes: Math.round(c.peakRssBytes),
    peakAnonBytes: Math.round(c.peakAnonBytes),
  };
}

/** One run as the schema's `run`. */
function runJson(r: RunReport): object {
  const c = r.run.counts;
  const latency: Record<string, number> = {
    min: r.latency.minUs,
    mean: round3(r.latency.meanUs),
    stdev: round3(r.latency.stdevUs),
    max: r.latency.maxUs,
  };
  for (const p of PERCENTILES) latency[percentileKey(p)] = r.latency.percentiles[percentileKey(p)]!;
  const errors: Record<string, number> = {};
  const firstErrors: Record<string, string> = {};
  ERROR_KIND_NAMES.forEach((k, i) => {
    errors[k] = c.errors[i]!;
    if (r.run.firstErrors[i]) firstErrors[k] = r.run.firstErrors[i]!;
  });
  const w = r.run.warmup;
  return {
    label: r.label,
    round: r.round,
    target: { kind: r.kind, address: r.address, urls: r.urls },
    settings: {
      loop: r.loop,
      threads: r.threads,
      connections: r.connections,
      multiplex: r.depth,
      durationMs: r.durationMs,
      requests: r.requests,
      warmupMs: r.warmupMs,
      timeoutMs: r.timeoutMs,
      keepAlive: r.keepAlive,
      method: r.method,
      rate: r.rate,
    },
    window: { start: new Date(r.run.measureStart).toISOString(), seconds: round3(r.durationS) },
    requests: { responses: c.responses, errors: r.errors, non2xx3xx: r.non2xx3xx, perSecond: round3(r.rps) },
    status: r.run.status,
    errors,
    firstErrors,
    transfer: {
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      bytesInPerSecond: round3(c.bytesIn / r.durationS),
      bytesOutPerSecond: round3(c.bytesOut / r.durationS),
    },
    latencyUs: latency,
    histogram: encodeHistogram(r.run.histogram),
    timeline: r.run.timeline,
    warmup: {
      responses: w.responses,
      errors: w.errors.reduce((a, b) => a + b, 0),
      bytesIn: w.bytesIn,
      bytesOut: w.bytesOut,
    },
    openLoop:
      r.openLoop === null
        ? null
        : {
            askedRate: round3(r.openLoop.askedRate),
            achievedRate: round3(r.openLoop.achievedRate),
            lagMeanUs: round3(r.openLoop.lagMeanUs),
            lagMaxUs: round3(r.openLoop.lagMaxUs),
            lateBusy: r.openLoop.lateBusy,
          },
    fcgi: r.fcgi,
    targetCost: r.target === null ? null : cost(r.target),
    selfCost: cost(r.self),
    notes: r.notes,
  };
}

export interface ToolInfo {
  name: string;
  version: string;
  node: string;
}

/** The whole --json document. */
export function reportJson(tool: ToolInfo, single: RunReport | null, compare: CompareReport | null): object {
  return {
    format: JSON_FORMAT,
    version: JSON_VERSION,
    tool,
    createdAt: new Date().toISOString(),
    mode: compare !== null ? 'compare' : 'single',
    result: single === null ? null : runJson(single),
    compare:
      compare === null
        ? null
        : {
            rounds: compare.rounds,
            medians: { a: compare.medians[0], b: compare.medians[1] },
            ratios: compare.ratios,
            runs: { a: compare.runs[0].map(runJson), b: compare.runs[1].map(runJson) },
          },
  };
}
