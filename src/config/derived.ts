/** Defaults that follow other keys: one place, so the agent and the self-test agree. */
import { join } from 'node:path';
import type { Config } from './schema.js';

/** spoolDir, or <stateDir>/spool. */
export function spoolDirOf(config: Config): string {
  return config.spoolDir ?? join(config.stateDir, 'spool');
}

/** localListen, or the unix socket in the runtime folder; [] means the local endpoint is off. */
export function localListenOf(config: Config): string[] {
  return config.localListen ?? [`unix:${join(config.runtimeDir, 'mqtt.sock')}`];
}
