// listen.ts: exclusive and shared listening, sharing across Apps and worker threads of one
// process, refusing a port another process holds (claimPort), spotting a foreign SO_REUSEPORT
// co-listener (/proc), IPv6, and unix sockets that never steal a live path.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import {
  assertPortOwned,
  claimPort,
  closeListening,
  foreignListeners,
  ListenError,
  listenApp,
  listenUnix,
  pickFreePort,
} from '../../src/front/listen.js';
import { loadUws, type TemplatedApp } from '../../src/front/uws.js';

const uws = loadUws();
const dir = mkdtempSync(join(tmpdir(), 'fcgate-listen-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function helloApp(tag: string): TemplatedApp {
  const app = uws.App();
  app.any('/*', (res) => {
    res.end(tag);
  });
  return app;
}

/** GET / on a fresh connection; resolves with the body, or 'refused'. */
function hit(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    let data = '';
    s.setEncoding('latin1');
    s.on('error', () => resolve('refused'));
    s.on('data', (d: string) => {
      data += d;
      const end = data.indexOf('\r\n\r\n');
      const cl = /Content-Length: (\d+)/.exec(data);
      if (end >= 0 && cl && data.length >= end + 4 + Number(cl[1])) {
        s.destroy();
        resolve(data.slice(end + 4));
      }
    });
    s.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  });
}

const isListenError =
  (code: string) =>
  (err: unknown): boolean => {
    assert.ok(err instanceof ListenError);
    assert.equal(err.code, code);
    return true;
  };

