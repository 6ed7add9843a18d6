// `User` and `Group` (Apache's): who fcgate serves as once its ports are open. Resolving
// the names, deciding (before anything is opened) whether and to whom to drop, refusing to
// serve as root unless FCGATE_ALLOW_ROOT=1, and the drop itself with its verification.
// The order around it (bind, pid file, drop, checks) is serve-command.ts's.
//
// How the drop reaches every thread: Node allows process.setuid/setgid only in the main
// thread, and glibc applies them to every thread of the process (it signals each thread to
// make the same system call: POSIX's process-wide credentials). So the drop happens once,
// in the main thread, after the serving threads have bound their sockets, and then every
// task in /proc/self/task is checked: all four uids and gids changed, no capability left.
// Sockets opened as root keep working. What no longer works after the drop: binding a port
// again. Linux lets a socket join an SO_REUSEPORT group only when it belongs to the same
// user as the sockets already there, so a serving thread that dies and is replaced cannot
// listen again while its siblings still hold root's sockets (the others keep serving; the
// supervisor logs FCGATE_THREAD_RESTART with the cause). Starting as the unprivileged user
// with CAP_NET_BIND_SERVICE (contrib/fcgate.service) avoids that: nothing is ever dropped.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { ConfigError } from '../config/config-error.js';

/** A passwd or group entry. */
export interface AccountEntry {
  name: string;
  id: number /** passwd: the primary group id. */;
  gid?: number;
}

/** Whom to serve as after the drop. */
export interface Account {
  user: string;
  uid: number;
  group: string;
  gid: number;
}

export interface PrivilegePlan {
  /** null: serve as we are. */
  drop: Account | null;
  /** Lines to log (e.g. `User` ignored because we were not started as root). */
  notes: string[];
}

export interface RunAs {
  user?: string | undefined;
  group?: string | undefined;
}

/**
 * Looks up a passwd or group entry by name or by `#id` (Apache's form): `getent` first, so
 * NSS sources (LDAP, systemd-userdb) count, then /etc/passwd or /etc/group.
 */
export function lookupAccount(db: 'passwd' | 'group', spec: string): AccountEntry | null {
  const key = spec.startsWith('#') ? spec.slice(1) : spec;
  let line: string | null = null;
  try {
    line =
      execFileSync('getent', [db, key], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).split(
        '\n',
      )[0] ?? null;
  } catch (err) {
    // getent exits 2 for "no such entry"; anything else (no getent at all): read the file.
    if ((err as { status?: number }).status === 2) return null;
    const file = readFileSync(`/etc/${db}`, 'utf8').split('\n');
    line =
      file.find((l) => {
        const f = l.split(':');
        return spec.startsWith('#') ? f[2] === key : f[0] === key;
      }) ?? null;
  }
  if (line === null || line === '') return null;
  const f = line.split(':');
  const id = Number(f[2]);
  if (f[0] === undefined || !Number.isSafeInteger(id)) return null;
  return db === 'passwd' ? { name: f[0], id, gid: Number(f[3]) } : { name: f[0], id };
}

/** The name of a user id, for messages (`uid 1000` when it has none). */
export function userName(uid: number): string {
  return lookupAccount('passwd', `#${uid}`)?.name ?? `uid ${uid}`;
}

/**
 * Decides before any socket is opened. Started as root: `User` names whom to drop to
 * (Group defaults to the user's primary group, as nginx does); without User, or with
 * User root, fcgate refuses to start unless allowRoot (FCGATE_ALLOW_ROOT=1), as Apache
 * refuses to serve as root. Not started as root: nothing to drop; a User naming another
 * user is ignored with a note (Apache does the same). Unknown names are ConfigErrors (exit 2).
 */
