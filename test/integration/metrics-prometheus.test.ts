// /metrics with the real thing (issue 12): Debian's Prometheus, started here as a foreground
// child with its own configuration on loopback (scrape interval 1 s, native histograms on),
// scrapes fcgate (2 serving threads) while a known load goes through: 200s, 404s, 503s from
// a backend that is down and from a full pool, 504s from a read timeout. Then Prometheus'
// HTTP API must agree with the client: requests by code exactly, histogram_quantile(0.99)
// over the native histogram within one bucket of the latency the client measured, upstream
// and pool series present. promtool checks the text exposition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { skipUnlessFound, stopGroup, trackGroup, waitForConnect } from '../helpers/process.js';
import { freePort, get, startApp, startServe } from '../threads/cli-process.js';

const PROMETHEUS = process.env['FCGATE_PROMETHEUS'] ?? '/usr/bin/prometheus';
const PROMTOOL = process.env['FCGATE_PROMTOOL'] ?? '/usr/bin/promtool';
const FACTOR = 2 ** (1 / 8); // schema 3: one bucket is this wide

interface Sent {
  path: string;
  status: number;
  ms: number;
}

/** `paths` as GETs, at most `parallel` at a time, each on a new connection (both threads get some). */
async function drive(port: number, paths: string[], parallel: number): Promise<Sent[]> {
  const out: Sent[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < paths.length) {
        const path = paths[next++]!;
        const t0 = performance.now();
        const a = await get(port, path);
        out.push({ path, status: a.status, ms: performance.now() - t0 });
      }
    }),
  );
  return out;
}

async function query(
  promPort: number,
  q: string,
): Promise<
  Array<{ metric: Record<string, string>; value?: [number, string]; histogram?: [number, { count: string }] }>
> {
  const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
  const j = (await r.json()) as {
    status: string;
    data: {
      result: Array<{
        metric: Record<string, string>;
        value?: [number, string];
        histogram?: [number, { count: string }];
      }>;
    };
    error?: string;
  };
  assert.equal(j.status, 'success', `${q}: ${j.error ?? ''}`);
  return j.data.result;
}

