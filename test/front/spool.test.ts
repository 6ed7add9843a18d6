// spool.ts: the SpoolAccount caps; a body in memory blocks, then in an unlinked file; spill to
// disk when the process's memory share is used up, Full when its disk share is; TooLarge;
// replay byte-exact (SHA-256) with backpressure; close() on every path (spoolFilesOpen() and
// the account back to 0), also while a file write or read is in flight (the fd is closed only
// after it); unique file names; an unwritable directory or a full disk without a throw.
// File system calls are observed or delayed by swapping node:fs functions for the duration of
// one test (syncBuiltinESMExports updates spool.ts's named imports); each test restores them.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import {
  BodySpool,
  SPOOL_BLOCK,
  SpoolAccount,
  SpoolResult,
  spoolFilesOpen,
  type SpoolLimits,
} from '../../src/front/spool.js';

const KiB = 1024;
const MiB = 1024 * KiB;

let dir = '';
before(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'fcgate-spool-test-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Deterministic bytes (xorshift32), `len` of them from `seed`. */
function bytes(len: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(len);
  let x = seed | 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const sha256 = (parts: readonly Uint8Array[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

function limits(over: Partial<SpoolLimits> = {}): SpoolLimits {
  return { memory: 256 * KiB, maxBody: 64 * MiB, dir, account: new SpoolAccount(64 * MiB, 64 * MiB), ...over };
}

/** Pushes `data` in chunks of `chunk` bytes, waiting for onWritten after each Pause. */
async function pushAll(spool: BodySpool, data: Buffer, chunk: number): Promise<SpoolResult[]> {
  const results: SpoolResult[] = [];
  for (let at = 0; at < data.length; at += chunk) {
    const r = spool.push(data.subarray(at, at + chunk));
    results.push(r);
    if (r === SpoolResult.Pause) await written(spool);
    else if (r !== SpoolResult.Ok) break;
  }
  return results;
}

/** Resolves at the spool's next onWritten. */
function written(spool: BodySpool): Promise<void> {
  return new Promise((resolve) => {
    spool.onWritten = () => {
      spool.onWritten = null;
      resolve();
    };
  });
}

interface Played {
  chunks: Buffer[];
  lasts: number[];
  err: Error | null;
  dones: number;
}

/**
 * Replays into a sink that copies each chunk (views die after the call) and answers false on
 * the calls `refuse(i)` picks, resuming on the next macrotask. Resolves at done().
 */
function replayAll(spool: BodySpool, refuse: (i: number) => boolean = () => false): Promise<Played> {
  return new Promise((resolve) => {
    const p: Played = { chunks: [], lasts: [], err: null, dones: 0 };
    let go: (() => void) | null = null;
    go = spool.replay(
      (chunk, last) => {
        const i = p.chunks.length;
        p.chunks.push(Buffer.from(chunk));
        if (last) p.lasts.push(i);
        if (!refuse(i)) return true;
        setImmediate(() => go!());
        return false;
      },
      (err) => {
        p.err = err;
        p.dones++;
        setImmediate(() => resolve(p)); // a second done() would show in `dones`
      },
    );
  });
}

/** Swaps fs[name] for `fn(original)` and updates spool.ts's bindings; undone in afterEach. */
const swapped: Array<() => void> = [];
function swap<K extends 'openSync' | 'write' | 'read' | 'close'>(
  name: K,
  make: (orig: (typeof fs)[K]) => (typeof fs)[K],
): void {
  const orig = fs[name];
  (fs as Record<K, (typeof fs)[K]>)[name] = make(orig);
  syncBuiltinESMExports();
  swapped.push(() => {
    (fs as Record<K, (typeof fs)[K]>)[name] = orig;
    syncBuiltinESMExports();
  });
}
afterEach(() => {
  while (swapped.length > 0) swapped.pop()!();
  assert.equal(spoolFilesOpen(), 0, 'every test closes its spools');
});

describe('SpoolAccount', () => {
  test('memory and disk are counted in KiB against their own caps', () => {
    const a = new SpoolAccount(128 * KiB + 1023, 10 * KiB); // caps are floored to KiB
    assert.ok(a.takeMemory(64));
    assert.ok(a.takeMemory(64));
    assert.equal(a.takeMemory(1), false, 'over the memory cap');
    assert.equal(a.memoryBytes, 128 * KiB);
    assert.ok(a.takeDisk(10));
    assert.equal(a.takeDisk(1), false, 'over the disk cap');
    assert.equal(a.diskBytes, 10 * KiB);
    a.giveMemory(64);
    a.giveDisk(10);
    a.giveDisk(0);
    assert.equal(a.memoryBytes, 64 * KiB);
    assert.equal(a.diskBytes, 0);
    assert.ok(a.takeMemory(64));
  });

  test('two accounts on one buffer (two threads) share the caps', () => {
    const a = new SpoolAccount(100 * KiB, 100 * KiB);
    const b = new SpoolAccount(100 * KiB, 100 * KiB, a.buffer);
    assert.ok(a.takeMemory(60));
    assert.equal(b.takeMemory(60), false);
    assert.equal(b.memoryBytes, 60 * KiB);
    assert.ok(b.takeDisk(100));
    assert.equal(a.takeDisk(1), false);
    a.giveMemory(60);
    b.giveDisk(100);
    assert.equal(b.memoryBytes + a.diskBytes, 0);
  });
});

describe('BodySpool', () => {
  test('a body under the memory limit stays in memory blocks; replay is byte-exact; close gives the blocks back', async () => {
    const account = new SpoolAccount(MiB, MiB);
    const spool = new BodySpool(limits({ memory: 200 * KiB, account }));
    const body = bytes(150 * KiB + 17, 1);
    assert.deepEqual(new Set(await pushAll(spool, body, 9999)), new Set([SpoolResult.Ok]));
    assert.equal(spool.inFile, false);
    assert.equal(spool.size, body.length);
    assert.equal(account.memoryBytes, 3 * SPOOL_BLOCK, 'three 64 KiB blocks');
    assert.equal(account.diskBytes, 0);
    const played = await replayAll(spool);
    assert.equal(sha256(played.chunks), sha256([body]));
    assert.deepEqual(played.lasts, [played.chunks.length - 1], 'last is true on the final chunk only');
    assert.equal(played.err, null);
    assert.equal(played.dones, 1);
    spool.close();
    assert.equal(account.memoryBytes, 0);
  });

  test('past the memory limit the rest goes to an unlinked file; writes pause the client until onWritten', async () => {
    const account = new SpoolAccount(MiB, MiB);
    const spool = new BodySpool(limits({ memory: 100 * KiB, account }));
    const body = bytes(300 * KiB + 5, 2);
    const results = await pushAll(spool, body, 7000);
    assert.ok(results.includes(SpoolResult.Pause), 'a file write in flight asks for a pause');
    assert.equal(
      results.indexOf(SpoolResult.Pause),
      Math.floor((100 * KiB) / 7000),
      'the first chunk that crosses the limit',
    );
    assert.equal(spool.inFile, true);
    assert.equal(spool.settled, true);
    assert.equal(spoolFilesOpen(), 1);
    assert.deepEqual(fs.readdirSync(dir), [], 'the file is unlinked at once');
    assert.equal(account.memoryBytes, 2 * SPOOL_BLOCK, '100 KiB in two blocks');
    assert.equal(account.diskBytes, Math.ceil((body.length - 100 * KiB) / KiB) * KiB);
    const played = await replayAll(spool);
    assert.equal(sha256(played.chunks), sha256([body]), 'memory part, then file part, byte-exact');
    assert.deepEqual(played.lasts, [played.chunks.length - 1]);
    spool.close();
    assert.equal(spoolFilesOpen(), 0);
    assert.equal(account.memoryBytes + account.diskBytes, 0);
  });

  test('the process memory share used up: the next body spills to disk at once', async () => {
    const account = new SpoolAccount(SPOOL_BLOCK, MiB);
    const first = new BodySpool(limits({ account }));
    const second = new BodySpool(limits({ account }));
    try {
      const a = bytes(80 * KiB, 3),
        b = bytes(10 * KiB, 4);
      await pushAll(first, a, 80 * KiB);
      assert.equal(account.memoryBytes, SPOOL_BLOCK, 'one block: the share');
      assert.equal(first.inFile, true, 'the rest of the first body is on disk');
      assert.equal(second.push(b), SpoolResult.Pause, 'nothing in memory for the second body');
      await written(second);
      assert.equal(second.inFile, true);
      assert.equal(sha256((await replayAll(first)).chunks), sha256([a]));
      assert.equal(sha256((await replayAll(second)).chunks), sha256([b]));
    } finally {
      first.close();
      second.close();
    }
    assert.equal(account.memoryBytes + account.diskBytes, 0);
  });

  test('the process disk share used up: Full (507), stays Full, close gives everything back', async () => {
    const account = new SpoolAccount(MiB, 128 * KiB);
    const spool = new BodySpool(limits({ memory: 0, account }));
    assert.equal(spool.push(bytes(100 * KiB, 5)), SpoolResult.Pause);
    await written(spool);
    assert.equal(spool.push(bytes(100 * KiB, 6)), SpoolResult.Full);
    assert.equal(spool.isFull, true);
    assert.match(spool.error!.message, /FCGATE_SPOOL_DISK_TOTAL=131072/);
    assert.equal(spool.push(bytes(1, 7)), SpoolResult.Full, 'and stays so');
    assert.equal(account.diskBytes, 100 * KiB, 'the refused part was not taken');
    spool.close();
    assert.equal(account.memoryBytes + account.diskBytes, 0);
  });

  test('TooLarge past maxBody; the refused chunk is not counted', () => {
    const spool = new BodySpool(limits({ maxBody: 10 }));
    assert.equal(spool.push(bytes(6, 8)), SpoolResult.Ok);
    assert.equal(spool.push(bytes(5, 9)), SpoolResult.TooLarge);
    assert.equal(spool.size, 6);
    assert.equal(spool.push(bytes(4, 10)), SpoolResult.Ok, 'exactly maxBody is accepted');
    assert.equal(spool.push(Buffer.alloc(1)), SpoolResult.TooLarge);
    spool.close();
  });

  test('replay with backpressure: false pauses, the returned function resumes, across blocks and file reads', async () => {
    const spool = new BodySpool(limits({ memory: 3 * SPOOL_BLOCK }));
    try {
      const body = bytes(3 * SPOOL_BLOCK + 200 * KiB + 3, 11); // 3 blocks, then 4 file reads of up to 64 KiB
      await pushAll(spool, body, 50_000);
      const played = await replayAll(spool, (i) => i % 2 === 0);
      assert.equal(sha256(played.chunks), sha256([body]));
      assert.equal(played.chunks.length, 7);
      assert.deepEqual(
        played.chunks.map((c) => c.length),
        [SPOOL_BLOCK, SPOOL_BLOCK, SPOOL_BLOCK, SPOOL_BLOCK, SPOOL_BLOCK, SPOOL_BLOCK, 200 * KiB + 3 - 3 * SPOOL_BLOCK],
      );
      assert.deepEqual(played.lasts, [6]);
      assert.equal(played.dones, 1);
      const again = await replayAll(spool, () => true); // every call refused: still whole, in order
      assert.equal(sha256(again.chunks), sha256([body]), 'a second replay plays the same bytes');
    } finally {
      spool.close();
    }
  });

  test('replay of an empty body: one empty last chunk, then done', async () => {
    const spool = new BodySpool(limits());
    const played = await replayAll(spool);
    assert.deepEqual(
      played.chunks.map((c) => c.length),
      [0],
    );
    assert.deepEqual(played.lasts, [0]);
    assert.equal(played.err, null);
    spool.close();
  });

  test('close() is idempotent; push after close fails; replay after close plays nothing', async () => {
    const account = new SpoolAccount(MiB, MiB);
    const spool = new BodySpool(limits({ memory: 10 * KiB, account }));
    await pushAll(spool, bytes(20 * KiB, 12), 20 * KiB);
    spool.close();
    spool.close();
    assert.equal(account.memoryBytes + account.diskBytes, 0, 'given back once, not twice');
    assert.equal(spool.push(bytes(1, 13)), SpoolResult.Failed);
    let calls = 0;
    spool.replay(
      () => {
        calls++;
        return true;
      },
      () => {
        calls++;
      },
    );
    await new Promise((r) => setImmediate(r));
    assert.equal(calls, 0);
  });

  test('close while a file write is in flight: the fd is closed after the write, which succeeded', async () => {
    let release = null as (() => void) | null;
    const events: string[] = [];
    swap(
      'write',
      (orig) =>
        ((
          fd: number,
          buf: Buffer,
          off: number,
          len: number,
          pos: number,
          cb: (err: NodeJS.ErrnoException | null, n: number) => void,
        ) => {
          orig(fd, buf, off, len, pos, (err, n) => {
            events.push(`write fd=${fd} err=${err?.code ?? 'none'}`);
            release = () => cb(err, n);
          });
        }) as typeof fs.write,
    );
    swap(
      'close',
      (orig) =>
        ((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
          events.push(`close fd=${fd}`);
          orig(fd, cb);
        }) as typeof fs.close,
    );
    const account = new SpoolAccount(MiB, MiB);
    const spool = new BodySpool(limits({ memory: 0, account }));
    let writtenCalls = 0;
    spool.onWritten = () => {
      writtenCalls++;
    };
    assert.equal(spool.push(bytes(10 * KiB, 14)), SpoolResult.Pause);
    while (release === null) await new Promise((r) => setImmediate(r));
    spool.close();
    assert.equal(spoolFilesOpen(), 1, 'the file stays open while the write is in flight');
    assert.equal(account.diskBytes, 0, 'the share is given back at once');
    assert.equal(events.filter((e) => e.startsWith('close')).length, 0);
    release!();
    assert.equal(spoolFilesOpen(), 0);
    const fd = /write fd=(\d+)/.exec(events[0]!)![1];
    assert.deepEqual(events, [`write fd=${fd} err=none`, `close fd=${fd}`]);
    assert.equal(writtenCalls, 0, 'no onWritten after close');
  });

  test('close while a replay read is in flight: the fd is closed after the read; nothing more is sent', async () => {
    const spool = new BodySpool(limits({ memory: 0 }));
    await pushAll(spool, bytes(100 * KiB, 15), 100 * KiB);
    let release = null as (() => void) | null;
    const events: string[] = [];
    swap(
      'read',
      (orig) =>
        ((
          fd: number,
          buf: Buffer,
          off: number,
          len: number,
          pos: number,
          cb: (err: NodeJS.ErrnoException | null, n: number, b: Buffer) => void,
        ) => {
          orig(fd, buf, off, len, pos, (err, n, b) => {
            events.push(`read fd=${fd} err=${err?.code ?? 'none'}`);
            release = () => cb(err, n, b);
          });
        }) as typeof fs.read,
    );
    swap(
      'close',
      (orig) =>
        ((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
          events.push(`close fd=${fd}`);
          orig(fd, cb);
        }) as typeof fs.close,
    );
    let sent = 0,
      dones = 0;
    spool.replay(
      () => {
        sent++;
        return true;
      },
      () => {
        dones++;
      },
    );
    while (release === null) await new Promise((r) => setImmediate(r));
    spool.close();
    assert.equal(spoolFilesOpen(), 1, 'open while the read is in flight');
    release!();
    assert.equal(spoolFilesOpen(), 0);
    const fd = /read fd=(\d+)/.exec(events[0]!)![1];
    assert.deepEqual(events, [`read fd=${fd} err=none`, `close fd=${fd}`]);
    assert.equal(sent, 0, 'the chunk read after close is not sent');
    assert.equal(dones, 0);
  });

  test('two spools in one thread get different file names; EEXIST takes another name', async () => {
    const paths: string[] = [];
    let eexist = 1;
    swap(
      'openSync',
      (orig) =>
        ((path: string, flags: string, mode: number) => {
          paths.push(path);
          if (eexist > 0) {
            eexist--;
            throw Object.assign(new Error(`EEXIST: file already exists, open '${path}'`), { code: 'EEXIST' });
          }
          return orig(path, flags, mode);
        }) as typeof fs.openSync,
    );
    const a = new BodySpool(limits({ memory: 0 }));
    const b = new BodySpool(limits({ memory: 0 }));
    try {
      assert.equal(a.push(bytes(10, 16)), SpoolResult.Pause, 'the name after EEXIST is used');
      assert.equal(b.push(bytes(10, 17)), SpoolResult.Pause);
      assert.equal(paths.length, 3);
      assert.equal(new Set(paths).size, 3, 'three different names');
      for (const p of paths) assert.ok(p.startsWith(join(dir, `fcgate-spool-${process.pid}-${threadId}-`)), p);
      await Promise.all([written(a), written(b)]);
    } finally {
      a.close();
      b.close();
    }
  });

  test('no free name in 3 attempts: Failed with the reason, no throw', () => {
    swap(
      'openSync',
      () =>
        ((path: string) => {
          throw Object.assign(new Error(`EEXIST: file already exists, open '${path}'`), { code: 'EEXIST' });
        }) as typeof fs.openSync,
    );
    const spool = new BodySpool(limits({ memory: 0 }));
    assert.equal(spool.push(bytes(10, 18)), SpoolResult.Failed);
    assert.match(spool.error!.message, /3 attempts/);
    spool.close();
  });

  test('an unwritable directory: Failed without a throw; the memory part is given back on close', () => {
    const notDir = fs.mkdtempSync(join(tmpdir(), 'fcgate-spool-notdir-'));
    fs.writeFileSync(join(notDir, 'a-file'), 'x');
    for (const bad of [join(dir, 'missing', 'deeper'), join(notDir, 'a-file')]) {
      const account = new SpoolAccount(MiB, MiB);
      const spool = new BodySpool(limits({ memory: 10 * KiB, dir: bad, account }));
      assert.equal(spool.push(bytes(11 * KiB, 19)), SpoolResult.Failed, bad);
      assert.equal(spool.isFull, false);
      assert.match((spool.error as NodeJS.ErrnoException).code ?? '', /^(ENOENT|ENOTDIR)$/);
      assert.equal(spool.push(bytes(1, 20)), SpoolResult.Failed, 'and stays failed');
      assert.equal(spoolFilesOpen(), 0);
      assert.equal(account.diskBytes, 0);
      spool.close();
      assert.equal(account.memoryBytes, 0);
    }
    fs.rmSync(notDir, { recursive: true });
  });

  test('a full disk (ENOSPC) when opening or writing: Full', async () => {
    swap(
      'openSync',
      () =>
        (() => {
          throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        }) as typeof fs.openSync,
    );
    const opening = new BodySpool(limits({ memory: 0 }));
    assert.equal(opening.push(bytes(10, 21)), SpoolResult.Full);
    assert.equal(opening.isFull, true);
    opening.close();
    while (swapped.length > 0) swapped.pop()!();

    swap(
      'write',
      () =>
        ((
          _fd: number,
          _b: Buffer,
          _o: number,
          _l: number,
          _p: number,
          cb: (err: NodeJS.ErrnoException | null, n: number) => void,
        ) => {
          setImmediate(() =>
            cb(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }), 0),
          );
        }) as typeof fs.write,
    );
    const account = new SpoolAccount(MiB, MiB);
    const writing = new BodySpool(limits({ memory: 0, account }));
    assert.equal(writing.push(bytes(10, 22)), SpoolResult.Pause);
    await written(writing); // onWritten tells of the failure too
    assert.equal(writing.isFull, true);
    assert.equal(writing.settled, true);
    assert.equal(writing.push(bytes(10, 23)), SpoolResult.Full);
    writing.close();
    assert.equal(account.diskBytes, 0);
  });

  test('short file writes are continued: the file holds every byte once', async () => {
    swap(
      'write',
      (orig) =>
        ((
          fd: number,
          buf: Buffer,
          off: number,
          len: number,
          pos: number,
          cb: (err: NodeJS.ErrnoException | null, n: number) => void,
        ) => {
          orig(fd, buf, off, Math.max(1, len >> 1), pos, cb); // the kernel took half
        }) as typeof fs.write,
    );
    const spool = new BodySpool(limits({ memory: 0 }));
    try {
      const body = bytes(70 * KiB + 1, 24);
      await pushAll(spool, body, 30 * KiB);
      assert.equal(sha256((await replayAll(spool)).chunks), sha256([body]));
    } finally {
      spool.close();
    }
  });
});
