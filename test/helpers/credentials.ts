/**
 * The stack credentials tests share: a test CA, a SoftHSM token with the
 * device key (certificate CN thing-1), the credentials-provider stand-in on
 * loopback, and a cache folder on tmpfs (/dev/shm), each their own.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CredentialsProviderStandIn } from '../standin/credentials-provider.js';
import { makeTempDir } from './paths.js';
import { createPki, type TestPki } from './pki.js';
import { createSoftHsmToken, type TestToken } from './softhsm.js';

export const ROLE_ALIAS = 'test-role-alias';
export const THING_NAME = 'thing-1';

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
  close(): Promise<void>;
}

export async function createCredentialsStack(name: string): Promise<CredentialsStack> {
  const temp = makeTempDir(name);
  const pki = await createPki(join(temp.path, 'pki'));
  const token = await createSoftHsmToken(join(temp.path, 'hsm'), pki, { cn: THING_NAME });
  const provider = new CredentialsProviderStandIn({
    caPem: readFileSync(pki.caFile, 'utf8'),
    certPem: readFileSync(pki.serverCert, 'utf8'),
    keyPem: readFileSync(pki.serverKey, 'utf8'),
    roleAliases: [ROLE_ALIAS],
  });
  await provider.start();
  const ramDir = mkdtempSync(`/dev/shm/trustlink-${name}-`);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: temp.path, SOFTHSM2_CONF: token.env.SOFTHSM2_CONF };
  const args = [
    '--credentials-endpoint', provider.endpoint, '--role-alias', ROLE_ALIAS, '--thing-name', THING_NAME, '--ca-file', pki.caFile,
    '--cert', token.certFile, '--key', token.keyUri, '--pkcs11-module', token.modulePath, '--pin-file', token.pinFile,
  ];
  return {
    dir: temp.path, pki, token, provider, ramDir, env, args,
    async close() {
      await provider.stop();
      rmSync(ramDir, { recursive: true, force: true });
      temp.remove();
    },
  };
}
