/**
 * trustlink selftest with the device key in a TPM 2.0 simulator (swtpm +
 * tpm2-abrmd + tpm2-pkcs11) and a real mosquitto. A wrong PIN must cost the
 * TPM exactly one dictionary-attack failure.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROLE_ALIAS, startProvider } from '../../helpers/credentials.js';
import { trustlink } from '../../helpers/run.js';
import { createStack, type TestStack } from '../../helpers/stack.js';
import type { CredentialsProviderStandIn } from '../../standin/credentials-provider.js';

interface Check {
  id: string;
  status: string;
  detail: string;
}

let stack: TestStack;
let provider: CredentialsProviderStandIn;

beforeAll(async () => {
  stack = await createStack('selftest-tpm', { token: 'tpm' });
  provider = await startProvider(stack.pki);
});

afterAll(async () => {
  await provider?.stop();
  await stack?.close();
});

async function selftest(args: string[]): Promise<{ code: number | null; checks: Record<string, Check> }> {
  const result = await trustlink(['--json', 'selftest', ...args, '--thing-name', 'thing-1', '--report', join(stack.dir, 'report.json')], { ...stack.env, TRUSTLINK_SELFTEST_TOPIC: 'selftest/tpm' });
  const report = JSON.parse(result.stdout) as { checks: Check[] };
  return { code: result.code, checks: Object.fromEntries(report.checks.map((check) => [check.id, check])) };
}

it('passes every check with the key in the TPM, round trip and credentials provider included', async () => {
  const { code, checks } = await selftest([...stack.args, '--credentials-endpoint', provider.endpoint, '--role-alias', ROLE_ALIAS]);
  expect(code).toBe(0);
  const notPassed = Object.values(checks).filter((check) => check.status !== 'pass').map((check) => `${check.id}: ${check.status}`);
  // The helper's certificate is valid 30 days: the expiry horizon warns.
  expect(notPassed).toEqual(['certificate: warn']);
  // The TPM key signed the credentials provider's handshake too.
  expect(checks.credentials?.detail).toContain(`access key …${provider.issued.at(-1)!.accessKeyId.slice(-4)}`);
  expect(checks.token?.detail).toContain('tpm2-pkcs11 does not report PIN retries or lockout');
  expect(checks.key?.detail).toContain('sensitive=true, extractable=false, never-extractable=true');
});

it('reads a certificate stored in the token (--cert pkcs11:...;type=cert)', async () => {
  const args = [...stack.args];
  // The test helper imports the certificate under the key's label; no token= means the key's token.
  args[args.indexOf('--cert') + 1] = `pkcs11:object=${stack.token.keyLabel};type=cert`;
  const { code, checks } = await selftest(args);
  expect(code).toBe(0);
  expect(checks.certificate).toMatchObject({ status: 'warn', detail: expect.stringContaining('CN=thing-1, matches the key') });
  expect(checks.clock?.status).toBe('pass');
  expect(checks.pubsub?.status).toBe('pass');
});

it('tries a wrong PIN once: the TPM counts exactly one failure', async () => {
  const wrongPin = join(stack.dir, 'wrong-pin');
  writeFileSync(wrongPin, '000000', { mode: 0o600 });
  const args = [...stack.args];
  args[args.indexOf('--pin-file') + 1] = wrongPin;
  const before = await stack.tpm!.lockoutCounter();
  const { code, checks } = await selftest(args);
  expect(code).toBe(1);
  expect(checks.login).toMatchObject({ status: 'fail', detail: expect.stringContaining('tried once, not retried') });
  expect(checks.key?.status).toBe('skip');
  expect(await stack.tpm!.lockoutCounter()).toBe(before + 1);
});
