/**
 * Turns a validated configuration into what a connection needs: the key
 * source (token or file), the identity checked against it, the way the
 * device authenticates (mTLS, SigV4 websocket, custom authorizer) and MQTT
 * settings.
 */
import { hostname } from 'node:os';
import { requireSetting } from '../config/require.js';
import type { Config } from '../config/schema.js';
import type { SigningCredentialsFactory } from '../credentials/types.js';
import { TrustlinkError } from '../errors.js';
import { readCaBundle } from '../identity/certificate.js';
import { loadDeviceIdentity, type DeviceIdentity } from '../identity/device-identity.js';
import { certSourceFrom, keySourceFrom, tokenKeySource } from '../identity/sources.js';
import type { Logger } from '../log/log.js';
import { nodeCrypto } from '../node-crypto.js';
import { alpnFor, AWS_IOT_CUSTOM_AUTH_ALPN } from './alpn.js';
import { customAuthCredentials } from './custom-auth.js';
import type { MqttSettings, WebsocketSettings } from './mqtt.js';
import { requireRegion, sigv4Handshake } from './websocket-sigv4.js';

/** A client ID unique to this process, for when none is configured: two clients sharing one kick each other off. */
function defaultClientId(config: Config): string {
  return config.thingName ?? `trustlink-${hostname()}-${nodeCrypto().randomBytes(3).toString('hex')}`;
}

/** AWS IoT serves mTLS on 8883 (and 443 with ALPN); SigV4 and custom auth on 443 only. */
export function defaultPort(config: Config): number {
  return config.auth === 'mtls' ? 8883 : 443;
}

export interface PreparedConnection {
  settings: MqttSettings;
  /** The device identity, when the connection uses mutual TLS. */
  identity: DeviceIdentity | undefined;
}

/** The device certificate: required for mtls, used by custom auth only when given (as in AWS's samples). */
function deviceIdentity(config: Config, log: Logger, env: NodeJS.ProcessEnv): DeviceIdentity | undefined {
  const wanted = config.auth === 'mtls' || (config.auth === 'custom' && config.certFile !== undefined);
  if (!wanted) return undefined;
  const certFile = requireSetting(config, 'certFile', { when: `with --auth ${config.auth}` });
  const keySource = keySourceFrom(config, env);
  return loadDeviceIdentity(certSourceFrom(certFile, config, keySource), keySource, log);
}

function alpnForMode(config: Config, port: number): string[] {
  if (config.alpn !== undefined) return config.alpn;
  if (config.auth === 'custom' && !config.websocket) return [AWS_IOT_CUSTOM_AUTH_ALPN];
  // Websockets need no ALPN: the path /mqtt says what is spoken.
  return config.auth === 'mtls' ? alpnFor(port, undefined) : [];
}

function websocketFor(config: Config, endpoint: string, caPem: string | undefined, log: Logger, sigv4: SigningCredentialsFactory | undefined): WebsocketSettings | undefined {
  if (config.auth === 'sigv4') {
    if (sigv4 === undefined) throw new TrustlinkError('INTERNAL', 'a SigV4 connection was prepared without a credentials source');
    const region = requireRegion(config.region, endpoint);
    return sigv4Handshake(sigv4(region, caPem), region, log);
  }
  // Custom auth over websockets sends its credentials in CONNECT, so the upgrade goes out as is;
  // aws-crt's MQTT 5 client speaks websockets only when it is given a transform.
  if (config.auth === 'custom' && config.websocket) return { transform: (_request, done) => done() };
  return undefined;
}

/** What the caller brings: the environment (PIN, credentials) and, for sigv4, where credentials come from. */
export interface ConnectionInputs {
  env?: NodeJS.ProcessEnv;
  sigv4Credentials?: SigningCredentialsFactory;
  /** The connection publishes once, then closes (publish --count 1, the self-test's round trip). */
  singlePublish?: boolean;
}

export function prepareConnection(config: Config, log: Logger, inputs: ConnectionInputs = {}): PreparedConnection {
  const env = inputs.env ?? process.env;
  const endpoint = requireSetting(config, 'endpoint');
  if (config.reconnectMinDelayMs > config.reconnectMaxDelayMs) {
    throw new TrustlinkError('CONFIG_INVALID', `reconnectMinDelayMs (${config.reconnectMinDelayMs}) is larger than reconnectMaxDelayMs (${config.reconnectMaxDelayMs})`);
  }
  if (config.websocket && config.auth !== 'custom') {
    throw new TrustlinkError('USAGE', '--websocket applies to --auth custom only (sigv4 is always a websocket, mtls never)');
  }
  const caPem = config.caFile !== undefined ? readCaBundle(config.caFile) : undefined;
  const port = config.port ?? defaultPort(config);
  const websocket = websocketFor(config, endpoint, caPem, log, inputs.sigv4Credentials);
  const credentials = config.auth === 'custom' ? customAuthCredentials(config, (uri) => tokenKeySource(uri, config, env)) : undefined;
  const identity = deviceIdentity(config, log, env);
  const settings: MqttSettings = {
    endpoint,
    auth: config.auth,
    port,
    clientId: config.clientId ?? defaultClientId(config),
    version: config.mqttVersion,
    keepAliveSeconds: config.keepAliveSeconds,
    connectTimeoutMs: config.connectTimeoutMs,
    reconnect: { minDelayMs: config.reconnectMinDelayMs, maxDelayMs: config.reconnectMaxDelayMs },
    tls: { client: identity && { certPem: identity.cert.certPem, key: identity.key }, caPem, alpn: alpnForMode(config, port) },
    websocket,
    credentials,
    // aws-crt's pacing to AWS IoT Core's per-connection limits holds even the first publish ~10 ms
    // after the CONNACK. One publish cannot exceed them (100/s; 512 KB/s against a payload of at
    // most 128 KB), and client ID and topic are checked before connecting either way.
    flowControl: inputs.singlePublish ? 'none' : config.upstreamFlowControl,
  };
  return { settings, identity };
}
