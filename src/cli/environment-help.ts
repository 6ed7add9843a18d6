// The environment as the commands see it: the tuning table read once per command (with one
// warning line per unknown FCGATE_* name) and the help section that lists every variable.
// The table itself is src/tuning.ts.
import { describeVariables, readTuning, unknownVariableWarnings, type Tuning } from '../tuning.js';

/** Reads the tuning variables; warns about unknown FCGATE_* names first. Throws TuningError (exit 2). */
export function tuningFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  warn: (line: string) => void = (l) => process.stderr.write(`fcgate: warning: ${l}\n`),
): Tuning {
  for (const w of unknownVariableWarnings(env)) warn(w);
  return readTuning(env);
}

export function environmentHelp(): string {
  return `Environment (an invalid value stops startup; empty means the default):
  sizes: bytes, or with a suffix: KB MB GB TB are SI (10MB = 10 000 000 bytes);
         KiB MiB GiB TiB and K M G T are IEC (10MiB = 10M = 10 485 760 bytes)
  durations: a number in the variable's unit, or 500ms, 30s, 2m (or 2min), 1h
${describeVariables()}`;
}
