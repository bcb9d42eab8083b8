/**
 * MQTT 3.1.1 through aws-crt's MqttClientConnection. aws-crt reconnects an
 * established connection by itself (exponential backoff between the minimum
 * and maximum delay); the first connection is retried here, with jitter.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientTlsContext } from 'aws-crt/dist/native/io.js';
import { TrustlinkError } from '../errors.js';
import type { Crt } from '../crt/load.js';
import { connectionError } from '../crt/errors.js';
import { backoffDelay } from '../retry/backoff.js';
import { connackRefused } from './connack.js';
import type { ConnectedInfo, MqttSession, MqttSettings, QoS, SessionDeps } from './mqtt.js';
import { SessionBase } from './session-base.js';

/** SUBACK return code for a refused subscription. */
const SUBACK_FAILURE = 128;

class Mqtt311Session extends SessionBase implements MqttSession {
  readonly #connection: InstanceType<Crt['mqtt']['MqttClientConnection']>;
  readonly #settings: MqttSettings;
  #stopped: Promise<void> | undefined;

  constructor(crt: Crt, tlsContext: ClientTlsContext, settings: MqttSettings, deps: SessionDeps) {
    super(deps.log, `${settings.endpoint}:${settings.port}`);
    this.#settings = settings;
    const { mqtt, io } = crt;
    this.#connection = new mqtt.MqttClient().new_connection({
      client_id: settings.clientId,
      host_name: settings.endpoint,
      port: settings.port,
      tls_ctx: tlsContext,
      socket_options: new io.SocketOptions(io.SocketType.STREAM, io.SocketDomain.IPV4, settings.connectTimeoutMs),
      clean_session: true,
      ...(settings.websocket !== undefined ? { use_websocket: true, websocket_handshake_transform: settings.websocket.transform } : {}),
      ...(settings.credentials !== undefined ? { username: settings.credentials.username } : {}),
      ...(settings.credentials?.password !== undefined ? { password: settings.credentials.password.toString('utf8') } : {}),
      keep_alive: settings.keepAliveSeconds,
      reconnect_min_sec: Math.max(1, Math.round(settings.reconnect.minDelayMs / 1000)),
      reconnect_max_sec: Math.max(1, Math.round(settings.reconnect.maxDelayMs / 1000)),
    });
    this.#connection.on('interrupt', (error) => this.onDisconnected(error.error_name ?? 'connection lost'));
    this.#connection.on('resume', (returnCode, sessionPresent) => {
      if (returnCode === 0) void this.onConnected({ sessionPresent, negotiated: { protocol: 'MQTT 3.1.1' } });
    });
    this.#connection.on('message', (topic, payload, _dup, qos) => {
      this.emit('message', { topic, payload: Buffer.from(payload), qos });
    });
  }

  async start(options: { retry: boolean }): Promise<ConnectedInfo> {
    const first = this.waitForFirstConnect(options.retry);
    void this.#connectWithRetry();
    return first;
  }

  async #connectWithRetry(): Promise<void> {
    for (let attempt = 0; !this.stopping; attempt++) {
      try {
        const sessionPresent = await this.#connection.connect();
        await this.onConnected({ sessionPresent, negotiated: { protocol: 'MQTT 3.1.1', keepAliveSeconds: this.#settings.keepAliveSeconds } });
        return;
      } catch (error) {
        if (this.onConnectFailure(this.#mapConnectError(error))) return;
      }
      await sleep(backoffDelay(this.#settings.reconnect, attempt));
    }
  }

  #mapConnectError(error: unknown): TrustlinkError {
    // aws-crt rejects a refused 3.1.1 CONNACK as a protocol error and drops its return code.
    if (/AWS_ERROR_MQTT_PROTOCOL_ERROR|Server rejected connection/.test(String(error))) {
      return connackRefused(this.endpoint, 'CONNACK refused (aws-crt does not report the MQTT 3.1.1 return code: not authorized, identifier rejected, ...)', this.#settings.auth);
    }
    return this.#settings.websocket?.takeError?.() ?? connectionError(error, this.endpoint);
  }

  async publish(topic: string, payload: Buffer, qos: QoS): Promise<void> {
    try {
      await this.#connection.publish(topic, payload, qos);
    } catch (error) {
      throw new TrustlinkError('PUBLISH_FAILED', `publishing to "${topic}" failed: ${(error as { error_name?: string }).error_name ?? (error as Error).message}`, { cause: error });
    }
  }

  protected async sendSubscribe(filter: string, qos: QoS): Promise<void> {
    const granted = await this.#connection.subscribe(filter, qos);
    if ((granted.qos as number) === SUBACK_FAILURE || (granted.error_code ?? 0) !== 0) {
      throw new TrustlinkError('SUBSCRIBE_FAILED', `${this.endpoint} refused the subscription to "${filter}"`, {
        hint: 'for AWS IoT: does the policy allow iot:Subscribe on this filter and iot:Receive on its topics?',
      });
    }
  }

  stop(): Promise<void> {
    this.stopping = true;
    this.#stopped ??= this.#connection.disconnect().catch(() => undefined);
    return this.#stopped;
  }
}

export function openMqtt311(crt: Crt, tlsContext: ClientTlsContext, settings: MqttSettings, deps: SessionDeps): MqttSession {
  return new Mqtt311Session(crt, tlsContext, settings, deps);
}
