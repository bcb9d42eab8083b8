/**
 * One request/response exchange of the AWS IoT MQTT APIs: subscribe to
 * TOPIC/accepted and TOPIC/rejected first, publish, and wait for the first
 * answer, the connection's loss, or a timeout. The two subscriptions are
 * released when the exchange ends, however it ends: the agent's session
 * outlives a rotation, and must not keep them.
 */
import { TrustlinkError } from '../errors.js';
import type { MqttSession, ReceivedMessage } from '../connection/mqtt.js';

export type Answer = { accepted: true; payload: Buffer } | { accepted: false; payload: Buffer };

export async function request(session: MqttSession, topic: string, payload: unknown, timeoutMs: number): Promise<Answer> {
  const filters = [`${topic}/accepted`, `${topic}/rejected`];
  const held: string[] = [];
  try {
    for (const filter of filters) {
      await session.subscribe(filter, 1);
      held.push(filter);
    }
    return await exchange(session, topic, payload, timeoutMs);
  } finally {
    // unsubscribe logs its own failures and never rejects.
    await Promise.all(held.map((filter) => session.unsubscribe(filter)));
  }
}

async function exchange(session: MqttSession, topic: string, payload: unknown, timeoutMs: number): Promise<Answer> {
  let cleanup = (): void => undefined;
  const answered = new Promise<Answer>((resolve, reject) => {
    const onMessage = (message: ReceivedMessage): void => {
      if (message.topic === `${topic}/accepted`) resolve({ accepted: true, payload: message.payload });
      else if (message.topic === `${topic}/rejected`) resolve({ accepted: false, payload: message.payload });
    };
    const onDisconnected = (): void => reject(new TrustlinkError('PROVISION_INTERRUPTED', `the connection dropped while waiting for the answer on ${topic}; nothing was stored`, {
      hint: 'run again: every step resumes, and the device key is kept',
    }));
    const timer = setTimeout(() => reject(new TrustlinkError('PROVISION_INTERRUPTED', `no answer on ${topic}/accepted or /rejected within ${timeoutMs / 1000} s; nothing was stored`, {
      hint: 'check that the policy of the certificate in use (the claim certificate, or the device\'s own when rotating) allows iot:Subscribe and iot:Receive on the answer topics; then run again',
    })), timeoutMs);
    session.on('message', onMessage);
    session.on('disconnected', onDisconnected);
    cleanup = () => {
      clearTimeout(timer);
      session.off('message', onMessage);
      session.off('disconnected', onDisconnected);
    };
  });
  try {
    // Together: a dropped connection must end the wait even while the PUBACK is pending.
    const [, answer] = await Promise.all([session.publish(topic, Buffer.from(JSON.stringify(payload)), 1), answered]);
    return answer;
  } finally {
    cleanup();
  }
}
