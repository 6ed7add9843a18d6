// Entry points that turn configuration text, a file or command-line flags into a
// GatewayConfig. The directive work is in directives.ts; routing is in router.ts.

import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from './config-error.js';
import type { ConfigFiles } from './config-files.js';
import { buildConfig } from './directives.js';
import { parseTree, type ConfigNode } from './lexer.js';
import type { GatewayConfig } from './model.js';

/**
 * Parses configuration text; `fileName` names it in errors and anchors relative paths.
 * `files` reads what Include and the file-naming directives name (default: the disk).
 */
export function parseConfig(text: string, fileName: string, files?: ConfigFiles): GatewayConfig {
  const baseDir = dirname(resolve(fileName));
  return checkDocumentRoot(buildConfig(parseTree(text, fileName), fileName, baseDir, files));
}

/** As Apache (AH00112), a DocumentRoot that is not a directory is a warning, not an error. */
function checkDocumentRoot(cfg: GatewayConfig): GatewayConfig {
  const roots = new Set<string>();
  for (const site of [cfg, ...cfg.vhosts.map((v) => v.site)])
    if (site.documentRoot !== null) roots.add(site.documentRoot);
  for (const root of roots) {
    if (statSync(root, { throwIfNoEntry: false })?.isDirectory() !== true) {
      cfg.warnings.push(`${cfg.source}: DocumentRoot ${root} is not an existing directory`);
    }
  }
  return cfg;
}

/** Reads and parses a configuration file; an unreadable file is a ConfigError too. */
export function loadConfig(path: string): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, 0, `cannot read the configuration: ${(e as Error).message}`);
  }
  return parseConfig(text, path);
}

export interface ConfigFlags {
  /** `--listen 8080`, `--listen 127.0.0.1:8080`, `--listen [::1]:8080`. */
  listen: string[];
  /** `--pass /app/=fcgi://127.0.0.1:9000/` (PATH=URL, split at the first '='; more keys after spaces). */
  pass: string[];
  documentRoot?: string;
  user?: string;
  group?: string;
  pidFile?: string;
}

/** What `source` says for a configuration made of flags. */
export const FLAGS_SOURCE = 'command line';

/** Each flag and the directive it stands for. */
const FLAG_DIRECTIVES = [
  ['listen', 'Listen'],
  ['pass', 'ProxyPass'],
  ['document-root', 'DocumentRoot'],
  ['user', 'User'],
  ['group', 'Group'],
  ['pid-file', 'PidFile'],
] as const;

/**
 * The common case without a file: the flags become Listen / ProxyPass / DocumentRoot /
 * User / Group / PidFile directives, so they are checked exactly as in a file. Errors name
 * the flag: `--pass /app: expected PATH=URL, e.g. /app/=fcgi://127.0.0.1:9000/`.
 */
export function configFromFlags(flags: ConfigFlags): GatewayConfig {
  const nodes: ConfigNode[] = [];
  const flagOf: string[] = [];
  const node = (flag: string, name: string, args: string[]): void => {
    flagOf.push(`--${flag} ${args.join(' ')}`);
    nodes.push({ type: 'directive', name, args, file: FLAGS_SOURCE, line: nodes.length + 1 });
  };
  for (const l of flags.listen) node('listen', 'Listen', [l]);
  for (const p of flags.pass) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new ConfigError('', 0, `--pass ${p}: expected PATH=URL, e.g. /app/=fcgi://127.0.0.1:9000/`);
    const words = p
      .slice(eq + 1)
      .split(/\s+/)
      .filter((w) => w !== '');
    node('pass', 'ProxyPass', [p.slice(0, eq), ...words]);
  }
  const single = {
    'document-root': flags.documentRoot,
    user: flags.user,
    group: flags.group,
    'pid-file': flags.pidFile,
  };
  for (const [flag, directive] of FLAG_DIRECTIVES) {
    const v = single[flag as keyof typeof single];
    if (v !== undefined) node(flag, directive, [v]);
  }
  try {
    return checkDocumentRoot(buildConfig(nodes, FLAGS_SOURCE, process.cwd()));
  } catch (e) {
    if (e instanceof ConfigError) {
      // "Listen: expected [address:]port, got "x"" → "--listen x: expected [address:]port, got "x"".
      const which = flagOf[e.line - 1];
      const directive = nodes[e.line - 1];
      const detail =
        directive !== undefined && directive.type === 'directive' && e.detail.startsWith(`${directive.name}: `)
          ? e.detail.slice(directive.name.length + 2)
          : e.detail;
      throw new ConfigError('', 0, which === undefined ? detail : `${which}: ${detail}`);
    }
    throw e;
  }
}
