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

// A topic to publish to: wildcards belong in subscriptions only.
const topicName = v.pipe(
  v.string(),
  v.nonEmpty('must not be empty'),
  v.check((topic) => !/[+#]/.test(topic), 'must be a topic name without wildcards (+, #)'),
);

export const MQTT_VERSIONS = ['5', '3.1.1'] as const;
export const AUTH_MODES = ['mtls', 'sigv4', 'custom'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];
/** Where SigV4 credentials come from: the environment, Cognito, or the AWS IoT credentials provider (with the device key). */
export const CREDENTIALS_SOURCES = ['env', 'cognito', 'iot'] as const;

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
  /** Default: 8883 for mtls, 443 for sigv4 and custom (the only port AWS IoT serves them on). */
  port: v.optional(port),
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
  /** How the device authenticates to AWS IoT. Flat keys (not a nested object) so env and flag layering stay one level deep. */
  auth: v.optional(v.picklist(AUTH_MODES, `must be one of ${AUTH_MODES.join(', ')}`), 'mtls'),
  /** SigV4 signing region; by default the one in an <prefix>-ats.iot.<region>.amazonaws.com endpoint. */
  region: v.optional(v.pipe(v.string(), v.regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region such as eu-west-1'))),
  credentialsSource: v.optional(v.picklist(CREDENTIALS_SOURCES, `must be one of ${CREDENTIALS_SOURCES.join(', ')}`), 'env'),
  // Cognito IdentityId: 1-55 characters, "<region>:<uuid>".
  cognitoIdentity: v.optional(v.pipe(v.string(), v.regex(/^[\w-]+:[0-9a-f-]+$/, 'must look like eu-west-1:0123abcd-...'), v.maxLength(55))),
  /** PROVIDER=TOKEN or PROVIDER=@FILE, at most 10 (the service's limit). */
  cognitoLogins: v.optional(v.pipe(v.array(v.pipe(v.string(), v.regex(/^[^=]+=.+$/, 'must be PROVIDER=TOKEN or PROVIDER=@FILE'))), v.maxLength(10))),
  /** host[:port]; default cognito-identity.<region>.amazonaws.com. */
  cognitoEndpoint: v.optional(v.pipe(v.string(), v.nonEmpty('must not be empty'))),
  authorizer: v.optional(v.pipe(v.string(), v.regex(/^[\w=,@-]{1,128}$/, 'must be 1-128 of a-z A-Z 0-9 _ = , @ -'))),
  authUsername: v.optional(v.string()),
  authPasswordFile: v.optional(path),
  tokenKeyName: v.optional(v.pipe(v.string(), v.regex(/^[\w-]{1,128}$/, 'must be 1-128 of a-z A-Z 0-9 _ -'))),
  /** The authorizer token, or @FILE to read it from a file. */
  tokenValue: v.optional(v.pipe(v.string(), v.nonEmpty('must not be empty'))),
  /** base64 RSA-SHA256 signature of the token, or @FILE. */
  tokenSignature: v.optional(v.pipe(v.string(), v.nonEmpty('must not be empty'))),
  /** PKCS#11 URI of an RSA key that signs the token inside the token device. */
  tokenSigningKey: v.optional(path),
  /** Custom auth over a TLS websocket instead of MQTT with ALPN "mqtt". */
  websocket: v.optional(v.boolean(), false),
  connectTimeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(100), v.maxValue(120_000)), 10_000),
  reconnectMinDelayMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(10)), 1_000),
  reconnectMaxDelayMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(10)), 120_000),
  /** Topic for the self-test's publish/subscribe round trip; without it that check is skipped. */
  selftestTopic: v.optional(topicName),
  /** Topic `trustlink run` publishes a small health message to; none when unset. */
  healthTopic: v.optional(topicName),
  healthIntervalSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(5), v.maxValue(86_400)), 60),
  credentials: v.optional(credentials),
  /** Fleet provisioning (trustlink provision): flat keys, like auth, so env and flag layering stay one level deep. */
  provisioningClaimCert: v.optional(path),
  /** The claim key: a PEM file or a PKCS#11 URI. */
  provisioningClaimKey: v.optional(path),
  provisioningTemplate: v.optional(v.pipe(v.string(), v.regex(/^[0-9A-Za-z_-]{1,36}$/, 'must be 1-36 of a-z A-Z 0-9 _ - (AWS IoT template name)'))),
  /** KEY=VALUE pairs handed to the template. */
  provisioningParameters: v.optional(v.array(v.pipe(v.string(), v.regex(/^[^=]+=.*$/, 'must be KEY=VALUE')))),
  logLevel: v.optional(v.picklist(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(', ')}`), 'info'),
  /** Persistent state (jobs progress, provisioning, spool) lives here. */
  stateDir: v.optional(path, '/var/lib/trustlink'),
  /** AWS IoT Jobs: follow notify-next and run handlers from jobsHandlerDir. */
  jobs: v.optional(v.boolean(), false),
  jobsHandlerDir: v.optional(path, '/etc/trustlink/jobs.d'),
  /** How long one handler (or the updater) may run before it is killed and the job FAILED. */
  jobsHandlerTimeoutSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(604_800)), 3600),
  /** Shell command of the built-in `update` job; the image URL is in $TRUSTLINK_UPDATE_URL (e.g. 'rauc install "$TRUSTLINK_UPDATE_URL"'). */
  jobsUpdateCommand: v.optional(v.pipe(v.string(), v.nonEmpty('must not be empty'))),
  /** Shell command of the built-in `reboot` job (and of `update` once installed). */
  jobsRebootCommand: v.optional(v.pipe(v.string(), v.nonEmpty('must not be empty')), 'systemctl reboot'),
  /** A named device shadow the agent reports its state in and takes a few desired settings from. */
  shadow: v.optional(v.boolean(), false),
  // AWS IoT shadow names: 1-64 of [a-zA-Z0-9:_-].
  shadowName: v.optional(v.pipe(v.string(), v.regex(/^[a-zA-Z0-9:_-]{1,64}$/, 'must be 1-64 of a-z A-Z 0-9 : _ -')), 'trustlink'),
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
