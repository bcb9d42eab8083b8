/**
 * Turns a validated configuration into what a connection needs: the key
 * source (token or file), the identity checked against it, the way the
 * device authenticates (mTLS, SigV4 websocket, custom authorizer) and MQTT
 * settings.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { TrustlinkError } from '../errors.js';
import type { Logger } from '../log/log.js';
import { requirePin } from '../pkcs11/secret.js';
import { requireModulePath } from '../pkcs11/token.js';
import { isPkcs11Uri, parsePkcs11Uri } from '../pkcs11/uri.js';
import { credentialsSourceFrom } from './credentials-source.js';
import { customAuthCredentials } from './custom-auth.js';
import { loadDeviceIdentity, readCaBundle, type CertSource, type DeviceIdentity, type KeySource } from './identity.js';
import type { MqttSettings, WebsocketSettings } from './mqtt.js';
import { alpnFor, AWS_IOT_CUSTOM_AUTH_ALPN } from './tls.js';
import { requireRegion, sigv4Handshake } from './websocket-sigv4.js';

function required<T>(value: T | undefined, flag: string, key: string): T {
  if (value === undefined) {
    throw new TrustlinkError('USAGE', `${flag} is required (or "${key}" in the config file)`);
  }
  return value;
}

function pkcs11KeySource(uriText: string, config: Config, env: NodeJS.ProcessEnv): Extract<KeySource, { kind: 'pkcs11' }> {
  const uri = parsePkcs11Uri(uriText);
  const modulePath = requireModulePath(config.pkcs11Module, uri);
  const pin = requirePin({ pinFile: config.pinFile ?? uri.pinSource, env });
  return { kind: 'pkcs11', modulePath, uri, pin };
}

export function keySourceFrom(config: Config, env: NodeJS.ProcessEnv = process.env): KeySource {
  const key = required(config.key, '--key', 'key');
  return isPkcs11Uri(key) ? pkcs11KeySource(key, config, env) : { kind: 'file', path: key };
}

/** The certificate file, or a certificate in a token (by default the key's module and token). */
export function certSourceFrom(cert: string, config: Config, key: KeySource): CertSource {
  if (!isPkcs11Uri(cert)) return { kind: 'file', path: cert };
  const uri = parsePkcs11Uri(cert);
  const modulePath = requireModulePath(config.pkcs11Module ?? (key.kind === 'pkcs11' ? key.modulePath : undefined), uri);
  return { kind: 'pkcs11', modulePath, uri, text: cert };
}

/** A client ID unique to this process, for when none is configured: two clients sharing one kick each other off. */
function defaultClientId(config: Config): string {
  return config.thingName ?? `trustlink-${hostname()}-${randomBytes(3).toString('hex')}`;
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
  const certFile = required(config.certFile, '--cert', 'certFile');
  const keySource = keySourceFrom(config, env);
  return loadDeviceIdentity(certSourceFrom(certFile, config, keySource), keySource, log);
}

function alpnForMode(config: Config, port: number): string[] {
  if (config.alpn !== undefined) return config.alpn;
  if (config.auth === 'custom' && !config.websocket) return [AWS_IOT_CUSTOM_AUTH_ALPN];
  // Websockets need no ALPN: the path /mqtt says what is spoken.
  return config.auth === 'mtls' ? alpnFor(port, undefined) : [];
}

function websocketFor(config: Config, endpoint: string, caPem: string | undefined, log: Logger, env: NodeJS.ProcessEnv): WebsocketSettings | undefined {
  if (config.auth === 'sigv4') {
    const region = requireRegion(config.region, endpoint);
    return sigv4Handshake(credentialsSourceFrom(config, region, caPem, log, env), region, log);
  }
  // Custom auth over websockets sends its credentials in CONNECT, so the upgrade goes out as is;
  // aws-crt's MQTT 5 client speaks websockets only when it is given a transform.
  if (config.auth === 'custom' && config.websocket) return { transform: (_request, done) => done() };
  return undefined;
}

export function prepareConnection(config: Config, log: Logger, env: NodeJS.ProcessEnv = process.env): PreparedConnection {
  const endpoint = required(config.endpoint, '--endpoint', 'endpoint');
  if (config.reconnectMinDelayMs > config.reconnectMaxDelayMs) {
    throw new TrustlinkError('CONFIG_INVALID', `reconnectMinDelayMs (${config.reconnectMinDelayMs}) is larger than reconnectMaxDelayMs (${config.reconnectMaxDelayMs})`);
  }
  if (config.websocket && config.auth !== 'custom') {
    throw new TrustlinkError('USAGE', '--websocket applies to --auth custom only (sigv4 is always a websocket, mtls never)');
  }
  const caPem = config.caFile !== undefined ? readCaBundle(config.caFile) : undefined;
  const port = config.port ?? defaultPort(config);
  const websocket = websocketFor(config, endpoint, caPem, log, env);
  const credentials = config.auth === 'custom' ? customAuthCredentials(config, (uri) => pkcs11KeySource(uri, config, env)) : undefined;
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
    tls: { client: identity && { certPem: identity.certPem, key: identity.key }, caPem, alpn: alpnForMode(config, port) },
    websocket,
    credentials,
    flowControl: config.upstreamFlowControl,
  };
  return { settings, identity };
}
