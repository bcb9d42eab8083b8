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
import { createNotifySocket, type NotifySocket } from '../../helpers/notify-socket.js';
import { REPO, TRUSTLINK } from '../../helpers/paths.js';
import { run, RunningCli } from '../../helpers/run.js';
import { createStack, type TestStack } from '../../helpers/stack.js';

const FILES = join(REPO, 'meta-trustlink/recipes-iot/trustlink/files');
const UNITS = ['trustlink.service', 'trustlink-selftest.service', 'trustlink-provision.service'];
const INSTALLED_BINARY = '/usr/bin/trustlink';

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

/** The values of every `Key=` line of a unit. */
function unitValues(unit: string, key: string): string[] {
  return readFileSync(join(FILES, unit), 'utf8').split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1));
}

/** ExecStart= as argv, with the installed binary swapped for the one just built. */
function execStart(unit: string): string[] {
  const [line, ...more] = unitValues(unit, 'ExecStart');
  expect(more).toEqual([]);
  // Plain words only: this parser does not do systemd's quoting, so the units must not need it.
  expect(line).toMatch(/^[\w/.=-]+( [\w/.=-]+)*$/);
  const [binary, ...args] = (line as string).split(' ');
  expect(binary).toBe(INSTALLED_BINARY);
  return args;
}

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
  const fromUnit = Object.fromEntries(unitValues(unit, 'Environment').map((assignment) => assignment.split('=', 2) as [string, string]));
  return { ...stack.env, ...fromUnit, TRUSTLINK_CONFIG: config, RUNTIME_DIRECTORY: runtime, CREDENTIALS_DIRECTORY: credentials };
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
  const result = await run(TRUSTLINK, execStart('trustlink-selftest.service'), { env });
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
  const agent = new RunningCli(execStart('trustlink.service'), env);
  await notify.waitFor('READY=1', (sent) => sent.includes('READY=1'));
  await agent.waitFor('the connection', () => agent.countLogs('connected') === 1);
  expect(await agent.stop()).toBe(0);
});

it('trustlink-provision.service: runs before the self-test and the agent, and only until the device is provisioned', () => {
  expect(unitValues('trustlink-provision.service', 'Type')).toEqual(['oneshot']);
  expect(unitValues('trustlink-provision.service', 'Before')).toEqual(['trustlink-selftest.service trustlink.service']);
  expect(unitValues('trustlink-provision.service', 'ConditionPathExists')).toContain('!/var/lib/trustlink/provisioned');
  expect(execStart('trustlink-provision.service')).toEqual(['provision']);
});

it('the default config.json is valid', () => {
  const { config } = loadConfig({ file: join(FILES, 'config.json'), env: {}, flags: {} });
  expect(config.key).toMatch(/^pkcs11:/);
});
