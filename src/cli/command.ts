// What a `fcgate <command>` is: its options (parsed with node's util.parseArgs), its help
// text, and its run function; plus the exit codes every command shares. The table of
// commands is in main.ts; each command lives in its own file.
//
// Exit codes (also in `fcgate --help` and the README):
//   0  done (a server: stopped by SIGTERM/SIGINT after draining)
//   1  runtime failure: a port in use, a thread that cannot start, a failed privilege drop
//   2  usage or configuration error: bad option, bad file, bad FCGATE_* value
import { parseArgs } from 'node:util';
import { didYouMean } from '../closest-name.js';

export const ExitCode = { Ok: 0, Failure: 1, Usage: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A wrong command line or configuration: exit 2. Other errors exit 1. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command: string | null = null,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  /** The value's placeholder in help: FILE, ADDR, PATH=URL. */
  readonly value?: string;
  readonly help: string;
}
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** Parsed option values, typed from the specs. */
export type OptionValues<O extends OptionSpecs> = {
  [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : O[K]['multiple'] extends true ? string[] : string;
};

export interface Command<O extends OptionSpecs = OptionSpecs> {
  readonly name: string;
  /** One line for `fcgate --help`. */
  readonly summary: string;
  /** Synopsis lines after `Usage:` (without the leading `fcgate `). */
  readonly usage: readonly string[];
  /** Paragraphs under the synopsis. */
  readonly description: string;
  readonly options: O;
  readonly examples: readonly string[];
  /** Extra help sections (signals, environment), already formatted. */
  readonly more?: () => string;
  /**
   * Runs the command. Resolves with the exit code when it is done; a server resolves when
   * it has stopped. Throw UsageError for exit 2, anything else for exit 1.
   */
  run(values: OptionValues<O>): Promise<ExitCode>;
}

/** Declares a command with its option types inferred (so `run` sees typed values). */
export function defineCommand<const O extends OptionSpecs>(c: Command<O>): Command<O> {
  return c;
}

const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', help: 'this help' };

/**
 * Parses `args` for `cmd`: unknown options (with a "did you mean"), a missing value, a value
 * given to a flag and stray arguments are UsageErrors naming the command. Returns 'help'
 * for -h/--help.
 */
export function parseCommandArgs<O extends OptionSpecs>(
  cmd: Command<O>,
  args: readonly string[],
): OptionValues<O> | 'help' {
  const specs: Record<string, OptionSpec> = { ...cmd.options, help: HELP_OPTION };
  const fail: (what: string) => never = (what) => {
    throw new UsageError(what, cmd.name);
  };
  // strict: false + tokens: our own checks, with messages in fcgate's words.
  const { tokens } = parseArgs({
    args: [...args],
    options: toParseArgs(specs),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, string | boolean | string[]> = {};
  for (const t of tokens) {
    if (t.kind === 'positional') fail(`unexpected argument "${t.value}"`);
    if (t.kind !== 'option') continue;
    const spec = specs[t.name];
    if (spec === undefined) {
      const known = Object.keys(specs).map((n) => `--${n}`);
      fail(`unknown option ${t.rawName}${t.rawName.startsWith('--') ? didYouMean(t.rawName, known) : ''}`);
    }
    const long = `--${t.name}`;
    if (spec.type === 'boolean') {
      if (t.value !== undefined) fail(`${long} takes no value`);
      values[t.name] = true;
      continue;
    }
    const v = t.value;
    if (v === undefined) fail(`${long} needs a value (${spec.value ?? 'VALUE'})`);
    if (!t.inlineValue && v.startsWith('-') && v !== '-') {
      fail(
        `${long} needs a value (${spec.value ?? 'VALUE'}), got the option ${v}; write ${long}=${v} if that `
          + `is the value`,
      );
    }
    if (spec.multiple) ((values[t.name] ??= []) as string[]).push(v);
    else if (values[t.name] !== undefined) fail(`${long} is given twice`);
    else values[t.name] = v;
  }
  if (values['help'] === true) return 'help';
  return values as OptionValues<O>;
}

function toParseArgs(
  specs: Record<string, OptionSpec>,
): Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> {
  const out: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, s] of Object.entries(specs)) {
    out[name] = {
      type: s.type,
      ...(s.short !== undefined ? { short: s.short } : {}),
      ...(s.multiple ? { multiple: true } : {}),
    };
  }
  return out;
}

/** `fcgate <cmd> --help`. */
export function commandHelp(cmd: Command): string {
  const specs: Array<[string, OptionSpec]> = [...Object.entries(cmd.options), ['help', HELP_OPTION]];
  const left = specs.map(([name, s]) => {
    const short = s.short !== undefined ? `-${s.short}, ` : '    ';
    return `${short}--${name}${s.type === 'string' ? ` ${s.value ?? 'VALUE'}` : ''}`;
  });
  const w = Math.max(...left.map((l) => l.length));
  const lines = [
    `Usage: ${cmd.usage.map((u, i) => `${i === 0 ? '' : '       '}fcgate ${u}`).join('\n')}`,
    '',
    cmd.description,
    '',
    'Options:',
    ...specs.map(([, s], i) => `  ${left[i]!.padEnd(w)}  ${s.help}${s.multiple ? '; repeatable' : ''}`),
  ];
  if (cmd.examples.length > 0) lines.push('', 'Examples:', ...cmd.examples.map((e) => `  ${e}`));
  const more = cmd.more?.();
  if (more !== undefined && more !== '') lines.push('', more);
  lines.push('', EXIT_CODES_HELP);
  return lines.join('\n') + '\n';
}

export const EXIT_CODES_HELP = `Exit status:
  0  done (a server: stopped by SIGTERM or SIGINT after draining)
  1  runtime failure (a port in use, a thread that cannot start, a failed privilege drop)
  2  usage or configuration error (a bad option, configuration file or FCGATE_* value)`;
