// The process's log outputs, owned by one thread (the main thread, or the only one): files
// appended with O_APPEND, piped commands (restarted when they die, as Apache's piped logs
// are), stdout and stderr. Serving threads format lines themselves and hand whole batches
// here (line-buffer.ts); this writes them without ever blocking: one write in flight per
// output (fs.writev on the libuv pool, or the pipe's own stream), a queue bounded by
// `limit` bytes per output, and past it lines are dropped and counted (the metric
// fcgate_log_lines_dropped_total and one FCGATE_LOG_DROPPED warning per episode), never
// held without bound. reopen() is SIGUSR1 (logrotate), use() applies a reloaded
// configuration's outputs. Formats and levels are not here (access-format.ts, error-log.ts).
// Over 400 lines on purpose: the log outputs (files, restarted pipes, stdout) with their bounded
// queues and reopen.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, openSync, writev, write } from 'node:fs';
import type { LogTarget } from '../config/model.js';

/** The name a target is known by (also the `log` label of the metrics). */
export function keyOf(t: LogTarget): string {
  switch (t.kind) {
    case 'stdout':
    case 'stderr':
      return t.kind;
    case 'file':
      return t.path;
    case 'pipe':
      return (t.shell ? '|$' : '|') + t.command;
  }
}

export interface LogStats {
  log: string;
  /** Lines written, dropped (queue full, write error, no reader), and bytes queued now. */
  written: number;
  dropped: number;
  queuedBytes: number;
  /** Piped logs: times the command was started again after it died. */
  restarts: number;
}

export interface LogHubOptions {
  /** Bytes queued per output before lines are dropped (FCGATE_LOG_BUFFER). */
  limit: number;
  /** One line for the error log (warnings about the logs themselves). */
  warn: (line: string) => void;
  /** Piped logs: first restart delay (doubles up to 30 s while the command keeps dying quickly). */
  restartDelayMs?: number;
  /** A piped log's command was started (tests await restarts with it). */
  onPipeStart?: (key: string, pid: number) => void;
}

interface Batch {
  data: Buffer;
  lines: number;
}

abstract class Output {
  protected queue: Batch[] = [];
  protected queued = 0;
  written = 0;
  dropped = 0;
  restarts = 0;
  private dropping = false;

  constructor(
    readonly key: string,
    protected readonly hub: LogHubOptions,
  ) {}

  write(data: Buffer, lines: number): void {
    if (this.queued + data.length > this.hub.limit) {
      this.drop(lines, `more than ${this.hub.limit} bytes waiting to be written`);
      return;
    }
    this.queue.push({ data, lines });
    this.queued += data.length;
    this.kick();
  }

  get queuedBytes(): number {
    return this.queued;
  }

  protected drop(lines: number, why: string): void {
    this.dropped += lines;
    if (this.dropping) return;
    this.dropping = true;
    this.hub.warn(
      `FCGATE_LOG_DROPPED log=${this.key} lines=${lines} cause="${why.replace(/"/g, "'")}" (counted in `
        + `fcgate_log_lines_dropped_total; one warning until writes succeed again)`,
    );
  }

  protected wrote(lines: number): void {
    this.written += lines;
    this.dropping = false;
  }

  protected abstract kick(): void;
  /** Resolves once nothing is queued or being written. */
  abstract idle(): Promise<void>;
  /** Writes what is queued, then lets go (resolves within `deadlineMs`). */
  abstract close(deadlineMs: number): Promise<void>;
  reopen(): void {
    /* files only */
  }
}

/** A file or stdout/stderr: fs.writev of everything queued, one call at a time. */
class FdOutput extends Output {
  private busy = false;
  private retry: NodeJS.Timeout | null = null;
  private oldFd: number | null = null;
  private waiters: Array<() => void> = [];

  constructor(
    key: string,
    hub: LogHubOptions,
    private fd: number,
    private readonly path: string | null,
  ) {
    super(key, hub);
  }

