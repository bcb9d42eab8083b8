/**
 * Long-running commands stop on SIGINT or SIGTERM. The CLI exits when an
 * action returns, so such an action waits on `stopped`; the controller also
 * lets the command stop itself (subscribe --count).
 */
import { once } from 'node:events';
import type { Logger } from '../log/log.js';

export interface StopSignals {
  controller: AbortController;
  /** Resolves once the controller is aborted, by a signal or by the command. */
  stopped: Promise<void>;
  /** Removes the signal handlers. */
  release(): void;
}

export function stopOnSignals(log: Logger): StopSignals {
  const controller = new AbortController();
  // Listening before anything can abort, so `stopped` never misses it.
  const stopped = once(controller.signal, 'abort').then(() => undefined);
  const handler = (signal: NodeJS.Signals): void => {
    log.info('stopping', { signal });
    controller.abort();
  };
  process.once('SIGINT', handler).once('SIGTERM', handler);
  return { controller, stopped, release: () => void process.off('SIGINT', handler).off('SIGTERM', handler) };
}
