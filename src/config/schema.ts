/**
 * Every configuration key, declared once: its type, limits, default, flag
 * and help. The same keys are read from the config file (camelCase), the
 * environment (TRUSTLINK_UPPER_SNAKE) and command-line flags; the CLI's
 * options and the docs' configuration table are made from this list.
 */
import * as v from 'valibot';
import { LOG_LEVELS } from '../log/log.js';
import { describeListenAddressProblem } from './listen-address.js';
import { topicFilterProblem, topicNameProblem } from '../topics/topics.js';
import { choice, integer, list, object, text, toggle, type Setting, type SettingInfo } from './setting.js';

const nonEmpty = v.pipe(v.string(), v.nonEmpty('must not be empty'));
const named = (pattern: RegExp, message: string) => v.pipe(v.string(), v.regex(pattern, message));

// AWS IoT: client IDs up to 128 characters, and none may start with "$" (reserved).
const clientId = v.pipe(
  v.string(),
  v.nonEmpty('must not be empty'),
  v.maxLength(128, 'must be at most 128 characters (AWS IoT limit)'),
  v.check((id) => !id.startsWith('$'), 'must not start with "$" (reserved by AWS IoT)'),
);

// A topic to publish to, as AWS IoT would take it.
const topicName = v.pipe(
  v.string(),
  v.check((topic) => topicNameProblem(topic) === undefined, (issue) => `must be a topic AWS IoT takes: it ${topicNameProblem(issue.input as string) ?? 'is not one'}`),
);

// A filter for the bridge's allowlists, as AWS IoT would take it.
const topicFilter = v.pipe(
  v.string(),
  v.check((filter) => topicFilterProblem(filter) === undefined, (issue) => `must be a topic filter AWS IoT takes: it ${topicFilterProblem(issue.input as string) ?? 'is not one'}`),
);
const listenAddress = v.pipe(v.string(), v.check((address) => describeListenAddressProblem(address) === undefined, (issue) => describeListenAddressProblem(issue.input as string) ?? 'is not an address'));

// AWS IoT CreateRoleAlias and CreateAuthorizer names: 1-128 characters of [\w=,@-].
const awsName = named(/^[\w=,@-]{1,128}$/, 'must be 1-128 of a-z A-Z 0-9 _ = , @ -');

export const MQTT_VERSIONS = ['5', '3.1.1'] as const;
export const FLOW_CONTROLS = ['aws-iot', 'none'] as const;
export const AUTH_MODES = ['mtls', 'sigv4', 'custom'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];
/** Where SigV4 credentials come from: the environment, Cognito, or the AWS IoT credentials provider (with the device key). */
export const CREDENTIALS_SOURCES = ['env', 'cognito', 'iot'] as const;

const CONNECTION = ['connection'] as const;
const IDENTITY = ['connection', 'identity'] as const;
const TOKEN = ['connection', 'identity', 'token'] as const;

