// Request bodies without Content-Length (chunked): kept in memory up to a limit, then in
// an unlinked temporary file, so the app gets CONTENT_LENGTH (PHP-FPM ignores a body
// without it). Over FCGATE_MAX_BODY the spool refuses (413). Then the spool plays the
// body back into a sink with backpressure. Nothing is kept after close().
import { closeSync, openSync, read, unlinkSync, write } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SpoolLimits {
  /** Bytes kept in memory before switching to a temporary file. */
  memory: number;
  /** Largest body accepted. */
  maxBody: number;
  /** Directory for the temporary file. */
  dir?: string;
}

export const SpoolResult = { Ok: 0, Pause: 1, TooLarge: 2 } as const;

let spoolSerial = 0;
const READ_SIZE = 64 * 1024;

export class BodySpool {
  size = 0;
  private readonly chunks: Buffer[] = [];
  private fd = -1;
  private fileSize = 0;
  /** A file write in flight: the client was asked to pause. */
  private writing = false;
  private queue: Buffer[] = [];
  private closed = false;
  private failed: Error | null = null;
  onWritten: (() => void) | null = null;

  constructor(private readonly limits: SpoolLimits) {}

  get error(): Error | null { return this.failed; }
  get inFile(): boolean { return this.fd >= 0; }

  /**
   * Takes a chunk (copied: uWS ArrayBuffers die after onData). Returns Pause while a
   * file write runs (resume the client on onWritten) and TooLarge past maxBody.
   */
  push(data: Uint8Array): number {
    if (this.size + data.length > this.limits.maxBody) return SpoolResult.TooLarge;
    this.size += data.length;
    if (data.length === 0) return SpoolResult.Ok;
    const copy = Buffer.from(data);
    if (this.fd < 0 && this.size <= this.limits.memory) {
      this.chunks.push(copy);
      return SpoolResult.Ok;
    }
    if (this.fd < 0) {
      const path = join(this.limits.dir ?? tmpdir(), `fcgate-spool-${process.pid}-${++spoolSerial}`);
      this.fd = openSync(path, 'wx+', 0o600);
      unlinkSync(path);               // nothing to clean up, whatever happens next
    }
    this.queue.push(copy);
    if (!this.writing) this.flush();
    return this.writing ? SpoolResult.Pause : SpoolResult.Ok;
  }

  /** True when every byte pushed is in memory or written to the file. */
  get settled(): boolean { return !this.writing && this.queue.length === 0; }

  private flush(): void {
    const buf = this.queue.shift();
    if (buf === undefined || this.closed) { this.writing = false; if (this.onWritten) this.onWritten(); return; }
    this.writing = true;
    write(this.fd, buf, 0, buf.length, this.fileSize, (err, n) => {
      if (err !== null) { this.failed = err; this.writing = false; this.queue = []; if (this.onWritten) this.onWritten(); return; }
      this.fileSize += n;
      if (n < buf.length) this.queue.unshift(buf.subarray(n));
      this.flush();
    });
  }

  /**
   * Plays the body into `send` (chunk, last) → false means "wait"; call the returned
   * function to continue after the sink drained. `done(err)` at the end.
   */
  replay(send: (chunk: Buffer, last: boolean) => boolean, done: (err: Error | null) => void): () => void {
    let i = 0;
    let filePos = 0;
    let reading = false;
    const total = this.size;
    let sent = 0;
    const step = (): void => {
      if (this.closed || reading) return;
      while (i < this.chunks.length) {
        const c = this.chunks[i++]!;
        sent += c.length;
        if (!send(c, sent === total)) return;
      }
      if (this.fd < 0 || filePos >= this.fileSize) {
        if (sent < total) { done(new Error('spool lost bytes')); return; }
        if (total === 0) send(Buffer.alloc(0), true);
        done(null);
        return;
      }
      const buf = Buffer.allocUnsafe(Math.min(READ_SIZE, this.fileSize - filePos));
      reading = true;
      read(this.fd, buf, 0, buf.length, filePos, (err, n) => {
        reading = false;
        if (err !== null || n === 0) { done(err ?? new Error('spool file ended early')); return; }
        filePos += n;
        sent += n;
        if (send(n === buf.length ? buf : buf.subarray(0, n), sent === total)) step();
      });
    };
    queueMicrotask(step);
    return step;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.chunks.length = 0;
    this.queue = [];
    if (this.fd >= 0) { try { closeSync(this.fd); } catch { /* already closed */ } this.fd = -1; }
  }
}
