/**
 * The MQTT client a stand-in service (jobs, shadow) speaks through: a
 * certificate of its own from the test CA, aws-crt's MQTT 3.1.1 client, and
 * JSON in and out.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { iot, mqtt } from 'aws-crt';
import type { Mosquitto } from '../helpers/mosquitto.js';
import type { TestPki } from '../helpers/pki.js';

export interface Outgoing {
  topic: string;
  body: object;
}

export interface StandinClient {
  publish(messages: Outgoing[]): Promise<void>;
  /** `handle` answers with the messages to publish. */
  subscribe(filter: string, handle: (topic: string, payload: Buffer) => Outgoing[]): Promise<void>;
  stop(): Promise<void>;
}

export async function connectStandinClient(dir: string, pki: TestPki, broker: Mosquitto, cn: string): Promise<StandinClient> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicFile = join(dir, `${cn}.pub.pem`);
  writeFileSync(publicFile, publicKey.export({ type: 'spki', format: 'pem' }));
  const certFile = await pki.certify(publicFile, cn, join(dir, `${cn}.pem`));
  const builder = iot.AwsIotMqttConnectionConfigBuilder.new_mtls_builder(readFileSync(certFile, 'utf8'), privateKey.export({ type: 'pkcs8', format: 'pem' }) as string)
    .with_certificate_authority(readFileSync(pki.caFile, 'utf8'))
    .with_endpoint('localhost')
    .with_port(broker.port)
    .with_client_id(`${cn}-${randomBytes(3).toString('hex')}`)
    .with_clean_session(true);
  const connection = new mqtt.MqttClient().new_connection(builder.build());
  const interruptions: string[] = [];
  connection.on('interrupt', (error) => interruptions.push(String(error)));
  await connection.connect();
  let stopped = false;
  const publish = async (messages: Outgoing[]): Promise<void> => {
    for (const message of messages) {
      if (stopped) return;
      await connection.publish(message.topic, JSON.stringify(message.body), mqtt.QoS.AtLeastOnce);
    }
  };
  /** Answers are best effort, as a service's are: one lost with a dropped connection is reported, not thrown. */
  const answer = (messages: Outgoing[]): void => {
    publish(messages).catch((error: Error) => {
      if (!stopped) process.stderr.write(`${cn}: answer lost (${error.message}); interruptions: ${interruptions.join(', ')}\n`);
    });
  };
  return {
    publish,
    async subscribe(filter, handle) {
      await connection.subscribe(filter, mqtt.QoS.AtLeastOnce, (topic, payload) => answer(handle(topic, Buffer.from(payload))));
    },
    async stop() {
      stopped = true;
      await connection.disconnect();
    },
  };
}
