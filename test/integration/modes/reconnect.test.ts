/**
 * SigV4 reconnects: every websocket upgrade is signed anew, with credentials
 * fetched again only once the old ones near expiry; and when the credential
 * source refuses during a reconnect, the client keeps retrying with backoff
 * and logs why.
 */
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REFRESH_MARGIN_MS } from '../../../src/credentials/sigv4-source.js';
import { freePort } from '../../helpers/ports.js';
import { RunningCli, trustlink } from '../../helpers/run.js';
import { REGION, createStandinStack, type StandinStack } from '../../helpers/standin-stack.js';

let s: StandinStack;

beforeAll(async () => {
  s = await createStandinStack('reconnect');
});

afterAll(async () => {
  await s?.close();
});

/** Credentials that need refreshing this long after they are issued. */
const SHORT_LIFETIME_MS = REFRESH_MARGIN_MS + 1_500;

function subscribeWithCognito(identity: string, topic: string, cognitoPort = s.standin.ports.cognito): RunningCli {
  return new RunningCli([
    '--json', 'subscribe', '--auth', 'sigv4', '--region', REGION, '--endpoint', 'localhost', '--port', String(s.standin.ports.websocket), '--ca-file', s.stack.pki.caFile,
    '--credentials-source', 'cognito', '--cognito-identity', identity, '--cognito-endpoint', `localhost:${cognitoPort}`,
    '--client-id', `sub-${topic.replaceAll('/', '-')}`, '--topic', topic, '--count', '1',
  ], { ...s.stack.env, TRUSTLINK_RECONNECT_MIN_DELAY_MS: '100', TRUSTLINK_RECONNECT_MAX_DELAY_MS: '500' });
}

const signedKeys = () => s.standin.seen.filter((seen) => seen.mode === 'sigv4' && seen.accepted).map((seen) => seen.accessKeyId);

async function publish(topic: string): Promise<void> {
  const published = await trustlink(['publish', ...s.stack.args, '--client-id', 'pub', '--topic', topic, '--message', 'after the reconnect'], s.stack.env);
  expect(published.code, published.stderr).toBe(0);
}

it('signs the reconnect with new credentials once the old ones near expiry', async () => {
  const identity = 'eu-west-1:0000eeee-1111-2222-3333-444455556666';
  s.standin.cognito.identities.set(identity, { lifetimeMs: SHORT_LIFETIME_MS });
  const requestsBefore = s.standin.cognito.requests;
  const subscriber = subscribeWithCognito(identity, 'reconnect/fresh');
  await subscriber.waitFor('subscription', () => subscriber.countLogs('subscribed') === 1);
  const firstKey = signedKeys().at(-1);
  expect(s.standin.cognito.requests).toBe(requestsBefore + 1);

  await sleep(2_000);
  await s.stack.broker.restart();
  await subscriber.waitFor('re-subscription', () => subscriber.countLogs('subscribed') === 2);
  expect(s.standin.cognito.requests).toBe(requestsBefore + 2);
  expect(signedKeys().at(-1)).not.toBe(firstKey);

  await publish('reconnect/fresh');
  expect(await subscriber.exited).toBe(0);
});

it('keeps retrying with backoff, saying why, while Cognito refuses during a reconnect', async () => {
  const identity = 'eu-west-1:0000ffff-1111-2222-3333-444455556666';
  s.standin.cognito.identities.set(identity, { lifetimeMs: SHORT_LIFETIME_MS });
  const subscriber = subscribeWithCognito(identity, 'reconnect/refused');
  await subscriber.waitFor('subscription', () => subscriber.countLogs('subscribed') === 1);

  await sleep(2_000);
  s.standin.cognito.identities.delete(identity);
  await s.stack.broker.restart();
  const refusedAttempts = () => subscriber.logs().filter((line) => line.message === 'connection attempt failed; retrying with backoff' && line.code === 'CREDENTIALS_REFUSED');
  await subscriber.waitFor('two refused attempts', () => refusedAttempts().length >= 2);
  expect(String(refusedAttempts()[0]?.reason)).toMatch(/ResourceNotFoundException/);

  s.standin.cognito.identities.set(identity, { lifetimeMs: 3_600_000 });
  await subscriber.waitFor('re-subscription', () => subscriber.countLogs('subscribed') === 2);
  await publish('reconnect/refused');
  expect(await subscriber.exited).toBe(0);
});

it('waits for an unreachable Cognito before the first connect, as for an unreachable broker', async () => {
  const identity = 'eu-west-1:00001111-1111-2222-3333-444455556666';
  s.standin.cognito.identities.set(identity, { lifetimeMs: 3_600_000 });
  const port = await freePort('127.0.0.1');
  const subscriber = subscribeWithCognito(identity, 'reconnect/late-cognito', port);
  const unavailable = () => subscriber.logs().filter((line) => line.message === 'connection attempt failed; retrying with backoff' && line.code === 'CREDENTIALS_UNAVAILABLE');
  await subscriber.waitFor('two attempts without Cognito', () => unavailable().length >= 2);

  // Cognito comes up: a TCP forwarder to the stand-in's Cognito on the port the subscriber uses.
  const forwarder = createServer((socket) => socket.pipe(connect(s.standin.ports.cognito, '127.0.0.1')).pipe(socket)).listen(port, '127.0.0.1');
  try {
    await subscriber.waitFor('subscription', () => subscriber.countLogs('subscribed') === 1);
    await publish('reconnect/late-cognito');
    expect(await subscriber.exited).toBe(0);
  } finally {
    await new Promise((resolve) => forwarder.close(resolve));
  }
});
