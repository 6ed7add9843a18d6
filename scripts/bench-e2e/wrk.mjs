// Load generation for the end-to-end bench: one wrk run (own process group, optionally
// pinned, killed if it overruns), with a Lua script built from bench/e2e/wrk-*.lua whose
// done() prints one `E2E-RESULT {json}` line; plus a one-request check that a proxy
// answers a scenario correctly before it is loaded. No measuring of servers here.
// @ts-check
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { E2E } from './servers.mjs';
import { logTail, startGroup, stopGroup } from './procs.mjs';

/** @typedef {import('./plan.mjs').Scenario} Scenario */

const MARK = 'E2E-RESULT ';

/**
 * Writes the wrk script for a scenario into `dir` (the POST body part first, then done()).
 * @param {string} dir
 * @param {Scenario} scenario
 */
export function wrkScript(dir, scenario) {
  const parts = [];
  if (scenario.method === 'POST') parts.push(readFileSync(join(E2E, 'wrk-post.lua'), 'utf8'));
  parts.push(readFileSync(join(E2E, 'wrk-report.lua'), 'utf8'));
  const file = join(dir, `wrk-${scenario.id}.lua`);
  writeFileSync(file, parts.join('\n'));
  return file;
}

/**
 * Runs wrk for `seconds` against `url`; resolves with the parsed result line
 * ({ requests, duration_us, bytes, connect, read, write, status, timeout, p50_us, … }).
 * @param {{ url: string, connections: number, threads?: number, seconds: number, script: string,
 *   cpus: string | null, dir: string, wrk?: string, timeoutS?: number }} options
 * @returns {Promise<Record<string, number>>}
 */
export async function runWrk({ url, connections, threads = 1, seconds, script, cpus, dir, wrk = 'wrk', timeoutS = 5 }) {
  const logFile = join(dir, 'wrk.log');
  writeFileSync(logFile, '');
  const args = [
    '-t',
    String(threads),
    '-c',
    String(connections),
    '-d',
    `${seconds}s`,
    '--timeout',
    `${timeoutS}s`,
    '--latency',
    '-s',
    script,
    url,
  ];
  const proc = startGroup('wrk', wrk, args, { cpus, logFile });
  const limit = new Promise((r) => setTimeout(() => r('late'), (seconds + timeoutS + 15) * 1000));
  if ((await Promise.race([proc.exited.then(() => 'ok'), limit])) === 'late') {
    await stopGroup(proc, { signal: 'SIGKILL' });
    throw new Error(`wrk ran past ${seconds + timeoutS + 15} s: ${logTail(logFile)}`);
  }
  const text = readFileSync(logFile, 'utf8');
  const line = text.split('\n').find((l) => l.startsWith(MARK));
  if (line === undefined) throw new Error(`wrk printed no result: ${text.slice(-1500)}`);
  return JSON.parse(line.slice(MARK.length));
}

/**
 * One request through the proxy: resolves null when the answer is as expected, else a reason.
 * @param {number} port
 * @param {Scenario} scenario
 * @returns {Promise<string | null>}
 */
export function checkOnce(port, scenario, timeoutMs = 10_000) {
  return new Promise((resolve) => {
    const body = scenario.method === 'POST' ? Buffer.alloc(65536, '0123456789abcdef') : null;
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: scenario.path,
        method: scenario.method ?? 'GET',
        headers: body ? { 'content-type': 'application/octet-stream', 'content-length': body.length } : {},
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        let n = 0;
        let head = '';
        res.on('data', (/** @type {Buffer} */ c) => {
          n += c.length;
          if (head.length < 200) head += c.toString('latin1', 0, 200);
        });
        res.on('end', () => {
          if (res.statusCode !== 200) resolve(`status ${res.statusCode}: ${head.slice(0, 120)}`);
          else resolve(scenario.expect(n, head));
        });
        res.on('error', (e) => resolve(e.message));
      },
    );
    req.on('timeout', () => {
      req.destroy(new Error(`no answer in ${timeoutMs} ms`));
    });
    req.on('error', (e) => resolve(e.message));
    req.end(body ?? undefined);
  });
}
