/** The flags connecting commands share, mapped onto configuration keys. */
import type { Command } from 'commander';
import { MQTT_VERSIONS, type ConfigKey } from '../config/schema.js';
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

export interface ConnectionFlags extends IdentityFlags {
  endpoint?: string;
  port?: number;
  clientId?: string;
  mqtt?: string;
  keepAlive?: number;
  alpn?: string;
}

export function addIdentityOptions(command: Command, caDescription: string): Command {
  return command
    .option('--ca-file <file>', caDescription)
    .option('--cert <file>', 'device certificate (PEM)')
    .option('--key <uri|file>', 'device key: a PKCS#11 URI such as "pkcs11:token=dev;object=devkey" or, for development, a PEM file')
    .option('--pkcs11-module <path>', 'PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so (or module-path= in the URI)')
    .option('--pin-file <file>', 'file holding the token PIN (or env TRUSTLINK_PIN, or systemd credential "pin")')
    .option('--thing-name <name>', 'AWS IoT thing name');
}

export function addConnectionOptions(command: Command): Command {
  command
    .option('--endpoint <host>', 'broker host name (AWS IoT: your iot:Data-ATS endpoint)')
    .option('--port <port>', 'broker port; 443 offers ALPN x-amzn-mqtt-ca (default: 8883)', parseInteger(1, 65535));
  addIdentityOptions(command, 'CA certificate(s) the broker must chain to (AWS IoT: Amazon Root CA 1)');
  return command
    .option('--client-id <id>', 'MQTT client ID (default: the thing name, else trustlink-HOST-RANDOM)')
    .option('--mqtt <version>', `MQTT version: ${MQTT_VERSIONS.join(' or ')} (default: 5)`, parseChoice(MQTT_VERSIONS))
    .option('--keep-alive <seconds>', 'MQTT keep-alive, 30-1200 seconds (default: 300)', parseInteger(30, 1200))
    .option('--alpn <list>', 'comma-separated ALPN protocols to offer instead of the default');
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
    endpoint: flags.endpoint,
    port: flags.port,
    clientId: flags.clientId,
    mqttVersion: flags.mqtt,
    keepAliveSeconds: flags.keepAlive,
    alpn: flags.alpn?.split(',').map((item) => item.trim()).filter(Boolean),
  };
}
