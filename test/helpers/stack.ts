/**
 * The usual test stack: a temp folder, a test CA, a token (SoftHSM2, or a
 * TPM 2.0 simulator) with a device key and certificate, and a mosquitto
 * that requires client certs.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startMosquitto, type Mosquitto } from './mosquitto.js';
import { makeTempDir } from './paths.js';
import { createPki, type TestPki } from './pki.js';
import { createSoftHsmToken, type TestToken } from './softhsm.js';
import { createTpmToken, startTpm, type TpmStack } from './tpm.js';

export type TokenKind = 'softhsm' | 'tpm';

export interface TestStack {
  dir: string;
  pki: TestPki;
  token: TestToken;
  broker: Mosquitto;
  /** The TPM simulator stack, when the token is in one. */
  tpm: TpmStack | undefined;
  /** Environment for trustlink: what the token's module needs and nothing from the developer's shell. */
  env: NodeJS.ProcessEnv;
  /** Connection flags for the broker and token. */
  args: string[];
  close(): Promise<void>;
}

export interface StackOptions {
  token?: TokenKind;
  /** More mosquitto.conf lines, given the stack's folder (e.g. an acl_file written there). */
  brokerConfig?: (dir: string) => string[];
  /** Runs before mosquitto starts (e.g. to write the CRL its config names). */
  beforeBroker?: (dir: string, pki: TestPki) => Promise<void>;
}

export async function createStack(name: string, options: StackOptions = {}): Promise<TestStack> {
  const temp = makeTempDir(name);
  let tpm: TpmStack | undefined;
  let broker: Mosquitto | undefined;
  try {
    const pki = await createPki(join(temp.path, 'pki'));
    let token: TestToken;
    if (options.token === 'tpm') {
      tpm = await startTpm(join(temp.path, 'tpm'));
      token = await createTpmToken(tpm, pki);
    } else {
      token = await createSoftHsmToken(join(temp.path, 'hsm'), pki);
    }
    await options.beforeBroker?.(temp.path, pki);
    broker = await startMosquitto(temp.path, pki, { extraConfig: options.brokerConfig?.(temp.path) ?? [] });
    const running = { tpm, broker };
    // What the units' StateDirectory= makes on a device.
    mkdirSync(join(temp.path, 'state', 'spool'), { recursive: true, mode: 0o700 });
    // The agent's state and runtime folders (spool, local socket, status file) are the stack's own, never /var/lib or /run.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH, HOME: temp.path, ...token.moduleEnv,
      TRUSTLINK_STATE_DIR: join(temp.path, 'state'), TRUSTLINK_RUNTIME_DIR: join(temp.path, 'run'),
    };
    const args = [
      '--endpoint', 'localhost', '--port', String(broker.port), '--ca-file', pki.caFile,
      '--cert', token.certFile, '--key', token.keyUri, '--pkcs11-module', token.modulePath, '--pin-file', token.pinFile,
    ];
    return {
      dir: temp.path, pki, token, tpm, broker, env, args,
      async close() {
        await running.broker.stop();
        await running.tpm?.stop();
        temp.remove();
      },
    };
  } catch (error) {
    // A stack that failed half-way leaves nothing running behind.
    await broker?.stop();
    await tpm?.stop();
    temp.remove();
    throw error;
  }
}
