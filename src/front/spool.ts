// Request bodies held whole before the app is contacted (chunked bodies, which need a
// CONTENT_LENGTH, and request buffering): kept in memory up to a per-request limit, then in
// an unlinked temporary file; played back into a sink with backpressure. Memory comes in
// fixed blocks from a small per-thread free list, and both memory and disk are counted in a
// SpoolAccount shared by every serving thread, so that a flood of uploads spills to disk
// earlier and is refused (507) once the disk share is full, instead of growing without bound
// (issue 9: 400 half-sent chunked bodies took +482 MiB). Every path ends in close().
import { close as closeFd, openSync, read, unlinkSync, write } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';

/** Bytes of one memory block. */
export const SPOOL_BLOCK = 64 * 1024;
const READ_SIZE = 64 * 1024;
/** Free blocks a thread keeps for the next spool (the rest go back to the allocator). */
const FREE_BLOCKS_KEPT = 32;

/**
 * Memory and disk in use by every spool of the process, in KiB, against two caps; shared by
 * the serving threads through a SharedArrayBuffer (cells: memory, disk). Atomics only: no
 * lock, no message.
 */
export class SpoolAccount {
  static readonly BYTES = 8;
  private readonly cells: Int32Array;

  constructor(
    readonly memoryCap: number,
    readonly diskCap: number,
    buffer: SharedArrayBuffer = new SharedArrayBuffer(SpoolAccount.BYTES),
  ) {
    this.cells = new Int32Array(buffer, 0, 2);
  }

  get buffer(): SharedArrayBuffer {
    return this.cells.buffer as SharedArrayBuffer;
  }
  get memoryBytes(): number {
    return Atomics.load(this.cells, 0) * 1024;
  }
  get diskBytes(): number {
    return Atomics.load(this.cells, 1) * 1024;
  }

  /** Takes `kib` of memory; false when that would pass the cap. */
  takeMemory(kib: number): boolean {
    return this.take(0, kib, this.memoryCap);
  }
  giveMemory(kib: number): void {
    if (kib > 0) Atomics.sub(this.cells, 0, kib);
  }
  takeDisk(kib: number): boolean {
    return this.take(1, kib, this.diskCap);
  }
  giveDisk(kib: number): void {
    if (kib > 0) Atomics.sub(this.cells, 1, kib);
  }

  private take(cell: number, kib: number, capBytes: number): boolean {
    const cap = Math.floor(capBytes / 1024);
    for (;;) {
      const now = Atomics.load(this.cells, cell);
      if (now + kib > cap) return false;
      if (Atomics.compareExchange(this.cells, cell, now, now + kib) === now) return true;
    }
  }
}

export interface SpoolLimits {
  /** Bytes of one body kept in memory before switching to a temporary file (FCGATE_SPOOL_MEMORY). */
  memory: number;
  /** Largest body accepted (FCGATE_MAX_BODY). */
  maxBody: number;
  /** Directory for the temporary files (FCGATE_SPOOL_DIR). */
  dir: string;
  account: SpoolAccount;
}

export const SpoolResult = {
  Ok: 0,
  /** A file write is in flight: pause the client until onWritten. */
  Pause: 1,
  /** Over maxBody: 413. */
  TooLarge: 2,
  /** The process's spool disk share is used up, or the disk is full: 507. */
  Full: 3,
  /** The temporary file could not be made or written: 500 (error says why). */
  Failed: 4,
} as const;
export type SpoolResult = (typeof SpoolResult)[keyof typeof SpoolResult];

const freeBlocks: Buffer[] = [];
let spoolSerial = 0;

function takeBlock(): Buffer {
  return freeBlocks.pop() ?? Buffer.allocUnsafeSlow(SPOOL_BLOCK);
}
function giveBlock(b: Buffer): void {
  if (freeBlocks.length < FREE_BLOCKS_KEPT) freeBlocks.push(b);
}

