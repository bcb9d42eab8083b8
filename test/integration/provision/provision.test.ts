/**
 * trustlink provision against the fleet stand-in on SoftHSM2: first boot,
 * a no-op rerun, a power cut after every step, and the failures (a refused
 * device, a malformed answer, a broker lost mid-way) that must leave the
 * old state as it was.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleetStack, DENIED_SERIAL, type FleetStack } from '../../helpers/fleet-stack.js';
import { runChecked, trustlink } from '../../helpers/run.js';

let fleet: FleetStack;

beforeAll(async () => {
  fleet = await createFleetStack('provision', 'softhsm');
});

afterAll(async () => {
  await fleet?.close();
});

const keyUri = (label: string): string => `pkcs11:token=dev;object=${label}`;
const lastJson = (stdout: string): Record<string, unknown> => JSON.parse(stdout.trim().split('\n').at(-1) as string) as Record<string, unknown>;

describe('trustlink provision (SoftHSM2)', () => {
  it('provisions on first boot, then publishes with the new identity; a second run does nothing', async () => {
    const config = fleet.writeConfig('first');
    const stateDir = join(fleet.stack.dir, 'state-first');
    const first = await fleet.provision(config, stateDir, ['--key', keyUri('fleet-1'), '--param', 'SerialNumber=A1']);
    expect(first.stderr).not.toContain('"level":"error"');
    expect(first.code, first.stderr).toBe(0);
    const result = lastJson(first.stdout);
    expect(result).toMatchObject({ event: 'provision', thingName: 'thing-A1', clientId: 'thing-A1', keyGenerated: true });

    const written = JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
    expect(written).toMatchObject({ endpoint: 'localhost', thingName: 'thing-A1', clientId: 'thing-A1', certFile: expect.stringMatching(/^pkcs11:token=dev;object=fleet-1;.*type=cert$/) });
    expect(fleet.fleet.things.get('thing-A1')).toBe(result.certificateId);
    expect(existsSync(join(stateDir, 'provisioned'))).toBe(true);
    // Nothing secret stays behind: the resume file is gone once provisioned.
    expect(existsSync(join(stateDir, 'provision.json'))).toBe(false);

    // The device's own topics, allowed by the ACL to the new identity only.
    const published = await trustlink(['--config', config, 'publish', '--topic', 'things/thing-A1/hello', '--message', 'hi'], fleet.stack.env);
    expect(published.code, published.stderr).toBe(0);

    const again = await fleet.provision(config, stateDir, ['--key', keyUri('fleet-1'), '--param', 'SerialNumber=A1']);
    expect(again.code, again.stderr).toBe(0);
    expect(lastJson(again.stdout)).toMatchObject({ alreadyProvisioned: true });
    expect(fleet.fleet.things.size).toBe(1);
    expect(await fleet.keysLabelled('fleet-1')).toBe(1);
  });

  it('the self-test says "not provisioned yet" until provisioning has finished', async () => {
    const config = fleet.writeConfig('unprovisioned', { key: keyUri('unprovisioned'), provisioningTemplate: 'FactoryTemplate' });
    const result = await trustlink(['--json', '--config', config, 'selftest', '--report', join(fleet.stack.dir, 'unprovisioned-report.json')], fleet.stack.env);
    expect(result.code).not.toBe(0);
    const report = JSON.parse(result.stdout) as { checks: { id: string; status: string; detail: string; hint?: string }[] };
    expect(report.checks[0]).toMatchObject({ id: 'config', status: 'fail', detail: expect.stringMatching(/^not provisioned yet/), hint: expect.stringContaining('trustlink-provision') });
  });

  it('lets the claim certificate use the fleet-provisioning topics only', async () => {
    const claim = ['--endpoint', 'localhost', '--port', String(fleet.stack.broker.port), '--ca-file', fleet.stack.pki.caFile, '--cert', fleet.claimCert, '--key', fleet.claimKeyFile];
    const refused = await trustlink(['publish', ...claim, '--topic', 'things/thing-A1/hello', '--message', 'x', '--qos', '1'], fleet.stack.env);
    expect(refused.code).toBe(69);
    expect(refused.stderr).toContain('PUBLISH_FAILED');
  });

  it('writes the certificate to a file with --cert-out, and --dry-run touches nothing', async () => {
    const config = fleet.writeConfig('file');
    const before = readFileSync(config, 'utf8');
    const stateDir = join(fleet.stack.dir, 'state-file');
    const certOut = join(fleet.stack.dir, 'device.pem');
    const args = ['--key', keyUri('fleet-file'), '--param', 'SerialNumber=F1', '--cert-out', certOut];
    const plan = await fleet.provision(config, stateDir, [...args, '--dry-run']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(lastJson(plan.stdout).event).toBe('provision-plan');
    expect(readFileSync(config, 'utf8')).toBe(before);
    expect(await fleet.keysLabelled('fleet-file')).toBe(0);

    const done = await fleet.provision(config, stateDir, args);
    expect(done.code, done.stderr).toBe(0);
    expect(readFileSync(certOut, 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(JSON.parse(readFileSync(config, 'utf8')).certFile).toBe(certOut);
  });

  it.each(['key', 'csr', 'certificate', 'registered', 'stored', 'config'])('finishes after a power cut after step "%s", with one key', async (step) => {
    const label = `cut-${step}`;
    const serial = `CUT-${step}`;
    const config = fleet.writeConfig(label);
    const stateDir = join(fleet.stack.dir, `state-${label}`);
    const args = ['--key', keyUri(label), '--param', `SerialNumber=${serial}`];
    const cut = await fleet.provision(config, stateDir, [...args, '--stop-after', step]);
    expect(cut.signal).toBe('SIGKILL');
    expect(existsSync(join(stateDir, 'provisioned'))).toBe(false);

    const rerun = await fleet.provision(config, stateDir, args);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(lastJson(rerun.stdout)).toMatchObject({ thingName: `thing-${serial}`, keyGenerated: false });
    expect(await fleet.keysLabelled(label)).toBe(1);
    const written = JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
    expect(written.thingName).toBe(`thing-${serial}`);
    const connected = await trustlink(['--config', config, 'connect'], fleet.stack.env);
    expect(connected.code, connected.stderr).toBe(0);
    // The ownership token, a one-hour credential, is neither kept nor logged.
    const left = [cut.stdout, cut.stderr, rerun.stdout, rerun.stderr, readFileSync(config, 'utf8'),
      ...readdirSync(stateDir).map((file) => readFileSync(join(stateDir, file), 'utf8'))].join('\n');
    for (const token of fleet.fleet.ownershipTokens) expect(left).not.toContain(token);
  });

  it('discards a kept answer whose certificate is for a key the token no longer holds, and provisions afresh', async () => {
    const { token } = fleet.stack;
    const config = fleet.writeConfig('wiped');
    const stateDir = join(fleet.stack.dir, 'state-wiped');
    const args = ['--key', keyUri('wiped'), '--param', 'SerialNumber=W1'];
    const cut = await fleet.provision(config, stateDir, [...args, '--stop-after', 'registered']);
    expect(cut.signal).toBe('SIGKILL');
    const kept = JSON.parse(readFileSync(join(stateDir, 'provision.json'), 'utf8')) as { certificateId: string };
    // The token is wiped (or re-made) before the rerun: the key the kept certificate was issued for is gone.
    const pin = readFileSync(token.pinFile, 'utf8').trim();
    for (const type of ['privkey', 'pubkey']) {
      await runChecked('pkcs11-tool', ['--module', token.modulePath, '--token-label', token.label, '--login', '--pin', pin, '--delete-object', '--type', type, '--label', 'wiped'],
        { env: { ...process.env, ...token.moduleEnv } });
    }
    expect(await fleet.keysLabelled('wiped')).toBe(0);

    const rerun = await fleet.provision(config, stateDir, args);
    expect(rerun.code, rerun.stderr).toBe(0);
    const result = lastJson(rerun.stdout);
    expect(result).toMatchObject({ thingName: 'thing-W1', keyGenerated: true });
    expect(result.certificateId).not.toBe(kept.certificateId);
    const discarded = rerun.stderr.split('\n').filter((line) => line.includes('discarding the kept provisioning answer'));
    expect(discarded).toHaveLength(1);
    expect(discarded[0]).toContain(kept.certificateId);
    expect(await fleet.keysLabelled('wiped')).toBe(1);
    expect(fleet.fleet.things.get('thing-W1')).toBe(result.certificateId);
    const connected = await trustlink(['--config', config, 'connect'], fleet.stack.env);
    expect(connected.code, connected.stderr).toBe(0);
  });

  it('finishes after a key generation cut short that left only the public half', async () => {
    const { token } = fleet.stack;
    // An orphan public key under the label, as a cut between the two objects' writes would leave.
    await runChecked('pkcs11-tool', ['--module', token.modulePath, '--token-label', token.label, '--login', '--pin', readFileSync(token.pinFile, 'utf8').trim(),
      '--write-object', join(token.dir, `${token.keyLabel}.pub.pem`), '--type', 'pubkey', '--label', 'orphan'], { env: { ...process.env, ...token.moduleEnv } });
    const config = fleet.writeConfig('orphan');
    const done = await fleet.provision(config, join(fleet.stack.dir, 'state-orphan'), ['--key', keyUri('orphan'), '--param', 'SerialNumber=O1']);
    expect(done.code, done.stderr).toBe(0);
    expect(lastJson(done.stdout)).toMatchObject({ keyGenerated: true });
    expect(await fleet.keysLabelled('orphan')).toBe(1);
  });

  it('says what to do when the pre-provisioning hook refuses the device, and changes nothing', async () => {
    const config = fleet.writeConfig('denied');
    const before = readFileSync(config, 'utf8');
    const stateDir = join(fleet.stack.dir, 'state-denied');
    const denied = await fleet.provision(config, stateDir, ['--key', keyUri('denied'), '--param', `SerialNumber=${DENIED_SERIAL}`]);
    expect(denied.code).toBe(69);
    const { error } = JSON.parse(denied.stderr.trim().split('\n').at(-1) as string) as { error: { code: string; message: string; hint: string } };
    expect(error.code).toBe('PROVISION_REJECTED');
    expect(error.message).toContain('403 AccessDenied');
    expect(error.hint).toContain('pre-provisioning hook');
    expect(readFileSync(config, 'utf8')).toBe(before);
    expect(existsSync(join(stateDir, 'provision.json'))).toBe(false);
    expect(existsSync(join(stateDir, 'provisioned'))).toBe(false);
  });

  it('refuses a malformed answer and stores nothing', async () => {
    const config = fleet.writeConfig('malformed');
    const before = readFileSync(config, 'utf8');
    const stateDir = join(fleet.stack.dir, 'state-malformed');
    fleet.fleet.malformed = 'create';
    try {
      const bad = await fleet.provision(config, stateDir, ['--key', keyUri('malformed'), '--param', 'SerialNumber=M1']);
      expect(bad.code).toBe(65);
      expect(bad.stderr).toContain('PROVISION_ANSWER_INVALID');
      expect(bad.stderr).toContain('CreateCertificateFromCsr');
    } finally {
      fleet.fleet.malformed = undefined;
    }
    expect(readFileSync(config, 'utf8')).toBe(before);
    expect(existsSync(join(stateDir, 'provision.json'))).toBe(false);
  });

  // Last: the broker goes down and comes back, and the stand-in's own session with it.
  it('ends with a clear error when the broker drops the connection mid-way', async () => {
    const config = fleet.writeConfig('dropped');
    const before = readFileSync(config, 'utf8');
    const stateDir = join(fleet.stack.dir, 'state-dropped');
    fleet.fleet.onRequest = async (step) => {
      if (step !== 'register') return true;
      await fleet.stack.broker.stop();
      return false;
    };
    const dropped = await fleet.provision(config, stateDir, ['--key', keyUri('dropped'), '--param', 'SerialNumber=D1']);
    expect(dropped.code, dropped.stderr).toBe(69);
    expect(dropped.stderr).toContain('PROVISION_INTERRUPTED');
    expect(readFileSync(config, 'utf8')).toBe(before);
    expect(existsSync(join(stateDir, 'provision.json'))).toBe(false);
    fleet.fleet.onRequest = undefined;
    await fleet.stack.broker.start();
  });
});