  protected kick(): void {
    if (this.busy || this.retry !== null || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    const bufs = batch.map((b) => b.data);
    const total = bufs.reduce((n, b) => n + b.length, 0);
    const lines = batch.reduce((n, b) => n + b.lines, 0);
    this.busy = true;
    writev(this.fd, bufs, (err, n) => {
      this.busy = false;
      if (this.oldFd !== null) {
        try {
          closeSync(this.oldFd);
        } catch {
          /* already closed */
        }
        this.oldFd = null;
      }
      if (err !== null && (err.code === 'EAGAIN' || err.code === 'EWOULDBLOCK')) {
        this.queue = batch.concat(this.queue); // a non-blocking pipe is full: try again soon
        this.retry = setTimeout(() => {
          this.retry = null;
          this.kick();
        }, 20);
        this.retry.unref();
        return;
      }
      this.queued -= total;
      if (err !== null) this.drop(lines, `${err.code ?? ''} ${err.message}`.trim());
      else if (n < total) {
        // A short write (a disk filling up): the rest goes again, and the next write reports the error.
        let skip = n;
        const rest: Buffer[] = [];
        for (const b of bufs) {
          if (skip >= b.length) {
            skip -= b.length;
            continue;
          }
          rest.push(skip > 0 ? b.subarray(skip) : b);
          skip = 0;
        }
        const left = rest.reduce((x, b) => x + b.length, 0);
        this.queue = [{ data: Buffer.concat(rest), lines }, ...this.queue];
        this.queued += left;
      } else this.wrote(lines);
      if (this.queue.length > 0) this.kick();
      else if (this.retry === null) {
        const w = this.waiters;
        this.waiters = [];
        for (const f of w) f();
      }
    });
  }

  idle(): Promise<void> {
    if (!this.busy && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  override reopen(): void {
    if (this.path === null) return;
    let fd: number;
    try {
      fd = openLogFile(this.path);
    } catch (err) {
      this.hub.warn(
        `FCGATE_LOG_ERROR log=${this.key} cause="reopen failed: `
          + `${(err as Error).message.replace(/"/g, "'")}" (still writing to the old file)`,
      );
      return;
    }
    if (this.busy) this.oldFd = this.fd;
    else closeSync(this.fd);
    this.fd = fd;
  }

  async close(deadlineMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.idle(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, deadlineMs);
      }),
    ]);
    clearTimeout(timer);
    if (this.retry !== null) clearTimeout(this.retry);
    if (this.path !== null) {
      try {
        closeSync(this.fd);
      } catch {
        /* gone already */
      }
    }
  }
}

/** `"|command"`: the command's stdin; restarted when it exits, lines queue meanwhile (bounded). */
class PipeOutput extends Output {
  private child: ChildProcess | null = null;
  private closing = false;
  private delay: number;
  private startedAt = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    key: string,
    hub: LogHubOptions,
    private readonly command: string,
    private readonly shell: boolean,
  ) {
    super(key, hub);
    this.delay = hub.restartDelayMs ?? 1000;
    this.start();
  }

  /** The running command's pid (tests). */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  private start(): void {
    const [file, args] = this.shell ? ['/bin/sh', ['-c', this.command]] : splitArgs(this.command);
    this.startedAt = Date.now();
    const child = spawn(file, args, { stdio: ['pipe', 'inherit', 'inherit'] });
    this.child = child;
    if (child.pid !== undefined) this.hub.onPipeStart?.(this.key, child.pid);
    child.stdin!.on('error', () => {
      /* EPIPE: the exit handler restarts it */
    });
    child.stdin!.on('drain', () => this.kick());
    child.on('error', (err) =>
      this.hub.warn(`FCGATE_LOG_PIPE log=${this.key} cause="${err.message.replace(/"/g, "'")}"`),
    );
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      if (this.closing) return;
      // Restart at once after a long life, later and later while it keeps dying quickly.
      if (Date.now() - this.startedAt > 10_000) this.delay = this.hub.restartDelayMs ?? 1000;
      const wait = this.delay;
      this.delay = Math.min(this.delay * 2, 30_000);
      this.hub.warn(
        `FCGATE_LOG_PIPE log=${this.key} cause="the piped log command exited `
          + `(${signal ?? `status ${code}`})" restart_in_ms=${wait}`,
      );
      this.timer = setTimeout(() => {
        this.timer = null;
        if (!this.closing) {
          this.restarts++;
          this.start();
          this.kick();
        }
      }, wait);
    });
    this.kick();
  }

  /** Everything queued has been handed to the command's stdin and the stream took it. */
  idle(): Promise<void> {
    const stdin = this.child?.stdin;
    if (this.queue.length === 0 && (stdin === null || stdin === undefined || stdin.writableLength === 0))
      return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.queue.length === 0 && (this.child?.stdin?.writableLength ?? 0) === 0) resolve();
        else setTimeout(check, 10).unref();
      };
      check();
    });
  }

  protected kick(): void {
    const stdin = this.child?.stdin;
    if (stdin === null || stdin === undefined || !stdin.writable) return;
    while (this.queue.length > 0 && stdin.writableLength < 64 * 1024) {
      const b = this.queue.shift()!;
      this.queued -= b.data.length;
      stdin.write(b.data);
      this.wrote(b.lines);
    }
  }

  async close(deadlineMs: number): Promise<void> {
    this.closing = true;
    if (this.timer !== null) clearTimeout(this.timer);
    const child = this.child;
    if (child === null) return;
    this.kick();
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve();
        return;
      }
      const t = setTimeout(() => {
        child.kill('SIGTERM');
        resolve();
      }, deadlineMs);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
    child.stdin!.end();
    await exited;
  }
}

/** Opens a log file for appending (created 0644 as Apache's are under the usual umask). */
function openLogFile(path: string): number {
  return openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o644);
}

