/** The flags every connecting command shares, mapped onto configuration keys. */
import type { Command } from 'commander';
import { AUTH_MODES, CREDENTIALS_SOURCES, MQTT_VERSIONS, type ConfigKey } from '../config/schema.js';
import { parseChoice, parseInteger } from './context.js';

export interface ConnectionFlags {
  endpoint?: string;
  port?: number;
  caFile?: string;
  cert?: string;
  key?: string;
  pkcs11Module?: string;
  pinFile?: string;
  clientId?: string;
  thingName?: string;
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

export function addConnectionOptions(command: Command): Command {
  return command
    .option('--endpoint <host>', 'broker host name (AWS IoT: your iot:Data-ATS endpoint)')
    .option('--port <port>', 'broker port; mtls on 443 offers ALPN x-amzn-mqtt-ca (default: 8883 for mtls, 443 otherwise)', parseInteger(1, 65535))
    .option('--ca-file <file>', 'CA certificate(s) the broker must chain to (AWS IoT: Amazon Root CA 1)')
    .option('--cert <file|uri>', 'device certificate: a PEM file, or a certificate in the token such as "pkcs11:token=dev;object=devkey;type=cert"')
    .option('--key <uri|file>', 'device key: a PKCS#11 URI such as "pkcs11:token=dev;object=devkey" or, for development, a PEM file')
    .option('--pkcs11-module <path>', 'PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so (or module-path= in the URI)')
    .option('--pin-file <file>', 'file holding the token PIN (or env TRUSTLINK_PIN, or systemd credential "pin")')
    .option('--client-id <id>', 'MQTT client ID (default: the thing name, else trustlink-HOST-RANDOM)')
    .option('--thing-name <name>', 'AWS IoT thing name')
    .option('--mqtt <version>', `MQTT version: ${MQTT_VERSIONS.join(' or ')} (default: 5)`, parseChoice(MQTT_VERSIONS))
    .option('--keep-alive <seconds>', 'MQTT keep-alive, 30-1200 seconds (default: 300)', parseInteger(30, 1200))
    .option('--alpn <list>', 'comma-separated ALPN protocols to offer instead of the default')
    .option('--auth <mode>', `how to authenticate: ${AUTH_MODES.join(', ')} (default: mtls)`, parseChoice(AUTH_MODES))
    .option('--region <region>', 'sigv4: signing region (default: from an <prefix>-ats.iot.<region>.amazonaws.com endpoint)')
    .option('--credentials-source <source>', `sigv4: where AWS credentials come from: ${CREDENTIALS_SOURCES.join(', ')} (default: env)`, parseChoice(CREDENTIALS_SOURCES))
    .option('--cognito-identity <id>', 'sigv4 + cognito: the Cognito identity ID (region:uuid)')
    .option('--cognito-login <provider=token>', 'sigv4 + cognito: a login, token as TEXT or @FILE (repeatable)', collect)
    .option('--cognito-endpoint <host[:port]>', 'sigv4 + cognito: Cognito endpoint (default: cognito-identity.<region>.amazonaws.com)')
    .option('--authorizer <name>', 'custom: the AWS IoT custom authorizer name')
    .option('--auth-username <name>', 'custom: MQTT username handed to the authorizer')
    .option('--auth-password-file <file>', 'custom: file holding the MQTT password handed to the authorizer')
    .option('--token-key-name <name>', 'custom: the authorizer\'s token key name')
    .option('--token-value <value|@file>', 'custom: the token (or @FILE)')
    .option('--token-signature <b64|@file>', 'custom: base64 RSA-SHA256 signature of the token (or @FILE)')
    .option('--token-signing-key <uri>', 'custom: PKCS#11 URI of an RSA key that signs the token inside the token device')
    .option('--websocket', 'custom: connect over a TLS websocket (/mqtt) instead of MQTT with ALPN "mqtt"');
}

export function connectionFlagsToConfig(flags: ConnectionFlags): Partial<Record<ConfigKey, unknown>> {
  return {
    endpoint: flags.endpoint,
    port: flags.port,
    caFile: flags.caFile,
    certFile: flags.cert,
    key: flags.key,
    pkcs11Module: flags.pkcs11Module,
    pinFile: flags.pinFile,
    clientId: flags.clientId,
    thingName: flags.thingName,
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
