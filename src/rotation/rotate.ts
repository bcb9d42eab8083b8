/**
 * Certificate rotation with a key born in the token, over the device's
 * current, working identity. Each step finds its result in place or makes it,
 * so a run cut short anywhere is finished by the next one:
 *   key (new label) → csr → certificate (CreateCertificateFromCsr [+ RegisterThing],
 *   or the certificate rotator's create) → stored → verified (one connection
 *   with the new identity) → config (switched atomically) → retired (old key
 *   and certificate removed, unless kept).
 * A new certificate the broker refuses is never switched to: the new key and
 * certificate are removed again and the device stays on the old identity.
 */
import { X509Certificate } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from '../config/schema.js';
import { connect } from '../connection/connect.js';
import type { MqttSession } from '../connection/mqtt.js';
import { TrustlinkError } from '../errors.js';
import { createCertificateFromCsr, csrForKey, registerThing, storeCertificate, type TokenAccess } from '../fleet/certificate.js';
import { certificateIsFor, ensureDeviceKey } from '../fleet/device-key.js';
import { request } from '../fleet/request.js';
import { updateJsonFile } from '../files/json-update.js';
import { awsCertificateId } from '../identity/handshake-refusal.js';
import { certificateReader } from '../identity/device-identity.js';
import { certSourceFrom, keySourceFrom, tokenKeySource } from '../identity/sources.js';
import type { Logger } from '../log/log.js';
import type { KeyType } from '../pkcs11/keygen.js';
import { removeLabelledIdentity } from '../pkcs11/remove-objects.js';
import { openToken } from '../pkcs11/token.js';
import { formatPkcs11Uri, isPkcs11Uri, parsePkcs11Uri, type Pkcs11Uri } from '../pkcs11/uri.js';
import { parseRotatorCertificate, rotatorRejection, rotatorTopics } from './rotator-api.js';
import type { RotationProgress, RotationState, RotationVia } from './state.js';

