// Runs libfcgi's `cgi-fcgi -bind -connect ADDRESS` as a real, independent FastCGI client:
// the environment given becomes the request's params (cgi-fcgi sends its whole environ),
// CONTENT_LENGTH bytes of stdin become FCGI_STDIN, STDOUT/STDERR records come back on its
// stdout/stderr, and its exit code is END_REQUEST's appStatus. Bounded by a timeout.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { skipUnlessFound } from './process.js';

/** Path of cgi-fcgi, or null when it is not installed. */
export function findCgiFcgi(): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const file = join(dir, 'cgi-fcgi');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      /* next */
    }
  }
  return null;
}

/** For `describe(name, { skip: skipUnlessCgiFcgi() }, …)`: skips outside CI only. */
export function skipUnlessCgiFcgi(): string | false {
  return skipUnlessFound('cgi-fcgi (libfcgi-bin)', findCgiFcgi() !== null);
}

export interface CgiFcgiResult {
  code: number | null; // exit code: the app's appStatus
  signal: NodeJS.Signals | null;
  stdout: Buffer; // STDOUT content as sent: CGI head + body
  stderr: Buffer; // STDERR content (plus cgi-fcgi's own complaints)
}

export interface CgiFcgiOptions {
  /** `host:port` or a unix socket path. */
  address: string;
  /** The request's params: the only environment cgi-fcgi gets. */
  env: Record<string, string>;
  /** Body pieces; only CONTENT_LENGTH bytes are forwarded by cgi-fcgi. */
  stdin?: Iterable<Buffer>;
  timeoutMs?: number; // default 20000, then SIGKILL and reject
}

export function runCgiFcgi(opts: CgiFcgiOptions): Promise<CgiFcgiResult> {
  const bin = findCgiFcgi();
  if (bin === null) return Promise.reject(new Error('cgi-fcgi not found: run scripts/install-deps.sh'));
  const timeoutMs = opts.timeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['-bind', '-connect', opts.address], {
      env: opts.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `cgi-fcgi did not finish within ${timeoutMs} ms; stderr: ` + Buffer.concat(err).toString('utf8').slice(-500),
        ),
      );
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
    });
    // cgi-fcgi may stop reading early (it forwards CONTENT_LENGTH bytes): ignore EPIPE.
    child.stdin.on('error', () => undefined);
    void feed(child.stdin, opts.stdin ?? []);
  });
}

async function feed(sink: NodeJS.WritableStream, pieces: Iterable<Buffer>): Promise<void> {
  for (const piece of pieces) {
    if (!sink.write(piece)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          sink.off('drain', done);
          sink.off('close', done);
          resolve();
        };
        sink.once('drain', done);
        sink.once('close', done);
      });
    }
  }
  sink.end();
}
