/** The flags connecting commands share, mapped onto configuration keys. */
import type { Command } from 'commander';
import { AUTH_MODES, CREDENTIALS_SOURCES, MQTT_VERSIONS, type ConfigKey } from '../config/schema.js';
import { parseChoice, parseInteger } from './context.js';

/** Who the device is: its certificate, its key, the token PIN, the CA it trusts. */
export interface IdentityFlags {
  caFile?: string;
  cert?: string;
  key?: string;
  pkcs11Module?: string;
  pinFile?: string;
  thingName?: string;
}

/** Where the AWS IoT credentials provider is and which role alias to ask it for. */
export interface CredentialsProviderFlags {
  credentialsEndpoint?: string;
  roleAlias?: string;
}

export interface ConnectionFlags extends IdentityFlags, CredentialsProviderFlags {
  endpoint?: string;
  port?: number;
  clientId?: string;
  mqtt?: string;
  keepAlive?: number;
  alpn?: string;
  auth?: string;
  region?: string;
  credentialsSource?: string;
  cognitoIdentity?: string;
  cognitoLogin?: string[];
  cognitoEndpoint?: string;
  authorizer?: string;
  authUsername?: string;
  authPasswordFile?: string;
  tokenKeyName?: string;
  tokenValue?: string;
  tokenSignature?: string;
  tokenSigningKey?: string;
  websocket?: boolean;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function addIdentityOptions(command: Command, caDescription: string): Command {
  return command
    .option('--ca-file <file>', caDescription)
    .option('--cert <file|uri>', 'device certificate: a PEM file, or a certificate in the token such as "pkcs11:token=dev;object=devkey;type=cert"')
    .option('--key <uri|file>', 'device key: a PKCS#11 URI such as "pkcs11:token=dev;object=devkey" or, for development, a PEM file')
    .option('--pkcs11-module <path>', 'PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so (or module-path= in the URI)')
    .option('--pin-file <file>', 'file holding the token PIN (or env TRUSTLINK_PIN, or systemd credential "pin")')
    .option('--thing-name <name>', 'AWS IoT thing name');
}

/** The credentials provider flags, shared by `creds` and the connecting commands; `scope` prefixes their help (e.g. "sigv4 + iot: "). */
export function addCredentialsProviderOptions(command: Command, scope = ''): Command {
  return command
    .option('--credentials-endpoint <host[:port]>', `${scope}the account's iot:CredentialProvider endpoint (config: credentials.endpoint)`)
    .option('--role-alias <alias>', `${scope}AWS IoT role alias naming the IAM role to assume (config: credentials.roleAlias)`);
}

/** No credentials key unless a flag is given, so the config file's stays whole. */
export function credentialsProviderFlagsToConfig(flags: CredentialsProviderFlags): Partial<Record<ConfigKey, unknown>> {
  if (flags.credentialsEndpoint === undefined && flags.roleAlias === undefined) return {};
  return { credentials: { endpoint: flags.credentialsEndpoint, roleAlias: flags.roleAlias } };
}

export function addConnectionOptions(command: Command): Command {
  command
    .option('--endpoint <host>', 'broker host name (AWS IoT: your iot:Data-ATS endpoint)')
    .option('--port <port>', 'broker port; mtls on 443 offers ALPN x-amzn-mqtt-ca (default: 8883 for mtls, 443 otherwise)', parseInteger(1, 65535));
  addIdentityOptions(command, 'CA certificate(s) the broker must chain to (AWS IoT: Amazon Root CA 1)');
  command
    .option('--client-id <id>', 'MQTT client ID (default: the thing name, else trustlink-HOST-RANDOM)')
    .option('--mqtt <version>', `MQTT version: ${MQTT_VERSIONS.join(' or ')} (default: 5)`, parseChoice(MQTT_VERSIONS))
    .option('--keep-alive <seconds>', 'MQTT keep-alive, 30-1200 seconds (default: 300)', parseInteger(30, 1200))
    .option('--alpn <list>', 'comma-separated ALPN protocols to offer instead of the default')
    .option('--auth <mode>', `how to authenticate: ${AUTH_MODES.join(', ')} (default: mtls)`, parseChoice(AUTH_MODES))
    .option('--region <region>', 'sigv4: signing region (default: from an <prefix>-ats.iot.<region>.amazonaws.com endpoint)')
    .option('--credentials-source <source>', `sigv4: where AWS credentials come from: ${CREDENTIALS_SOURCES.join(', ')} (default: env)`, parseChoice(CREDENTIALS_SOURCES))
    .option('--cognito-identity <id>', 'sigv4 + cognito: the Cognito identity ID (region:uuid)')
    .option('--cognito-login <provider=token>', 'sigv4 + cognito: a login, token as TEXT or @FILE (repeatable)', collect)
    .option('--cognito-endpoint <host[:port]>', 'sigv4 + cognito: Cognito endpoint (default: cognito-identity.<region>.amazonaws.com)');
  addCredentialsProviderOptions(command, 'sigv4 + iot: ');
  return command
    .option('--authorizer <name>', 'custom: the AWS IoT custom authorizer name')
    .option('--auth-username <name>', 'custom: MQTT username handed to the authorizer')
    .option('--auth-password-file <file>', 'custom: file holding the MQTT password handed to the authorizer')
    .option('--token-key-name <name>', 'custom: the authorizer\'s token key name')
    .option('--token-value <value|@file>', 'custom: the token (or @FILE)')
    .option('--token-signature <b64|@file>', 'custom: base64 RSA-SHA256 signature of the token (or @FILE)')
    .option('--token-signing-key <uri>', 'custom: PKCS#11 URI of an RSA key that signs the token inside the token device')
    .option('--websocket', 'custom: connect over a TLS websocket (/mqtt) instead of MQTT with ALPN "mqtt"');
}

export function identityFlagsToConfig(flags: IdentityFlags): Partial<Record<ConfigKey, unknown>> {
  return {
    caFile: flags.caFile,
    certFile: flags.cert,
    key: flags.key,
    pkcs11Module: flags.pkcs11Module,
    pinFile: flags.pinFile,
    thingName: flags.thingName,
  };
}

export function connectionFlagsToConfig(flags: ConnectionFlags): Partial<Record<ConfigKey, unknown>> {
  return {
    ...identityFlagsToConfig(flags),
    ...credentialsProviderFlagsToConfig(flags),
    endpoint: flags.endpoint,
    port: flags.port,
    clientId: flags.clientId,
    mqttVersion: flags.mqtt,
    keepAliveSeconds: flags.keepAlive,
    alpn: flags.alpn?.split(',').map((item) => item.trim()).filter(Boolean),
    auth: flags.auth,
    region: flags.region,
    credentialsSource: flags.credentialsSource,
    cognitoIdentity: flags.cognitoIdentity,
    cognitoLogins: flags.cognitoLogin,
    cognitoEndpoint: flags.cognitoEndpoint,
    authorizer: flags.authorizer,
    authUsername: flags.authUsername,
    authPasswordFile: flags.authPasswordFile,
    tokenKeyName: flags.tokenKeyName,
    tokenValue: flags.tokenValue,
    tokenSignature: flags.tokenSignature,
    tokenSigningKey: flags.tokenSigningKey,
    websocket: flags.websocket,
  };
}
