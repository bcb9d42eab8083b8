/**
 * First-boot identity by AWS IoT fleet provisioning. Each step either
 * finds its result already in place (key in the token, state file, stored
 * certificate, config) or makes it, so a run cut short at any point is
 * finished by the next one:
 *   key → csr → certificate (CreateCertificateFromCsr) → registered
 *   (RegisterThing; state file) → stored → config → verified (marker).
 */
import { randomBytes } from 'node:crypto';
import { connect } from '../connection/connect.js';
import type { Config } from '../config/schema.js';
import { TrustlinkError } from '../errors.js';
import type { Logger } from '../log/log.js';
import type { KeyType } from '../pkcs11/keygen.js';
import { requirePin, type PinSources } from '../pkcs11/secret.js';
import { requireModulePath } from '../pkcs11/token.js';
import type { Pkcs11Uri } from '../pkcs11/uri.js';
import { createCertificateFromCsr, csrForKey, registerThing, storeCertificate } from '../fleet/certificate.js';
import { certificateIsFor, ensureDeviceKey } from '../fleet/device-key.js';
import { updateJsonFile } from '../files/json-update.js';
import type { ProvisionState, RegisteredState } from './state.js';

export const STEPS = ['key', 'csr', 'certificate', 'registered', 'stored', 'config', 'verified'] as const;
export type Step = (typeof STEPS)[number];

export interface ProvisionPlan {
  config: Config;
  claimCert: string;
  claimKey: string;
  template: string;
  parameters: Record<string, string>;
  /** The device key's URI; object= names the key to find or generate. */
  deviceKey: Pkcs11Uri;
  keyType: KeyType;
  /** A file, or undefined to store the certificate in the token beside the key. */
  certOut: string | undefined;
  /** The config file to update. */
  configFile: string;
  state: ProvisionState;
  answerTimeoutMs: number;
  pinSources: PinSources;
}

export interface ProvisionHooks {
  log: Logger;
  /** Called after each step; a test hook kills the process there to simulate a power cut. */
  stepDone(step: Step, detail: string): void;
}

export interface ProvisionResult {
  alreadyProvisioned: boolean;
  thingName: string;
  clientId: string;
  certificateId: string | undefined;
  certRef: string;
  keyUri: string;
  keyGenerated: boolean;
}

/** CreateCertificateFromCsr then RegisterThing, on one claim connection. */
async function register(plan: ProvisionPlan, csrPem: string, hooks: ProvisionHooks): Promise<RegisteredState> {
  // The claim identity replaces the device's; a fresh client ID so two devices of a batch never collide.
  const claimConfig: Config = { ...plan.config, auth: 'mtls', websocket: false, certFile: plan.claimCert, key: plan.claimKey, thingName: undefined, clientId: `provision-${randomBytes(6).toString('hex')}` };
  const connection = await connect(claimConfig, hooks.log, { retry: false });
  try {
    const certificate = await createCertificateFromCsr(connection.session, csrPem, plan.answerTimeoutMs);
    hooks.stepDone('certificate', certificate.certificateId);
    const thing = await registerThing(connection.session, plan.template, certificate.certificateOwnershipToken, plan.parameters, plan.answerTimeoutMs);
    return {
      step: 'registered',
      certificateId: certificate.certificateId,
      certificatePem: certificate.certificatePem,
      thingName: thing.thingName,
      clientId: thing.deviceConfiguration.clientId ?? thing.thingName,
    };
  } finally {
    await connection.close();
  }
}

export async function provision(plan: ProvisionPlan, hooks: ProvisionHooks): Promise<ProvisionResult> {
  const modulePath = requireModulePath(plan.config.pkcs11Module, plan.deviceKey);
  const label = plan.deviceKey.object;
  if (label === undefined) {
    throw new TrustlinkError('USAGE', 'the device key URI needs object=LABEL: the key is found, or generated, under that label', {
      hint: "e.g. --key 'pkcs11:token=dev;object=devkey'",
    });
  }
  const key = await ensureDeviceKey({ modulePath, uri: plan.deviceKey, label, pin: requirePin(plan.pinSources), type: plan.keyType });
  hooks.stepDone('key', key.generated ? `generated ${plan.keyType} key "${label}"` : `reusing key "${label}"`);

  let registered = plan.state.readRegistered();
  if (registered !== undefined && !certificateIsFor(registered.certificatePem, key.publicKeySpki)) {
    // The token was wiped or re-made after a run cut short: that certificate can never work with this key.
    hooks.log.warn('discarding the kept provisioning answer: its certificate was issued for another key than the one in the token now', {
      file: plan.state.file, certificateId: registered.certificateId, thingName: registered.thingName, key: key.uri,
      reason: key.generated ? 'the key was generated afresh in this run (the token was wiped or re-made)' : 'the token holds another key under this label',
    });
    plan.state.discardRegistered();
    registered = undefined;
  }
  const access = { modulePath, pin: requirePin(plan.pinSources) };
  if (registered === undefined) {
    const csrPem = await csrForKey(access, key.uri, plan.parameters.SerialNumber ?? label);
    hooks.stepDone('csr', 'CSR signed in the token');
    registered = await register(plan, csrPem, hooks);
    plan.state.saveRegistered(registered);
  }
  hooks.stepDone('registered', `thing "${registered.thingName}", certificate ${registered.certificateId}`);

  const certRef = await storeCertificate(access, { certOut: plan.certOut, token: plan.deviceKey, keyLabel: label }, registered.certificatePem);
  hooks.stepDone('stored', certRef);
  const identity = { certFile: certRef, key: key.uri, thingName: registered.thingName, clientId: registered.clientId };
  updateJsonFile(plan.configFile, identity);
  hooks.stepDone('config', plan.configFile);

  // The new identity is a certificate: proven over mTLS whatever else the config says.
  const proof = await connect({ ...plan.config, ...identity, auth: 'mtls', websocket: false }, hooks.log, { retry: false });
  await proof.close();
  plan.state.markProvisioned(registered.thingName);
  hooks.stepDone('verified', `connected as "${registered.clientId}"`);
  return { alreadyProvisioned: false, thingName: registered.thingName, clientId: registered.clientId, certificateId: registered.certificateId, certRef, keyUri: key.uri, keyGenerated: key.generated };
}
