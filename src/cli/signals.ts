// The signals a running gateway answers (serve, start), and the help text that lists them.
// SIGUSR1 is left alone: it is the access-log reopen signal (contrib/fcgate.logrotate).
import type { ExitCode } from './command.js';
import type { RunningGateway } from './serve.js';

export const SIGNALS_HELP = `Signals:
  SIGTERM, SIGINT   drain: stop accepting, let in-flight requests finish (FCGATE_DRAIN_MS), exit 0;
                    a second one exits at once (1)
  SIGHUP            reload the configuration without dropping connections (an invalid one is
                    logged and the old one stays; Listen, User, Group, PidFile need a restart)
  SIGUSR2           print one line "FCGATE_STATS {json}" to stderr: requests served and in
                    flight per serving thread, pools and connection caps over all threads`;

/**
 * Serves until SIGTERM or SIGINT, then drains; resolves with the exit code (0 when the
 * drain finished). A second SIGTERM/SIGINT while draining exits at once with 1.
 */
export function serveUntilSignalled(running: RunningGateway): Promise<ExitCode> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        process.stderr.write(`fcgate: ${signal} again: exiting without waiting for the drain\n`);
        process.exit(1);
      }
      stopping = true;
      process.stderr.write(`fcgate: ${signal}: draining (up to ${running.drainMs} ms)\n`);
      running.stop().then(() => resolve(0), (err: Error) => {
        process.stderr.write(`fcgate: ${err.message}\n`);
        resolve(1);
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', () => { if (!stopping) void running.reload(); });
    process.on('SIGUSR2', () => {
      void running.stats().then((st) => process.stderr.write(`FCGATE_STATS ${JSON.stringify(st)}\n`));
    });
  });
}
