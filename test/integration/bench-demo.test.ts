// fcgate bench against the built-in demo app, FastCGI straight to it and HTTP through the
// real gateway (issue #14): the counts match the app's own count (and the gateway's);
// multiplexing; a backend killed mid-run gives counted errors and a clean end; timeouts;
// --rate holds its rate; --urls weights. Runs of about a second each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { bench, errorsOf, startCountingApp, type CountingApp } from './bench-kit.js';

async function withGateway(app: CountingApp): Promise<TestGateway> {
  const gw = await startTestGateway({ config: `ProxyPass / fcgi://127.0.0.1:${app.port}/\n`, probe: false });
  return gw;
}

test('fcgi: -n 3000 over 8 connections: 3000 responses, and the app counted 3000', async (t) => {
  const app = await startCountingApp();
  t.after(() => app.stop());
  const r = await bench('-c', '8', '-n', '3000', `fcgi://127.0.0.1:${app.port}/hello`);
  assert.deepEqual(errorsOf(r), {});
  assert.equal(r.run.counts.responses, 3000);
  assert.deepEqual(r.run.status, { 200: 3000 });
  assert.equal(app.count, 3000);
  assert.equal(r.latency.count, 3000);
  assert.ok(r.run.counts.bytesIn > 3000 * 30, `bytes in ${r.run.counts.bytesIn}`);
});

test("fcgi: -d 1s after a warm-up: measured + warm-up = the app's count, timeline covers the second", async (t) => {
  const app = await startCountingApp();
  t.after(() => app.stop());
  const r = await bench('-c', '4', '-d', '1s', '--warmup', '300ms', `fcgi://127.0.0.1:${app.port}/hello`);
  assert.deepEqual(errorsOf(r), {});
  assert.ok(r.run.counts.responses > 100, `${r.run.counts.responses} responses`);
  assert.ok(r.run.warmup.responses > 0, 'some warm-up responses');
  assert.equal(r.run.counts.responses + r.run.warmup.responses, app.count);
  assert.ok(r.durationS >= 1 && r.durationS < 1.5, `window ${r.durationS} s`);
  assert.equal(
    r.run.timeline.reduce((a, p) => a + p.responses, 0),
    r.run.counts.responses,
  );
});

test('fcgi: --multiplex 8 on 2 connections keeps 16 requests in flight (FCGI_MPXS_CONNS=1 asked first)', async (t) => {
  const app = await startCountingApp();
  t.after(() => app.stop());
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, app.server.running);
  }, 1);
  t.after(() => clearInterval(timer));
  const r = await bench('-c', '2', '--multiplex', '8', '-n', '400', `fcgi://127.0.0.1:${app.port}/slow?ms=5`);
  assert.deepEqual(errorsOf(r), {});
  assert.equal(r.depth, 8);
  assert.equal(r.fcgi!.getValues!['FCGI_MPXS_CONNS'], '1');
  assert.equal(r.run.counts.responses, 400);
  assert.equal(app.count, 400);
  assert.ok(peak > 2, `at most ${peak} requests ran at once`);
});

test('fcgi: an app that does not multiplex gets one request per connection, and a note says so', async (t) => {
  const app = await startCountingApp({ mpxsConns: false });
  t.after(() => app.stop());
  const r = await bench('-c', '2', '--multiplex', '8', '-n', '50', `fcgi://127.0.0.1:${app.port}/hello`);
  assert.equal(r.depth, 1);
  assert.match(r.notes.join('\n'), /FCGI_MPXS_CONNS=0; one request per connection/);
  assert.equal(r.run.counts.responses, 50);
});

test('fcgi --no-keepalive: a connection per request, counts still match', async (t) => {
  const app = await startCountingApp();
  t.after(() => app.stop());
  const r = await bench('-c', '4', '-n', '300', '--no-keepalive', `fcgi://127.0.0.1:${app.port}/hello`);
  assert.deepEqual(errorsOf(r), {});
  assert.equal(r.run.counts.responses, 300);
  assert.equal(app.count, 300);
});

test("http through the gateway: counts match the gateway's and the app's", async (t) => {
  const app = await startCountingApp();
  const gw = await withGateway(app);
  t.after(async () => {
    await gw.stop();
    await app.stop();
  });
  const r = await bench('-c', '8', '-n', '2000', `${gw.base}/hello`);
  assert.deepEqual(errorsOf(r), {});
  assert.deepEqual(r.run.status, { 200: 2000 });
  assert.equal(app.count, 2000);
  assert.equal(gw.gateway.stats().served, 2000);
});

test('http: POST bodies, -H headers and HEAD through the gateway', async (t) => {
  const app = await startCountingApp();
  const gw = await withGateway(app);
  t.after(async () => {
    await gw.stop();
    await app.stop();
  });
  const post = await bench(
    '-c',
    '2',
    '-n',
    '50',
    '--body',
    'x'.repeat(3000),
    '-H',
    'Content-Type: text/plain',
    `${gw.base}/echo`,
  );
  assert.deepEqual(post.run.status, { 200: 50 });
  assert.ok(post.run.counts.bytesOut > 50 * 3000);
  const head = await bench('-c', '2', '-n', '50', '-m', 'HEAD', `${gw.base}/bytes?n=100000`);
  assert.deepEqual(errorsOf(head), {});
  assert.deepEqual(head.run.status, { 200: 50 });
  assert.ok(head.run.counts.bytesIn < 50 * 1000, 'HEAD responses carry no body');
});

