/**
 * trustlink run --shadow against the Shadow stand-in on a real mosquitto,
 * the key in SoftHSM2: the reported state after the boot self-test, desired
 * logLevel and healthIntervalSeconds applied live and cleared from the
 * delta, a desired key outside the allowlist ignored (and said once), and a
 * version conflict retried.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createJobsStack, THING, type JobsStack } from '../../helpers/jobs-stack.js';
import { trustlink, type RunningCli } from '../../helpers/run.js';
import { deltaOf } from '../../standin/shadow.js';

const SHADOW = 'trustlink';
let js: JobsStack;
let agent: RunningCli;

beforeAll(async () => {
  js = await createJobsStack('shadow');
  // The boot self-test runs before the agent (trustlink-selftest.service is Before=trustlink.service).
  const selftest = await trustlink(['--json', 'selftest', ...js.stack.args, '--thing-name', THING, '--report', join(js.runtimeDir, 'selftest.json')], js.stack.env);
  expect(selftest.code).toBe(0);
  agent = js.agent({ shadow: true, jobs: false, env: { TRUSTLINK_HEALTH_TOPIC: `health/${THING}` } });
});

afterAll(async () => {
  if (agent !== undefined) expect(await agent.stop()).toBe(0);
  await js?.close();
});

it('reports version, the boot self-test verdict, the certificate expiry, the connection and the settings', async () => {
  const shadow = await js.shadow.waitFor(THING, SHADOW, 'the first report', (stored) => stored.reported.version !== undefined);
  expect(shadow.reported).toMatchObject({
    version: expect.stringMatching(/^\d+\.\d+\.\d+/),
    // The helper's certificate is valid 30 days: the expiry horizon warns.
    selftest: { status: 'warn', notPassed: ['certificate'], startedAt: expect.any(String) },
    certificateExpiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    connection: { auth: 'mtls', mqtt: '5', endpoint: 'localhost' },
    logLevel: 'info',
    healthIntervalSeconds: 60,
  });
  expect(Date.parse(shadow.reported.certificateExpiresAt as string)).toBeGreaterThan(Date.now());
});

it('applies a desired logLevel and health interval live, reports them, and the delta is cleared', async () => {
  await js.shadow.update(THING, SHADOW, { state: { desired: { logLevel: 'debug', healthIntervalSeconds: 5 } } });
  const shadow = await js.shadow.waitFor(THING, SHADOW, 'the settings acknowledged', (stored) => stored.reported.logLevel === 'debug' && stored.reported.healthIntervalSeconds === 5);
  expect(deltaOf(shadow.desired, shadow.reported)).toEqual({});
  // Debug lines now appear, and health messages come every 5 s.
  await agent.waitFor('a debug-level health line', () => agent.countLogs('health published') >= 2, 20_000);
  expect(agent.countLogs('shadow settings applied')).toBe(1);
});

it('ignores a desired key outside the allowlist, says so once, and changes nothing', async () => {
  await js.shadow.update(THING, SHADOW, { state: { desired: { endpoint: 'attacker.example.com', logLevel: 'chatty' } } });
  const shadow = await js.shadow.waitFor(THING, SHADOW, 'ignoredDesired', (stored) => stored.reported.ignoredDesired !== undefined);
  expect(shadow.reported.ignoredDesired).toEqual({ endpoint: 'not a setting the shadow may change', logLevel: expect.stringContaining('must be one of') });
  expect(shadow.reported).toMatchObject({ logLevel: 'debug', connection: { endpoint: 'localhost' } });

  // Another delta with the same ignored keys in it: nothing new said about them.
  await js.shadow.update(THING, SHADOW, { state: { desired: { healthIntervalSeconds: 30 } } });
  await js.shadow.waitFor(THING, SHADOW, 'the new interval', (stored) => stored.reported.healthIntervalSeconds === 30);
  const saidIgnored = js.shadow.logic.updates.filter((update) => update.accepted && JSON.stringify(update.request).includes('ignoredDesired'));
  expect(saidIgnored).toHaveLength(1);
});

it('retries a 409 Version conflict with the version a get returns', async () => {
  const rejectedBefore = js.shadow.logic.updates.filter((update) => update.code === 409).length;
  js.shadow.logic.conflictNextUpdate = true;
  await js.shadow.update(THING, SHADOW, { state: { desired: { logLevel: 'warn' } } });
  await js.shadow.waitFor(THING, SHADOW, 'logLevel warn acknowledged', (stored) => stored.reported.logLevel === 'warn');
  expect(js.shadow.logic.updates.filter((update) => update.code === 409).length).toBe(rejectedBefore + 1);
});
