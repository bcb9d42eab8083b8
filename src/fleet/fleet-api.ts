/**
 * The AWS IoT fleet-provisioning MQTT API (JSON variant): topic names, and
 * the answers checked before anything is stored. A rejection becomes a
 * PROVISION_REJECTED error that says what to fix on the AWS side.
 */
import * as v from 'valibot';
import { TrustlinkError } from '../errors.js';

/** KEY=VALUE pairs (provisioningParameters) as the template's parameters; the first = splits. */
export function parseParameters(pairs: string[]): Record<string, string> {
  return Object.fromEntries(pairs.map((pair) => {
    const at = pair.indexOf('=');
    return [pair.slice(0, at), pair.slice(at + 1)];
  }));
}

export const CREATE_FROM_CSR_TOPIC = '$aws/certificates/create-from-csr/json';

export function registerThingTopic(template: string): string {
  return `$aws/provisioning-templates/${template}/provision/json`;
}

const certificateAnswer = v.object({
  certificateId: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  certificatePem: v.pipe(v.string(), v.startsWith('-----BEGIN CERTIFICATE-----')),
  certificateOwnershipToken: v.pipe(v.string(), v.nonEmpty()),
});
export type CertificateAnswer = v.InferOutput<typeof certificateAnswer>;

const registerAnswer = v.object({
  thingName: v.pipe(v.string(), v.regex(/^[a-zA-Z0-9:_-]{1,128}$/)),
  deviceConfiguration: v.optional(v.record(v.string(), v.string()), {}),
});
export type RegisterAnswer = v.InferOutput<typeof registerAnswer>;

const rejection = v.object({
  statusCode: v.number(),
  errorCode: v.optional(v.string()),
  errorMessage: v.optional(v.string()),
});

function parseJson(payload: Buffer, step: string): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    throw malformed(step, 'not JSON');
  }
}

function malformed(step: string, why: string): TrustlinkError {
  return new TrustlinkError('PROVISION_ANSWER_INVALID', `AWS IoT's answer to ${step} is malformed (${why}); nothing was stored`, {
    hint: 'check that the endpoint is an AWS IoT data endpoint; run again to retry (the device key is kept)',
  });
}

function parseAccepted<T>(schema: v.GenericSchema<unknown, T>, payload: Buffer, step: string): T {
  const result = v.safeParse(schema, parseJson(payload, step));
  if (!result.success) {
    const fields = [...new Set(result.issues.map((issue) => issue.path?.map((item) => String(item.key)).join('.') || 'the answer'))];
    throw malformed(step, `bad or missing ${fields.join(', ')}`);
  }
  return result.output;
}

export const parseCertificateAnswer = (payload: Buffer): CertificateAnswer => parseAccepted(certificateAnswer, payload, 'CreateCertificateFromCsr');
export const parseRegisterAnswer = (payload: Buffer): RegisterAnswer => parseAccepted(registerAnswer, payload, 'RegisterThing');

/** What a user can do about a rejection; AWS documents few error codes, so the status code decides. */
function hintFor(step: string, statusCode: number): string {
  if (statusCode === 403) return 'the provisioning template or its pre-provisioning hook refused this device: check the hook\'s rules (e.g. a serial on a deny list) and the --param values';
  if (statusCode === 404) return 'no provisioning template of that name in this account and region: check --template';
  if (statusCode === 400 && step === 'CreateCertificateFromCsr') return 'AWS IoT refused the CSR: the key type must be RSA 2048+ or EC P-256/P-384';
  if (statusCode === 400) return 'AWS IoT refused the request: check the template\'s parameters against --param (names are case-sensitive)';
  if (statusCode === 429 || statusCode >= 500) return 'AWS IoT is throttling or failing: run again later (the device key is kept)';
  return 'check that the policy of the certificate in use (the claim certificate, or the device\'s own when rotating) allows the fleet-provisioning topics, then run again';
}

export function rejectionError(step: string, payload: Buffer): TrustlinkError {
  const result = v.safeParse(rejection, parseJson(payload, step));
  if (!result.success) return malformed(step, 'a rejection without statusCode');
  const { statusCode, errorCode, errorMessage } = result.output;
  return new TrustlinkError('PROVISION_REJECTED', `AWS IoT rejected ${step}: ${statusCode} ${errorCode ?? ''}: ${errorMessage ?? '(no message)'}`.replace(' :', ':'), {
    hint: hintFor(step, statusCode),
  });
}
