/**
 * TPM 2.0 simulator stacks (hsm/tpm.sh: swtpm, tpm2-abrmd on a private bus,
 * a tpm2-pkcs11 store) with a token whose device key is made by trustlink
 * itself. Every stack has its own folder and ports, and is stopped by the
 * PIDs tpm.sh recorded.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { HSM_DIR } from './paths.js';
import type { TestPki } from './pki.js';
import { freePort } from './ports.js';
import { provisionKey, type TokenAccess } from './provision.js';
import { parseEnvLines, run, runChecked } from './run.js';
import type { TestToken } from './softhsm.js';

const TPM_SH = join(HSM_DIR, 'tpm.sh');

export interface TpmStack {
  dir: string;
  /** DBUS_SESSION_BUS_ADDRESS, TPM2_PKCS11_STORE, TPM2_PKCS11_TCTI, TPM2TOOLS_TCTI. */
  moduleEnv: Record<string, string>;
  modulePath: string;
  /** TPM2_PT_LOCKOUT_COUNTER: dictionary-attack failures the TPM is counting. */
  lockoutCounter(): Promise<number>;
  stop(): Promise<void>;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** swtpm takes PORT and PORT+1 (its control channel). */
async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort();
    if (port >= 1024 && port < 65534 && (await canListen(port + 1))) return port;
  }
  throw new Error('no two adjacent free loopback ports after 20 tries');
}

export async function startTpm(dir: string): Promise<TpmStack> {
  let started: { port: number; stdout: string } | undefined;
  // Another process may take PORT+1 between the check and swtpm's bind: try a fresh pair.
  for (let attempt = 0; attempt < 3 && !started; attempt++) {
    const port = await freePortPair();
    const result = await run(TPM_SH, ['start', dir, String(port)], { timeoutMs: 30_000 });
    if (result.code === 0) started = { port, stdout: result.stdout };
    else if (!/in use/.test(result.stderr)) throw new Error(`tpm.sh start exited ${result.code}: ${result.stderr}`);
  }
  if (!started) throw new Error('tpm.sh start found its ports taken three times');
  const { TRUSTLINK_PKCS11_MODULE: modulePath, ...moduleEnv } = parseEnvLines(started.stdout);
  const toolEnv = { PATH: process.env.PATH, ...moduleEnv };
  return {
    dir,
    moduleEnv,
    modulePath: modulePath as string,
    async lockoutCounter() {
      const out = await runChecked('tpm2_getcap', ['properties-variable'], { env: toolEnv });
      const value = /TPM2_PT_LOCKOUT_COUNTER:\s*(0x[0-9a-fA-F]+|\d+)/.exec(out)?.[1];
      if (value === undefined) throw new Error(`no TPM2_PT_LOCKOUT_COUNTER in:\n${out}`);
      return Number(value);
    },
    async stop() {
      await runChecked(TPM_SH, ['stop', dir], { timeoutMs: 30_000 });
    },
  };
}

const randomPin = (): string => randomBytes(6).toString('hex');

/**
 * A tpm2-pkcs11 token LABEL with a device key KEYLABEL generated in the TPM
 * by `trustlink hsm keygen`, and its certificate from the test CA, stored in
 * the token and in a file.
 */
export async function createTpmToken(stack: TpmStack, pki: TestPki, options: { label?: string; keyLabel?: string; keyType?: string; cn?: string } = {}): Promise<TestToken & { certUri: string }> {
  const label = options.label ?? 'dev';
  const keyLabel = options.keyLabel ?? 'devkey';
  const pin = randomPin();
  const pinFile = join(stack.dir, `${label}.pin`);
  writeFileSync(pinFile, pin, { mode: 0o600 });
  await runChecked(TPM_SH, ['token', stack.dir, label, pin, randomPin()], { timeoutMs: 30_000 });
  const access: TokenAccess = { env: { PATH: process.env.PATH, HOME: stack.dir, ...stack.moduleEnv }, modulePath: stack.modulePath, pinFile, label };
  const key = await provisionKey(access, pki, stack.dir, { keyLabel, cn: options.cn ?? 'thing-1', ...(options.keyType ? { type: options.keyType } : {}) });
  return {
    env: { ...stack.moduleEnv, TRUSTLINK_PKCS11_MODULE: stack.modulePath, TRUSTLINK_PIN_FILE: pinFile, TRUSTLINK_KEY: key.keyUri },
    moduleEnv: stack.moduleEnv,
    dir: stack.dir,
    label,
    keyLabel,
    modulePath: stack.modulePath,
    pinFile,
    keyUri: key.keyUri,
    certFile: key.certFile,
    certUri: key.certUri,
  };
}