test('Prometheus scrapes fcgate: counts by code, native-histogram p99, upstream and pool series', {
  timeout: 60_000,
}, async (t) => {
  const skip = skipUnlessFound('prometheus', existsSync(PROMETHEUS) && existsSync(PROMTOOL));
  if (skip) {
    t.skip(skip);
    return;
  }
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'fcgate-prom-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Three app processes: two ProxyPass lines to one URL share one worker (and its keys).
  // /tiny/ takes one request per connection (the demo app would multiplex them all onto its
  // one connection): its max=1 pool is full and answers 503.
  const [app, lateApp, tinyApp] = await Promise.all([startApp(), startApp(), startApp()]);
  t.after(async () => {
    await Promise.all([app.proc.stop(), lateApp.proc.stop(), tinyApp.proc.stop()]);
  });
  const [port, admin, promPort, dead] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  writeFileSync(
    join(dir, 'fcgate.conf'),
    `Listen 127.0.0.1:${port}
AdminListen 127.0.0.1:${admin}
ProxyPass /app/ fcgi://127.0.0.1:${app.port}/
ProxyPass /down/ fcgi://127.0.0.1:${dead}/
ProxyPass /late/ fcgi://127.0.0.1:${lateApp.port}/ timeout=300ms
ProxyPass /tiny/ fcgi://127.0.0.1:${tinyApp.port}/ max=1 acquire=100 multiplex=off
CustomLog off
`,
  );
  const gw = await startServe(['-c', join(dir, 'fcgate.conf')], 2);
  t.after(() => gw.stop());

  // Prometheus, in the foreground of its own process group, with its own storage.
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: fcgate
    static_configs:
      - targets: ['127.0.0.1:${admin}']
`,
  );
  const prom = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--enable-feature=native-histograms',
      '--log.level=warn',
    ],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  trackGroup(prom.pid!);
  t.after(() => stopGroup(prom, 'SIGTERM', 5000));
  let promLog = '';
  prom.stderr!.on('data', (c: Buffer) => {
    promLog += c.toString();
  });

  // The load: 100 fast and 20 slow (200 ms) through /app/, so its 99th percentile is a slow one.
  const load = [
    ...Array.from({ length: 100 }, () => '/app/hello'),
    ...Array.from({ length: 20 }, () => '/app/slow?ms=200'),
    ...Array.from({ length: 7 }, () => '/nothing-here'),
    ...Array.from({ length: 10 }, () => '/down/x'),
    ...Array.from({ length: 5 }, () => '/late/slow?ms=2000'),
  ];
  const sent = [
    ...(await drive(port, load, 10)),
    ...(await drive(
      port,
      Array.from({ length: 6 }, () => '/tiny/slow?ms=400'),
      6,
    )),
  ];
  const byCode = new Map<string, number>();
  for (const s of sent) byCode.set(String(s.status), (byCode.get(String(s.status)) ?? 0) + 1);
  assert.equal(byCode.get('504'), 5, JSON.stringify([...byCode]));
  assert.ok((byCode.get('503') ?? 0) >= 11, `503s: the dead backend and the full pool: ${JSON.stringify([...byCode])}`);

  // Wait until a scrape after the load is stored (bounded: the test stays well under 30 s).
  await waitForConnect(
    { host: '127.0.0.1', port: promPort },
    { timeoutMs: 15_000, abandon: () => (prom.exitCode !== null ? `prometheus exited: ${promLog}` : null) },
  );
  const total = sent.length;
  let seen = -1;
  for (const until = Date.now() + 15_000; Date.now() < until; ) {
    const r = await query(promPort, 'sum(fcgate_http_requests_total)').catch(() => []);
    seen = r.length > 0 ? Number(r[0]!.value![1]) : -1;
    if (seen === total) break;
    await new Promise((res) => setTimeout(res, 250));
  }
  assert.equal(seen, total, `Prometheus never stored a scrape with all ${total} requests; its log:\n${promLog}`);

  // 1. Requests by status code: exactly what the client got, summed over both threads.
  const codes = await query(promPort, 'sum by (code) (fcgate_http_requests_total)');
  assert.deepEqual(new Map(codes.map((r) => [r.metric['code']!, Number(r.value![1])])), byCode);
  const onApp = await query(promPort, 'fcgate_http_requests_total{route="/app/",code="200"}');
  assert.equal(Number(onApp[0]!.value![1]), 120);

  // 2. The native histogram: stored as one (not as _bucket series), and its p99 within a bucket of the client's.
  const h = await query(promPort, 'fcgate_http_request_duration_seconds{route="/app/"}');
  assert.equal(h.length, 1);
  assert.ok(h[0]!.histogram !== undefined, `not a native histogram: ${JSON.stringify(h)}`);
  assert.equal(Number(h[0]!.histogram![1].count), 120);
  const appMs = sent
    .filter((s) => s.path.startsWith('/app/'))
    .map((s) => s.ms)
    .sort((a, b) => a - b);
  const clientP99 = appMs[Math.ceil(0.99 * appMs.length) - 1]! / 1000;
  const q = Number(
    (await query(promPort, 'histogram_quantile(0.99, fcgate_http_request_duration_seconds{route="/app/"})'))[0]!
      .value![1],
  );
  // The server's clock starts a little after the client's and stops a little before it.
  assert.ok(
    q <= clientP99 * FACTOR && q >= (clientP99 - 0.02) / FACTOR,
    `histogram_quantile(0.99) = ${q} s, client p99 = ${clientP99} s`,
  );

  // 3. Upstream and pool series.
  const app0 = `fcgi://127.0.0.1:${app.port}`;
  const present = async (q: string): Promise<number> => {
    const r = await query(promPort, q);
    assert.ok(r.length > 0, `no series for ${q}`);
    return Number(r[0]!.value?.[1] ?? r[0]!.histogram?.[1].count);
  };
  assert.equal(
    await present(
      `fcgate_upstream_connect_failures_total{backend="fcgi://127.0.0.1:${dead}",code="FCGATE_CONNECT_FAILED"}`,
    ),
    10,
  );
  assert.equal(
    await present(`fcgate_errors_total{code="FCGATE_HEADER_TIMEOUT",backend="fcgi://127.0.0.1:${lateApp.port}"}`),
    5,
  );
  assert.ok((await present(`sum(fcgate_upstream_rejected_total{reason="acquire_timeout"})`)) >= 1);
  assert.ok((await present(`fcgate_upstream_connects_total{backend="${app0}"}`)) >= 1);
  assert.equal((await present(`fcgate_upstream_connections_max{backend="${app0}"}`)) > 0, true);
  await present(`fcgate_upstream_connections{backend="${app0}",state="idle"}`);
  await present(`fcgate_upstream_queue_length{backend="${app0}"}`);
  assert.ok((await present(`fcgate_upstream_queue_wait_seconds{backend="${app0}"}`)) >= 120);
  assert.ok((await present(`fcgate_upstream_first_byte_seconds{backend="${app0}"}`)) >= 120);
  assert.equal(await present('sum(fcgate_thread_up)'), 2);
  await present('fcgate_build_info');
  await present('process_resident_memory_bytes');

  // 4. promtool's lint passes on the text exposition; OpenMetrics is offered too.
  const text = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
  const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(lint.status, 0, `promtool check metrics:\n${lint.stdout}${lint.stderr}`);
  assert.equal((lint.stdout + lint.stderr).trim(), '');
  const om = await fetch(`http://127.0.0.1:${admin}/metrics`, {
    headers: { Accept: 'application/openmetrics-text;version=1.0.0' },
  });
  assert.match(om.headers.get('content-type')!, /^application\/openmetrics-text; version=1\.0\.0/);
  assert.ok((await om.text()).endsWith('# EOF\n'));
  process.stderr.write(
    `prometheus test: ${total} requests, client p99 ${(clientP99 * 1000).toFixed(1)} ms, histogram_quantile `
      + `${(q * 1000).toFixed(1)} ms, ${Date.now() - started} ms in all\n`,
  );
});