export function planPrivileges(runAs: RunAs, allowRoot: boolean, euid = process.geteuid?.() ?? -1): PrivilegePlan {
  const notes: string[] = [];
  const user = runAs.user === undefined ? null : lookupAccount('passwd', runAs.user);
  if (runAs.user !== undefined && user === null)
    throw new ConfigError('', 0, `User ${runAs.user}: no such user on this machine`);
  const group = runAs.group === undefined ? null : lookupAccount('group', runAs.group);
  if (runAs.group !== undefined && group === null)
    throw new ConfigError('', 0, `Group ${runAs.group}: no such group on this machine`);
  if (euid !== 0) {
    if (user !== null && user.id !== euid) {
      notes.push(`User ${runAs.user} is ignored: fcgate was not started as root, so it serves as ${userName(euid)}`);
    }
    return { drop: null, notes };
  }
  if (user === null || user.id === 0) {
    if (!allowRoot) {
      throw new ConfigError(
        '',
        0,
        'refusing to serve as root: add `User www-data` (or another unprivileged user) to the '
          + 'configuration, or --user with the flags, so fcgate drops to it once its ports are open; '
          + 'or set FCGATE_ALLOW_ROOT=1 to serve as root anyway',
      );
    }
    notes.push('serving as root (FCGATE_ALLOW_ROOT=1)');
    if (group === null) return { drop: null, notes };
  }
  const uid = user?.id ?? 0;
  const gid = group?.id ?? user!.gid!;
  const groupName = group?.name ?? lookupAccount('group', `#${gid}`)?.name ?? String(gid);
  return { drop: { user: user?.name ?? 'root', uid, group: groupName, gid }, notes };
}

/**
 * Drops to `a` for the whole process: supplementary groups (initgroups: the user's own,
 * never root's), then the gid, then the uid — real, effective and saved, so root cannot be
 * taken back. Then checks every thread. Throws (exit 1) when anything is left over.
 */
export function dropPrivileges(a: Account): void {
  // process.initgroups is in Node's API (POSIX) but not in @types/node 20.
  const initgroups = (process as { initgroups?: (user: string, extraGroup: number) => void }).initgroups;
  if (process.setuid === undefined || process.setgid === undefined || initgroups === undefined) {
    throw new Error('cannot drop privileges on this platform (no setuid/setgid)');
  }
  try {
    if (a.uid !== 0) initgroups(a.user, a.gid);
    else process.setgroups?.([a.gid]);
    process.setgid(a.gid);
    process.setuid(a.uid);
  } catch (err) {
    throw new Error(`cannot drop privileges to ${a.user}:${a.group}: ${(err as Error).message}`);
  }
  const left = leftoverPrivileges(a);
  if (left.length > 0) throw new Error(`privilege drop to ${a.user}:${a.group} incomplete: ${left.join('; ')}`);
}

/**
 * What is not as `a` says, thread by thread (/proc/self/task/N/status: Uid, Gid, CapEff),
 * plus whether root can be taken back. Empty when the drop is complete. Linux; elsewhere
 * only the process-wide ids are checked.
 */
function leftoverPrivileges(a: Account): string[] {
  const out: string[] = [];
  const ids = [process.getuid?.(), process.geteuid?.(), process.getgid?.(), process.getegid?.()];
  if (ids.join() !== [a.uid, a.uid, a.gid, a.gid].join()) out.push(`process ids are ${ids.join('/')}`);
  let tasks: string[] = [];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    /* not Linux: the ids above are all we can see */
  }
  for (const t of tasks) {
    let status: string;
    try {
      status = readFileSync(`/proc/self/task/${t}/status`, 'utf8');
    } catch {
      continue;
    } // the thread ended
    const field = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
    const uids = field('Uid').split(/\s+/).map(Number);
    const gids = field('Gid').split(/\s+/).map(Number);
    if (uids.some((u) => u !== a.uid)) out.push(`thread ${t} has uids ${uids.join(' ')}`);
    if (gids.some((g) => g !== a.gid)) out.push(`thread ${t} has gids ${gids.join(' ')}`);
    if (a.uid !== 0 && !/^0+$/.test(field('CapEff'))) out.push(`thread ${t} has capabilities ${field('CapEff')}`);
  }
  if (a.uid !== 0) {
    try {
      process.setuid!(0);
      out.push('root could be taken back');
    } catch {
      /* EPERM: as it must be */
    }
  }
  return out;
}
