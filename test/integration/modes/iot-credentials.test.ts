/**
 * SigV4 with credentials from the AWS IoT credentials provider stand-in,
 * fetched with the device's token key: a message through the AWS IoT
 * stand-in to mosquitto, how often the provider is asked across websocket
 * reconnects, and what the client does when the provider refuses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REFRESH_MARGIN_MS } from '../../../src/credentials/sigv4-source.js';
import { ROLE_ALIAS, THING_NAME, startProvider } from '../../helpers/credentials.js';
import { RunningCli, trustlink } from '../../helpers/run.js';
import { REGION, createStandinStack, type StandinStack } from '../../helpers/standin-stack.js';
import type { CredentialsProviderStandIn } from '../../standin/credentials-provider.js';

let s: StandinStack;
let provider: CredentialsProviderStandIn;
const ramDirs: string[] = [];

beforeAll(async () => {
  s = await createStandinStack('iot-credentials');
  // The provider hands out credentials the stand-in's SigV4 check accepts.
  provider = await startProvider(s.stack.pki, { issue: s.standin.issueCredentials });
});

afterAll(async () => {
  await provider?.stop();
  await s?.close();
  for (const dir of ramDirs) rmSync(dir, { recursive: true, force: true });
});

/** The stack's environment with a credentials cache of its own on tmpfs, so each test starts without cached credentials. */
function freshCacheEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const dir = mkdtempSync('/dev/shm/trustlink-iot-');
  ramDirs.push(dir);
  return { ...s.stack.env, XDG_RUNTIME_DIR: dir, ...extra };
}

const iotSigv4 = (): string[] => [
  '--auth', 'sigv4', '--region', REGION, ...s.endpoint(s.standin.ports.websocket),
  '--credentials-source', 'iot', '--credentials-endpoint', provider.endpoint, '--role-alias', ROLE_ALIAS, '--thing-name', THING_NAME, ...s.device,
];

const FAST_RECONNECTS = { TRUSTLINK_RECONNECT_MIN_DELAY_MS: '10', TRUSTLINK_RECONNECT_MAX_DELAY_MS: '100' };

function subscribeWithIot(topic: string, env: NodeJS.ProcessEnv): RunningCli {
  return new RunningCli(['--json', 'subscribe', ...iotSigv4(), '--client-id', clientIdOf(topic), '--topic', topic, '--count', '1'], env);
}

const clientIdOf = (topic: string): string => `sub-${topic.replaceAll('/', '-')}`;
const acceptedUpgrades = (clientId: string) => s.standin.seen.filter((seen) => seen.mode === 'sigv4' && seen.accepted && seen.clientId === clientId);

async function publishWithMtls(topic: string): Promise<void> {
  const published = await trustlink(['publish', ...s.stack.args, '--client-id', `pub-${clientIdOf(topic)}`, '--topic', topic, '--message', 'after the reconnects'], s.stack.env);
  expect(published.code, published.stderr).toBe(0);
}

it('delivers a message signed with credentials from the credentials provider; a second process reuses them from the RAM cache', async () => {
  const env = freshCacheEnv();
  const subscriber = new RunningCli(['--json', 'subscribe', ...s.stack.args, '--client-id', 'sub-iot-deliver', '--topic', 'iot/deliver', '--count', '1'], s.stack.env);
  await subscriber.waitFor('subscription', () => subscriber.countLogs('subscribed') === 1);
  const before = provider.requestCount;

  const published = await trustlink(['publish', ...iotSigv4(), '--client-id', 'pub-iot-deliver', '--topic', 'iot/deliver', '--message', 'via the IoT credentials provider'], env);
  expect(published.code, published.stderr).toBe(0);
  expect(published.stderr).not.toMatch(/"level":"(error|warn)"/);
  expect(await subscriber.exited).toBe(0);
  expect(JSON.parse(subscriber.stdoutLines[0] ?? '{}')).toMatchObject({ topic: 'iot/deliver', qos: 1 });

  expect(provider.requestCount).toBe(before + 1);
  const issued = provider.issued.at(-1)!;
  expect(provider.requests.at(-1)).toMatchObject({ status: 200, thingName: THING_NAME, clientCn: THING_NAME });
  expect(s.standin.seen.at(-1)).toMatchObject({ mode: 'sigv4', accepted: true, signatureVerified: true, accessKeyId: issued.accessKeyId });
  for (const secret of [issued.secretAccessKey, issued.sessionToken]) expect(published.stderr + published.stdout).not.toContain(secret);

  const again = await trustlink(['connect', ...iotSigv4(), '--client-id', 'pub-iot-deliver'], env);
  expect(again.code, again.stderr).toBe(0);
  expect(provider.requestCount).toBe(before + 1);
});

