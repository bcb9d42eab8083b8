/**
 * First boot the way the image runs it: the recipe's do_install puts the
 * artifact and the default config (with a bbappend's device values) into an
 * image root with the recipe's owners and modes; what a bbappend adds (CA,
 * claim certificate and key, PIN) goes in as docs/image.md says; then each
 * unit's ExecStart runs from that tree as the unprivileged `trustlink` user
 * with what systemd gives it (StateDirectory=, RuntimeDirectory=, the PIN as a
 * credential, Environment=), once systemd-analyze says its conditions hold:
 * provisioning against the fleet-provisioning stand-in, the self-test, the agent.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, cpSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { asUserArgv, ensureSystemUser, runAsUser, SERVICE_USER, type SystemUser } from '../../helpers/as-user.js';
import { createFleetStack, TEMPLATE, type FleetStack } from '../../helpers/fleet-stack.js';
import { createNotifySocket, type NotifySocket } from '../../helpers/notify-socket.js';
import { REPO } from '../../helpers/paths.js';
import { RunningCli } from '../../helpers/run.js';
import { execStartArgs, unitValues, unitVariables, unmetCondition } from '../units/unit-file.js';
import { doInstall, RECIPE_FILES, writeStagedWrapper } from './recipe.js';

const PROVISION = 'trustlink-provision.service';
const SELFTEST = 'trustlink-selftest.service';
const AGENT = 'trustlink.service';
const SERIAL = 'IMG-0001';

let fleet: FleetStack;
let notify: NotifySocket;
let user: SystemUser;
let root: string;
let trustlink: string;
const image = (path: string): string => join(root, path);

/** The default config as a firmware engineer's bbappend fills it in, its paths under the image root. */
function deviceConfig(): Record<string, unknown> {
  const defaults = JSON.parse(readFileSync(join(RECIPE_FILES, 'config.json'), 'utf8')) as Record<string, unknown>;
  const rooted = (value: unknown): unknown => (typeof value === 'string' ? value.replace(/^(unix:)?\/(etc|var|run)\//, (_whole, unix = '', top) => `${unix}${root}/${top}/`)
    : Array.isArray(value) ? value.map(rooted) : value);
  const { stack } = fleet;
  return {
    ...Object.fromEntries(Object.entries(defaults).map(([key, value]) => [key, rooted(value)])),
    stateDir: image('var/lib/trustlink'), runtimeDir: image('run/trustlink'),
    endpoint: 'localhost', port: stack.broker.port, pkcs11Module: stack.token.modulePath,
    key: `pkcs11:token=${stack.token.label};object=device;type=private`,
    provisioningTemplate: TEMPLATE, provisioningParameters: [`SerialNumber=${SERIAL}`],
  };
}

/** What systemd makes for `unit` before ExecStart, and the environment it gives it. */
function unitEnvironment(unit: string): NodeJS.ProcessEnv {
  const [stateMode] = unitValues(unit, 'StateDirectoryMode');
  for (const dir of unitValues(unit, 'StateDirectory').flatMap((line) => line.split(' '))) {
    mkdirSync(image(`var/lib/${dir}`), { recursive: true });
    chownSync(image(`var/lib/${dir}`), user.uid, user.gid);
    chmodSync(image(`var/lib/${dir}`), Number.parseInt(stateMode ?? '0755', 8));
  }
  const env: NodeJS.ProcessEnv = {
    PATH: '/usr/bin:/bin', HOME: '/nonexistent', USER: SERVICE_USER, LOGNAME: SERVICE_USER,
    ...unitVariables(unit),
    // Where SoftHSM2 keeps this test's token; a device names its own in /etc/softhsm2.conf.
    ...fleet.stack.token.moduleEnv,
    TRUSTLINK_CONFIG: image('etc/trustlink/config.json'),
  };
  const [runtime] = unitValues(unit, 'RuntimeDirectory');
  if (runtime) {
    mkdirSync(image(`run/${runtime}`), { recursive: true });
    chownSync(image(`run/${runtime}`), user.uid, user.gid);
    chmodSync(image(`run/${runtime}`), Number.parseInt(unitValues(unit, 'RuntimeDirectoryMode')[0] ?? '0755', 8));
    env.RUNTIME_DIRECTORY = image(`run/${runtime}`);
  }
  // LoadCredential=pin:PATH: systemd reads PATH as root and hands the service a copy only it may read.
  const credentials = join(fleet.stack.dir, `credentials-${unit}`);
  mkdirSync(credentials, { recursive: true, mode: 0o500 });
  for (const [id, path] of unitValues(unit, 'LoadCredential').map((line) => line.split(':', 2) as [string, string])) {
    copyFileSync(image(path), join(credentials, id));
    chmodSync(join(credentials, id), 0o400);
    chownSync(join(credentials, id), user.uid, user.gid);
  }
  chownSync(credentials, user.uid, user.gid);
  env.CREDENTIALS_DIRECTORY = credentials;
  return env;
}

function owner(path: string): string {
  const stats = statSync(image(path));
  const name = (id: number): string => (id === 0 ? 'root' : id === user.uid || id === user.gid ? SERVICE_USER : String(id));
  return `${name(stats.uid)}:${name(stats.gid)} ${(stats.mode & 0o7777).toString(8).padStart(4, '0')}`;
}

beforeAll(async () => {
  user = ensureSystemUser();
  fleet = await createFleetStack('first-boot', 'softhsm');
  const { stack } = fleet;
  // The image's / is traversable; the token store is the service's, as tpm2-pkcs11's is on a device.
  chmodSync(stack.dir, 0o755);
  execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, stack.token.dir]);
  root = join(stack.dir, 'root');
  // The recipe's files, with the device's config.json from a bbappend (FILESEXTRAPATHS).
  const unpacked = join(stack.dir, 'unpacked');
  cpSync(RECIPE_FILES, unpacked, { recursive: true });
  writeFileSync(join(unpacked, 'config.json'), `${JSON.stringify(deviceConfig(), null, 2)}\n`);
  await doInstall({ D: root, S: join(REPO, 'dist'), TRUSTLINK_UNPACKED: unpacked });
  // What the bbappend's do_install:append adds, with the owners and modes docs/image.md gives.
  install(stack.pki.caFile, 'etc/trustlink/AmazonRootCA1.pem', 0o644);
  install(fleet.claimCert, 'etc/trustlink/claim.pem', 0o644);
  install(fleet.claimKeyFile, 'etc/trustlink/claim.key', 0o400, user.uid);
  install(stack.token.pinFile, 'etc/trustlink/pin', 0o600);
  trustlink = writeStagedWrapper(root, join(stack.dir, 'trustlink'));
  notify = await createNotifySocket(stack.dir);
  // systemd's notification socket takes datagrams from any service user.
  chmodSync(notify.path, 0o777);
}, 120_000);

