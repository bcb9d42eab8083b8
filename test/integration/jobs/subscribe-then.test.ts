/**
 * onSubscribed on a real aws-crt session against mosquitto, the key in
 * SoftHSM2: a service that starts after the first connect (as jobs and the
 * shadow do in the agent, racing the connection) must still be told the
 * session is up, and only once its filters are subscribed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { startConnection, type StartedConnection } from '../../../src/connection/connect.js';
import type { ReceivedMessage } from '../../../src/connection/mqtt.js';
import { onSubscribed } from '../../../src/jobs/subscribe-then.js';
import { createLogger } from '../../../src/log/log.js';
import { createStack, type TestStack } from '../../helpers/stack.js';

let stack: TestStack;
const log = createLogger({ level: 'warn', json: true });

beforeAll(async () => {
  stack = await createStack('subscribe-then');
  Object.assign(process.env, stack.token.moduleEnv);
});

afterAll(async () => {
  await stack?.close();
});

async function connection(clientId: string): Promise<StartedConnection> {
  const { config } = loadConfig({
    env: {},
    flags: {
      endpoint: 'localhost', port: stack.broker.port, caFile: stack.pki.caFile, certFile: stack.token.certFile,
      key: stack.token.keyUri, pkcs11Module: stack.token.modulePath, pinFile: stack.token.pinFile, clientId,
    },
  });
  return startConnection(config, log, { retry: true, env: {} });
}

/** Runs body over a fresh connection, closed however body ends. */
async function withConnection(clientId: string, body: (started: StartedConnection) => Promise<void>): Promise<void> {
  const started = await connection(clientId);
  try {
    await body(started);
  } finally {
    await started.close();
  }
}

/** Counts the messages on topic, and on the first call of ready publishes one to it. */
function echoOnReady(started: StartedConnection, topic: string): { ready: () => void; readies: () => number; received: () => number } {
  let readies = 0;
  let received = 0;
  started.session.on('message', (message: ReceivedMessage) => {
    if (message.topic === topic) received++;
  });
  const ready = (): void => {
    readies++;
    void started.session.publish(topic, Buffer.from('ping'), 1);
  };
  return { ready, readies: () => readies, received: () => received };
}

async function until(what: string, predicate: () => boolean): Promise<void> {
  for (let waited = 0; !predicate(); waited += 20) {
    if (waited > 10_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('onSubscribed', () => {
  it('calls ready for a service that starts after the first connect, with its filter already subscribed', async () => {
    await withConnection('after-connect', async (started) => {
      await started.firstConnect;
      const echo = echoOnReady(started, 'late/echo');
      const subscribed = onSubscribed(started.session, ['late/echo'], 1, log, echo.ready);
      await until('ready', () => echo.readies() === 1);
      await until('the echo', () => echo.received() === 1);
      subscribed.stop();
    });
  });

  it('calls ready once the first connect comes, for a service that starts before it', async () => {
    await withConnection('before-connect', async (started) => {
      const echo = echoOnReady(started, 'early/echo');
      const subscribed = onSubscribed(started.session, ['early/echo'], 1, log, echo.ready);
      await started.firstConnect;
      await until('the echo', () => echo.received() === 1);
      expect(echo.readies()).toBe(1);
      subscribed.stop();
    });
  });

  it('drops its subscriptions on stop, so the session no longer hears the filter', async () => {
    await withConnection('stops', async (started) => {
      await started.firstConnect;
      let heard = 0;
      started.session.on('message', (message: ReceivedMessage) => {
        if (message.topic.startsWith('gone/')) heard++;
    });
    const subscribed = onSubscribed(started.session, ['gone/+'], 1, log, () => undefined);
    await started.session.publish('gone/1', Buffer.from('x'), 1);
    await until('the first message', () => heard === 1);
    subscribed.stop();
    // A filter of our own, subscribed after stop(): its message arrives after any stray one would.
    await started.session.subscribe('marker', 1);
    let marker = false;
    started.session.on('message', (message: ReceivedMessage) => {
      if (message.topic === 'marker') marker = true;
    });
    await started.session.publish('gone/2', Buffer.from('x'), 1);
    await started.session.publish('marker', Buffer.from('x'), 1);
    await until('the marker', () => marker);
    expect(heard).toBe(1);
    });
  });
});
