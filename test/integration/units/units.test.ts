/**
 * The systemd units as shipped: `systemd-analyze verify` on each, then each
 * unit's ExecStart= run for real against the test stack, with the
 * environment systemd would give it (Environment=, $RUNTIME_DIRECTORY,
 * $CREDENTIALS_DIRECTORY for LoadCredential=pin, $NOTIFY_SOCKET).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { PROVISIONED_MARKER } from '../../../src/provision/state.js';
import { createNotifySocket, type NotifySocket } from '../../helpers/notify-socket.js';
import { TRUSTLINK } from '../../helpers/paths.js';
import { run, RunningCli } from '../../helpers/run.js';
import { createStack, type TestStack } from '../../helpers/stack.js';
import { conditions, execStartArgs, INSTALLED_BINARY, UNIT_FILES as FILES, UNITS, unitValues, unitVariables } from './unit-file.js';

let stack: TestStack;
let notify: NotifySocket;

beforeAll(async () => {
  stack = await createStack('units');
  notify = await createNotifySocket(stack.dir);
});

afterAll(async () => {
  await notify?.close();
  await stack?.close();
});

/** What systemd puts in the service's environment for these units. */
function unitEnvironment(unit: string, name: string): NodeJS.ProcessEnv {
  const dir = join(stack.dir, name);
  const runtime = join(dir, 'run');
  const credentials = join(dir, 'credentials');
  mkdirSync(runtime, { recursive: true });
  mkdirSync(credentials, { recursive: true });
  expect(unitValues(unit, 'LoadCredential')).toEqual(['pin:/etc/trustlink/pin']);
  copyFileSync(stack.token.pinFile, join(credentials, 'pin'));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({
    endpoint: 'localhost', port: stack.broker.port, caFile: stack.pki.caFile, certFile: stack.token.certFile,
    key: stack.token.keyUri, pkcs11Module: stack.token.modulePath, thingName: `thing-${name}`,
  }));
  return { ...stack.env, ...unitVariables(unit), TRUSTLINK_CONFIG: config, RUNTIME_DIRECTORY: runtime, CREDENTIALS_DIRECTORY: credentials };
}

describe.each(UNITS)('%s', (unit) => {
  it('passes systemd-analyze verify with no warning', async () => {
    // verify insists that ExecStart's binary exists: check a copy that points at the built one.
    const dir = join(stack.dir, 'verify');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, unit), readFileSync(join(FILES, unit), 'utf8').replaceAll(INSTALLED_BINARY, TRUSTLINK));
    const result = await run('systemd-analyze', ['verify', join(dir, unit)], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

it('trustlink-selftest.service: its ExecStart passes and leaves the report in $RUNTIME_DIRECTORY', async () => {
  const env = unitEnvironment('trustlink-selftest.service', 'selftest');
  expect(unitValues('trustlink-selftest.service', 'Type')).toEqual(['oneshot']);
  const result = await run(TRUSTLINK, execStartArgs('trustlink-selftest.service'), { env });
  // The stack's certificate is valid 30 days: the expiry horizon warns, which still exits 0.
  expect(result.code, result.stdout + result.stderr).toBe(0);
  const report = JSON.parse(readFileSync(join(env.RUNTIME_DIRECTORY as string, 'selftest.json'), 'utf8'));
  expect(report).toMatchObject({ device: 'thing-selftest', status: 'warn' });
  expect(report.checks.filter((check: { status: string }) => check.status === 'fail')).toEqual([]);
});

it('trustlink.service: its ExecStart becomes ready, then stops cleanly on SIGTERM', async () => {
  const env = { ...unitEnvironment('trustlink.service', 'agent'), NOTIFY_SOCKET: notify.path };
  expect(unitValues('trustlink.service', 'Type')).toEqual(['notify']);
  expect(unitValues('trustlink.service', 'NotifyAccess')).toEqual(['all']);
  const agent = new RunningCli(execStartArgs('trustlink.service'), env);
  await notify.waitFor('READY=1', (sent) => sent.includes('READY=1'));
  await agent.waitFor('the connection', () => agent.countLogs('connected') === 1);
  expect(await agent.stop()).toBe(0);
});

it('trustlink-provision.service: runs before the self-test and the agent, and only until the device is provisioned', () => {
  expect(unitValues('trustlink-provision.service', 'Type')).toEqual(['oneshot']);
  expect(unitValues('trustlink-provision.service', 'Before')).toEqual(['trustlink-selftest.service trustlink.service']);
  expect(execStartArgs('trustlink-provision.service')).toEqual(['provision']);
});

describe('conditions: each unit starts only when it can do something', () => {
  const defaults = JSON.parse(readFileSync(join(FILES, 'config.json'), 'utf8')) as Record<string, string>;
  const { config } = loadConfig({ file: join(FILES, 'config.json'), env: {}, flags: {} });
  const marker = join(config.stateDir, PROVISIONED_MARKER);
  const pin = unitValues('trustlink.service', 'LoadCredential')[0]?.replace(/^pin:/, '');

  it('provisions while a claim certificate and the PIN are there and the device has no identity yet', () => {
    expect(conditions('trustlink-provision.service')).toEqual([
      `ConditionPathExists=!${marker}`, `ConditionPathExists=${defaults.provisioningClaimCert}`, `ConditionPathExists=${pin}`,
    ]);
  });

  it.each(['trustlink.service', 'trustlink-selftest.service'])('%s: starts once the device is provisioned and the PIN is there', (unit) => {
    expect(conditions(unit)).toEqual([`ConditionPathExists=${marker}`, `ConditionPathExists=${pin}`]);
  });

  it.each(UNITS)('%s: no triggering (|) condition, so a skip names the missing file; the PIN checked is the one LoadCredential= reads', (unit) => {
    for (const line of conditions(unit)) expect(line).not.toMatch(/=\|/);
    expect(unitValues(unit, 'LoadCredential')).toEqual([`pin:${pin}`]);
  });
});

it('the default config.json is valid', () => {
  const { config } = loadConfig({ file: join(FILES, 'config.json'), env: {}, flags: {} });
  expect(config.key).toMatch(/^pkcs11:/);
});
