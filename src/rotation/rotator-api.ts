/**
 * The device side of AWS's certificate-rotator reference design
 * (awslabs/aws-greengrass-labs-certificate-rotator): the device publishes
 * {jobId, csr} on awslabs/things/<thing>/certificate/create and gets
 * {certificatePem} on /accepted or {errorMsg} on /rejected; connected with
 * the new certificate, it publishes {jobId} on .../commit (answered the same
 * way), and the backend retires the old certificate when the job succeeds.
 */
import * as v from 'valibot';
import { TrustlinkError } from '../errors.js';

export function rotatorTopics(thingName: string): { create: string; commit: string } {
  const base = `awslabs/things/${thingName}/certificate`;
  return { create: `${base}/create`, commit: `${base}/commit` };
}

const certificateAnswer = v.object({ certificatePem: v.pipe(v.string(), v.startsWith('-----BEGIN CERTIFICATE-----')) });
const rejection = v.object({ errorMsg: v.optional(v.string()) });

function parse(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
}

export function parseRotatorCertificate(payload: Buffer): string {
  const result = v.safeParse(certificateAnswer, parse(payload));
  if (!result.success) {
    throw new TrustlinkError('PROVISION_ANSWER_INVALID', 'the certificate rotator\'s answer to create has no certificatePem; nothing was stored', {
      hint: 'check the rotator backend\'s create_certificate Lambda; run again to retry (the new key is kept)',
    });
  }
  return result.output.certificatePem;
}

export function rotatorRejection(step: 'create' | 'commit', payload: Buffer): TrustlinkError {
  const result = v.safeParse(rejection, parse(payload));
  const reason = result.success ? result.output.errorMsg ?? '(no errorMsg)' : '(not JSON)';
  return new TrustlinkError('ROTATION_REJECTED', `the certificate rotator backend rejected ${step}: ${reason}`, {
    hint: 'the backend needs the job IN_PROGRESS, the thing\'s only certificate as the connection\'s principal and a client ID that starts with the thing name; check its Lambda logs',
  });
}
