/**
 * The seam for what the agent runs beside its MQTT connection: the health
 * publisher, the local MQTT bridge, and the services after them (jobs,
 * shadow, rotation). Each service starts once the connection is started and
 * stops before it closes; status() adds its figures to the agent's status.
 */
import type { Config } from '../config/schema.js';
import type { StartedConnection } from '../connection/connect.js';
import type { Logger } from '../log/log.js';
import type { AgentStatus } from './status.js';

export interface AgentService {
  readonly name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
  /** This service's figures, under its name in AgentStatus.services. */
  status?(): Record<string, unknown>;
}

export interface ServiceDeps {
  config: Config;
  connection: StartedConnection;
  log: Logger;
  version: string;
  /** Persistent state: each service keeps its own folder below it (spool/, jobs/, rotation/). */
  stateDir: string;
  /** The whole agent's figures right now: connection, local clients, spool, counters. */
  status(): AgentStatus;
}
