/**
 * The agent's figures in one object: the connection (up or not, since when,
 * reconnects) and each service's own (the bridge's local clients, spool and
 * counters, ...). `trustlink status`, the health message and systemd's
 * STATUS= line all read it; the status file in the runtime folder carries it
 * to `trustlink status`.
 */
import type { MqttSession } from '../connection/mqtt.js';

export interface ConnectionStatus {
  endpoint: string;
  clientId: string;
  connected: boolean;
  /** When the connection came up, or went down, last. */
  since: string;
  reconnects: number;
}

export interface AgentStatus {
  time: string;
  pid: number;
  version: string;
  startedAt: string;
  connection: ConnectionStatus;
  services: Record<string, Record<string, unknown>>;
}

export interface StatusSource {
  readonly name: string;
  status?(): Record<string, unknown>;
}

export interface StatusRegistry {
  status(): AgentStatus;
  /** The services whose figures are collected; set once they exist. */
  setServices(services: readonly StatusSource[]): void;
}

export function createStatusRegistry(options: { session: MqttSession; endpoint: string; clientId: string; version: string }): StatusRegistry {
  const startedAt = new Date().toISOString();
  let since = startedAt;
  let connects = 0;
  let services: readonly StatusSource[] = [];
  options.session
    .on('connected', () => {
      connects++;
      since = new Date().toISOString();
    })
    .on('disconnected', () => {
      since = new Date().toISOString();
    });
  return {
    setServices(list) {
      services = list;
    },
    status() {
      const figures: Record<string, Record<string, unknown>> = {};
      for (const service of services) {
        const own = service.status?.();
        if (own !== undefined) figures[service.name] = own;
      }
      return {
        time: new Date().toISOString(),
        pid: process.pid,
        version: options.version,
        startedAt,
        connection: { endpoint: options.endpoint, clientId: options.clientId, connected: options.session.isConnected, since, reconnects: Math.max(0, connects - 1) },
        services: figures,
      };
    },
  };
}

/** The one-line summary systemd shows (STATUS=): the link and, with the bridge, the spool depth. */
export function statusLine(status: AgentStatus): string {
  const { connection } = status;
  const link = connection.connected ? `connected to ${connection.endpoint} as ${connection.clientId}` : `reconnecting to ${connection.endpoint}`;
  const spool = (status.services.bridge as { spool?: { messages: number; bytes: number } } | undefined)?.spool;
  return spool === undefined ? link : `${link}; spool ${spool.messages} messages (${spool.bytes} bytes)`;
}
