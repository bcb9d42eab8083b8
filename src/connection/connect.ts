/**
 * Connects with the configured identity and returns the live session.
 * close() stops the session, then releases the token session used for the
 * pre-flight checks.
 */
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/log.js';
import { openMqttSession, type ConnectedInfo, type MqttSession } from './mqtt.js';
import { prepareConnection } from './settings.js';

export interface Connection {
  session: MqttSession;
  connected: ConnectedInfo;
  clientId: string;
  close(): Promise<void>;
}

export async function connect(config: Config, log: Logger, options: { retry: boolean; env?: NodeJS.ProcessEnv }): Promise<Connection> {
  const { settings, identity } = prepareConnection(config, log, options.env);
  const release = (): void => identity?.tokenKey?.close();
  let session: MqttSession | undefined;
  try {
    session = await openMqttSession(settings, { log });
    log.debug('connecting', { endpoint: settings.endpoint, port: settings.port, auth: config.auth, clientId: settings.clientId, mqtt: settings.version, alpn: settings.tls.alpn });
    const connected = await session.start({ retry: options.retry });
    const live = session;
    return {
      session: live,
      connected,
      clientId: settings.clientId,
      async close() {
        await live.stop();
        release();
      },
    };
  } catch (error) {
    await session?.stop();
    release();
    throw error;
  }
}