/** Drops the subscriber's websocket `times` times, waiting for each reconnect; returns the provider fetches the subscriber made. */
async function fetchesAcrossReconnects(topic: string, times: number, pauseAfter: { reconnect: number; ms: number } | undefined): Promise<number> {
  const before = provider.requestCount;
  const subscriber = subscribeWithIot(topic, freshCacheEnv(FAST_RECONNECTS));
  await subscriber.waitFor('subscription', () => subscriber.countLogs('subscribed') === 1);
  for (let reconnect = 1; reconnect <= times; reconnect++) {
    if (reconnect === pauseAfter?.reconnect) await sleep(pauseAfter.ms);
    s.standin.dropConnections();
    await subscriber.waitFor(`reconnect ${reconnect}`, () => subscriber.countLogs('connected') === reconnect + 1);
  }
  // Clean sessions: the subscriber subscribes again after every reconnect.
  await subscriber.waitFor('re-subscription', () => subscriber.countLogs('subscribed') === times + 1);
  await publishWithMtls(topic);
  expect(await subscriber.exited).toBe(0);
  return provider.requestCount - before;
}

it('fetches once across 20 websocket reconnects within one credential lifetime', async () => {
  expect(await fetchesAcrossReconnects('iot/reconnect-20', 20, undefined)).toBe(1);
});

it('fetches again once the credentials near expiry, and never signs with expired ones', async () => {
  // Fresh for about 3 s after issue (whole seconds: the provider writes its expiration without milliseconds).
  provider.lifetimeSeconds = REFRESH_MARGIN_MS / 1000 + 4;
  try {
    const clientId = clientIdOf('iot/expiry');
    expect(await fetchesAcrossReconnects('iot/expiry', 6, { reconnect: 4, ms: 4_500 })).toBe(2);
    const keys = acceptedUpgrades(clientId).map((seen) => seen.accessKeyId);
    expect(new Set(keys).size).toBe(2);
    expect(keys.at(-1)).toBe(provider.issued.at(-1)!.accessKeyId);
    expect(s.standin.seen.filter((seen) => seen.reason === 'expired credentials')).toEqual([]);
  } finally {
    provider.lifetimeSeconds = 3600;
  }
});

it('keeps retrying with backoff, saying why, while the credentials provider answers 403 during a websocket reconnect', async () => {
  provider.lifetimeSeconds = REFRESH_MARGIN_MS / 1000 + 4;
  const topic = 'iot/refused';
  const subscriber = subscribeWithIot(topic, freshCacheEnv(FAST_RECONNECTS));
  try {
    await subscriber.waitFor('subscription', () => subscriber.countLogs('subscribed') === 1);
    await sleep(4_500);
    provider.mode = 'forbidden';
    s.standin.dropConnections();
    const refusedAttempts = () => subscriber.logs().filter((line) => line.message === 'connection attempt failed; retrying with backoff' && line.code === 'CREDENTIALS_REFUSED');
    await subscriber.waitFor('two refused attempts', () => refusedAttempts().length >= 2);
    expect(String(refusedAttempts()[0]?.reason)).toMatch(/AccessDenied|403/);
    expect(provider.requests.at(-1)?.status).toBe(403);

    provider.mode = 'ok';
    provider.lifetimeSeconds = 3600;
    await subscriber.waitFor('re-subscription', () => subscriber.countLogs('subscribed') === 2);
    await publishWithMtls(topic);
    expect(await subscriber.exited).toBe(0);
  } finally {
    provider.mode = 'ok';
    provider.lifetimeSeconds = 3600;
    await subscriber.stop();
  }
});

it('names the missing provider setting before any connect attempt', async () => {
  const args = iotSigv4().filter((arg, at, all) => arg !== '--role-alias' && all[at - 1] !== '--role-alias');
  const [fetchesBefore, seenBefore] = [provider.requestCount, s.standin.seen.length];
  const result = await trustlink(['connect', ...args], freshCacheEnv());
  expect(result.code).toBe(64);
  expect(result.stderr).toContain('--role-alias is required (or "credentials.roleAlias" in the config file, or TRUSTLINK_CREDENTIALS (JSON) in the environment)');
  expect([provider.requestCount, s.standin.seen.length]).toEqual([fetchesBefore, seenBefore]);
});