test('fcgi: the app killed mid-run: connect and reset errors are counted and the run ends on time', async (t) => {
  const app = await startCountingApp();
  t.after(() => app.stop());
  setTimeout(() => {
    void app.server.destroyAll();
  }, 400);
  const started = Date.now();
  const r = await bench('-c', '4', '-d', '1s', '--timeout', '2s', `fcgi://127.0.0.1:${app.port}/hello`);
  const took = Date.now() - started;
  const e = errorsOf(r);
  assert.ok((e['connect'] ?? 0) > 0, JSON.stringify(e));
  assert.ok(r.run.counts.responses > 0);
  assert.ok(r.run.counts.responses <= app.count, "every response was the app's");
  assert.ok(took < 2500, `took ${took} ms`);
  assert.match(r.run.firstErrors[0]!, /ECONNREFUSED/);
});

test('http: the backend killed mid-run: the gateway answers 503, counted; the run ends on time', async (t) => {
  const app = await startCountingApp();
  const gw = await withGateway(app);
  t.after(async () => {
    await gw.stop();
    await app.stop();
  });
  setTimeout(() => {
    void app.server.destroyAll();
  }, 400);
  const started = Date.now();
  const r = await bench('-c', '4', '-d', '1s', `${gw.base}/hello`);
  assert.ok(Date.now() - started < 2500);
  assert.ok((r.run.status['503'] ?? 0) > 0, JSON.stringify(r.run.status));
  assert.ok(r.non2xx3xx > 0);
  for (const s of Object.keys(r.run.status)) assert.ok(['200', '502', '503'].includes(s), `status ${s}`);
});

test('http: the gateway itself gone mid-run: reset/connect errors, clean end', async (t) => {
  const app = await startCountingApp();
  const gw = await withGateway(app);
  t.after(async () => {
    await app.stop();
  });
  setTimeout(() => {
    void gw.stop();
  }, 400);
  const r = await bench('-c', '4', '-d', '1s', `${gw.base}/hello`);
  const e = errorsOf(r);
  assert.ok((e['connect'] ?? 0) + (e['reset'] ?? 0) > 0, JSON.stringify(e));
  assert.ok(r.run.counts.responses > 0);
});

test('--timeout: requests slower than it count as timeouts, and the run does not wait for them', async (t) => {
  const app = await startCountingApp();
  t.after(() => app.stop());
  const started = Date.now();
  const r = await bench('-c', '2', '-d', '600ms', '--timeout', '200ms', `fcgi://127.0.0.1:${app.port}/slow?ms=5000`);
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  assert.ok((errorsOf(r)['timeout'] ?? 0) >= 2, JSON.stringify(errorsOf(r)));
  assert.equal(r.run.counts.responses, 0);
});

test('--rate 400 for 1.5 s holds the asked rate within ±3 % (open loop)', async (t) => {
  const app = await startCountingApp();
  t.after(() => app.stop());
  const r = await bench('-c', '8', '--rate', '400', '-d', '1500ms', `fcgi://127.0.0.1:${app.port}/hello`);
  assert.deepEqual(errorsOf(r), {});
  assert.equal(r.run.counts.responses, 600, 'every scheduled request of the window');
  assert.equal(app.count, 600);
  assert.ok(Math.abs(r.openLoop!.achievedRate / 400 - 1) < 0.03, `achieved ${r.openLoop!.achievedRate}`);
  assert.ok(Math.abs(r.openLoop!.askedRate - 400) < 1e-9);
});

test('--rate: a stalled server shows in the latency (measured from the due time)', async (t) => {
  const app = await startCountingApp();
  t.after(() => app.stop());
  // One connection, 100 req/s asked, each answer takes 20 ms: the lane falls behind, and
  // the waiting counts (without the correction every latency would be about 20 ms).
  const r = await bench('-c', '1', '--rate', '100', '-d', '300ms', `fcgi://127.0.0.1:${app.port}/slow?ms=20`);
  assert.ok(r.openLoop!.lateBusy > 10, `late behind a busy lane: ${r.openLoop!.lateBusy}`);
  assert.ok(r.latency.maxUs > 100_000, `max ${r.latency.maxUs} µs`);
  assert.match(r.notes.join('\n'), /more -c would keep the schedule/);
});

test('--urls: the weights decide the mix exactly over a whole cycle', async (t) => {
  const app = await startCountingApp();
  const gw = await withGateway(app);
  const dir = mkdtempSync(join(tmpdir(), 'fcgate-bench-urls-'));
  t.after(async () => {
    await gw.stop();
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'urls.txt');
  writeFileSync(file, `# a mix\n${gw.base}/hello 3\n${gw.base}/nothing-here 1\n`);
  const r = await bench('-c', '1', '-n', '400', '--urls', file);
  assert.deepEqual(r.run.status, { 200: 300, 404: 100 });
});