/** Splits a command line into words as a shell would for plain words and '…' / "…" quotes (no expansion). */
export function splitArgs(command: string): [string, string[]] {
  const words: string[] = [];
  let cur = '';
  let has = false;
  let quote: string | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote !== null) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < command.length) cur += command[++i];
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      has = true;
      continue;
    }
    if (c === '\\' && i + 1 < command.length) {
      cur += command[++i];
      has = true;
      continue;
    }
    if (c === ' ' || c === '\t') {
      if (has || cur !== '') words.push(cur);
      cur = '';
      has = false;
      continue;
    }
    cur += c;
  }
  if (has || cur !== '') words.push(cur);
  if (words.length === 0) throw new Error('empty piped log command');
  return [words[0]!, words.slice(1)];
}

export class LogHub {
  private readonly outputs = new Map<string, Output>();
  /** The error log's key and its last lines (the status page's "recent errors"). */
  private errorKey = 'stderr';
  private readonly recent: string[] = [];
  static readonly RECENT = 50;

  constructor(private readonly options: LogHubOptions) {}

  /**
   * Makes `targets` the open outputs (opening new files now: an unwritable path throws),
   * and closes the ones no longer named after `graceMs` (batches of threads still on the
   * old configuration land in them meanwhile). `errorLog` names the error log's output.
   */
  use(targets: LogTarget[], errorLog: LogTarget, graceMs = 2000): void {
    const wanted = new Map<string, LogTarget>();
    for (const t of [...targets, errorLog]) wanted.set(keyOf(t), t);
    const opened: Output[] = [];
    try {
      for (const [key, t] of wanted) {
        if (this.outputs.has(key)) continue;
        const out = this.open(key, t);
        opened.push(out);
      }
    } catch (err) {
      for (const o of opened) void o.close(0);
      throw err;
    }
    for (const o of opened) this.outputs.set(o.key, o);
    this.errorKey = keyOf(errorLog);
    this.wanted = wanted;
    for (const [key, o] of this.outputs) {
      if (wanted.has(key)) continue;
      const timer = setTimeout(() => {
        if (this.wanted.has(key) || this.outputs.get(key) !== o) return; // named again by a later reload
        this.outputs.delete(key);
        void o.close(2000);
      }, graceMs);
      timer.unref();
    }
  }

  /** The outputs the configuration in force names. */
  private wanted = new Map<string, LogTarget>();

  private open(key: string, t: LogTarget): Output {
    switch (t.kind) {
      case 'stdout':
        return new FdOutput(key, this.options, 1, null);
      case 'stderr':
        return new FdOutput(key, this.options, 2, null);
      case 'file':
        try {
          return new FdOutput(key, this.options, openLogFile(t.path), t.path);
        } catch (err) {
          throw new Error(`cannot open log file ${t.path}: ${(err as Error).message}`);
        }
      case 'pipe':
        return new PipeOutput(key, this.options, t.command, t.shell);
    }
  }

  /** Whether the output `key` is open. */
  has(key: string): boolean {
    return this.outputs.has(key);
  }

  /** A batch for the log `key`; lines for a log that is not open are dropped (counted). */
  write(key: string, data: Buffer, lines: number): void {
    const out = this.outputs.get(key);
    if (key === this.errorKey) this.remember(data);
    if (out === undefined) {
      this.orphaned += lines;
      return;
    }
    out.write(data, lines);
  }

  /** Lines that arrived for a log no longer open (a reload raced with a batch). */
  orphaned = 0;

  private remember(data: Buffer): void {
    for (const line of data.toString('utf8').split('\n')) {
      if (line === '') continue;
      this.recent.push(line);
      if (this.recent.length > LogHub.RECENT) this.recent.shift();
    }
  }

  /** The error log's last lines, oldest first. */
  recentErrors(): string[] {
    return this.recent.slice();
  }

  /** SIGUSR1: every file is opened again (after logrotate moved it away). */
  reopen(): void {
    for (const o of this.outputs.values()) o.reopen();
  }

  stats(): LogStats[] {
    return [...this.outputs.values()].map((o) => ({
      log: o.key,
      written: o.written,
      dropped: o.dropped,
      queuedBytes: o.queuedBytes,
      restarts: o.restarts,
    }));
  }

  /** Resolves once the output `key` has written everything queued (nothing when it is not open). */
  async flushed(key: string): Promise<void> {
    await this.outputs.get(key)?.idle();
  }

  /** The running pid of a piped log (tests). */
  pipePid(key: string): number | null {
    const o = this.outputs.get(key);
    return o instanceof PipeOutput ? o.pid : null;
  }

  /** Writes what is queued (up to deadlineMs) and closes every output. */
  async close(deadlineMs = 3000): Promise<void> {
    const all = [...this.outputs.values()];
    this.outputs.clear();
    await Promise.all(all.map((o) => o.close(deadlineMs)));
  }
}

/** One error-log line written straight to stderr (when the error log itself is what fails). */
export function stderrLine(text: string): void {
  write(2, text, () => {
    /* nothing left to tell */
  });
}
