// The hostile FastCGI app does what its scripts say, byte for byte: records are read back
// with a plain header walk (not the gateway's reader, which would refuse most of them).
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import {
  RecordType,
  encodeGetValues,
  frameCopy,
  readHeader,
  streamEnd,
  writePreamble,
  HEADER_LEN,
} from '../../src/protocol/index.js';
import { HostileApp, BEHAVIOURS, answer, type Step } from './hostile-app.js';
import { FcgiTestClient } from './fcgi-client.js';

interface Rec {
  version: number;
  type: number;
  id: number;
  padding: number;
  content: Buffer;
}

/** Walks complete records in `buf` (the last incomplete one is left out). */
function records(buf: Buffer): Rec[] {
  const out: Rec[] = [];
  for (let at = 0; at + HEADER_LEN <= buf.length; ) {
    const h = readHeader(buf, at);
    const end = at + HEADER_LEN + h.contentLength + h.paddingLength;
    if (end > buf.length) break;
    out.push({
      version: h.version,
      type: h.type,
      id: h.requestId,
      padding: h.paddingLength,
      content: buf.subarray(at + HEADER_LEN, at + HEADER_LEN + h.contentLength),
    });
    at = end;
  }
  return out;
}

/** A raw connection that gathers everything until the app closes or `until` says enough. */
async function exchange(
  port: number,
  bytes: Buffer[],
  until: (b: Buffer) => boolean = () => false,
  timeoutMs = 5000,
): Promise<{ data: Buffer; closed: boolean; error: string | null }> {
  const s = net.connect({ host: '127.0.0.1', port });
  await once(s, 'connect');
  let data = Buffer.alloc(0);
  let error: string | null = null;
  let closed = false;
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    s.on('data', (c: Buffer) => {
      data = Buffer.concat([data, c]);
      if (until(data)) {
        clearTimeout(timer);
        resolve();
      }
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
    });
    s.on('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve();
    });
  });
  for (const b of bytes) s.write(b);
  await done;
  s.destroy();
  return { data, closed, error };
}

const request = (id: number, uri: string, body?: Buffer): Buffer[] => {
  const params = ['REQUEST_URI', uri, 'QUERY_STRING', uri.includes('?') ? uri.slice(uri.indexOf('?') + 1) : ''];
  const out = [writePreamble(id, params, { keepConn: true, endStdin: body === undefined })];
  if (body !== undefined) out.push(frameCopy(RecordType.Stdin, id, body), streamEnd(RecordType.Stdin, id));
  return out;
};

const ends =
  (n: number) =>
  (b: Buffer): boolean =>
    records(b).filter((r) => r.type === RecordType.EndRequest).length >= n;

