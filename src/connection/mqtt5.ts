/** MQTT 5 through aws-crt's Mqtt5Client, which reconnects by itself with full-jitter backoff. */
import type { ClientTlsContext } from 'aws-crt/dist/native/io.js';
import { TrustlinkError } from '../errors.js';
import type { Crt } from '../crt/load.js';
import { connectionError } from '../crt/errors.js';
import { connackRefused, describeConnackReason } from './connack.js';
import type { ConnectedInfo, MqttSession, MqttSettings, QoS, SessionDeps } from './mqtt.js';
import { SessionBase } from './session-base.js';

/** Reason codes at or above 0x80 are failures in MQTT 5. */
const isFailure = (reasonCode: number): boolean => reasonCode >= 0x80;

class Mqtt5Session extends SessionBase implements MqttSession {
  readonly #client: InstanceType<Crt['mqtt5']['Mqtt5Client']>;
  #stopped: Promise<void> | undefined;

  constructor(crt: Crt, tlsContext: ClientTlsContext, settings: MqttSettings, deps: SessionDeps) {
    super(deps.log, `${settings.endpoint}:${settings.port}`);
    const { mqtt5, io } = crt;
    this.#client = new mqtt5.Mqtt5Client({
      hostName: settings.endpoint,
      port: settings.port,
      tlsCtx: tlsContext,
      socketOptions: new io.SocketOptions(io.SocketType.STREAM, io.SocketDomain.IPV4, settings.connectTimeoutMs),
      connectProperties: {
        clientId: settings.clientId,
        keepAliveIntervalSeconds: settings.keepAliveSeconds,
        // aws-crt refuses an explicit undefined password: leave the key out instead.
        ...(settings.credentials !== undefined ? { username: settings.credentials.username } : {}),
        ...(settings.credentials?.password !== undefined ? { password: settings.credentials.password } : {}),
      },
      ...(settings.websocket !== undefined ? { websocketHandshakeTransform: settings.websocket.transform } : {}),
      sessionBehavior: mqtt5.ClientSessionBehavior.Clean,
      retryJitterMode: mqtt5.RetryJitterType.Full,
      minReconnectDelayMs: settings.reconnect.minDelayMs,
      maxReconnectDelayMs: settings.reconnect.maxDelayMs,
      connackTimeoutMs: settings.connectTimeoutMs,
      // Keep QoS 1 publishes queued across a reconnect instead of failing them.
      offlineQueueBehavior: mqtt5.ClientOperationQueueBehavior.FailQos0PublishOnDisconnect,
      // AWS IoT Core's own limits (100 publishes/s a connection), enforced client-side.
      extendedValidationAndFlowControlOptions: mqtt5.ClientExtendedValidationAndFlowControl.AwsIotCoreDefaults,
    });
    this.#client.on('connectionSuccess', (event) => {
      void this.onConnected({ sessionPresent: event.connack.sessionPresent ?? false, negotiated: { ...event.settings } });
    });
    this.#client.on('connectionFailure', (event) => {
      const reasonCode = event.connack?.reasonCode;
      const error = reasonCode !== undefined && isFailure(reasonCode)
        ? connackRefused(this.endpoint, describeConnackReason(reasonCode), settings.auth)
        : settings.websocket?.takeError?.() ?? connectionError(event.error, this.endpoint);
      if (this.onConnectFailure(error)) void this.stop();
    });
    this.#client.on('disconnection', (event) => this.onDisconnected(event.error.error_name ?? 'connection lost'));
    this.#client.on('messageReceived', (event) => {
      const { message } = event;
      this.emit('message', { topic: message.topicName, payload: Buffer.from(message.payload as ArrayBuffer), qos: message.qos });
    });
  }

  start(options: { retry: boolean }): Promise<ConnectedInfo> {
    const first = this.waitForFirstConnect(options.retry);
    this.#client.start();
    return first;
  }

  async publish(topic: string, payload: Buffer, qos: QoS): Promise<void> {
    let result;
    try {
      result = await this.#client.publish({ topicName: topic, qos, payload });
    } catch (error) {
      throw new TrustlinkError('PUBLISH_FAILED', `publishing to "${topic}" failed: ${(error as Error).message}`, { cause: error });
    }
    const reasonCode = (result as { reasonCode?: number } | undefined)?.reasonCode;
    if (reasonCode !== undefined && isFailure(reasonCode)) {
      throw new TrustlinkError('PUBLISH_FAILED', `${this.endpoint} refused the publish to "${topic}" (reason code 0x${reasonCode.toString(16)})`, {
        hint: 'for AWS IoT: does the policy allow iot:Publish on this topic?',
      });
    }
  }

  protected async sendSubscribe(filter: string, qos: QoS): Promise<void> {
    const suback = await this.#client.subscribe({ subscriptions: [{ topicFilter: filter, qos }] });
    const reasonCode = suback.reasonCodes[0];
    if (reasonCode === undefined || isFailure(reasonCode)) {
      throw new TrustlinkError('SUBSCRIBE_FAILED', `${this.endpoint} refused the subscription to "${filter}" (reason code 0x${(reasonCode ?? 0x80).toString(16)})`, {
        hint: 'for AWS IoT: does the policy allow iot:Subscribe on this filter and iot:Receive on its topics?',
      });
    }
  }

  stop(): Promise<void> {
    this.stopping = true;
    this.#stopped ??= new Promise<void>((resolve) => {
      this.#client.once('stopped', () => {
        this.#client.close();
        resolve();
      });
      this.#client.stop();
    });
    return this.#stopped;
  }
}

export function openMqtt5(crt: Crt, tlsContext: ClientTlsContext, settings: MqttSettings, deps: SessionDeps): MqttSession {
  return new Mqtt5Session(crt, tlsContext, settings, deps);
}