afterAll(async () => {
  await notify?.close();
  await fleet?.close();
});

/** `install -m MODE [-o OWNER] source image/dest`, as the bbappend would (group root). */
function install(source: string, dest: string, mode: number, uid = 0): void {
  copyFileSync(source, image(dest));
  chownSync(image(dest), uid, 0);
  chmodSync(image(dest), mode);
}

it('installs /etc/trustlink root:trustlink 1770, its config trustlink 0640, the job handlers root 0755', () => {
  expect(owner('etc/trustlink')).toBe('root:trustlink 1770');
  expect(owner('etc/trustlink/config.json')).toBe('trustlink:trustlink 0640');
  expect(owner('etc/trustlink/jobs.d')).toBe('root:root 0755');
});

it('before provisioning: only the provisioning unit would start; the others would name the missing marker', async () => {
  expect(await unmetCondition(PROVISION, root)).toBeUndefined();
  expect(await unmetCondition(SELFTEST, root)).toBe('ConditionPathExists=/var/lib/trustlink/provisioned');
  expect(await unmetCondition(AGENT, root)).toBe('ConditionPathExists=/var/lib/trustlink/provisioned');
});

it('trustlink provision, as trustlink: provisions the device and rewrites the config in its folder, owners and modes kept', async () => {
  const result = await runAsUser(trustlink, execStartArgs(PROVISION), { env: unitEnvironment(PROVISION), timeoutMs: 90_000 });
  expect(result.code, result.stdout + result.stderr).toBe(0);
  expect(result.stdout).toMatch(`provisioned as thing "thing-${SERIAL}"`);
  const config = JSON.parse(readFileSync(image('etc/trustlink/config.json'), 'utf8')) as Record<string, string>;
  expect(config).toMatchObject({ thingName: `thing-${SERIAL}`, key: expect.stringMatching(/^pkcs11:/), certFile: expect.stringMatching(/^pkcs11:/) });
  expect(owner('etc/trustlink/config.json')).toBe('trustlink:trustlink 0640');
  expect(owner('var/lib/trustlink/provisioned')).toMatch(/^trustlink:trustlink /);
  // Provisioned: next boot skips provisioning, and the self-test and the agent may start.
  expect(await unmetCondition(PROVISION, root)).toBe('ConditionPathExists=!/var/lib/trustlink/provisioned');
  expect(await unmetCondition(SELFTEST, root)).toBeUndefined();
  expect(await unmetCondition(AGENT, root)).toBeUndefined();
}, 120_000);

it('trustlink selftest, as trustlink: passes with the provisioned identity and leaves its report in the runtime folder', async () => {
  const env = unitEnvironment(SELFTEST);
  const result = await runAsUser(trustlink, execStartArgs(SELFTEST), { env, timeoutMs: 90_000 });
  expect(result.code, result.stdout + result.stderr).toBe(0);
  const report = JSON.parse(readFileSync(join(env.RUNTIME_DIRECTORY as string, 'selftest.json'), 'utf8')) as { device: string; checks: { status: string }[] };
  expect(report.device).toBe(`thing-${SERIAL}`);
  expect(report.checks.filter((check) => check.status === 'fail')).toEqual([]);
}, 120_000);

it('trustlink run, as trustlink: becomes ready, connects as the provisioned thing, stops cleanly on SIGTERM', async () => {
  const env = { ...unitEnvironment(AGENT), NOTIFY_SOCKET: notify.path };
  const [file, argv] = asUserArgv(trustlink, execStartArgs(AGENT));
  const agent = new RunningCli(argv, env, file);
  try {
    await notify.waitFor('READY=1', (sent) => sent.includes('READY=1'));
    await agent.waitFor('the connection', () => agent.countLogs('connected') === 1);
  } finally {
    expect(await agent.stop()).toBe(0);
  }
}, 60_000);
