/**
 * A stack for `trustlink provision`: the usual stack (SoftHSM2 or the TPM
 * simulator) whose mosquitto enforces the fleet ACL, the fleet stand-in,
 * a claim identity (a PEM key file, CN "claim"; the token's own "devkey",
 * CN thing-1, can serve as a claim key in the token too) and a device config
 * file that holds only what the factory image would.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fleetAcl, rotationAcl, startFleetStandin, type FleetStandin } from '../standin/fleet.js';
import { hsm } from './provision.js';
import { trustlink, type RunResult } from './run.js';
import type { TestPki } from './pki.js';
import { createStack, type TestStack, type TokenKind } from './stack.js';

export const TEMPLATE = 'FactoryTemplate';
export const DENIED_SERIAL = 'SN-DENIED';

export interface FleetStack {
  stack: TestStack;
  fleet: FleetStandin;
  claimCert: string;
  claimKeyFile: string;
  /** Writes a fresh device config file (endpoint, CA, module, PIN file) and returns its path. */
  writeConfig(name: string, extra?: Record<string, unknown>): string;
  /** `trustlink --json provision` with the claim flags; `args` add to or override them. */
  provision(configFile: string, stateDir: string, args: string[]): Promise<RunResult>;
  /** `trustlink --json rotate` for a provisioned config. */
  rotate(configFile: string, stateDir: string, args?: string[]): Promise<RunResult>;
  /** Private keys with this label in the token. */
  keysLabelled(label: string): Promise<number>;
  close(): Promise<void>;
}

export interface FleetStackOptions {
  /** Claim certificates' CNs allowed the provisioning topics. */
  claimCns?: string[];
  /** Devices may use the fleet-provisioning and rotator topics with their own certificates, and the broker reads a CRL. */
  rotation?: boolean;
}

export async function createFleetStack(name: string, token: TokenKind, options: FleetStackOptions = {}): Promise<FleetStack> {
  const claimCns = options.claimCns ?? ['claim'];
  const crlFile = (dir: string): string => join(dir, 'crl.pem');
  const stack = await createStack(name, {
    token,
    brokerConfig: (dir) => {
      const aclFile = join(dir, 'fleet.acl');
      writeFileSync(aclFile, [...claimCns.map((cn) => fleetAcl(cn, TEMPLATE)), ...(options.rotation ? [rotationAcl(TEMPLATE)] : [])].join('\n'));
      return [`acl_file ${aclFile}`, ...(options.rotation ? [`crlfile ${crlFile(dir)}`] : [])];
    },
    ...(options.rotation ? { beforeBroker: async (dir: string, pki: TestPki) => void (await pki.crl(crlFile(dir))) } : {}),
  });
  try {
    const fleet = await startFleetStandin({
      dir: stack.dir,
      pki: stack.pki,
      broker: stack.broker,
      ...(options.rotation ? { crlFile: crlFile(stack.dir) } : {}),
      templates: { [TEMPLATE]: { required: ['SerialNumber'], thingName: (parameters) => `thing-${parameters.SerialNumber}`, denySerials: [DENIED_SERIAL] } },
    });
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const claimKeyFile = join(stack.dir, 'claim.key');
    writeFileSync(claimKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(stack.dir, 'claim.pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    const claimCert = await stack.pki.certify(join(stack.dir, 'claim.pub.pem'), 'claim', join(stack.dir, 'claim.pem'));
    const { token: device, broker, pki } = stack;
    return {
      stack, fleet, claimCert, claimKeyFile,
      writeConfig(configName, extra = {}) {
        const file = join(stack.dir, `${configName}.json`);
        writeFileSync(file, `${JSON.stringify({
          endpoint: 'localhost', port: broker.port, caFile: pki.caFile, pkcs11Module: device.modulePath, pinFile: device.pinFile, ...extra,
        }, null, 2)}\n`);
        return file;
      },
      provision(configFile, stateDir, args) {
        return trustlink(['--json', '--config', configFile, 'provision', '--state-dir', stateDir,
          '--claim-cert', claimCert, '--claim-key', claimKeyFile, '--template', TEMPLATE, '--answer-timeout', '10', ...args], stack.env, 90_000);
      },
      rotate(configFile, stateDir, args = []) {
        return trustlink(['--json', '--config', configFile, 'rotate', '--state-dir', stateDir, '--answer-timeout', '10', ...args], stack.env, 120_000);
      },
      async keysLabelled(label) {
        const access = { env: stack.env, modulePath: device.modulePath, pinFile: device.pinFile, label: device.label };
        const inventory = JSON.parse((await hsm(access, ['list', '--token', device.label])).stdout) as { slots: { token?: { objects?: { keys: { class: string; label: string }[] } } }[] };
        return inventory.slots.flatMap((slot) => slot.token?.objects?.keys ?? []).filter((key) => key.class === 'private' && key.label === label).length;
      },
      async close() {
        await fleet.stop();
        await stack.close();
      },
    };
  } catch (error) {
    await stack.close();
    throw error;
  }
}