export const ROTATION_STEPS = ['key', 'csr', 'certificate', 'stored', 'verified', 'config', 'retired'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

export interface RotationPlan {
  /** The configuration as loaded now (the old identity until the switch). */
  config: Config;
  configFile: string;
  progress: RotationProgress;
  via: RotationVia;
  /** The job the rotator backend checks; --via rotator only. */
  jobId: string | undefined;
  /** RegisterThing after CreateCertificateFromCsr, when set (it activates the certificate). */
  template: string | undefined;
  parameters: Record<string, string>;
  keyType: KeyType;
  /** Where the new certificate goes: a file; by default the token when the old one is there, else a file beside it. */
  certOut: string | undefined;
  /** 'remove': retire the old key and certificate; 'keep': leave them; 'later': leave them until the next run (the agent restarts first). */
  retire: 'remove' | 'keep' | 'later';
  answerTimeoutMs: number;
  env: NodeJS.ProcessEnv;
  /** The session to ask AWS IoT over (the agent's); a connection of its own when absent. */
  session?: MqttSession;
}

export interface RotationHooks {
  log: Logger;
  /** Called after each step; a test hook kills the process there to simulate a power cut. */
  stepDone(step: RotationStep, detail: string): void;
}

export interface RotationResult {
  oldKey: string;
  oldCert: string;
  /** AWS IoT's ID of the old certificate, for the cloud side to deactivate. */
  oldCertificateId: string;
  newKey: string;
  newCert: string;
  certificateId: string;
  /** Objects removed from the token, or why none were. */
  retired: number | 'kept' | 'later';
}

/** devkey → devkey-r20261202073000; a rotated label gets a new stamp, not a second one. */
export function newKeyLabel(oldLabel: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${oldLabel.replace(/-r\d{14}$/, '')}-r${stamp}`;
}

interface Identity {
  source: ReturnType<typeof tokenKeySource>;
  label: string;
  access: TokenAccess;
}

function oldIdentity(keyText: string, config: Config, env: NodeJS.ProcessEnv): Identity {
  if (!isPkcs11Uri(keyText)) {
    throw new TrustlinkError('USAGE', 'rotate makes the new key inside a token: "key" must be a PKCS#11 URI such as pkcs11:token=dev;object=devkey');
  }
  const source = tokenKeySource(keyText, config, env);
  if (source.uri.object === undefined) {
    throw new TrustlinkError('USAGE', `the device key URI ${keyText} names no object=LABEL; rotate needs it to label the new key`);
  }
  return { source, label: source.uri.object, access: { modulePath: source.modulePath, pin: source.pin } };
}

/** The token the old key is in, with another object label. */
/** The old certificate's AWS IoT ID, read before anything changes. */
function oldCertificateId(config: Config, certFile: string, env: NodeJS.ProcessEnv): string {
  const { x509: certificate } = certificateReader(certSourceFrom(certFile, config, keySourceFrom({ ...config, certFile }, env)))(undefined);
  return awsCertificateId(certificate);
}

const inSameToken = (uri: Pkcs11Uri, label: string): Pkcs11Uri => ({ ...uri, object: label, id: undefined, type: undefined });

function certTarget(plan: RotationPlan, oldCert: string, newLabel: string): string | undefined {
  if (plan.certOut !== undefined) return plan.certOut;
  return isPkcs11Uri(oldCert) ? undefined : join(dirname(oldCert), `${newLabel}.pem`);
}

/** The new certificate, asked for over the current identity. */
async function requestCertificate(plan: RotationPlan, csrPem: string, log: Logger): Promise<{ certificatePem: string; certificateId: string }> {
  const own = plan.session === undefined ? await connect({ ...plan.config, auth: 'mtls', websocket: false }, log, { retry: false, env: plan.env }) : undefined;
  const session = plan.session ?? (own as NonNullable<typeof own>).session;
  try {
    if (plan.via === 'rotator') {
      const thing = requireThing(plan.config);
      const answer = await request(session, rotatorTopics(thing).create, { jobId: plan.jobId, csr: csrPem }, plan.answerTimeoutMs);
      if (!answer.accepted) throw rotatorRejection('create', answer.payload);
      const certificatePem = parseRotatorCertificate(answer.payload);
      return { certificatePem, certificateId: awsCertificateId(new X509Certificate(certificatePem)) };
    }
    const certificate = await createCertificateFromCsr(session, csrPem, plan.answerTimeoutMs);
    if (plan.template !== undefined) {
      await registerThing(session, plan.template, certificate.certificateOwnershipToken, plan.parameters, plan.answerTimeoutMs);
    }
    return { certificatePem: certificate.certificatePem, certificateId: certificate.certificateId };
  } finally {
    await own?.close();
  }
}

function requireThing(config: Config): string {
  if (config.thingName === undefined) throw new TrustlinkError('USAGE', 'rotate --via rotator needs "thingName": the rotator\'s topics are per thing');
  return config.thingName;
}

/** Failures that say the new certificate does not work, as opposed to a network that is down. */
const REFUSALS = new Set(['CERT_REFUSED', 'CERT_EXPIRED', 'TLS_FAILED', 'CONNECT_REFUSED', 'ROTATION_REJECTED']);

/** One connection with the new identity (and the rotator's commit on it). */
async function verify(plan: RotationPlan, identity: { certFile: string; key: string }, log: Logger): Promise<void> {
  const proof = await connect({ ...plan.config, ...identity, auth: 'mtls', websocket: false }, log, { retry: false, env: plan.env });
  try {
    if (plan.via === 'rotator') {
      const answer = await request(proof.session, rotatorTopics(requireThing(plan.config)).commit, { jobId: plan.jobId }, plan.answerTimeoutMs);
      if (!answer.accepted) throw rotatorRejection('commit', answer.payload);
    }
  } finally {
    await proof.close();
  }
}

/** Takes the new identity out again: the device stays on the old one, and the next run starts afresh. */
function abandon(plan: RotationPlan, identity: Identity, state: RotationState): void {
  const opened = openToken({ modulePath: identity.access.modulePath, uri: identity.source.uri, pin: identity.access.pin, readWrite: true });
  try {
    removeLabelledIdentity(opened, state.newLabel);
  } finally {
    opened.close();
  }
  if (state.newCert !== undefined && !isPkcs11Uri(state.newCert)) rmSync(state.newCert, { force: true });
  plan.progress.clear();
}

function retireOld(identity: Identity, oldCert: string): number {
  const labels = new Set([identity.label]);
  if (isPkcs11Uri(oldCert)) {
    const certLabel = parsePkcs11Uri(oldCert).object;
    if (certLabel !== undefined) labels.add(certLabel);
  }
  const opened = openToken({ modulePath: identity.access.modulePath, uri: identity.source.uri, pin: identity.access.pin, readWrite: true });
  try {
    return [...labels].reduce((removed, label) => removed + removeLabelledIdentity(opened, label), 0);
  } finally {
    opened.close();
  }
}

export async function rotate(plan: RotationPlan, hooks: RotationHooks, now = new Date()): Promise<RotationResult> {
  const { log } = hooks;
  let state = plan.progress.read();
  if (state === undefined) {
    const oldKey = plan.config.key;
    const oldCert = plan.config.certFile;
    if (oldKey === undefined || oldCert === undefined) throw new TrustlinkError('USAGE', 'rotate needs the current identity: "key" and "certFile" in the config');
    state = {
      via: plan.via, oldKey, oldCert, oldCertificateId: oldCertificateId(plan.config, oldCert, plan.env),
      newLabel: newKeyLabel(oldIdentity(oldKey, plan.config, plan.env).label, now), step: 'started', ...(plan.jobId !== undefined ? { jobId: plan.jobId } : {}),
    };
    plan.progress.save(state);
  } else {
    log.info('resuming the rotation', { file: plan.progress.file, step: state.step, newLabel: state.newLabel });
  }
  const identity = oldIdentity(state.oldKey, plan.config, plan.env);
  // A resumed run keeps the way it started: a certificate from one backend is committed to the same one.
  const run: RotationPlan = { ...plan, via: state.via, jobId: state.jobId ?? plan.jobId, config: { ...plan.config, key: state.oldKey, certFile: state.oldCert } };

  if (state.step !== 'switched') {
    const key = await ensureDeviceKey({ modulePath: identity.access.modulePath, uri: inSameToken(identity.source.uri, state.newLabel), label: state.newLabel, pin: identity.access.pin, type: plan.keyType });
    hooks.stepDone('key', key.generated ? `generated ${plan.keyType} key "${state.newLabel}"` : `reusing key "${state.newLabel}"`);

    if (state.certificatePem !== undefined && !certificateIsFor(state.certificatePem, key.publicKeySpki)) {
      log.warn('discarding the kept rotation certificate: it was issued for another key than the new one in the token now', {
        file: plan.progress.file, certificateId: state.certificateId, key: key.uri,
        reason: key.generated ? 'the new key was generated afresh in this run (the token was wiped or re-made)' : 'the token holds another key under the new label',
      });
      state = { ...state, step: 'started', certificatePem: undefined, certificateId: undefined, newCert: undefined };
      plan.progress.save(state);
    }
    if (state.certificatePem === undefined) {
      const csrPem = await csrForKey(identity.access, key.uri, plan.config.thingName ?? state.newLabel);
      hooks.stepDone('csr', 'CSR signed in the token');
      const issued = await requestCertificate(run, csrPem, log);
      state = { ...state, step: 'certified', certificatePem: issued.certificatePem, certificateId: issued.certificateId, newKey: key.uri };
      plan.progress.save(state);
    }
    const { certificatePem } = state;
    if (certificatePem === undefined) throw new TrustlinkError('INTERNAL', 'rotation bug: no certificate after the certificate step');
    hooks.stepDone('certificate', state.certificateId ?? '?');

    const newCert = await storeCertificate(identity.access, { certOut: certTarget(plan, state.oldCert, state.newLabel), token: inSameToken(identity.source.uri, state.newLabel), keyLabel: state.newLabel }, certificatePem);
    state = { ...state, newCert, newKey: key.uri };
    plan.progress.save(state);
    hooks.stepDone('stored', newCert);

    if (state.step !== 'verified') {
      try {
        await verify(run, { certFile: newCert, key: key.uri }, log);
      } catch (error) {
        if (!(error instanceof TrustlinkError) || !REFUSALS.has(error.code)) throw error;
        abandon(plan, identity, state);
        throw new TrustlinkError('ROTATION_NEW_CERT_REFUSED', `the new certificate ${state.certificateId} did not connect, so the device stays on ${state.oldCert}: ${error.message}`, {
          cause: error,
          hint: 'for AWS IoT: the new certificate must be ACTIVE and attached to the thing and a policy (RegisterThing does both: set provisioningTemplate); the new key was removed, run trustlink rotate again once fixed',
        });
      }
      state = { ...state, step: 'verified' };
      plan.progress.save(state);
    }
    hooks.stepDone('verified', `connected with certificate ${state.certificateId}`);

    updateJsonFile(plan.configFile, { certFile: newCert, key: key.uri });
    state = { ...state, step: 'switched' };
    plan.progress.save(state);
    hooks.stepDone('config', plan.configFile);
  }

  if (state.oldCertificateId !== undefined) {
    // The cloud side's part (docs/rotation.md): AWS IoT keeps the old certificate ACTIVE and attached.
    log.info('the old certificate can now be deactivated in AWS IoT', {
      certificateId: state.oldCertificateId, command: `aws iot update-certificate --certificate-id ${state.oldCertificateId} --new-status INACTIVE`,
    });
  }
  const result = { oldKey: state.oldKey, oldCert: state.oldCert, oldCertificateId: state.oldCertificateId ?? '', newKey: state.newKey ?? '', newCert: state.newCert ?? '', certificateId: state.certificateId ?? '' };
  if (plan.retire === 'later') return { ...result, retired: 'later' };
  const retired = plan.retire === 'keep' ? 'kept' : retireOld(identity, state.oldCert);
  plan.progress.clear();
  hooks.stepDone('retired', retired === 'kept' ? 'old key and certificate kept' : `${retired} objects removed`);
  return { ...result, retired };
}

/** What a run would do, for --dry-run. */
export function describeRotation(plan: RotationPlan, now = new Date()): string[] {
  const state = plan.progress.read();
  const oldKey = state?.oldKey ?? plan.config.key ?? '?';
  const oldCert = state?.oldCert ?? plan.config.certFile ?? '?';
  const label = state?.newLabel ?? (isPkcs11Uri(oldKey) ? newKeyLabel(parsePkcs11Uri(oldKey).object ?? 'key', now) : '?');
  const asked = (state?.via ?? plan.via) === 'rotator'
    ? `the certificate rotator (awslabs/things/${plan.config.thingName ?? '?'}/certificate/create, job ${state?.jobId ?? plan.jobId ?? '?'})`
    : `CreateCertificateFromCsr${plan.template !== undefined ? ` then RegisterThing with template "${plan.template}"` : ''}`;
  const target = certTarget(plan, oldCert, label);
  return [
    ...(state !== undefined ? [`resume: ${plan.progress.file} says "${state.step}"`] : []),
    `key: generate ${plan.keyType} key "${label}" in the token of ${oldKey} (the old key stays)`,
    `certificate: CSR signed in the token, sent to ${asked} over the current identity (${oldCert})`,
    `store: the new certificate ${target !== undefined ? `in ${target}` : `in the token as ${formatPkcs11Uri({ token: parsePkcs11Uri(oldKey).token, object: label, type: 'cert' })}`}`,
    `verify: connect once to ${plan.config.endpoint ?? '?'} with the new identity; if refused, remove it and stay on the old one`,
    `config: set certFile and key in ${plan.configFile} (atomically)`,
    `retire: ${plan.retire === 'keep' ? 'keep the old key and certificate (--keep-old)' : `remove the old key and certificate from the token`}; deactivating the old certificate in AWS IoT is the cloud side's job`,
  ];
}
