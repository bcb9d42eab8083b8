/**
 * trustlink rotate against the fleet stand-in on SoftHSM2, with a device
 * provisioned first (certificate in the token): a rotation that ends with
 * the device publishing under the new certificate and one key; --keep-old;
 * --dry-run; --via rotator; a power cut after every step, each ending on a
 * working identity after the cut and after the rerun; a new certificate the
 * broker refuses (never switched to); a kept certificate for a wiped key;
 * the agent's own rotation (schedule and `rotate` job) on its session.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_FROM_CSR_TOPIC } from '../../../src/fleet/fleet-api.js';
import { recorded } from '../../helpers/jobs-stack.js';
import { startJobsStandin } from '../../standin/jobs.js';
import { createFleetStack, TEMPLATE, type FleetStack } from '../../helpers/fleet-stack.js';
import { hsm } from '../../helpers/provision.js';
import { RunningCli, runChecked, trustlink } from '../../helpers/run.js';

let fleet: FleetStack;

beforeAll(async () => {
  fleet = await createFleetStack('rotate', 'softhsm', { rotation: true });
});

afterAll(async () => {
  await fleet?.close();
});

const lastJson = (stdout: string): Record<string, unknown> => JSON.parse(stdout.trim().split('\n').at(-1) as string) as Record<string, unknown>;
const readConfig = (file: string): Record<string, string> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;

interface Device { config: string; stateDir: string; thing: string; label: string; serial: string }

async function provisioned(label: string, serial: string): Promise<Device> {
  const config = fleet.writeConfig(label);
  const stateDir = join(fleet.stack.dir, `state-${label}`);
  const done = await fleet.provision(config, stateDir, ['--key', `pkcs11:token=dev;object=${label}`, '--param', `SerialNumber=${serial}`]);
  expect(done.code, done.stderr).toBe(0);
  return { config, stateDir, thing: `thing-${serial}`, label, serial };
}

/** Labels of the private keys in the token that start with `prefix`. */
async function keysStartingWith(prefix: string): Promise<string[]> {
  const { token } = fleet.stack;
  const listed = JSON.parse((await hsm({ env: fleet.stack.env, modulePath: token.modulePath, pinFile: token.pinFile, label: token.label }, ['list', '--token', token.label])).stdout) as
    { slots: { token?: { objects?: { keys: { class: string; label: string }[] } } }[] };
  return listed.slots.flatMap((slot) => slot.token?.objects?.keys ?? []).filter((key) => key.class === 'private' && key.label.startsWith(prefix)).map((key) => key.label);
}

const register = (device: Device): string[] => ['--template', TEMPLATE, '--param', `SerialNumber=${device.serial}`];

async function expectWorking(device: Device): Promise<void> {
  const connected = await trustlink(['--config', device.config, 'connect'], fleet.stack.env, 90_000);
  expect(connected.code, connected.stderr).toBe(0);
}

async function expectRotated(device: Device, oldKey: string): Promise<void> {
  const after = readConfig(device.config);
  expect(after.key).not.toBe(oldKey);
  expect(after.key).toMatch(new RegExp(`object=${device.label}-r\\d{14}`));
  expect(await keysStartingWith(device.label)).toEqual([expect.stringMatching(new RegExp(`^${device.label}-r\\d{14}$`))]);
  expect(existsSync(join(device.stateDir, 'rotation', 'rotation.json'))).toBe(false);
  const published = await trustlink(['--config', device.config, 'publish', '--topic', `${'things'}/${device.thing}/hello`, '--message', 'rotated', '--qos', '1'], fleet.stack.env);
  expect(published.code, published.stderr).toBe(0);
}

