/** The flags every connecting command shares, mapped onto configuration keys. */
import type { Command } from 'commander';
import { MQTT_VERSIONS, type ConfigKey } from '../config/schema.js';
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
}

export function addConnectionOptions(command: Command): Command {
  return command
    .option('--endpoint <host>', 'broker host name (AWS IoT: your iot:Data-ATS endpoint)')
    .option('--port <port>', 'broker port; 443 offers ALPN x-amzn-mqtt-ca (default: 8883)', parseInteger(1, 65535))
    .option('--ca-file <file>', 'CA certificate(s) the broker must chain to (AWS IoT: Amazon Root CA 1)')
    .option('--cert <file|uri>', 'device certificate: a PEM file, or a certificate in the token such as "pkcs11:token=dev;object=devkey;type=cert"')
    .option('--key <uri|file>', 'device key: a PKCS#11 URI such as "pkcs11:token=dev;object=devkey" or, for development, a PEM file')
    .option('--pkcs11-module <path>', 'PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so (or module-path= in the URI)')
    .option('--pin-file <file>', 'file holding the token PIN (or env TRUSTLINK_PIN, or systemd credential "pin")')
    .option('--client-id <id>', 'MQTT client ID (default: the thing name, else trustlink-HOST-RANDOM)')
    .option('--thing-name <name>', 'AWS IoT thing name')
    .option('--mqtt <version>', `MQTT version: ${MQTT_VERSIONS.join(' or ')} (default: 5)`, parseChoice(MQTT_VERSIONS))
    .option('--keep-alive <seconds>', 'MQTT keep-alive, 30-1200 seconds (default: 300)', parseInteger(30, 1200))
    .option('--alpn <list>', 'comma-separated ALPN protocols to offer instead of the default');
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
  };
}
