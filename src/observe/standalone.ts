// An observer for a Gateway made without one (tests, embedding): request ids and metrics
// of its own (a throwaway slab nobody scrapes), no access log. Its label registry follows
// the gateway's reloads.
import type { GatewayConfig } from '../config/model.js';
import { Telemetry } from './telemetry.js';
import type { ThreadObserver } from './thread-observer.js';

export function quietObserver(config: GatewayConfig): ThreadObserver {
  const t = new Telemetry(config, { slots: 1, logBuffer: 0, version: '' });
  return t.localObserver(config, { accessLogs: false });
}
