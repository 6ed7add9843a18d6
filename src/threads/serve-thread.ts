// A serving thread: the Piscina task `serve` that runs for the thread's whole life (or,
// with FCGATE_IN_PROCESS=1 and one thread, the same function run in the main thread). It
// parses the configuration, builds this thread's Gateway (its own uWS App on the shared
// port, its own pools and balancer state), answers control messages (stats, reload, drain)
// and, on an uncaught exception, closes its uWS sockets (a worker that ends with uWS handles
// open aborts the whole process) and exits so that main replaces it.
// Nothing here parses configuration text or speaks HTTP: config/ and front/ do.
import { hostname } from 'node:os';
import { isMainThread, threadId } from 'node:worker_threads';
import { ThreadObserver } from '../observe/thread-observer.js';
import { Gateway } from '../front/gateway.js';
import { installInFlightBoard } from '../front/in-flight.js';
import { loadUws } from '../front/uws.js';
import { budgetsForThread } from './budget-table.js';
import { configFromSource } from './config-source.js';
import type { FromThread, ServeResult, ServeTask, ToThread } from './messages.js';

/**
 * How long a crashing thread lets uWS finish closing its sockets before it exits; in the
 * main thread (FCGATE_IN_PROCESS=1) long enough for the supervisor's last log lines too.
 */
const CRASH_EXIT_DELAY_MS = isMainThread ? 200 : 20;

export default async function serve(task: ServeTask): Promise<ServeResult> {
  const { slot, control } = task;
  const send = (m: FromThread): void => control.postMessage(m);
  loadUws();
  const config = { ...configFromSource(task.source), listen: task.listen };
  // Request ids, metrics (this slot's slab) and logs: batches go to main, which owns the files.
  const observer = new ThreadObserver(
    {
      slot,
      pid: process.pid,
      threadId,
      hostName: hostname(),
      accessLogs: task.accessLogs,
      flushMs: task.tuning.FCGATE_LOG_FLUSH_MS,
      metrics: task.tuning.FCGATE_METRICS === 1,
      deliver: (key, data, lines) =>
        control.postMessage({ type: 'log', key, data, lines } satisfies FromThread, [data.buffer as ArrayBuffer]),
    },
    config,
    task.telemetry,
  );
  const log = observer.log;
  const board = installInFlightBoard(task.inFlight);
  const gateway = new Gateway({
    config,
    tuning: task.tuning,
    budgets: budgetsForThread(task.budgets, slot),
    log,
    observer,
    shared: true,
    balancerState: task.balancerState,
    spoolAccount: task.spoolAccount,
    healthChecks: false, // the main thread runs them, once for all threads
  });

  let crashed = false;
  const onCrash = (err: unknown): void => {
    if (crashed) return;
    crashed = true;
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    try {
      observer.flush();
    } catch {
      /* the log lines are lost with the thread */
    }
    board.freeze(); // what is in flight now is what main logs as lost
    try {
      send({ type: 'crashed', slot, error: text });
    } catch {
      /* port gone: main sees the exit */
    }
    try {
      gateway.close();
    } catch {
      /* closing what is left; the exit follows */
    }
    setTimeout(() => process.exit(1), CRASH_EXIT_DELAY_MS);
  };
  process.on('uncaughtException', onCrash);

  try {
    const bound = await gateway.listen();
    send({ type: 'ready', slot, ports: bound.map((b) => b.port) });
  } catch (err) {
    process.off('uncaughtException', onCrash);
    gateway.close();
    control.close();
    throw err;
  }

  return await new Promise<ServeResult>((resolve) => {
    control.on('message', (m: ToThread) => {
      switch (m.type) {
        case 'stats':
          send({ type: 'stats', id: m.id, slot, stats: gateway.stats() });
          return;
        case 'reload': {
          let error: string | null = null;
          try {
            const config = { ...configFromSource(m.source), listen: task.listen };
            gateway.reload(config, budgetsForThread(m.budgets, slot), m.balancerState, m.telemetry);
          } catch (err) {
            error = (err as Error).message;
          }
          send({ type: 'reloaded', id: m.id, slot, error });
          return;
        }
        case 'drain':
          void gateway.drain(m.deadlineMs).then(() => {
            process.off('uncaughtException', onCrash);
            control.close();
            resolve({ slot, served: gateway.served });
          });
          return;
        case 'crash':
          if (task.testHooks)
            setImmediate(() => {
              throw new Error(`test hook: thread ${slot} crashes on request`);
            });
          return;
      }
    });
  });
}
