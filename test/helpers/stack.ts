/**
 * The usual test stack: a temp folder, a test CA, a SoftHSM token with a
 * device key and certificate, and a mosquitto that requires client certs.
 */
import { join } from 'node:path';
import { startMosquitto, type Mosquitto } from './mosquitto.js';
import { makeTempDir } from './paths.js';
import { createPki, type TestPki } from './pki.js';
import { createSoftHsmToken, type TestToken } from './softhsm.js';

export interface TestStack {
  dir: string;
  pki: TestPki;
  token: TestToken;
  broker: Mosquitto;
  /** Environment for trustlink: the token's SoftHSM config and nothing from the developer's shell. */
  env: NodeJS.ProcessEnv;
  /** Connection flags for the broker and token. */
  args: string[];
  close(): Promise<void>;
}

export async function createStack(name: string): Promise<TestStack> {
  const temp = makeTempDir(name);
  const pki = await createPki(join(temp.path, 'pki'));
  const token = await createSoftHsmToken(join(temp.path, 'hsm'), pki);
  const broker = await startMosquitto(temp.path, pki);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: temp.path, SOFTHSM2_CONF: token.env.SOFTHSM2_CONF };
  const args = [
    '--endpoint', 'localhost', '--port', String(broker.port), '--ca-file', pki.caFile,
    '--cert', token.certFile, '--key', token.keyUri, '--pkcs11-module', token.modulePath, '--pin-file', token.pinFile,
  ];
  return {
    dir: temp.path, pki, token, broker, env, args,
    async close() {
      await broker.stop();
      temp.remove();
    },
  };
}
