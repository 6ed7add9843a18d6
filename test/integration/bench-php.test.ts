// fcgate bench against a real PHP-FPM (issue #14): FastCGI straight to it over TCP and a
// unix socket, and HTTP through the gateway; PHP's own count (count.php appends a byte per
// request) matches; --pid sees the master and its children; a missing script is a 404
// with STDERR counted; PHP-FPM stopped mid-run gives counted errors and a clean end.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestGateway } from '../helpers/gateway.js';
import { PHP_FIXTURES, skipUnlessPhpFpm, startPhpFpm, type PhpFpm } from '../helpers/php-fpm.js';
import { bench, errorsOf } from './bench-kit.js';

const skip = skipUnlessPhpFpm();
const FX = PHP_FIXTURES.replace(/\/+$/, '');

describe('fcgate bench and PHP-FPM', { skip }, () => {
  let tcp: PhpFpm;
  let unix: PhpFpm;
  let dir = '';
  let n = 0;
  /** A fresh, empty count file. */
  const countFile = (): string => {
    const f = join(dir, `count-${++n}`);
    writeFileSync(f, '');
    return f;
  };
  const counted = (f: string): number => statSync(f).size;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fcgate-bench-php-'));
    tcp = await startPhpFpm({ docroot: PHP_FIXTURES, maxChildren: 4 });
    unix = await startPhpFpm({ docroot: PHP_FIXTURES, maxChildren: 2, listen: 'unix' });
  });
  after(async () => {
    await tcp?.stop();
    await unix?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('fcgi over TCP: -n 400 on 4 connections, PHP counted 400', async () => {
    const f = countFile();
    const r = await bench(
      '-c',
      '4',
      '-n',
      '400',
      '--docroot',
      FX,
      '--param',
      `COUNT_FILE=${f}`,
      `fcgi://127.0.0.1:${tcp.port}/count.php`,
    );
    assert.deepEqual(errorsOf(r), {});
    assert.deepEqual(r.run.status, { 200: 400 });
    assert.equal(counted(f), 400);
  });

  test('--pid: the CPU and memory of the master and all its children over the window', async () => {
    const r = await bench(
      '-c',
      '4',
      '-d',
      '500ms',
      '--docroot',
      FX,
      '--pid',
      String(tcp.pid),
      `fcgi://127.0.0.1:${tcp.port}/status.php`,
    );
    assert.deepEqual(errorsOf(r), {});
    assert.ok(r.target !== null && r.target.processes === 5, `processes: ${r.target?.processes}`);
    // /proc counts in clock ticks (10 ms): half a second of PHP work is well above that.
    assert.ok(r.target.userUsPerRequest + r.target.systemUsPerRequest > 0, JSON.stringify(r.target));
    assert.ok(r.target.cores > 0.05 && r.target.cores <= 4, `cores ${r.target.cores}`);
    assert.ok(r.target.peakRssBytes > 5 << 20, `peak RSS ${r.target.peakRssBytes}`);
    assert.ok(r.self.userUsPerRequest + r.self.systemUsPerRequest > 0);
  });

  test("fcgi over a unix socket, -d with a warm-up: measured + warm-up = PHP's count", async () => {
    const f = countFile();
    const r = await bench(
      '-c',
      '2',
      '-d',
      '700ms',
      '--warmup',
      '200ms',
      '--docroot',
      FX,
      '--param',
      `COUNT_FILE=${f}`,
      `unix:${unix.socketPath}|fcgi://localhost/count.php`,
    );
    assert.deepEqual(errorsOf(r), {});
    assert.ok(r.run.counts.responses > 20);
    assert.equal(r.run.counts.responses + r.run.warmup.responses, counted(f));
    assert.equal(r.fcgi!.stderrRequests, 0);
  });

  test('--multiplex against PHP-FPM: it says FCGI_MPXS_CONNS=0, so one request per connection', async () => {
    const f = countFile();
    const r = await bench(
      '-c',
      '2',
      '-n',
      '50',
      '--multiplex',
      '4',
      '--docroot',
      FX,
      '--param',
      `COUNT_FILE=${f}`,
      `fcgi://127.0.0.1:${tcp.port}/count.php`,
    );
    assert.equal(r.fcgi!.getValues!['FCGI_MPXS_CONNS'], '0');
    assert.equal(r.depth, 1);
    assert.equal(counted(f), 50);
  });

  test('a script that does not exist: 404s, counted as statuses, with STDERR ("Primary script unknown")', async () => {
    const r = await bench('-c', '1', '-n', '5', '--docroot', FX, `fcgi://127.0.0.1:${tcp.port}/no-such-script.php`);
    assert.deepEqual(r.run.status, { 404: 5 });
    assert.equal(r.non2xx3xx, 5);
    assert.equal(r.fcgi!.stderrRequests, 5);
  });

  test("http through the gateway: PHP's count matches", async (t) => {
    const f = countFile();
    const gw = await startTestGateway({ config: `ProxyPass /php/ fcgi://127.0.0.1:${tcp.port}${FX}/\n` });
    t.after(() => gw.stop());
    // The gateway passes request headers as HTTP_*; the count file goes as a header then.
    const r = await bench('-c', '4', '-n', '300', '-H', `X-Count-File: ${f}`, `${gw.base}/php/count.php?via=header`);
    assert.deepEqual(errorsOf(r), {});
    assert.equal(counted(f), 300, JSON.stringify(r.run.status));
  });

  test('PHP-FPM stopped mid-run: errors counted, the run ends on time', async () => {
    const fpm = await startPhpFpm({ docroot: PHP_FIXTURES, maxChildren: 2 });
    setTimeout(() => {
      void fpm.stop();
    }, 300);
    const started = Date.now();
    const r = await bench(
      '-c',
      '2',
      '-d',
      '1s',
      '--timeout',
      '2s',
      '--docroot',
      FX,
      `fcgi://127.0.0.1:${fpm.port}/status.php`,
    );
    const took = Date.now() - started;
    await fpm.stop();
    assert.ok(r.run.counts.responses > 0);
    assert.ok(r.errors > 0, JSON.stringify(errorsOf(r)));
    assert.ok(took < 3500, `took ${took} ms`);
  });
});
