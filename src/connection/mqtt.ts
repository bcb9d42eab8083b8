/**
 * One MQTT session API over aws-crt's MQTT 5 client and its MQTT 3.1.1
 * connection, so commands do not care which protocol is spoken.
 */
import type { EventEmitter } from 'node:events';
import type { AuthMode } from '../config/schema.js';
import type { TrustlinkError } from '../errors.js';
import type { Logger } from '../log/log.js';
import { loadCrt } from '../crt/load.js';
import { createTlsContext, type TlsSettings } from '../identity/tls-context.js';
import type { BackoffPolicy } from '../retry/backoff.js';
import { openMqtt311 } from './mqtt311.js';
import { openMqtt5 } from './mqtt5.js';
import type { MqttCredentials } from './custom-auth.js';
import type { HandshakeTransform } from './websocket-sigv4.js';

export type MqttVersion = '5' | '3.1.1';
export type QoS = 0 | 1;

export interface MqttSettings {
  endpoint: string;
  /** How the device authenticates; errors give hints that fit it. */
  auth: AuthMode;
  port: number;
  clientId: string;
  version: MqttVersion;
  keepAliveSeconds: number;
  reconnect: BackoffPolicy;
  /** How long one connection attempt (TCP + TLS + CONNACK) may take. */
  connectTimeoutMs: number;
  tls: TlsSettings;
  /** MQTT over a TLS websocket to /mqtt, the upgrade passed through transform first. */
  websocket: WebsocketSettings | undefined;
  /** CONNECT username and password (custom authorizers). */
  credentials: MqttCredentials | undefined;
  /**
   * 'aws-iot': aws-crt enforces AWS IoT Core's limits client-side (100 publishes/s,
   * 512 KB/s, topic and payload sizes; MQTT 5 only). 'none': no client-side
   * throttle, for other brokers (and benchmarks).
   */
  flowControl: FlowControl;
}

export type FlowControl = 'aws-iot' | 'none';

export interface WebsocketSettings {
  transform: HandshakeTransform;
  /** Why the last handshake transform failed, in words (it can only hand aws-crt a number). */
  takeError?(): TrustlinkError | undefined;
}

export interface ReceivedMessage {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
}

export interface PublishOptions {
  retain?: boolean;
}

export interface ConnectedInfo {
  sessionPresent: boolean;
  /** What the broker negotiated, as reported by aws-crt. */
  negotiated: Record<string, unknown>;
}

/** Events: 'connected' (ConnectedInfo), 'disconnected' (Error), 'message' (ReceivedMessage). */
export interface MqttSession extends EventEmitter {
  /**
   * Connects. With retry false, the first failure rejects (one-shot
   * commands); with retry true, failures are logged and retried with backoff
   * until stop(), and only errors that retrying cannot fix reject.
   */
  start(options: { retry: boolean }): Promise<ConnectedInfo>;
  /**
   * Resolves when the broker acknowledged a QoS 1 message (or a QoS 0 one was
   * written); rejects PUBLISH_FAILED, with the MQTT 5 reason code in
   * `reasonCode` when the broker refused it.
   */
  publish(topic: string, payload: Buffer, qos: QoS, options?: PublishOptions): Promise<void>;
  /**
   * Reference-counted: the first user of a filter subscribes upstream, later
   * ones share it. Kept across reconnects: every subscription is restored
   * before 'connected' is emitted. Rejects SUBSCRIBE_FAILED (with `reasonCode`
   * on MQTT 5) when refused, and then holds no reference.
   */
  subscribe(filter: string, qos: QoS): Promise<void>;
  /** Drops one reference; the last one sends UNSUBSCRIBE. */
  unsubscribe(filter: string): Promise<void>;
  /** Whether a CONNACK was received and the connection has not dropped since. */
  readonly isConnected: boolean;
  stop(): Promise<void>;
}

export interface SessionDeps {
  log: Logger;
}

export async function openMqttSession(settings: MqttSettings, deps: SessionDeps): Promise<MqttSession> {
  const crt = await loadCrt();
  const tlsContext = createTlsContext(crt, settings.tls);
  return settings.version === '5' ? openMqtt5(crt, tlsContext, settings, deps) : openMqtt311(crt, tlsContext, settings, deps);
}