let openSpoolFiles = 0;
/** Spool files open in this thread (tests check that every path closes them). */
export const spoolFilesOpen = (): number => openSpoolFiles;

export class BodySpool {
  /** Body bytes taken so far. */
  size = 0;
  private readonly blocks: Buffer[] = [];
  /** Bytes in memory (the first `memoryBytes` of the body). */
  private memoryBytes = 0;
  private fd = -1;
  private fileSize = 0;
  /** Disk KiB taken from the account (released by close). */
  private diskKib = 0;
  private writing = false;
  private queue: Buffer[] = [];
  private closed = false;
  /** File reads and writes in flight: the fd is closed only once none is (its number could be reused). */
  private io = 0;
  private failed: Error | null = null;
  private full = false;
  /** Called when a file write finished (resume the client) or failed. */
  onWritten: (() => void) | null = null;

  constructor(private readonly limits: SpoolLimits) {}

  get error(): Error | null {
    return this.failed;
  }
  /** The body could not be kept: the account's disk share or the disk itself is full. */
  get isFull(): boolean {
    return this.full;
  }
  get inFile(): boolean {
    return this.fd >= 0;
  }
  /** True when every byte taken is in memory or written to the file. */
  get settled(): boolean {
    return !this.writing && this.queue.length === 0;
  }

  /** Takes a chunk (copied: uWS ArrayBuffers die after onData). */
  push(data: Uint8Array): SpoolResult {
    if (this.closed) return SpoolResult.Failed;
    if (this.failed !== null) return this.full ? SpoolResult.Full : SpoolResult.Failed;
    if (this.size + data.length > this.limits.maxBody) return SpoolResult.TooLarge;
    this.size += data.length;
    let from = 0;
    if (this.fd < 0) from = this.keepInMemory(data);
    if (from === data.length) return SpoolResult.Ok;
    if (this.fd < 0 && !this.openFile()) return this.full ? SpoolResult.Full : SpoolResult.Failed;
    const rest = data.length - from;
    const kib = Math.ceil((this.fileSize + this.queued() + rest) / 1024) - this.diskKib;
    if (kib > 0) {
      if (!this.limits.account.takeDisk(kib)) {
        this.full = true;
        this.failed = new Error(
          `the spool disk share (FCGATE_SPOOL_DISK_TOTAL=${this.limits.account.diskCap}) is used up`,
        );
        return SpoolResult.Full;
      }
      this.diskKib += kib;
    }
    this.queue.push(Buffer.from(data.subarray(from)));
    if (!this.writing) this.flush();
    return this.writing ? SpoolResult.Pause : SpoolResult.Ok;
  }

  /** Copies what fits the per-request and process memory limits; returns the bytes kept. */
  private keepInMemory(data: Uint8Array): number {
    const limit = this.limits.memory;
    let from = 0;
    while (from < data.length && this.memoryBytes < limit) {
      if (this.memoryBytes === this.blocks.length * SPOOL_BLOCK) {
        // Every block is full (or there is none): one more, if the process share allows.
        if (!this.limits.account.takeMemory(SPOOL_BLOCK / 1024)) break;
        this.blocks.push(takeBlock());
      }
      const at = this.memoryBytes - (this.blocks.length - 1) * SPOOL_BLOCK;
      const n = Math.min(SPOOL_BLOCK - at, data.length - from, limit - this.memoryBytes);
      this.blocks[this.blocks.length - 1]!.set(data.subarray(from, from + n), at);
      this.memoryBytes += n;
      from += n;
    }
    return from;
  }

  private queued(): number {
    let n = 0;
    for (const q of this.queue) n += q.length;
    return n;
  }

