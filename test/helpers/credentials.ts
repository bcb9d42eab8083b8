/**
 * The stack credentials tests share: a test CA, a SoftHSM token with the
 * device key (certificate CN thing-1), the credentials-provider stand-in on
 * loopback, and a cache folder on tmpfs (/dev/shm), each their own.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CredentialsProviderStandIn, type CredentialsProviderOptions } from '../standin/credentials-provider.js';
import { makeTempDir } from './paths.js';
import { createPki, type TestPki } from './pki.js';
import { createSoftHsmToken, type TestToken } from './softhsm.js';

export const ROLE_ALIAS = 'test-role-alias';
export const THING_NAME = 'thing-1';

/** A device of its own: token, certificate, and the flags and environment to use them. */
export interface TestDevice {
  token: TestToken;
  /** Identity and provider flags for `trustlink creds`. */
  args: string[];
  env: NodeJS.ProcessEnv;
}

export interface CredentialsStack {
  dir: string;
  pki: TestPki;
  token: TestToken;
  provider: CredentialsProviderStandIn;
  /** A fresh folder on tmpfs, removed by close(). */
  ramDir: string;
  env: NodeJS.ProcessEnv;
  /** Identity and provider flags for `trustlink creds`. */
  args: string[];
  /**
   * Another token with a key and certificate (CN thing-1) asking `provider`.
   * SoftHSM2 rewrites its token file at every login, so processes that run
   * at the same moment need tokens of their own.
   */
  newDevice(name: string, provider: CredentialsProviderStandIn): Promise<TestDevice>;
  close(): Promise<void>;
}

function deviceFor(dir: string, pki: TestPki, token: TestToken, provider: CredentialsProviderStandIn): TestDevice {
  return {
    token,
    env: { PATH: process.env.PATH, HOME: dir, SOFTHSM2_CONF: token.env.SOFTHSM2_CONF },
    args: [
      '--credentials-endpoint', provider.endpoint, '--role-alias', ROLE_ALIAS, '--thing-name', THING_NAME, '--ca-file', pki.caFile,
      '--cert', token.certFile, '--key', token.keyUri, '--pkcs11-module', token.modulePath, '--pin-file', token.pinFile,
    ],
  };
}

/** A stand-in of its own (started), serving ROLE_ALIAS with the test PKI's server certificate. */
export async function startProvider(pki: TestPki, options: Pick<CredentialsProviderOptions, 'lifetimeSeconds' | 'issue'> = {}): Promise<CredentialsProviderStandIn> {
  const provider = new CredentialsProviderStandIn({
    caPem: readFileSync(pki.caFile, 'utf8'),
    certPem: readFileSync(pki.serverCert, 'utf8'),
    keyPem: readFileSync(pki.serverKey, 'utf8'),
    roleAliases: [ROLE_ALIAS],
    ...options,
  });
  await provider.start();
  return provider;
}

export async function createCredentialsStack(name: string): Promise<CredentialsStack> {
  const temp = makeTempDir(name);
  const pki = await createPki(join(temp.path, 'pki'));
  const token = await createSoftHsmToken(join(temp.path, 'hsm'), pki, { cn: THING_NAME });
  const provider = await startProvider(pki);
  const ramDir = mkdtempSync(`/dev/shm/trustlink-${name}-`);
  const { env, args } = deviceFor(temp.path, pki, token, provider);
  // One at a time: pki.sh certify updates the CA's serial file, which concurrent runs corrupt.
  let certifying: Promise<unknown> = Promise.resolve();
  return {
    dir: temp.path, pki, token, provider, ramDir, env, args,
    newDevice(deviceName, deviceProvider) {
      const made = certifying.then(() => createSoftHsmToken(join(temp.path, `hsm-${deviceName}`), pki, { cn: THING_NAME }));
      certifying = made.catch(() => undefined);
      return made.then((deviceToken) => deviceFor(temp.path, pki, deviceToken, deviceProvider));
    },
    async close() {
      await provider.stop();
      rmSync(ramDir, { recursive: true, force: true });
      temp.remove();
    },
  };
}
