/**
 * Every configuration key, declared once with its type, limits and default.
 * The same keys are read from the config file (camelCase), the environment
 * (TRUSTLINK_UPPER_SNAKE) and command-line flags.
 */
import * as v from 'valibot';
import { LOG_LEVELS } from '../log/log.js';

const port = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535));
const path = v.pipe(v.string(), v.nonEmpty('must not be empty'));

// AWS IoT: client IDs up to 128 characters, and none may start with "$" (reserved).
const clientId = v.pipe(
  v.string(),
  v.nonEmpty('must not be empty'),
  v.maxLength(128, 'must be at most 128 characters (AWS IoT limit)'),
  v.check((id) => !id.startsWith('$'), 'must not start with "$" (reserved by AWS IoT)'),
);

export const MQTT_VERSIONS = ['5', '3.1.1'] as const;

/** The IoT credentials provider: both keys optional here so each layer may set one; commands say which they need. */
const credentials = v.strictObject({
  /** HOST[:PORT] of the account's iot:CredentialProvider endpoint. */
  endpoint: v.optional(v.pipe(v.string(), v.nonEmpty('must not be empty'))),
  // AWS IoT CreateRoleAlias: 1-128 characters of [\w=,@-].
  roleAlias: v.optional(v.pipe(v.string(), v.regex(/^[\w=,@-]{1,128}$/, 'must be 1-128 of a-z A-Z 0-9 _ = , @ -'))),
});

export const configSchema = v.strictObject({
  /** Broker host name (AWS IoT: the account's iot:Data-ATS endpoint). */
  endpoint: v.optional(v.pipe(v.string(), v.nonEmpty('must not be empty'))),
  port: v.optional(port, 8883),
  caFile: v.optional(path),
  certFile: v.optional(path),
  /** A PKCS#11 URI (RFC 7512) or, for development, a PEM key file. */
  key: v.optional(path),
  pkcs11Module: v.optional(path),
  pinFile: v.optional(path),
  clientId: v.optional(clientId),
  thingName: v.optional(v.pipe(v.string(), v.regex(/^[a-zA-Z0-9:_-]{1,128}$/, 'must be 1-128 of a-z A-Z 0-9 : _ -'))),
  mqttVersion: v.optional(v.picklist(MQTT_VERSIONS, 'must be "5" or "3.1.1"'), '5'),
  // AWS IoT accepts 30-1200 seconds; 300 notices a dead link within minutes on cellular NATs.
  keepAliveSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(30), v.maxValue(1200)), 300),
  /** ALPN protocols to offer; by default x-amzn-mqtt-ca on port 443 and none elsewhere. */
  alpn: v.optional(v.array(v.pipe(v.string(), v.nonEmpty()))),
  connectTimeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(100), v.maxValue(120_000)), 10_000),
  reconnectMinDelayMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(10)), 1_000),
  reconnectMaxDelayMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(10)), 120_000),
  credentials: v.optional(credentials),
  logLevel: v.optional(v.picklist(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(', ')}`), 'info'),
});

export type Config = v.InferOutput<typeof configSchema>;
export type ConfigInput = v.InferInput<typeof configSchema>;
export type ConfigKey = keyof Config;

export const CONFIG_KEYS = Object.keys(configSchema.entries) as ConfigKey[];

/** The base type of a key ("number", "string", "array", "picklist"), used to read environment strings. */
export function keyType(key: ConfigKey): string {
  const entry = configSchema.entries[key] as { type: string; wrapped?: { type: string } };
  return entry.type === 'optional' && entry.wrapped ? entry.wrapped.type : entry.type;
}

/** TRUSTLINK_ plus the key in upper snake case: caFile → TRUSTLINK_CA_FILE. */
export function envName(key: ConfigKey): string {
  return `TRUSTLINK_${key.replace(/[A-Z]/g, (upper) => `_${upper}`).toUpperCase()}`;
}
