// How the configuration loader reads files beyond the main one (Include, certificate and
// proxy-list files): from disk, from disk while recording, or from a recording. The main
// thread records what it read; serving threads parse from that recording, so a file edited
// between two reads cannot make threads disagree (threads/config-source.ts).

import { readdirSync, readFileSync, statSync } from 'node:fs';

export type FileKind = 'file' | 'dir' | 'missing';

export interface ConfigFiles {
  /** The text of a file (throws as readFileSync does). */
  read(path: string): string;
  /** The names in a directory (throws as readdirSync does). */
  list(dir: string): string[];
  kind(path: string): FileKind;
}

function kindOnDisk(path: string): FileKind {
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    return st === undefined ? 'missing' : st.isDirectory() ? 'dir' : 'file';
  } catch {
    return 'missing';
  }
}

export const diskFiles: ConfigFiles = {
  read: (path) => readFileSync(path, 'utf8'),
  list: (dir) => readdirSync(dir),
  kind: kindOnDisk,
};

/** Everything a configuration load read, by path; plain data (crosses threads by postMessage). */
export interface FilesRecording {
  files: Record<string, string>;
  dirs: Record<string, string[]>;
  kinds: Record<string, FileKind>;
}

/** Reads from disk and remembers every answer in `recording`. */
export function recordingFiles(
  recording: FilesRecording = { files: {}, dirs: {}, kinds: {} },
): ConfigFiles & { recording: FilesRecording } {
  return {
    recording,
    read: (path) => (recording.files[path] = diskFiles.read(path)),
    list: (dir) => (recording.dirs[dir] = diskFiles.list(dir)),
    kind: (path) => (recording.kinds[path] = diskFiles.kind(path)),
  };
}

/** Answers from a recording; a path that was not read then is an error (never the disk). */
export function replayFiles(r: FilesRecording): ConfigFiles {
  const missing = (what: string, path: string): never => {
    throw new Error(`${path}: not in the configuration read at startup (${what}); reload to read it`);
  };
  return {
    read: (path) => r.files[path] ?? missing('file', path),
    list: (dir) => r.dirs[dir] ?? missing('directory', dir),
    kind: (path) => r.kinds[path] ?? missing('file kind', path),
  };
}
