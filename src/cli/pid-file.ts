// `PidFile` (Apache's): checked before the ports are opened (another fcgate already running
// with this file stops startup), written once they are (so a second instance that fails on
// its port never overwrites the running one's file), removed at exit if it still holds our
// pid. It is written while fcgate may still be root, so the file and a folder it has to
// create are given to the serving user (as systemd's RuntimeDirectory=); in a folder that
// user cannot write (PidFile /run/fcgate.pid), the file cannot be removed after the drop:
// it is emptied instead, so no stale pid is left behind, and the startup access check
// has already said so.
import {
  chownSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import type { Account } from './privileges.js';

export class PidFile {
  private written = false;

  constructor(readonly path: string) {}

  /**
   * Throws when the file names a running fcgate; a stale file (dead or unrelated pid) is
   * reported and later replaced.
   */
  check(): string | null {
    const pid = this.read();
    if (pid === null || pid === process.pid) return null;
    if (isRunningFcgate(pid)) {
      throw new Error(
        `PidFile ${this.path}: fcgate is already running as pid ${pid} (stop it first, or use another PidFile)`,
      );
    }
    return `PidFile ${this.path} held pid ${pid}, which is not a running fcgate: it will be replaced`;
  }

  /** Writes our pid (creating the folder for `owner` when it is missing). */
  write(owner: Account | null): void {
    const dir = dirname(this.path);
    if (statSync(dir, { throwIfNoEntry: false }) === undefined) {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      if (owner !== null) chownSync(dir, owner.uid, owner.gid);
    }
    // Written whole then renamed: a reader never sees a half-written file.
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${process.pid}\n`, { mode: 0o644 });
    if (owner !== null) chownSync(tmp, owner.uid, owner.gid);
    renameSync(tmp, this.path);
    this.written = true;
  }

  /** At exit: removes the file if it still holds our pid. Returns a line to log when it could not. */
  remove(): string | null {
    if (!this.written) return null;
    this.written = false;
    if (this.read() !== process.pid) return null; // replaced by someone else: theirs now
    try {
      unlinkSync(this.path);
      return null;
    } catch (err) {
      const why =
        `PidFile ${this.path} could not be removed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): `
        + 'the serving user needs write access to its folder, e.g. PidFile /run/fcgate/fcgate.pid';
      try {
        truncateSync(this.path, 0);
        return `${why}; it was emptied instead`;
      } catch {
        return why;
      }
    }
  }

  private read(): number | null {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return null;
    }
    const pid = Number(text.trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  }
}

/** True when `pid` is alive and its command line mentions fcgate. */
function isRunningFcgate(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false; // ESRCH: gone
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('fcgate');
  } catch {
    return true; // alive, but nothing to tell what it is (no /proc): assume it is ours
  }
}
