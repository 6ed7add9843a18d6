// parseCommandArgs (util.parseArgs underneath) with fcgate's messages, and the help text
// every command gets (issue 13).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandHelp, defineCommand, parseCommandArgs, UsageError } from '../../src/cli/command.js';

const cmd = defineCommand({
  name: 'demo',
  summary: 's',
  usage: ['demo -c FILE'],
  description: 'd',
  options: {
    config: { type: 'string', short: 'c', value: 'FILE', help: 'the file' },
    listen: { type: 'string', multiple: true, value: 'ADDR', help: 'where' },
    quiet: { type: 'boolean', help: 'say less' },
  },
  examples: ['fcgate demo -c x'],
  run: async () => 0,
});

const usage = (args: string[], message: string): void => {
  assert.throws(
    () => parseCommandArgs(cmd, args),
    (e: unknown) => e instanceof UsageError && e.message === message && e.command === 'demo',
    args.join(' '),
  );
};

test('values: short and long, inline and separate, repeatable, flags', () => {
  assert.deepEqual(parseCommandArgs(cmd, ['-c', 'a.conf', '--listen', '1', '--listen=2', '--quiet']), {
    config: 'a.conf',
    listen: ['1', '2'],
    quiet: true,
  });
  assert.deepEqual(parseCommandArgs(cmd, ['--config=-odd-name']), { config: '-odd-name' });
  assert.deepEqual(parseCommandArgs(cmd, ['--config', '-']), { config: '-' });
  assert.deepEqual(parseCommandArgs(cmd, []), {});
  assert.equal(parseCommandArgs(cmd, ['--listen', '1', '-h']), 'help');
  assert.equal(parseCommandArgs(cmd, ['--help']), 'help');
});

test('mistakes are UsageErrors in fcgate words', () => {
  usage(['--lsten', '1'], 'unknown option --lsten (did you mean --listen?)');
  usage(['--frobnicate'], 'unknown option --frobnicate');
  usage(['-x'], 'unknown option -x');
  usage(['--config'], '--config needs a value (FILE)');
  usage(
    ['-c', '--listen', '1'],
    '--config needs a value (FILE), got the option --listen; write --config=--listen if that is the value',
  );
  usage(['--quiet=yes'], '--quiet takes no value');
  usage(['-c', 'a', '-c', 'b'], '--config is given twice');
  usage(['stray'], 'unexpected argument "stray"');
});

test('help: usage, description, every option with its placeholder, examples, exit codes', () => {
  const h = commandHelp(cmd);
  assert.match(h, /^Usage: fcgate demo -c FILE\n/);
  assert.match(h, /\n  -c, --config FILE  the file\n/);
  assert.match(h, /\n      --listen ADDR  where; repeatable\n/);
  assert.match(h, /\n      --quiet        say less\n/);
  assert.match(h, /\n  -h, --help         this help\n/);
  assert.match(h, /\nExamples:\n  fcgate demo -c x\n/);
  assert.match(h, /\nExit status:\n  0 .*\n  1 .*\n  2 .*\n$/);
});
