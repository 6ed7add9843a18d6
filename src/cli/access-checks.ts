// What the serving user must be able to open, checked once serving has started (after the
// privilege drop, as that user): the spool directory (an error: bodies without
// Content-Length could not be spooled), then warnings for what would fail later — the
// configuration file (SIGHUP reload), the DocumentRoot, unix-socket backends, the PidFile's
// folder, and any file another part registers (log files: their folder, for reopening).
import { accessSync, constants, mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { GatewayConfig } from '../config/model.js';
import { FLAGS_SOURCE } from '../config/load.js';

export interface AccessReport {
  /** Startup must stop (exit 1). */
  errors: string[];
  warnings: string[];
}

/** A path the serving user needs, with what for. `folder`: it must be able to create files in dirname(path). */
export interface NeededPath {
  path: string;
  need: 'read' | 'write' | 'folder';
  what: string;
}

/** Checks `cfg`'s paths and `extra` as the current user; `who` names it in messages. */
export function checkServingAccess(
  cfg: GatewayConfig,
  who: string,
  extra: readonly NeededPath[] = [],
  spoolDir = tmpdir(),
): AccessReport {
  const report: AccessReport = { errors: [], warnings: [] };
  // The spool: a real file, created and removed, as BodySpool does.
  try {
    rmdirSync(mkdtempSync(join(spoolDir, 'fcgate-check-')));
  } catch (err) {
    report.errors.push(
      `the spool directory ${spoolDir} (FCGATE_SPOOL_DIR, else TMPDIR) is not writable by ${who}: `
        + `${(err as Error).message}`
        + ' (request bodies without Content-Length are spooled there; set TMPDIR to a folder it can write)',
    );
  }
  const needs: NeededPath[] = [];
  if (cfg.source !== FLAGS_SOURCE)
    needs.push({ path: cfg.source, need: 'read', what: 'configuration (SIGHUP reloads it)' });
  if (cfg.documentRoot !== null) needs.push({ path: cfg.documentRoot, need: 'read', what: 'DocumentRoot' });
  if (cfg.pidFile !== undefined) needs.push({ path: cfg.pidFile, need: 'folder', what: 'PidFile (removed at exit)' });
  const sockets = new Set<string>();
  const workers = [
    ...cfg.workers.values(),
    ...[...cfg.balancers.values()].flatMap((b) => b.members.map((m) => m.worker)),
  ];
  for (const w of workers) if (w.address.kind === 'unix') sockets.add(w.address.path);
  for (const path of sockets)
    needs.push({ path, need: 'write', what: `backend unix:${path} (connecting needs write access)` });
  for (const n of [...needs, ...extra]) {
    const target = n.need === 'folder' ? dirname(n.path) : n.path;
    const mode = n.need === 'read' ? constants.R_OK : constants.W_OK | (n.need === 'folder' ? constants.X_OK : 0);
    try {
      accessSync(target, mode);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && n.need === 'write') continue; // a backend not started yet: the probe said so
      report.warnings.push(
        `${n.what}: ${who} cannot ${n.need === 'read' ? 'read' : 'write'} ${target} `
          + `(${code ?? (err as Error).message})`,
      );
    }
  }
  return report;
}
