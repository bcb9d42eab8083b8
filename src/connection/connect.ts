/**
 * Connects with the configured identity and returns the live session.
 * close() stops the session, then releases the token session used for the
 * pre-flight checks.
 */
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/log.js';
import { openMqttSession, type ConnectedInfo, type MqttSession } from './mqtt.js';
import { prepareConnection, type ConnectionInputs } from './settings.js';

export interface Connection {
  session: MqttSession;
  connected: ConnectedInfo;
  clientId: string;
  close(): Promise<void>;
}

/** A session whose client has started but may not have connected yet. */
export interface StartedConnection {
  session: MqttSession;
  clientId: string;
  /** The device certificate's notAfter (ISO 8601), when the connection uses one: the shadow reports it. */
  certificateExpiresAt: string | undefined;
  /** Settles on the first CONNACK, or on a failure start() does not retry. */
  firstConnect: Promise<ConnectedInfo>;
  close(): Promise<void>;
}

export interface ConnectOptions extends ConnectionInputs {
  retry: boolean;
}

/**
 * Checks the identity and starts the client without waiting for the broker:
 * the long-running agent is up (and tells systemd so) while the network is not.
 */
export async function startConnection(config: Config, log: Logger, options: ConnectOptions): Promise<StartedConnection> {
  const { settings, identity } = prepareConnection(config, log, options);
  const release = (): void => identity?.tokenKey?.close();
  let session: MqttSession;
  try {
    session = await openMqttSession(settings, { log });
  } catch (error) {
    release();
    throw error;
  }
  log.debug('connecting', { endpoint: settings.endpoint, port: settings.port, auth: config.auth, clientId: settings.clientId, mqtt: settings.version, alpn: settings.tls.alpn, flowControl: settings.flowControl });
  const live = session;
  return {
    session: live,
    clientId: settings.clientId,
    certificateExpiresAt: identity?.cert.notAfter.toISOString(),
    // A refused handshake is explained before anyone sees it: which side refused, and why.
    firstConnect: live.start({ retry: options.retry }).catch(async (error: unknown) => {
      // Imported only then: it brings Node's tls, which a connection that works never needs.
      const { explainRefusal } = await import('../identity/handshake-refusal.js');
      throw await explainRefusal(error, {
        endpoint: settings.endpoint, port: settings.port, caPem: settings.tls.caPem, alpn: settings.tls.alpn,
        timeoutMs: settings.connectTimeoutMs, deviceCertificate: identity?.cert.x509,
      });
    }),
    async close() {
      await live.stop();
      release();
    },
  };
}

export async function connect(config: Config, log: Logger, options: ConnectOptions): Promise<Connection> {
  const started = await startConnection(config, log, options);
  try {
    const connected = await started.firstConnect;
    return { session: started.session, connected, clientId: started.clientId, close: started.close };
  } catch (error) {
    await started.close();
    throw error;
  }
}
