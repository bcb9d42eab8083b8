/**
 * Turns a validated configuration into what a connection needs: the key
 * source (token or file), the identity checked against it, and MQTT settings.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { TrustlinkError } from '../errors.js';
import type { Logger } from '../log/log.js';
import { requirePin } from '../pkcs11/secret.js';
import { requireModulePath } from '../pkcs11/token.js';
import { isPkcs11Uri, parsePkcs11Uri } from '../pkcs11/uri.js';
import { loadDeviceIdentity, readCaBundle, type CertSource, type DeviceIdentity, type KeySource } from './identity.js';
import type { MqttSettings } from './mqtt.js';
import { alpnFor } from './tls.js';

function required<T>(value: T | undefined, flag: string, key: string): T {
  if (value === undefined) {
    throw new TrustlinkError('USAGE', `${flag} is required (or "${key}" in the config file)`);
  }
  return value;
}

export function keySourceFrom(config: Config, env: NodeJS.ProcessEnv = process.env): KeySource {
  const key = required(config.key, '--key', 'key');
  if (!isPkcs11Uri(key)) return { kind: 'file', path: key };
  const uri = parsePkcs11Uri(key);
  const modulePath = requireModulePath(config.pkcs11Module, uri);
  const pin = requirePin({ pinFile: config.pinFile ?? uri.pinSource, env });
  return { kind: 'pkcs11', modulePath, uri, pin };
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

export interface PreparedConnection {
  settings: MqttSettings;
  identity: DeviceIdentity;
}

export function prepareConnection(config: Config, log: Logger, env: NodeJS.ProcessEnv = process.env): PreparedConnection {
  const endpoint = required(config.endpoint, '--endpoint', 'endpoint');
  const certFile = required(config.certFile, '--cert', 'certFile');
  if (config.reconnectMinDelayMs > config.reconnectMaxDelayMs) {
    throw new TrustlinkError('CONFIG_INVALID', `reconnectMinDelayMs (${config.reconnectMinDelayMs}) is larger than reconnectMaxDelayMs (${config.reconnectMaxDelayMs})`);
  }
  const caPem = config.caFile !== undefined ? readCaBundle(config.caFile) : undefined;
  const keySource = keySourceFrom(config, env);
  const identity = loadDeviceIdentity(certSourceFrom(certFile, config, keySource), keySource, log);
  const settings: MqttSettings = {
    endpoint,
    port: config.port,
    clientId: config.clientId ?? defaultClientId(config),
    version: config.mqttVersion,
    keepAliveSeconds: config.keepAliveSeconds,
    connectTimeoutMs: config.connectTimeoutMs,
    reconnect: { minDelayMs: config.reconnectMinDelayMs, maxDelayMs: config.reconnectMaxDelayMs },
    tls: { certPem: identity.certPem, key: identity.key, caPem, alpn: alpnFor(config.port, config.alpn) },
  };
  return { settings, identity };
}