  private openFile(): boolean {
    for (let attempt = 0; attempt < 3; attempt++) {
      const path = join(
        this.limits.dir,
        `fcgate-spool-${process.pid}-${threadId}-${++spoolSerial}-${randomBytes(4).toString('hex')}`,
      );
      try {
        this.fd = openSync(path, 'wx+', 0o600);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') continue;
        this.fail(err as Error);
        return false;
      }
      openSpoolFiles++;
      try {
        unlinkSync(path);
      } catch {
        /* the file stays; it is still closed below */
      }
      return true;
    }
    this.fail(new Error('could not find a free spool file name in 3 attempts'));
    return false;
  }

  private fail(err: Error): void {
    this.failed = err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') this.full = true;
  }

  private flush(): void {
    const buf = this.queue.shift();
    if (buf === undefined || this.closed) {
      this.writing = false;
      if (this.onWritten !== null && !this.closed) this.onWritten();
      return;
    }
    this.writing = true;
    this.io++;
    write(this.fd, buf, 0, buf.length, this.fileSize, (err, n) => {
      this.io--;
      if (this.closed) {
        this.closeFile();
        return;
      }
      if (err !== null) {
        this.fail(err);
        this.writing = false;
        this.queue = [];
        if (this.onWritten !== null) this.onWritten();
        return;
      }
      this.fileSize += n;
      if (n < buf.length) this.queue.unshift(buf.subarray(n));
      this.flush();
    });
  }

  /**
   * Plays the body into `send(chunk, last)`; false from send means "wait": call the
   * returned function to go on once the sink drained. `done(err)` once at the end. The
   * chunks are views valid during the call only.
   */
  replay(send: (chunk: Buffer, last: boolean) => boolean, done: (err: Error | null) => void): () => void {
    let block = 0;
    let filePos = 0;
    let reading = false;
    let finished = false;
    const total = this.size;
    let sent = 0;
    const end = (err: Error | null): void => {
      if (!finished) {
        finished = true;
        done(err);
      }
    };
    const readBuf = this.fileSize > 0 ? Buffer.allocUnsafe(Math.min(READ_SIZE, this.fileSize)) : null;
    const step = (): void => {
      if (this.closed || reading || finished) return;
      while (block < this.blocks.length) {
        const n = Math.min(SPOOL_BLOCK, this.memoryBytes - block * SPOOL_BLOCK);
        const b = this.blocks[block++]!;
        sent += n;
        if (!send(n === SPOOL_BLOCK ? b : b.subarray(0, n), sent === total)) return;
      }
      if (this.fd < 0 || filePos >= this.fileSize) {
        if (sent < total) {
          end(new Error(`spool lost bytes: replayed ${sent} of ${total}`));
          return;
        }
        if (total === 0) send(Buffer.alloc(0), true);
        end(null);
        return;
      }
      reading = true;
      this.io++;
      read(this.fd, readBuf!, 0, Math.min(readBuf!.length, this.fileSize - filePos), filePos, (err, n) => {
        reading = false;
        this.io--;
        if (this.closed) {
          this.closeFile();
          return;
        }
        if (finished) return;
        if (err !== null || n === 0) {
          end(err ?? new Error('spool file ended early'));
          return;
        }
        filePos += n;
        sent += n;
        if (send(readBuf!.subarray(0, n), sent === total)) step();
      });
    };
    queueMicrotask(step);
    return step;
  }

  /** Frees the memory, closes the file, returns the account's share. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const b of this.blocks) giveBlock(b);
    this.limits.account.giveMemory(this.blocks.length * (SPOOL_BLOCK / 1024));
    this.blocks.length = 0;
    this.queue = [];
    this.limits.account.giveDisk(this.diskKib);
    this.diskKib = 0;
    this.closeFile();
  }

  /** Closes the file once no read or write is in flight (called again when the last one ends). */
  private closeFile(): void {
    if (this.fd < 0 || this.io > 0) return;
    const fd = this.fd;
    this.fd = -1;
    openSpoolFiles--;
    closeFd(fd, () => {
      /* an error here means it was closed already: nothing to do */
    });
  }
}
