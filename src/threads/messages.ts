// The typed messages between the main thread and the serving threads: the long-lived
// `serve` task each thread runs (with its control MessagePort, moved in the transferList),
// the control messages main sends on that port, and the thread's answers.
// Shapes only: the supervisor (supervisor.ts) and the thread (serve-thread.ts) act on them.
import type { MessagePort } from 'node:worker_threads';
import type { ConfigFlags } from '../config/load.js';
import type { ListenAddress } from '../config/model.js';
import type { BalancerStats } from '../balancer/stats.js';
import type { PoolStats } from '../upstream/pool.js';
import type { Tuning } from '../tuning.js';
import type { TelemetrySpec } from '../observe/thread-observer.js';

/**
 * Where the configuration comes from. Each thread parses it itself (a GatewayConfig holds
 * RegExps and functions, which do not cross threads); main parses it first to validate.
 */
export type ConfigSource =
  /** `files`: every file Include & co. read while main parsed it, so that threads parse the same. */
  | { kind: 'text'; text: string; fileName: string; files?: import('../config/config-files.js').FilesRecording }
  | ({ kind: 'flags' } & ConfigFlags);

/** One backend's connection cap and its cells: table `table`, backend `index` (SharedBudget layout). */
export interface BudgetEntry {
  name: string;
  cap: number;
  table: number;
  index: number;
}

/** The shared connection caps: SharedArrayBuffers laid out for `threads` thread slots. */
export interface BudgetSpec {
  threads: number;
  tables: SharedArrayBuffer[];
  entries: BudgetEntry[];
}

/** The serve task: everything one serving thread needs. */
export interface ServeTask {
  /** The thread's slot, 0..threads-1; a replacement thread takes the slot of the one that died. */
  slot: number;
  /** The control port (ToThread in, FromThread out); in the run's transferList. */
  control: MessagePort;
  source: ConfigSource;
  /** The listen addresses in force (ports already chosen and claimed by main). */
  listen: ListenAddress[];
  tuning: Tuning;
  budgets: BudgetSpec;
  /** The balancer members' shared state (BalancerBoard buffer) for this configuration. */
  balancerState: SharedArrayBuffer;
  /** Memory and disk of buffered request bodies, counted for all threads (SpoolAccount.buffer). */
  spoolAccount: SharedArrayBuffer;
  /** FCGATE_TEST_HOOKS=1: honour the 'crash' message. */
  testHooks: boolean;
  /** This slot's metrics slab and the label registries (observe/telemetry.ts). */
  telemetry: TelemetrySpec;
  /** Write access logs (false: none at all, the default stdout one included). */
  accessLogs: boolean;
  /** The thread's in-flight board (front/in-flight.ts), read by main when the thread dies. */
  inFlight: SharedArrayBuffer;
}

/** What a serve task resolves to once the thread has drained. */
export interface ServeResult {
  slot: number;
  served: number;
}

/** Main → thread. `id` pairs a request with its answer. */
export type ToThread =
  | { type: 'stats'; id: number }
  | {
      type: 'reload';
      id: number;
      source: ConfigSource;
      budgets: BudgetSpec;
      balancerState: SharedArrayBuffer;
      telemetry: TelemetrySpec;
    }
  /** Stop accepting, finish in-flight requests up to deadlineMs, close, end the serve task. */
  | { type: 'drain'; deadlineMs: number }
  /** Test hook (FCGATE_TEST_HOOKS=1 only): throw an uncaught exception in the thread. */
  | { type: 'crash' };

/** Thread → main. */
export type FromThread =
  | { type: 'ready'; slot: number; ports: number[] }
  | { type: 'stats'; id: number; slot: number; stats: GatewayStats }
  /** error null: the new configuration is in force in this thread. */
  | { type: 'reloaded'; id: number; slot: number; error: string | null }
  /** An uncaught exception: the thread closes its sockets and exits; main replaces it. */
  | { type: 'crashed'; slot: number; error: string }
  /** A batch of log lines for the log output `key` (its ArrayBuffer is transferred). */
  | { type: 'log'; key: string; data: Uint8Array; lines: number };

/** One serving thread's counters, as Gateway.stats() reports them. */
export interface GatewayStats {
  served: number;
  inFlight: number;
  pools: Record<string, PoolStats>;
  /** This thread's balancer counters (main sums them with sumBalancerStats). */
  balancers: BalancerStats[];
}
