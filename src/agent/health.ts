/**
 * Publishes a small health message on healthTopic every
 * healthIntervalSeconds while connected. QoS 0 and only when connected: a
 * stale health message queued through an outage would tell nothing true.
 */
import type { AgentService, ServiceDeps } from './service.js';

export interface HealthMessage {
  time: string;
  version: string;
  clientId: string;
  uptimeSeconds: number;
  reconnects: number;
  /** Each service's figures, as `trustlink status --json` shows them (the bridge: local clients, spool, counters). */
  services: Record<string, Record<string, unknown>>;
}

export function healthService(deps: ServiceDeps): AgentService | undefined {
  const topic = deps.config.healthTopic;
  if (topic === undefined) return undefined;
  const { session, clientId } = deps.connection;
  const started = Date.now();
  let connected = false;
  let timer: NodeJS.Timeout | undefined;
  let lastPublished = Date.now();

  const onConnected = (): void => {
    connected = true;
    void publish();
  };
  const onDisconnected = (): void => {
    connected = false;
  };

  async function publish(): Promise<void> {
    if (!connected) return;
    lastPublished = Date.now();
    const status = deps.status();
    const message: HealthMessage = {
      time: status.time,
      version: deps.version,
      clientId,
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      reconnects: status.connection.reconnects,
      services: status.services,
    };
    try {
      await session.publish(topic as string, Buffer.from(JSON.stringify(message)), 0);
      deps.log.debug('health published', { topic });
    } catch (error) {
      deps.log.warn('health publish failed', { topic, reason: (error as Error).message });
    }
  }

  return {
    name: 'health',
    start() {
      session.on('connected', onConnected).on('disconnected', onDisconnected);
      // A once-a-second look rather than one long timer, so a new healthIntervalSeconds
      // (the shadow's desired state) applies at once.
      timer = setInterval(() => {
        if (Date.now() - lastPublished >= deps.config.healthIntervalSeconds * 1000) void publish();
      }, 1000);
    },
    stop() {
      clearInterval(timer);
      session.off('connected', onConnected).off('disconnected', onDisconnected);
    },
  };
}
