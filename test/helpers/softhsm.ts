/** SoftHSM2 tokens for tests (hsm/softhsm.sh): a token folder and SOFTHSM2_CONF of their own. */
import { join } from 'node:path';
import { HSM_DIR } from './paths.js';
import type { TestPki } from './pki.js';
import { parseEnvLines, runChecked } from './run.js';

export interface TestToken {
  /** SOFTHSM2_CONF, TRUSTLINK_PKCS11_MODULE, TRUSTLINK_PIN_FILE, TRUSTLINK_KEY. */
  env: Record<string, string>;
  /** What the module itself needs in trustlink's environment (SOFTHSM2_CONF, or the TPM stack's variables). */
  moduleEnv: Record<string, string>;
  dir: string;
  label: string;
  keyLabel: string;
  modulePath: string;
  pinFile: string;
  keyUri: string;
  /** The device certificate for the token key, signed by the test CA. */
  certFile: string;
}

const SOFTHSM = join(HSM_DIR, 'softhsm.sh');

export async function createSoftHsmToken(dir: string, pki: TestPki, options: { label?: string; keyLabel?: string; keyType?: string; cn?: string } = {}): Promise<TestToken> {
  const label = options.label ?? 'dev';
  const keyLabel = options.keyLabel ?? 'devkey';
  const env = parseEnvLines(await runChecked(SOFTHSM, ['token', dir, label, keyLabel, options.keyType ?? 'EC:prime256v1']));
  const publicKey = join(dir, `${keyLabel}.pub.pem`);
  await runChecked(SOFTHSM, ['pubkey', dir, label, keyLabel, publicKey]);
  const certFile = await pki.certify(publicKey, options.cn ?? 'thing-1', join(dir, `${keyLabel}.pem`));
  return {
    env,
    moduleEnv: { SOFTHSM2_CONF: env.SOFTHSM2_CONF as string },
    dir,
    label,
    keyLabel,
    modulePath: env.TRUSTLINK_PKCS11_MODULE as string,
    pinFile: env.TRUSTLINK_PIN_FILE as string,
    keyUri: env.TRUSTLINK_KEY as string,
    certFile,
  };
}
