// The signals a running gateway answers (serve, start), and the help text that lists them.
// SIGUSR1 is the log reopen signal (contrib/fcgate.logrotate). It is always taken: without
// a listener, Node.js answers SIGUSR1 by opening its inspector on 127.0.0.1:9229, which
// would let any local user run code as fcgate's user after every log rotation.
import type { ExitCode } from './command.js';
import type { RunningGateway } from './serve.js';

export const SIGNALS_HELP = `Signals:
  SIGTERM, SIGINT   drain: stop accepting, let in-flight requests finish (FCGATE_DRAIN_MS), exit 0;
                    a second one exits at once (1)
  SIGHUP            reload the configuration without dropping connections (an invalid one is
                    logged and the old one stays; Listen, User, Group, PidFile need a restart)
  SIGUSR1           reopen the log files (after logrotate moved them)
  SIGUSR2           print one line "FCGATE_STATS {json}" to stderr: requests served and in
                    flight per serving thread, pools and connection caps over all threads`;

/**
 * Takes the signals from now on (so none kills the process with its default action while
 * the gateway starts: a SIGTERM then stops it as soon as it runs), and serves once given the
 * running gateway: resolves with the exit code after SIGTERM or SIGINT and the drain (0,
 * or 1 when stopping failed). A second SIGTERM/SIGINT while draining exits at once with 1.
 */
export function catchSignals(): { serve(running: RunningGateway): Promise<ExitCode> } {
  let running: RunningGateway | null = null;
  let stopping: NodeJS.Signals | null = null;
  let resolveStopped: (code: ExitCode) => void = () => {};
  const stopped = new Promise<ExitCode>((r) => {
    resolveStopped = r;
  });
  const drain = (r: RunningGateway, signal: NodeJS.Signals): void => {
    process.stderr.write(`fcgate: ${signal}: draining (up to ${r.drainMs} ms)\n`);
    r.stop().then(
      () => resolveStopped(0),
      (err: Error) => {
        process.stderr.write(`fcgate: ${err.message}\n`);
        resolveStopped(1);
      },
    );
  };
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping !== null) {
      process.stderr.write(`fcgate: ${signal} again: exiting without waiting for the drain\n`);
      process.exit(1);
    }
    stopping = signal;
    if (running !== null) drain(running, signal);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => {
    if (stopping === null) void running?.reload();
  });
  // SIGUSR1: reopen the log files (logrotate's convention).
  process.on('SIGUSR1', () => {
    if (stopping === null) running?.reopenLogs();
  });
  process.on('SIGUSR2', () => {
    void running?.stats().then((st) => process.stderr.write(`FCGATE_STATS ${JSON.stringify(st)}\n`));
  });
  return {
    serve(r: RunningGateway): Promise<ExitCode> {
      running = r;
      if (stopping !== null) drain(r, stopping); // asked to stop while starting
      return stopped;
    },
  };
}
