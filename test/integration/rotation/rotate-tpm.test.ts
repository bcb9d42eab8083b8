/**
 * trustlink rotate with the keys in a TPM 2.0 simulator (tpm2-pkcs11): a
 * device provisioned into the TPM rotates to a new key born there, publishes
 * under the new certificate with one key left; and a power cut once the new
 * certificate is stored is finished by a rerun.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createFleetStack, TEMPLATE, type FleetStack } from '../../helpers/fleet-stack.js';
import { trustlink } from '../../helpers/run.js';

let fleet: FleetStack;

beforeAll(async () => {
  fleet = await createFleetStack('rotate-tpm', 'tpm', { claimCns: ['thing-1'], rotation: true });
}, 120_000);

afterAll(async () => {
  await fleet?.close();
});

async function provisioned(label: string, serial: string): Promise<{ config: string; stateDir: string }> {
  const { token } = fleet.stack;
  const config = fleet.writeConfig(label, {
    key: `pkcs11:token=${token.label};object=${label}`,
    provisioningClaimCert: token.certFile,
    provisioningClaimKey: token.keyUri,
    provisioningTemplate: TEMPLATE,
    provisioningParameters: [`SerialNumber=${serial}`],
  });
  const stateDir = join(fleet.stack.dir, `state-${label}`);
  const done = await trustlink(['--json', '--config', config, 'provision', '--state-dir', stateDir], fleet.stack.env, 120_000);
  expect(done.code, done.stderr).toBe(0);
  return { config, stateDir };
}

const keyOf = (config: string): string => (JSON.parse(readFileSync(config, 'utf8')) as { key: string }).key;

it('rotates to a new key born in the TPM, registers it, and publishes under the new certificate with one key left', async () => {
  const { config, stateDir } = await provisioned('tpm-rot', 'T1');
  const oldKey = keyOf(config);
  const rotated = await fleet.rotate(config, stateDir);
  expect(rotated.code, rotated.stderr).toBe(0);
  expect(keyOf(config)).toMatch(/object=tpm-rot-r\d{14}/);
  expect(keyOf(config)).not.toBe(oldKey);
  expect(await fleet.keysLabelled('tpm-rot')).toBe(0);
  expect(await fleet.keysLabelled(/object=([^;]+)/.exec(keyOf(config))?.[1] as string)).toBe(1);
  const published = await trustlink(['--config', config, 'publish', '--topic', 'things/thing-T1/hello', '--message', 'rotated'], fleet.stack.env);
  expect(published.code, published.stderr).toBe(0);
});

it('finishes after a power cut once the new certificate is stored in the TPM token', async () => {
  const { config, stateDir } = await provisioned('tpm-cut', 'T2');
  const cut = await fleet.rotate(config, stateDir, ['--stop-after', 'stored']);
  expect(cut.signal).toBe('SIGKILL');
  const between = await trustlink(['--config', config, 'connect'], fleet.stack.env, 90_000);
  expect(between.code, between.stderr).toBe(0);
  const rerun = await fleet.rotate(config, stateDir);
  expect(rerun.code, rerun.stderr).toBe(0);
  expect(await fleet.keysLabelled('tpm-cut')).toBe(0);
  const connected = await trustlink(['--config', config, 'connect'], fleet.stack.env, 90_000);
  expect(connected.code, connected.stderr).toBe(0);
});
