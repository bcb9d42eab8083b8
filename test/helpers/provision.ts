/**
 * Gives a token a device key and certificate the way a factory would, with
 * trustlink's own tools: hsm keygen, hsm csr, the test CA, hsm import-cert.
 */
import { join } from 'node:path';
import type { TestPki } from './pki.js';
import { trustlink, type RunResult } from './run.js';

export interface TokenAccess {
  /** PATH, HOME and what the module needs (SOFTHSM2_CONF, the TPM stack's variables). */
  env: NodeJS.ProcessEnv;
  modulePath: string;
  pinFile: string;
  label: string;
}

export interface ProvisionedKey {
  keyLabel: string;
  keyUri: string;
  /** The certificate stored in the token. */
  certUri: string;
  /** The same certificate as a file. */
  certFile: string;
  csrFile: string;
  publicKeyPem: string;
}

/** `trustlink hsm ...` against the token; throws with stderr unless it exits 0. */
export async function hsm(token: TokenAccess, args: string[]): Promise<RunResult> {
  const [command, ...rest] = args;
  const result = await trustlink(['--json', 'hsm', command as string, ...rest, '--pkcs11-module', token.modulePath, '--pin-file', token.pinFile], token.env);
  if (result.code !== 0) throw new Error(`trustlink hsm ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result;
}

export async function provisionKey(token: TokenAccess, pki: TestPki, dir: string, options: { keyLabel: string; cn: string; type?: string }): Promise<ProvisionedKey> {
  const keygen = JSON.parse((await hsm(token, ['keygen', '--token', token.label, '--label', options.keyLabel, '--type', options.type ?? 'ec-p256'])).stdout);
  const csrFile = join(dir, `${options.keyLabel}.csr`);
  await hsm(token, ['csr', '--key', keygen.uri, '--subject', `CN=${options.cn}`, '--out', csrFile]);
  const certFile = await pki.sign(csrFile, join(dir, `${options.keyLabel}.pem`));
  const imported = JSON.parse((await hsm(token, ['import-cert', '--token', token.label, '--label', options.keyLabel, '--cert', certFile])).stdout);
  return { keyLabel: options.keyLabel, keyUri: keygen.uri, certUri: imported.uri, certFile, csrFile, publicKeyPem: keygen.publicKeyPem };
}
