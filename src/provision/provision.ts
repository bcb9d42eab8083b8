/**
 * First-boot identity by AWS IoT fleet provisioning. Each step either
 * finds its result already in place (key in the token, state file, stored
 * certificate, config) or makes it, so a run cut short at any point is
 * finished by the next one:
 *   key → csr → certificate (CreateCertificateFromCsr) → registered
 *   (RegisterThing; state file) → stored → config → verified (marker).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { connect } from '../connection/connect.js';
import type { Config } from '../config/schema.js';
import { TrustlinkError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic-write.js';
import type { Logger } from '../log/log.js';
import type { KeyType } from '../pkcs11/keygen.js';
import { requirePin, type PinSources } from '../pkcs11/secret.js';
import { openToken, openTokenKey, requireModulePath } from '../pkcs11/token.js';
import { parsePkcs11Uri, type Pkcs11Uri } from '../pkcs11/uri.js';
import { certificateIsFor, ensureDeviceKey } from './device-key.js';
import { CREATE_FROM_CSR_TOPIC, parseCertificateAnswer, parseRegisterAnswer, registerThingTopic, rejectionError } from './fleet-api.js';
import { request } from './request.js';
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

export function parseParameters(pairs: string[]): Record<string, string> {
  return Object.fromEntries(pairs.map((pair) => {
    const at = pair.indexOf('=');
    return [pair.slice(0, at), pair.slice(at + 1)];
  }));
}

/** CreateCertificateFromCsr then RegisterThing, on one claim connection. */
async function register(plan: ProvisionPlan, csrPem: string, hooks: ProvisionHooks): Promise<RegisteredState> {
  // The claim identity replaces the device's; a fresh client ID so two devices of a batch never collide.
  const claimConfig: Config = { ...plan.config, auth: 'mtls', websocket: false, certFile: plan.claimCert, key: plan.claimKey, thingName: undefined, clientId: `provision-${randomBytes(6).toString('hex')}` };
  const connection = await connect(claimConfig, hooks.log, { retry: false });
  try {
    const created = await request(connection.session, CREATE_FROM_CSR_TOPIC, { certificateSigningRequest: csrPem }, plan.answerTimeoutMs);
    if (!created.accepted) throw rejectionError('CreateCertificateFromCsr', created.payload);
    const certificate = parseCertificateAnswer(created.payload);
    hooks.stepDone('certificate', certificate.certificateId);
    const registered = await request(connection.session, registerThingTopic(plan.template), {
      certificateOwnershipToken: certificate.certificateOwnershipToken,
      parameters: plan.parameters,
    }, plan.answerTimeoutMs);
    if (!registered.accepted) throw rejectionError('RegisterThing', registered.payload);
    const thing = parseRegisterAnswer(registered.payload);
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

async function makeCsr(plan: ProvisionPlan, keyUri: string, modulePath: string): Promise<string> {
  // Loaded only here: the X.509 library is large and only provisioning and hsm csr need it.
  const { createCsr, parseSubject } = await import('../pkcs11/csr.js');
  const key = openTokenKey({ modulePath, uri: parsePkcs11Uri(keyUri), pin: requirePin(plan.pinSources) });
  try {
    // AWS IoT takes only the public key from the CSR; the CN helps a human reading the certificate.
    return await createCsr(key, parseSubject(`CN=${plan.parameters.SerialNumber ?? plan.deviceKey.object}`));
  } finally {
    key.close();
  }
}

/** The certificate in a file, or in the token beside its key; returns what certFile should say. */
async function storeCertificate(plan: ProvisionPlan, registered: RegisteredState, modulePath: string): Promise<string> {
  if (plan.certOut !== undefined) {
    writeFileAtomic(plan.certOut, registered.certificatePem, 0o644);
    return plan.certOut;
  }
  const { importCertificate } = await import('../pkcs11/import-certificate.js');
  const opened = openToken({ modulePath, uri: plan.deviceKey, pin: requirePin(plan.pinSources), readWrite: true });
  try {
    // replace: a rerun after a power cut finds its own certificate already there.
    const stored = importCertificate(opened, { keyLabel: plan.deviceKey.object as string, der: Buffer.from(registered.certificatePem), source: 'AWS IoT', replace: true });
    return stored.uri;
  } finally {
    opened.close();
  }
}

/** The device config with the new identity; every other key kept as it was. */
function updateConfigFile(file: string, identity: { certFile: string; key: string; thingName: string; clientId: string }): void {
  let current: Record<string, unknown> = {};
  let mode = 0o644;
  if (existsSync(file)) {
    current = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    mode = statSync(file).mode & 0o777;
  }
  writeFileAtomic(file, `${JSON.stringify({ ...current, ...identity }, null, 2)}\n`, mode);
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
  if (registered === undefined) {
    const csrPem = await makeCsr(plan, key.uri, modulePath);
    hooks.stepDone('csr', 'CSR signed in the token');
    registered = await register(plan, csrPem, hooks);
    plan.state.saveRegistered(registered);
  }
  hooks.stepDone('registered', `thing "${registered.thingName}", certificate ${registered.certificateId}`);

  const certRef = await storeCertificate(plan, registered, modulePath);
  hooks.stepDone('stored', certRef);
  const identity = { certFile: certRef, key: key.uri, thingName: registered.thingName, clientId: registered.clientId };
  updateConfigFile(plan.configFile, identity);
  hooks.stepDone('config', plan.configFile);

  // The new identity is a certificate: proven over mTLS whatever else the config says.
  const proof = await connect({ ...plan.config, ...identity, auth: 'mtls', websocket: false }, hooks.log, { retry: false });
  await proof.close();
  plan.state.markProvisioned(registered.thingName);
  hooks.stepDone('verified', `connected as "${registered.clientId}"`);
  return { alreadyProvisioned: false, thingName: registered.thingName, clientId: registered.clientId, certificateId: registered.certificateId, certRef, keyUri: key.uri, keyGenerated: key.generated };
}
