// Reading the configuration for the serving threads: main reads the file once into a
// ConfigSource (text + file name, or the command-line flags), every thread parses that
// same text, so a file edited between two reads cannot make threads disagree.
// Parsing itself is src/config; this only carries it across threads.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../config/config-error.js';
import { recordingFiles, replayFiles } from '../config/config-files.js';
import { configFromFlags, parseConfig, type ConfigFlags } from '../config/load.js';
import type { GatewayConfig } from '../config/model.js';
import type { ConfigSource } from './messages.js';

/** Where the configuration comes from: a file (`-c`), or the command-line flags. */
export interface SourceSettings extends ConfigFlags {
  config?: string;
}

/** The flags that stand for directives (serve's --document-root, --user, --group, --pid-file). */
const optionalFlags = (
  s: Omit<SourceSettings, 'config' | 'listen' | 'pass'>,
): Omit<SourceSettings, 'config' | 'listen' | 'pass'> => ({
  ...(s.documentRoot !== undefined ? { documentRoot: s.documentRoot } : {}),
  ...(s.user !== undefined ? { user: s.user } : {}),
  ...(s.group !== undefined ? { group: s.group } : {}),
  ...(s.pidFile !== undefined ? { pidFile: s.pidFile } : {}),
});

/** Reads the file now (ConfigError when unreadable), or wraps the flags. */
export function readConfigSource(s: SourceSettings): ConfigSource {
  if (s.config !== undefined) {
    const fileName = resolve(s.config);
    let text: string;
    try {
      text = readFileSync(fileName, 'utf8');
    } catch (e) {
      throw new ConfigError(s.config, 0, `cannot read the configuration: ${(e as Error).message}`);
    }
    // Parse once here to record what Include & co. read; threads replay that recording.
    const files = recordingFiles();
    parseConfig(text, fileName, files);
    return { kind: 'text', text, fileName, files: files.recording };
  }
  return {
    kind: 'flags',
    listen: s.listen.length > 0 ? s.listen : ['127.0.0.1:8080'],
    pass: s.pass,
    ...optionalFlags(s),
  };
}

/** Parses a source (throws ConfigError as the config loader does). */
export function configFromSource(src: ConfigSource): GatewayConfig {
  if (src.kind === 'text')
    return parseConfig(src.text, src.fileName, src.files === undefined ? undefined : replayFiles(src.files));
  return configFromFlags({ listen: src.listen, pass: src.pass, ...optionalFlags(src) });
}
