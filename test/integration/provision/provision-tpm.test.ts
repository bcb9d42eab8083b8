/**
 * trustlink provision with the device key generated in a TPM 2.0 simulator,
 * everything from the config file's provisioning* keys, and the claim key
 * itself in the TPM (its "devkey", certificate CN thing-1): first boot,
 * then a power cut after the certificate was stored and a rerun.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createFleetStack, TEMPLATE, type FleetStack } from '../../helpers/fleet-stack.js';
import { trustlink } from '../../helpers/run.js';

let fleet: FleetStack;

beforeAll(async () => {
  fleet = await createFleetStack('provision-tpm', 'tpm', { claimCns: ['thing-1'] });
});

afterAll(async () => {
  await fleet?.close();
});

function writeConfig(name: string, serial: string): string {
  const { token } = fleet.stack;
  return fleet.writeConfig(name, {
    key: `pkcs11:token=${token.label};object=${name}`,
    provisioningClaimCert: token.certFile,
    provisioningClaimKey: token.keyUri,
    provisioningTemplate: TEMPLATE,
    provisioningParameters: [`SerialNumber=${serial}`],
  });
}

const provision = (config: string, stateDir: string, args: string[] = []) =>
  trustlink(['--json', '--config', config, 'provision', '--state-dir', stateDir, ...args], fleet.stack.env, 90_000);

it('provisions with the key born in the TPM, from the config file alone, and publishes with it', async () => {
  const config = writeConfig('tpm-first', 'T1');
  const stateDir = join(fleet.stack.dir, 'state-first');
  const done = await provision(config, stateDir);
  expect(done.code, done.stderr).toBe(0);
  expect(JSON.parse(readFileSync(config, 'utf8'))).toMatchObject({ thingName: 'thing-T1', certFile: expect.stringContaining('type=cert') });
  expect(existsSync(join(stateDir, 'provisioned'))).toBe(true);
  const published = await trustlink(['--config', config, 'publish', '--topic', 'things/thing-T1/hello', '--message', 'hi'], fleet.stack.env);
  expect(published.code, published.stderr).toBe(0);
  expect(await fleet.keysLabelled('tpm-first')).toBe(1);
});

it('finishes after a power cut once the certificate is in the TPM token, with one key', async () => {
  const config = writeConfig('tpm-cut', 'T2');
  const stateDir = join(fleet.stack.dir, 'state-cut');
  const cut = await provision(config, stateDir, ['--stop-after', 'stored']);
  expect(cut.signal).toBe('SIGKILL');
  const rerun = await provision(config, stateDir);
  expect(rerun.code, rerun.stderr).toBe(0);
  expect(await fleet.keysLabelled('tpm-cut')).toBe(1);
  expect(JSON.parse(readFileSync(config, 'utf8')).thingName).toBe('thing-T2');
});