export const SETTINGS = {
  endpoint: text({ help: 'broker host name (AWS IoT: your iot:Data-ATS endpoint)', flag: 'endpoint', value: 'host', groups: CONNECTION }),
  port: integer(
    { help: 'broker port; mtls on 443 offers ALPN x-amzn-mqtt-ca', flag: 'port', value: 'port', groups: CONNECTION, defaultText: '8883 for mtls, 443 for sigv4 and custom' },
    { min: 1, max: 65535 },
  ),
  caFile: text({ help: 'CA certificate(s) the server must chain to (AWS IoT: Amazon Root CA 1)', flag: 'ca-file', value: 'file', groups: IDENTITY }),
  certFile: text({
    help: 'device certificate: a PEM file, or a certificate in the token such as "pkcs11:token=dev;object=devkey;type=cert"',
    flag: 'cert', value: 'file|uri', groups: IDENTITY,
  }),
  key: text({ help: 'device key: a PKCS#11 URI such as "pkcs11:token=dev;object=devkey" or, for development, a PEM file', flag: 'key', value: 'uri|file', groups: IDENTITY }),
  pkcs11Module: text({ help: 'PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so or libtpm2_pkcs11.so (or module-path= in the URI)', flag: 'pkcs11-module', value: 'path', groups: TOKEN }),
  pinFile: text({ help: 'file holding the token PIN (or env TRUSTLINK_PIN, or systemd credential "pin")', flag: 'pin-file', value: 'file', groups: TOKEN }),
  clientId: text({ help: 'MQTT client ID', flag: 'client-id', value: 'id', groups: CONNECTION, defaultText: 'the thing name, else trustlink-HOST-RANDOM' }, clientId),
  thingName: text({ help: 'AWS IoT thing name', flag: 'thing-name', value: 'name', groups: IDENTITY }, named(/^[a-zA-Z0-9:_-]{1,128}$/, 'must be 1-128 of a-z A-Z 0-9 : _ -')),
  mqttVersion: choice(MQTT_VERSIONS, { help: 'MQTT version', flag: 'mqtt', value: 'version', groups: CONNECTION }, '5'),
  // AWS IoT accepts 30-1200 seconds; 300 notices a dead link within minutes on cellular NATs.
  keepAliveSeconds: integer({ help: 'MQTT keep-alive in seconds', flag: 'keep-alive', value: 'seconds', groups: CONNECTION }, { min: 30, max: 1200, default: 300 }),
  alpn: list(v.pipe(v.string(), v.nonEmpty()), {
    help: 'ALPN protocols to offer instead of the default', flag: 'alpn', value: 'list', groups: CONNECTION, commaSeparated: true,
    defaultText: 'x-amzn-mqtt-ca on port 443, none elsewhere',
  }),
  auth: choice(AUTH_MODES, { help: 'how the device authenticates to AWS IoT', flag: 'auth', value: 'mode', groups: CONNECTION }, 'mtls'),
  region: text({ help: 'sigv4: signing region', flag: 'region', value: 'region', groups: CONNECTION, defaultText: 'from an <prefix>-ats.iot.<region>.amazonaws.com endpoint' },
    named(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region such as eu-west-1')),
  credentialsSource: choice(CREDENTIALS_SOURCES, { help: 'sigv4: where AWS credentials come from', flag: 'credentials-source', value: 'source', groups: CONNECTION }, 'env'),
  // Cognito IdentityId: 1-55 characters, "<region>:<uuid>".
  cognitoIdentity: text({ help: 'sigv4 + cognito: the Cognito identity ID (region:uuid)', flag: 'cognito-identity', value: 'id', groups: CONNECTION },
    v.pipe(v.string(), v.regex(/^[\w-]+:[0-9a-f-]+$/, 'must look like eu-west-1:0123abcd-...'), v.maxLength(55))),
  cognitoLogins: list(named(/^[^=]+=.+$/, 'must be PROVIDER=TOKEN or PROVIDER=@FILE'), {
    help: 'sigv4 + cognito: a login, PROVIDER=TOKEN or PROVIDER=@FILE (the service takes at most 10)', flag: 'cognito-login', value: 'provider=token', groups: CONNECTION,
  }, { max: 10 }),
  cognitoEndpoint: text({ help: 'sigv4 + cognito: Cognito endpoint', flag: 'cognito-endpoint', value: 'host[:port]', groups: CONNECTION, defaultText: 'cognito-identity.<region>.amazonaws.com' }),
  credentials: object({
    endpoint: text({ help: 'sigv4 + iot, creds: the account\'s iot:CredentialProvider endpoint', flag: 'credentials-endpoint', value: 'host[:port]', groups: ['connection', 'credentialsProvider'] }),
    roleAlias: text({ help: 'sigv4 + iot, creds: AWS IoT role alias naming the IAM role to assume', flag: 'role-alias', value: 'alias', groups: ['connection', 'credentialsProvider'] }, awsName),
  }, { help: 'the AWS IoT credentials provider', groups: ['connection', 'credentialsProvider'] }),
  authorizer: text({ help: 'custom: the AWS IoT custom authorizer name', flag: 'authorizer', value: 'name', groups: CONNECTION }, awsName),
  authUsername: text({ help: 'custom: MQTT username handed to the authorizer', flag: 'auth-username', value: 'name', groups: CONNECTION }, v.string()),
  authPasswordFile: text({ help: 'custom: file holding the MQTT password handed to the authorizer', flag: 'auth-password-file', value: 'file', groups: CONNECTION }),
  tokenKeyName: text({ help: 'custom: the authorizer\'s token key name', flag: 'token-key-name', value: 'name', groups: CONNECTION }, named(/^[\w-]{1,128}$/, 'must be 1-128 of a-z A-Z 0-9 _ -')),
  tokenValue: text({ help: 'custom: the token, or @FILE', flag: 'token-value', value: 'value|@file', groups: CONNECTION }),
  tokenSignature: text({ help: 'custom: base64 RSA-SHA256 signature of the token, or @FILE', flag: 'token-signature', value: 'b64|@file', groups: CONNECTION }),
  tokenSigningKey: text({ help: 'custom: PKCS#11 URI of an RSA key that signs the token inside the token device', flag: 'token-signing-key', value: 'uri', groups: CONNECTION }),
  websocket: toggle({ help: 'custom: connect over a TLS websocket (/mqtt) instead of MQTT with ALPN "mqtt"', flag: 'websocket', groups: CONNECTION }),
  connectTimeoutMs: integer({ help: 'how long one connection attempt (TCP + TLS + CONNACK) may take, in ms', groups: [] }, { min: 100, max: 120_000, default: 10_000 }),
  reconnectMinDelayMs: integer({ help: 'shortest wait before a reconnect, in ms (full-jitter backoff)', groups: [] }, { min: 10, default: 1_000 }),
  reconnectMaxDelayMs: integer({ help: 'longest wait before a reconnect, in ms', groups: [] }, { min: 10, default: 120_000 }),
  selftestTopic: text({ help: 'topic for the self-test\'s publish/subscribe round trip; without it that check is skipped', groups: [] }, topicName),
  healthTopic: text({ help: 'topic `trustlink run` publishes a small health message to; none when unset', groups: [] }, topicName),
  healthIntervalSeconds: integer({ help: 'seconds between health messages', groups: [] }, { min: 5, max: 86_400, default: 60 }),
  stateDir: text({ help: 'where progress and markers that must survive a reboot are kept (on flash)', flag: 'state-dir', value: 'dir', groups: ['state'] }, nonEmpty, '/var/lib/trustlink'),
  runtimeDir: text({ help: 'RAM folder of the running agent: the local MQTT socket and status.json', flag: 'runtime-dir', value: 'dir', groups: ['runtime'] }, nonEmpty, '/run/trustlink'),
  // The local MQTT bridge (trustlink run).
  localListen: list(listenAddress, {
    help: 'local MQTT endpoint: unix:/PATH, or loopback only tcp://127.0.0.1:PORT or tcp://[::1]:PORT; [] in the file turns it off',
    flag: 'local-listen', value: 'address', groups: ['agent'], defaultText: 'unix:<runtimeDir>/mqtt.sock, i.e. unix:/run/trustlink/mqtt.sock',
  }),
  forwardPublish: list(topicFilter, { help: 'topics local clients may publish to (an allowlist; AWS IoT\'s policy still decides)', flag: 'forward-publish', value: 'filter', groups: ['agent'], defaultText: 'any topic' }),
  forwardSubscribe: list(topicFilter, { help: 'filters local clients may subscribe to, or to filters within them', flag: 'forward-subscribe', value: 'filter', groups: ['agent'], defaultText: 'any filter' }),
  spoolDir: text({ help: 'where local QoS 1 messages wait for AWS IoT (on flash)', flag: 'spool-dir', value: 'dir', groups: ['agent'], defaultText: '<stateDir>/spool, i.e. /var/lib/trustlink/spool' }),
  spoolMaxBytes: integer({ help: 'largest the spool may grow on disk, in bytes; past it new QoS 1 messages are refused', flag: 'spool-max-bytes', value: 'bytes', groups: ['agent'] },
    { min: 65_536, default: 64 * 1024 * 1024 }),
  upstreamFlowControl: choice(FLOW_CONTROLS, {
    help: 'aws-iot: aws-crt holds publishes to AWS IoT Core\'s limits (100/s, MQTT 5; a connection that publishes once, as publish --count 1 and the self-test, goes unpaced); none: no client-side limit, for other brokers and benchmarks',
    flag: 'upstream-flow-control', value: 'mode', groups: ['agent'],
  }, 'aws-iot'),
  // Fleet provisioning: flat keys, like auth, so env and flag layering stay one level deep.
  provisioningClaimCert: text({ help: 'the claim certificate shared by a batch of devices', flag: 'claim-cert', value: 'file', groups: ['provision'] }),
  provisioningClaimKey: text({ help: 'the claim key: a PEM file or a PKCS#11 URI', flag: 'claim-key', value: 'file|uri', groups: ['provision'] }),
  provisioningTemplate: text({ help: 'the fleet-provisioning template (rotate: RegisterThing after CreateCertificateFromCsr when set)', flag: 'template', value: 'name', groups: ['provision', 'rotation'] },
    named(/^[0-9A-Za-z_-]{1,36}$/, 'must be 1-36 of a-z A-Z 0-9 _ - (AWS IoT template name)')),
  provisioningParameters: list(named(/^[^=]+=.*$/, 'must be KEY=VALUE'), { help: 'a template parameter, e.g. SerialNumber=A123', flag: 'param', value: 'key=value', groups: ['provision', 'rotation'] }),
  certWarnDays: integer({ help: 'warn (self-test; the agent once a day) when the device certificate expires within this many days', flag: 'cert-warn-days', value: 'days', groups: ['agent'] },
    { min: 1, max: 3652, default: 30 }),
  rotateBeforeDays: integer({ help: 'the agent rotates the device key and certificate when the certificate expires within this many days; off when unset', flag: 'rotate-before-days', value: 'days', groups: ['agent'] },
    { min: 1, max: 3652 }),
  logLevel: choice(LOG_LEVELS, { help: 'log level', flag: 'log-level', value: 'level', groups: ['global'] }, 'info'),
  jobs: toggle({ help: 'follow AWS IoT Jobs and run the handlers in jobsHandlerDir', flag: 'jobs', groups: ['agent'] }),
  jobsHandlerDir: text({ help: 'job handlers: executables owned by root (or the agent\'s user), writable by no one else', flag: 'jobs-handler-dir', value: 'dir', groups: ['agent'] },
    nonEmpty, '/etc/trustlink/jobs.d'),
  jobsHandlerTimeoutSeconds: integer({ help: 'how long one job handler (or the updater) may run before it is killed and the job FAILED', groups: [] }, { min: 1, max: 604_800, default: 3600 }),
  jobsUpdateCommand: text({ help: 'shell command of the built-in `update` job; the image URL is in $TRUSTLINK_UPDATE_URL (e.g. rauc install "$TRUSTLINK_UPDATE_URL")', groups: [] }),
  jobsRebootCommand: text({ help: 'shell command of the built-in `reboot` job (and of `update` once installed)', groups: [] }, nonEmpty, 'systemctl reboot'),
  shadow: toggle({ help: 'report the device state in a named shadow and apply a few desired settings (logLevel, healthIntervalSeconds)', flag: 'shadow', groups: ['agent'] }),
  // AWS IoT shadow names: 1-64 of [a-zA-Z0-9:_-].
  shadowName: text({ help: 'the named shadow the agent keeps', flag: 'shadow-name', value: 'name', groups: ['agent'] },
    named(/^[a-zA-Z0-9:_-]{1,64}$/, 'must be 1-64 of a-z A-Z 0-9 : _ -'), 'trustlink'),
} as const satisfies Record<string, Setting>;

type Schemas = { [K in keyof typeof SETTINGS]: (typeof SETTINGS)[K]['schema'] };

export const configSchema = v.strictObject(
  Object.fromEntries(Object.entries(SETTINGS).map(([key, setting]) => [key, setting.schema])) as Schemas,
);

export type Config = v.InferOutput<typeof configSchema>;
export type ConfigInput = v.InferInput<typeof configSchema>;
export type ConfigKey = keyof Config;

export const CONFIG_KEYS = Object.keys(SETTINGS) as ConfigKey[];

export function settingInfo(key: ConfigKey): SettingInfo {
  return SETTINGS[key].info;
}

/** TRUSTLINK_ plus the key in upper snake case: caFile → TRUSTLINK_CA_FILE. */
export function envName(key: ConfigKey): string {
  return `TRUSTLINK_${key.replace(/[A-Z]/g, (upper) => `_${upper}`).toUpperCase()}`;
}