describe('tcp', () => {
  test('port 0 gives a real port; closeListening stops accepting', async () => {
    const app = helloApp('a');
    const l = await listenApp(app, '127.0.0.1', 0);
    assert.ok(l.port > 0);
    assert.equal(await hit(l.port), 'a');
    closeListening(l);
    assert.equal(await hit(l.port), 'refused');
    app.close();
  });

  test('IPv6 ::1', async () => {
    const app = helloApp('v6');
    const l = await listenApp(app, '::1', 0);
    try {
      assert.equal(await hit(l.port, '::1'), 'v6');
    } finally {
      closeListening(l);
      app.close();
    }
  });

  test('exclusive: no second listener, not even one of this process', async () => {
    const a = helloApp('a'),
      b = helloApp('b');
    const la = await listenApp(a, '127.0.0.1', 0, { exclusive: true });
    try {
      await assert.rejects(listenApp(b, '127.0.0.1', la.port), isListenError('FCGATE_LISTEN_FAILED'));
      await assert.rejects(
        listenApp(b, '127.0.0.1', la.port, { exclusive: true }),
        isListenError('FCGATE_LISTEN_FAILED'),
      );
      await assert.rejects(claimPort('127.0.0.1', la.port), isListenError('FCGATE_PORT_IN_USE'));
    } finally {
      closeListening(la);
      a.close();
      b.close();
    }
  });

  test('shared: claimPort, then several Apps of one thread share the port and both get connections', async () => {
    const port = await pickFreePort();
    await claimPort('127.0.0.1', port);
    const a = helloApp('a'),
      b = helloApp('b');
    const la = await listenApp(a, '127.0.0.1', port);
    const lb = await listenApp(b, '127.0.0.1', port);
    try {
      const seen = new Set<string>();
      for (let i = 0; i < 64 && seen.size < 2; i++) seen.add(await hit(port));
      assert.deepEqual([...seen].sort(), ['a', 'b']);
      assert.equal(foreignListeners(port), 0);
      assertPortOwned(port);
      // While we listen, a second fcgate's claimPort fails with a clear message.
      await assert.rejects(claimPort('127.0.0.1', port), (err: unknown) => {
        assert.ok(err instanceof ListenError && err.code === 'FCGATE_PORT_IN_USE');
        assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}.*already listening`));
        return true;
      });
    } finally {
      closeListening(la);
      closeListening(lb);
      a.close();
      b.close();
    }
  });

  test('port 0 is never shared: uWS sets SO_REUSEPORT only for an explicit port', async () => {
    const a = helloApp('a'),
      b = helloApp('b');
    const la = await listenApp(a, '127.0.0.1', 0);
    try {
      await assert.rejects(listenApp(b, '127.0.0.1', la.port), isListenError('FCGATE_LISTEN_FAILED'));
    } finally {
      closeListening(la);
      a.close();
      b.close();
    }
  });

  test('worker threads of one process each listen on the shared port, and close cleanly', async () => {
    const port = await pickFreePort();
    await claimPort('127.0.0.1', port);
    const listenUrl = new URL('../../src/front/listen.js', import.meta.url).href;
    const uwsUrl = new URL('../../src/front/uws.js', import.meta.url).href;
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      (async () => {
        const { loadUws } = await import(${JSON.stringify(uwsUrl)});
        const { listenApp, closeListening } = await import(${JSON.stringify(listenUrl)});
        const app = loadUws().App();
        app.any('/*', (res) => { res.end('w' + workerData.id); });
        const l = await listenApp(app, '127.0.0.1', workerData.port);
        parentPort.postMessage('listening');
        // uWS handles left open abort the process when the worker ends: close them first.
        parentPort.once('message', () => { closeListening(l); app.close(); parentPort.close(); });
      })().catch((e) => { parentPort.postMessage('error ' + e.message); });`;
    const workers = [0, 1].map((id) => new Worker(code, { eval: true, workerData: { id, port } }));
    try {
      const first = await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));
      assert.deepEqual(first, ['listening', 'listening']);
      const seen = new Set<string>();
      for (let i = 0; i < 64 && seen.size < 2; i++) seen.add(await hit(port));
      assert.deepEqual([...seen].sort(), ['w0', 'w1']);
      assert.equal(foreignListeners(port), 0);
    } finally {
      const exits = workers.map((w) => new Promise<number>((r) => w.once('exit', r)));
      for (const w of workers) w.postMessage('close');
      assert.deepEqual(await Promise.all(exits), [0, 0]);
    }
  });

  describe('another process', () => {
    let child: ChildProcess | null = null;
    after(() => {
      child?.kill();
    });

    /** A second process with a default (SO_REUSEPORT) uWS listener on port. */
    async function foreignUws(port: number): Promise<void> {
      const uwsMain = createRequire(import.meta.url).resolve('uWebSockets.js');
      child = spawn(
        process.execPath,
        [
          '-e',
          `
        const uws = require(${JSON.stringify(uwsMain)});
        const app = uws.App(); app.any('/*', (res) => res.end('foreign'));
        app.listen('127.0.0.1', ${port}, (ls) => { process.stdout.write(ls ? 'ready\\n' : 'failed\\n'); });
        process.stdin.on('end', () => process.exit(0)); process.stdin.resume();`,
        ],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      const line = await new Promise<string>((r) => child!.stdout!.once('data', (d: Buffer) => r(d.toString().trim())));
      assert.equal(line, 'ready');
    }

    test('claimPort refuses a port held by another uWS process; without it the port would be shared silently', async () => {
      const port = await pickFreePort();
      await foreignUws(port);
      try {
        await assert.rejects(claimPort('127.0.0.1', port), isListenError('FCGATE_PORT_IN_USE'));
        // The danger claimPort prevents: uWS joins the other process's SO_REUSEPORT group.
        const app = helloApp('ours');
        const l = await listenApp(app, '127.0.0.1', port);
        try {
          const seen = new Set<string>();
          for (let i = 0; i < 64 && seen.size < 2; i++) seen.add(await hit(port));
          assert.deepEqual([...seen].sort(), ['foreign', 'ours']);
          assert.equal(foreignListeners(port), 1);
          assert.throws(() => assertPortOwned(port), isListenError('FCGATE_PORT_SHARED'));
        } finally {
          closeListening(l);
          app.close();
        }
      } finally {
        const exited = new Promise((r) => child!.once('exit', r));
        child!.stdin!.end();
        await exited;
        child = null;
      }
    });

    test('claimPort refuses a port held by a plain Node server', async () => {
      const srv = createServer();
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      const port = (srv.address() as { port: number }).port;
      try {
        await assert.rejects(claimPort('127.0.0.1', port), isListenError('FCGATE_PORT_IN_USE'));
        await assert.rejects(listenApp(helloApp('x'), '127.0.0.1', port), isListenError('FCGATE_LISTEN_FAILED'));
      } finally {
        await new Promise((r) => srv.close(r));
      }
    });
  });
});

describe('unix sockets', () => {
  test('listen, serve, close unlinks the path', async () => {
    const path = join(dir, 'a.sock');
    const app = helloApp('unix');
    const l = await listenUnix(app, path);
    const body = await new Promise<string>((resolve) => {
      const s = connect(path);
      s.setEncoding('latin1');
      s.on('data', (d: string) => {
        s.destroy();
        resolve(d.slice(d.indexOf('\r\n\r\n') + 4));
      });
      s.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    });
    assert.equal(body, 'unix');
    closeListening(l);
    app.close();
    assert.equal(existsSync(path), false);
  });

  test('refuses a regular file and a live socket; replaces a dead one', async () => {
    const file = join(dir, 'file.sock');
    writeFileSync(file, 'not a socket');
    await assert.rejects(listenUnix(helloApp('x'), file), isListenError('FCGATE_LISTEN_FAILED'));
    assert.equal(existsSync(file), true);

    const path = join(dir, 'live.sock');
    const a = helloApp('a');
    const la = await listenUnix(a, path);
    await assert.rejects(listenUnix(helloApp('b'), path), isListenError('FCGATE_PORT_IN_USE'));
    // Dead: close the listen socket without unlinking (what a crash leaves behind).
    uws.us_listen_socket_close(la.listenSocket);
    a.close();
    assert.equal(existsSync(path), true);
    const c = helloApp('c');
    const lc = await listenUnix(c, path);
    closeListening(lc);
    c.close();
  });
});