describe('trustlink rotate (SoftHSM2)', () => {
  it('rotates to a new key born in the token, registers the certificate, switches the config, removes the old key, and publishes under the new certificate', async () => {
    const device = await provisioned('rot-1', 'R1');
    const before = readConfig(device.config);
    const provisionedId = fleet.fleet.things.get('thing-R1');
    const seen = fleet.stack.broker.log.length;
    const rotated = await fleet.rotate(device.config, device.stateDir, register(device));
    expect(rotated.code, rotated.stderr).toBe(0);
    const result = lastJson(rotated.stdout);
    // The old certificate's ID, for the cloud side to deactivate it.
    expect(result).toMatchObject({ event: 'rotate', oldKey: before.key, oldCert: before.certFile, oldCertificateId: provisionedId, retired: 3 });
    expect(readConfig(device.config)).toMatchObject({ certFile: expect.stringMatching(/^pkcs11:token=dev;object=rot-1-r\d{14};.*type=cert$/), thingName: 'thing-R1' });
    expect(fleet.fleet.things.get('thing-R1')).toBe(result.certificateId);
    await expectRotated(device, before.key as string);
    // The new certificate's CN is the thing name (the provisioned one's was the serial): the broker saw it.
    expect(fleet.stack.broker.log.slice(seen).some((line) => line.includes("u'thing-R1'"))).toBe(true);
  });

  it('keeps the old key and certificate with --keep-old: two keys, the config on the new one', async () => {
    const device = await provisioned('rot-keep', 'K1');
    const before = readConfig(device.config);
    const rotated = await fleet.rotate(device.config, device.stateDir, ['--keep-old']);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(lastJson(rotated.stdout)).toMatchObject({ retired: 'kept' });
    expect((await keysStartingWith('rot-keep')).sort()).toEqual(['rot-keep', expect.stringMatching(/^rot-keep-r\d{14}$/)]);
    expect(readConfig(device.config).key).not.toBe(before.key);
    await expectWorking(device);
  });

  it('with the old certificate in a file, writes the new one to a file beside it', async () => {
    const { token, dir } = fleet.stack;
    // A factory identity: the stack's key, its certificate as a file (CN thing-1).
    const device: Device = { config: fleet.writeConfig('rot-file', { key: token.keyUri, certFile: token.certFile, thingName: 'thing-1' }), stateDir: join(dir, 'state-rot-file'), thing: 'thing-1', label: token.keyLabel, serial: '' };
    const rotated = await fleet.rotate(device.config, device.stateDir, ['--keep-old']);
    expect(rotated.code, rotated.stderr).toBe(0);
    const { certFile } = readConfig(device.config);
    expect(certFile).toMatch(new RegExp(`^${token.dir}/${token.keyLabel}-r\\d{14}\\.pem$`));
    expect(readFileSync(certFile as string, 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
    await expectWorking(device);
  });

  it('--dry-run shows the plan and changes nothing', async () => {
    const device = await provisioned('rot-dry', 'D1');
    const before = readFileSync(device.config, 'utf8');
    const plan = await fleet.rotate(device.config, device.stateDir, ['--dry-run', ...register(device)]);
    expect(plan.code, plan.stderr).toBe(0);
    const { event, steps } = lastJson(plan.stdout) as { event: string; steps: string[] };
    expect(event).toBe('rotate-plan');
    expect(steps.join('\n')).toMatch(/generate ec-p256 key "rot-dry-r\d{14}"[\s\S]*RegisterThing with template "FactoryTemplate"[\s\S]*remove the old key/);
    expect(readFileSync(device.config, 'utf8')).toBe(before);
    expect(await keysStartingWith('rot-dry')).toEqual(['rot-dry']);
  });

  it('rotates through the certificate-rotator backend with --via rotator, committing on the new certificate', async () => {
    const device = await provisioned('rot-via', 'V1');
    const before = readConfig(device.config);
    const rotated = await fleet.rotate(device.config, device.stateDir, ['--via', 'rotator', '--job-id', 'rotate-V1']);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(fleet.fleet.committed.has('rotate-V1')).toBe(true);
    await expectRotated(device, before.key as string);
  });

  it.each(['key', 'csr', 'certificate', 'stored', 'verified', 'config'])('a power cut after "%s" leaves a working identity, and the rerun finishes with one key', async (step) => {
    const device = await provisioned(`cut-${step}`, `C-${step}`);
    const before = readConfig(device.config);
    const cut = await fleet.rotate(device.config, device.stateDir, [...register(device), '--stop-after', step]);
    expect(cut.signal).toBe('SIGKILL');
    await expectWorking(device);
    const rerun = await fleet.rotate(device.config, device.stateDir, register(device));
    expect(rerun.code, rerun.stderr).toBe(0);
    await expectRotated(device, before.key as string);
  });

  it('never switches to a new certificate the broker refuses: the new key goes, the device stays on the old identity', async () => {
    const device = await provisioned('rot-refused', 'F1');
    const before = readFileSync(device.config, 'utf8');
    fleet.fleet.onIssued = (certificateId) => fleet.fleet.setStatus(certificateId, 'REVOKED');
    let refused;
    try {
      refused = await fleet.rotate(device.config, device.stateDir);
    } finally {
      fleet.fleet.onIssued = undefined;
    }
    expect(refused.code).toBe(69);
    const { error } = JSON.parse(refused.stderr.trim().split('\n').at(-1) as string) as { error: { code: string; message: string } };
    expect(error.code).toBe('ROTATION_NEW_CERT_REFUSED');
    expect(error.message).toContain('the device stays on pkcs11:token=dev;object=rot-refused');
    expect(readFileSync(device.config, 'utf8')).toBe(before);
    expect(await keysStartingWith('rot-refused')).toEqual(['rot-refused']);
    expect(existsSync(join(device.stateDir, 'rotation', 'rotation.json'))).toBe(false);
    await expectWorking(device);
  });

  it('the agent rotates on its own inside rotateBeforeDays, exits to be restarted, and retires the old key on its next start', async () => {
    const device = await provisioned('rot-agent', 'A1');
    const before = readConfig(device.config);
    const env = { ...fleet.stack.env, TRUSTLINK_CONFIG: device.config };
    // The stand-in's certificates are valid 30 days: inside 60, so the first start rotates.
    const first = new RunningCli(['--config', device.config, 'run', '--state-dir', device.stateDir], { ...env, TRUSTLINK_ROTATE_BEFORE_DAYS: '60' });
    expect(await first.exited).toBe(75);
    expect(first.logs().some((line) => line.message === 'the device identity was rotated; the agent exits to be restarted on it')).toBe(true);
    expect(readConfig(device.config).key).not.toBe(before.key);
    expect((await keysStartingWith('rot-agent')).length).toBe(2);

    const second = new RunningCli(['--config', device.config, 'run', '--state-dir', device.stateDir], { ...env, TRUSTLINK_ROTATE_BEFORE_DAYS: '7' });
    try {
      await second.waitFor('the old key retired', () => second.logs().some((line) => line.message === 'rotation step done' && line.step === 'retired'), 60_000);
    } finally {
      expect(await second.stop()).toBe(0);
    }
    await expectRotated(device, before.key as string);
  });

  it('the agent lets go of the answer topics when its rotation fails, and stays up on the old identity', async () => {
    const device = await provisioned('rot-agent-refused', 'AF1');
    const before = readFileSync(device.config, 'utf8');
    fleet.fleet.onIssued = (certificateId) => fleet.fleet.setStatus(certificateId, 'REVOKED');
    const agent = new RunningCli(['--config', device.config, 'run', '--state-dir', device.stateDir], { ...fleet.stack.env, TRUSTLINK_CONFIG: device.config, TRUSTLINK_ROTATE_BEFORE_DAYS: '60' });
    try {
      await agent.waitFor('the rotation failed', () => agent.countLogs('rotation failed; the device stays on its current identity and tries again tomorrow') === 1, 60_000);
      const answers = [`${CREATE_FROM_CSR_TOPIC}/accepted`, `${CREATE_FROM_CSR_TOPIC}/rejected`];
      await agent.waitFor('the answer topics unsubscribed', () => answers.every((filter) => agent.logs().some((line) => line.message === 'unsubscribed' && line.filter === filter)));
    } finally {
      fleet.fleet.onIssued = undefined;
      expect(await agent.stop()).toBe(0);
    }
    expect(readFileSync(device.config, 'utf8')).toBe(before);
  });

  it('a rotate job: SUCCEEDED with the new certificate\'s ID, then the agent restarts on it; FAILED with the error code when the new certificate is refused', async () => {
    const device = await provisioned('rot-job', 'J1');
    const before = readConfig(device.config);
    const jobs = await startJobsStandin({ dir: fleet.stack.dir, pki: fleet.stack.pki, broker: fleet.stack.broker });
    const handlerDir = join(fleet.stack.dir, 'jobs.d');
    mkdirSync(handlerDir, { recursive: true, mode: 0o755 });
    const agent = (): RunningCli => new RunningCli(['--config', device.config, 'run', '--state-dir', device.stateDir, '--jobs', '--jobs-handler-dir', handlerDir],
      { ...fleet.stack.env, TRUSTLINK_CONFIG: device.config });
    try {
      // Refused first: FAILED with the code, the device stays on its identity and the agent stays up.
      fleet.fleet.onIssued = (certificateId) => fleet.fleet.setStatus(certificateId, 'REVOKED');
      const refusing = agent();
      try {
        await refusing.waitFor('the agent up', () => refusing.countLogs('subscribed') >= 5);
        await jobs.queue(device.thing, 'job-rotate-refused', { operation: 'rotate' });
        const failed = await jobs.waitFor(device.thing, 'job-rotate-refused', ['SUCCEEDED', 'FAILED', 'REJECTED'], 60_000);
        expect(failed.status).toBe('FAILED');
        expect(failed.statusDetails.code).toBe('ROTATION_NEW_CERT_REFUSED');
        await recorded(refusing, 'job-rotate-refused');
      } finally {
        fleet.fleet.onIssued = undefined;
        expect(await refusing.stop()).toBe(0);
      }
      expect(readConfig(device.config)).toEqual(before);

      let issued: string | undefined;
      fleet.fleet.onIssued = async (certificateId) => {
        issued = certificateId;
      };
      const first = agent();
      try {
        await first.waitFor('the agent up', () => first.countLogs('subscribed') >= 5);
        await jobs.queue(device.thing, 'job-rotate', { operation: 'rotate' });
        expect(await first.exited).toBe(75);
      } finally {
        fleet.fleet.onIssued = undefined;
      }
      const execution = jobs.logic.find(device.thing, 'job-rotate');
      expect(execution?.status).toBe('SUCCEEDED');
      expect(execution?.statusDetails.certificateId).toBe(issued);
      expect(execution?.statusDetails.oldCertificateId).toMatch(/^[0-9a-f]{64}$/);
      await recorded(first, 'job-rotate');

      // Restarted on the new identity (as systemd would): the old key goes.
      const second = agent();
      try {
        await second.waitFor('the old key retired', () => second.logs().some((line) => line.message === 'rotation step done' && line.step === 'retired'), 60_000);
      } finally {
        expect(await second.stop()).toBe(0);
      }
      await expectRotated(device, before.key as string);
    } finally {
      await jobs.stop();
    }
  });

  it('discards a kept certificate whose key the token no longer holds, and finishes with a new one', async () => {
    const device = await provisioned('rot-wiped', 'W1');
    const before = readConfig(device.config);
    const cut = await fleet.rotate(device.config, device.stateDir, ['--stop-after', 'certificate']);
    expect(cut.signal).toBe('SIGKILL');
    const progress = JSON.parse(readFileSync(join(device.stateDir, 'rotation', 'rotation.json'), 'utf8')) as { newLabel: string; certificateId: string };
    const { token } = fleet.stack;
    const pin = readFileSync(token.pinFile, 'utf8').trim();
    for (const type of ['privkey', 'pubkey']) {
      await runChecked('pkcs11-tool', ['--module', token.modulePath, '--token-label', token.label, '--login', '--pin', pin, '--delete-object', '--type', type, '--label', progress.newLabel],
        { env: { ...process.env, ...token.moduleEnv } });
    }
    const rerun = await fleet.rotate(device.config, device.stateDir);
    expect(rerun.code, rerun.stderr).toBe(0);
    const discarded = rerun.stderr.split('\n').filter((line) => line.includes('discarding the kept rotation certificate'));
    expect(discarded).toHaveLength(1);
    expect(discarded[0]).toContain(progress.certificateId);
    expect(lastJson(rerun.stdout).certificateId).not.toBe(progress.certificateId);
    await expectRotated(device, before.key as string);
  });
});
