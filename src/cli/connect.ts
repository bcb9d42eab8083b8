/** trustlink connect: connects once, prints the CONNACK outcome and what was negotiated, disconnects. */
import { Command } from 'commander';
import { connect } from '../connection/connect.js';
import { defaultPort } from '../connection/settings.js';
import { addSettingFlags } from './setting-flags.js';
import { createContext } from './context.js';
import { CONNECTING_EXITS, exitStatusHelp } from './exit-status.js';

/** "maximumQos: 1, retainAvailable: true, ..." for the negotiated settings aws-crt reports. */
function describeNegotiated(negotiated: Record<string, unknown>): string {
  return Object.entries(negotiated).map(([key, value]) => `  ${key}: ${String(value)}`).join('\n');
}

export function connectCommand(): Command {
  const command = new Command('connect')
    .description('connect once, print the CONNACK outcome and the negotiated settings, then disconnect (exit 0 only on success)');
  addSettingFlags(command, ['connection']);
  command.addHelpText('after', `
Examples:
  # mutual TLS with a token key (the default)
  trustlink connect --endpoint abc123-ats.iot.eu-west-1.amazonaws.com --ca-file AmazonRootCA1.pem \\
    --cert device.pem --key 'pkcs11:token=dev;object=devkey' --pkcs11-module /usr/lib/softhsm/libsofthsm2.so --pin-file /etc/trustlink/pin

  # SigV4 websocket, credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
  trustlink connect --auth sigv4 --endpoint abc123-ats.iot.eu-west-1.amazonaws.com --ca-file AmazonRootCA1.pem

  # SigV4 websocket, credentials from a Cognito identity
  trustlink connect --auth sigv4 --credentials-source cognito --cognito-identity eu-west-1:0123abcd-... \\
    --endpoint abc123-ats.iot.eu-west-1.amazonaws.com --ca-file AmazonRootCA1.pem

  # SigV4 websocket, credentials from the AWS IoT credentials provider, fetched with the token key
  trustlink connect --auth sigv4 --credentials-source iot --credentials-endpoint abc123.credentials.iot.eu-west-1.amazonaws.com \\
    --role-alias mqtt-device --cert device.pem --key 'pkcs11:token=dev;object=devkey' --pkcs11-module /usr/lib/softhsm/libsofthsm2.so \\
    --pin-file /etc/trustlink/pin --endpoint abc123-ats.iot.eu-west-1.amazonaws.com --ca-file AmazonRootCA1.pem

  # custom authorizer, token signed inside the token device
  trustlink connect --auth custom --authorizer my-authorizer --token-key-name token --token-value @/etc/trustlink/auth-token \\
    --token-signing-key 'pkcs11:token=dev;object=authkey' --pkcs11-module /usr/lib/softhsm/libsofthsm2.so --pin-file /etc/trustlink/pin \\
    --endpoint abc123-ats.iot.eu-west-1.amazonaws.com --ca-file AmazonRootCA1.pem`);
  command.addHelpText('after', exitStatusHelp('the broker accepted the connection', CONNECTING_EXITS));
  return command.action(async (_flags: unknown, self: Command) => {
    const { loaded, log, output, connectionInputs } = createContext(self, ['connection']);
    const { config } = loaded;
    const started = Date.now();
    const connection = await connect(config, log, { retry: false, ...connectionInputs });
    const elapsedMs = Date.now() - started;
    try {
      const { sessionPresent, negotiated } = connection.connected;
      const port = config.port ?? defaultPort(config);
      output.result(
        `connected to ${config.endpoint}:${port} (auth ${config.auth}, MQTT ${config.mqttVersion}, client ID ${connection.clientId}) in ${elapsedMs} ms: CONNACK accepted, session present: ${sessionPresent ? 'yes' : 'no'}\nnegotiated:\n${describeNegotiated(negotiated)}`,
        { event: 'connected', endpoint: config.endpoint, port, auth: config.auth, mqtt: config.mqttVersion, clientId: connection.clientId, sessionPresent, negotiated, elapsedMs },
      );
    } finally {
      await connection.close();
    }
  });
}