describe('hostile FastCGI app', () => {
  let app: HostileApp;
  before(async () => {
    app = await HostileApp.start();
  });
  after(async () => {
    await app.close();
  });

  test('ok: a well-formed answer that counts STDIN (through the test client)', async () => {
    const c = await FcgiTestClient.connect({ host: '127.0.0.1', port: app.port });
    try {
      const x = await c.request(
        { REQUEST_URI: '/ok', QUERY_STRING: '' },
        { stdin: Buffer.from('hello'), keepConn: true },
      );
      assert.equal(x.stdout.toString(), 'Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nok /ok stdin=5\n');
      assert.equal(x.protocolStatus, 0);
    } finally {
      await c.close();
    }
    const seen = app.requests.at(-1)!;
    assert.equal(seen.stdinBytes, 5);
    assert.equal(seen.stdin[0]!.toString(), 'hello');
    assert.ok(seen.keepConn && seen.stdinDone && seen.finished);
  });

  test('after-end: STDOUT for the finished request, then a second END_REQUEST', async () => {
    const r = await exchange(app.port, request(1, '/after-end'), ends(2));
    assert.deepEqual(
      records(r.data).map((x) => [x.type, x.id, x.content.length]),
      [
        [RecordType.Stdout, 1, 'Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nbefore the end\n'.length],
        [RecordType.Stdout, 1, 0],
        [RecordType.EndRequest, 1, 8],
        [RecordType.Stdout, 1, 'AFTER THE END\n'.length],
        [RecordType.EndRequest, 1, 8],
      ],
    );
  });

  test('other-id: STDOUT for id+1 before the answer for the request', async () => {
    const r = await exchange(app.port, request(7, '/other-id'), ends(1));
    const recs = records(r.data);
    assert.equal(recs[0]!.id, 8);
    assert.match(recs[0]!.content.toString(), /for someone else/);
    assert.ok(recs.slice(1).every((x) => x.id === 7));
  });

  test('bad records: version 0, 255 bytes of padding, type 42, half a header then FIN', async () => {
    const v0 = records((await exchange(app.port, request(1, '/bad-version'), ends(1))).data);
    assert.equal(v0[0]!.version, 0);
    const padded = records((await exchange(app.port, request(1, '/huge-padding'), ends(1))).data);
    assert.equal(padded[0]!.padding, 255);
    assert.match(padded[0]!.content.toString(), /padded/);
    const unknown = records((await exchange(app.port, request(1, '/unknown-type'), ends(1))).data);
    assert.equal(unknown[0]!.type, 42);
    const t = await exchange(app.port, request(1, '/truncated'));
    assert.ok(t.closed);
    assert.deepEqual([...t.data], [1, RecordType.Stdout, 0]);
  });

  test('flood-stdout: exactly `bytes` of body, in records, then the ends', async () => {
    const n = 3 * 32 * 1024 + 5;
    const r = await exchange(app.port, request(1, `/flood-stdout?bytes=${n}`, Buffer.alloc(0)), ends(1));
    const recs = records(r.data);
    const body = recs
      .filter((x) => x.type === RecordType.Stdout)
      .slice(1)
      .reduce((s, x) => s + x.content.length, 0);
    assert.equal(body, n);
    assert.equal(recs.at(-1)!.type, RecordType.EndRequest);
  });

  test('reset-head: the connection is reset, nothing written', async () => {
    const r = await exchange(app.port, request(1, '/reset-head'));
    assert.equal(r.error, 'ECONNRESET');
    assert.equal(r.data.length, 0);
  });

  test('several requests at once on one connection (MPXS): each answered under its own id', async () => {
    const r = await exchange(app.port, [...request(1, '/slow?ms=150'), ...request(2, '/slow?ms=1')], ends(2));
    const endsInOrder = records(r.data)
      .filter((x) => x.type === RecordType.EndRequest)
      .map((x) => x.id);
    assert.deepEqual(endsInOrder, [2, 1]);
  });

  test('readRate: STDIN read at the scripted rate', async () => {
    const slow = await HostileApp.start({
      handler: () => [{ do: 'readRate', bytesPerSecond: 20_000 }, { do: 'waitStdin' }, ...answer('read\n')],
    });
    try {
      const t0 = Date.now();
      // Several records, so that the app reads in several pieces with pauses between them.
      const body = Buffer.alloc(12_000, 0x61);
      const pieces = [writePreamble(1, ['REQUEST_URI', '/'], { keepConn: true, endStdin: false })];
      for (let i = 0; i < 6; i++) pieces.push(frameCopy(RecordType.Stdin, 1, body.subarray(i * 2000, (i + 1) * 2000)));
      pieces.push(streamEnd(RecordType.Stdin, 1));
      const r = await exchange(slow.port, pieces, ends(1));
      assert.equal(slow.requests[0]!.stdinBytes, 12_000);
      assert.ok(records(r.data).some((x) => x.type === RecordType.EndRequest));
      // 12 KB at 20 KB/s: the bytes after the PARAMS are fed at the rate, ~0.6 s.
      assert.ok(Date.now() - t0 >= 400, `took ${Date.now() - t0} ms`);
    } finally {
      await slow.close();
    }
  });

  describe('FCGI_GET_VALUES', () => {
    const ask = encodeGetValues(['FCGI_MAX_CONNS', 'FCGI_MPXS_CONNS']);
    test('answered from the table, only the names it has', async () => {
      const a = await HostileApp.start({ values: { FCGI_MAX_CONNS: '3', FCGI_MAX_REQS: '9' } });
      try {
        const recs = records((await exchange(a.port, [ask], (b) => records(b).length > 0)).data);
        assert.equal(recs[0]!.type, RecordType.GetValuesResult);
        assert.equal(recs[0]!.content.toString('latin1'), '\x0e\x01FCGI_MAX_CONNS3');
        assert.equal(a.getValues, 1);
      } finally {
        await a.close();
      }
    });
    test("'none': no answer (a request after it is answered first)", async () => {
      const a = await HostileApp.start({ values: 'none' });
      try {
        const recs = records((await exchange(a.port, [ask, ...request(1, '/ok')], ends(1))).data);
        assert.ok(recs.every((x) => x.type !== RecordType.GetValuesResult));
        assert.equal(a.getValues, 1);
      } finally {
        await a.close();
      }
    });
    test("'garbage' and 'close'", async () => {
      const g = await HostileApp.start({ values: 'garbage' });
      const c = await HostileApp.start({ values: 'close' });
      try {
        const rg = await exchange(g.port, [ask], (b) => b.length >= 8);
        assert.match(rg.data.toString('latin1'), /^HTTP\/1\.0 500/);
        const rc = await exchange(c.port, [ask]);
        assert.ok(rc.closed && rc.data.length === 0);
      } finally {
        await g.close();
        await c.close();
      }
    });
  });

  test('every named behaviour runs to its end or to its deliberate close (none throws)', async () => {
    const quick = Object.keys(BEHAVIOURS).filter((n) => !n.startsWith('stall') && n !== 'slow-stdin');
    for (const name of quick) {
      const r = await exchange(
        app.port,
        request(1, `/${name}?bytes=1000&ms=1`, Buffer.from('x')),
        (b) => records(b).some((x) => x.type === RecordType.EndRequest),
        3000,
      );
      assert.ok(
        r.closed || records(r.data).some((x) => x.type === RecordType.EndRequest),
        `${name}: neither END_REQUEST nor close`,
      );
    }
    assert.deepEqual(app.protocolErrors, []);
  });

  test('a stalled script ends when the peer closes', async () => {
    const steps: Step[] = [{ do: 'stall' }];
    const a = await HostileApp.start({ handler: () => steps });
    try {
      const s = net.connect({ host: '127.0.0.1', port: a.port });
      await once(s, 'connect');
      for (const b of request(1, '/')) s.write(b);
      while (a.requests.length === 0 || Object.keys(a.requests[0]!.params).length === 0)
        await new Promise((r) => setImmediate(r));
      assert.equal(a.connections, 1);
      s.destroy();
      while (a.connections > 0) await new Promise((r) => setImmediate(r));
      assert.equal(a.requests[0]!.finished, false);
    } finally {
      await a.close();
    }
  });
});
