// A process seen from /proc (Linux): resident memory, open file descriptors and what they
// are (sockets, pipes, files, deleted files), for the fuzz tests and the soak script to
// compare a gateway with its own baseline. Reads only; starts and stops nothing.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ProcSample {
  /** Resident set size in bytes (VmRSS). */
  rss: number;
  /** Open file descriptors. */
  fds: number;
  /** fds by kind: socket, pipe, anon_inode, file, deleted (an unlinked file still open), other. */
  kinds: Record<string, number>;
  at: number;
}

/** VmRSS of `pid` in bytes; throws when the process is gone. */
export function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  if (m === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** The open fds of `pid`, counted by kind. */
export function fdsOf(pid: number): { fds: number; kinds: Record<string, number> } {
  const kinds: Record<string, number> = {};
  let fds = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    } // closed meanwhile
    fds++;
    const kind = target.startsWith('socket:')
      ? 'socket'
      : target.startsWith('pipe:')
        ? 'pipe'
        : target.startsWith('anon_inode:')
          ? 'anon_inode'
          : target.endsWith(' (deleted)')
            ? 'deleted'
            : target.startsWith('/')
              ? 'file'
              : 'other';
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return { fds, kinds };
}

export function sampleProc(pid: number): ProcSample {
  return { rss: rssOf(pid), ...fdsOf(pid), at: Date.now() };
}

export const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;
