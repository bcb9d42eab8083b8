/**
 * The seam for what the agent runs beside its MQTT connection: the health
 * publisher now, the local credentials server (issue 5) next. Each service
 * starts once the connection is started and stops before it closes.
 */
import type { Config } from '../config/schema.js';
import type { StartedConnection } from '../connection/connect.js';
import type { Logger } from '../log/log.js';

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
}
