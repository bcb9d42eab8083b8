/**
 * The usual test stack plus the AWS IoT stand-in in front of its mosquitto,
 * an RSA token-signing key (in a SoftHSM token of its own) registered with
 * the stand-in's custom authorizer, and the flags each auth mode needs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStandin, type Standin } from '../standin/standin.js';
import { runChecked } from './run.js';
import { createSoftHsmToken, type TestToken } from './softhsm.js';
import { createStack, type TestStack } from './stack.js';

export const AUTHORIZER = { name: 'test-authorizer', tokenKeyName: 'device-token' };
export const REGION = 'eu-west-1';

export interface StandinStack {
  stack: TestStack;
  standin: Standin;
  /** The RSA token-signing key, in a token of its own. */
  signer: TestToken;
  /** Endpoint and CA flags for a stand-in port. */
  endpoint(port: number): string[];
  /** base64 RSA-SHA256 signature of `value` by the signer key, made by pkcs11-tool (test tooling, PIN in argv). */
  signWithSigner(value: string): Promise<string>;
  /** mTLS device flags (token key and certificate), without endpoint. */
  device: string[];
  close(): Promise<void>;
}

export async function createStandinStack(name: string): Promise<StandinStack> {
  const stack = await createStack(name);
  const signer = await createSoftHsmToken(join(stack.dir, 'signer'), stack.pki, { label: 'signer', keyLabel: 'authkey', keyType: 'rsa:2048', cn: 'authorizer' });
  const standin = await startStandin({
    dir: stack.dir,
    pki: stack.pki,
    broker: stack.broker,
    region: REGION,
    authorizer: { ...AUTHORIZER, publicKeyPem: readFileSync(join(signer.dir, 'authkey.pub.pem'), 'utf8') },
  });
  const { token } = stack;
  return {
    stack,
    standin,
    signer,
    endpoint: (port) => ['--endpoint', 'localhost', '--port', String(port), '--ca-file', stack.pki.caFile],
    async signWithSigner(value) {
      const input = join(signer.dir, 'to-sign');
      const output = join(signer.dir, 'signature');
      writeFileSync(input, value);
      await runChecked('pkcs11-tool', [
        '--module', signer.modulePath, '--token-label', signer.label, '--login', '--pin', readFileSync(signer.pinFile, 'utf8').trim(),
        '--sign', '--mechanism', 'SHA256-RSA-PKCS', '--label', signer.keyLabel, '--input-file', input, '--output-file', output,
      ], { env: { ...process.env, ...signer.env } });
      return readFileSync(output).toString('base64');
    },
    device: ['--cert', token.certFile, '--key', token.keyUri, '--pkcs11-module', token.modulePath, '--pin-file', token.pinFile],
    async close() {
      await standin.stop();
      await stack.close();
    },
  };
}
