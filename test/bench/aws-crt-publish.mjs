// The baseline: what a user would write with aws-crt alone to do what
// `trustlink publish --count 1` does (SoftHSM key, MQTT 5 connect, one QoS 1
// publish, disconnect), or with the argument `connect` what `trustlink connect`
// does (connect, disconnect). Arguments come from the environment startup.ts sets.
import { readFileSync } from 'node:fs';
import { io, iot, mqtt5 } from 'aws-crt';

const env = process.env;
const builder = iot.AwsIotMqtt5ClientConfigBuilder.newDirectMqttBuilderWithMtlsFromPkcs11(env.BENCH_HOST, {
  pkcs11_lib: new io.Pkcs11Lib(env.BENCH_MODULE),
  user_pin: readFileSync(env.BENCH_PIN_FILE, 'utf8').trim(),
  token_label: env.BENCH_TOKEN,
  private_key_object_label: env.BENCH_KEY_LABEL,
  cert_file_path: env.BENCH_CERT,
});
builder.withPort(Number(env.BENCH_PORT));
builder.withCertificateAuthorityFromPath(undefined, env.BENCH_CA);
builder.withConnectProperties({ clientId: env.BENCH_CLIENT_ID ?? 'bench-aws-crt', keepAliveIntervalSeconds: 300 });
const client = new mqtt5.Mqtt5Client(builder.build());
const publish = process.argv[2] !== 'connect';
client.on('connectionSuccess', async () => {
  if (publish) await client.publish({ topicName: 'bench/aws-crt', qos: mqtt5.QoS.AtLeastOnce, payload: 'hello' });
  client.stop();
});
client.on('connectionFailure', (event) => {
  console.error(event.error.toString());
  process.exit(1);
});
// aws-crt keeps the event loop alive after close (awslabs/aws-crt-nodejs#600).
client.on('stopped', () => process.exit(0));
client.start();
