/**
 * SigV4 for MQTT over a websocket: aws-crt hands us the upgrade request
 * before every connect attempt, and we presign it (query parameters, service
 * iotdevicegateway) with credentials fetched for that attempt, so a reconnect
 * after the credentials expired signs with new ones instead of failing.
 */
import type { HttpRequest } from 'aws-crt/dist/native/http.js';
import type { CredentialsSource } from '../credentials/types.js';
import { loadCrt } from '../crt/load.js';
import { TrustlinkError } from '../errors.js';
import type { Logger } from '../log/log.js';

export type HandshakeTransform = (request: HttpRequest, done: (errorCode?: number) => void) => void;

/** A handshake transform that also keeps the last failure, so the session can report it in words. */
export interface SignedHandshake {
  transform: HandshakeTransform;
  takeError(): TrustlinkError | undefined;
}

const ATS_ENDPOINT = /^[a-z0-9]+-ats\.iot\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com$/;

/** The region of an <prefix>-ats.iot.<region>.amazonaws.com endpoint, else undefined. */
export function regionFromEndpoint(endpoint: string): string | undefined {
  return ATS_ENDPOINT.exec(endpoint.toLowerCase())?.[1];
}

export function requireRegion(configured: string | undefined, endpoint: string): string {
  const region = configured ?? regionFromEndpoint(endpoint);
  if (region === undefined) {
    throw new TrustlinkError('USAGE', `--region is required: it cannot be derived from the endpoint ${endpoint}`, {
      hint: 'only <prefix>-ats.iot.<region>.amazonaws.com names carry their region; pass e.g. --region eu-west-1',
    });
  }
  return region;
}

/** aws-crt's AWS_ERROR_UNKNOWN: the attempt fails, and takeError() says why. */
const UNKNOWN_ERROR = 3;

export function sigv4Handshake(source: CredentialsSource, region: string, log: Logger): SignedHandshake {
  let lastError: TrustlinkError | undefined;
  const sign = async (request: HttpRequest): Promise<void> => {
    const credentials = await source.get();
    const { auth } = await loadCrt();
    await auth.aws_sign_request(request, {
      algorithm: auth.AwsSigningAlgorithm.SigV4,
      signature_type: auth.AwsSignatureType.HttpRequestViaQueryParams,
      provider: auth.AwsCredentialsProvider.newStatic(credentials.accessKeyId, credentials.secretAccessKey, credentials.sessionToken),
      region,
      service: 'iotdevicegateway',
      signed_body_value: auth.AwsSignedBodyValue.EmptySha256,
      // AWS IoT wants the token outside the signature. aws-c-auth appends it after signing;
      // add it ourselves only if a future version stops doing so.
      omit_session_token: true,
    });
    if (credentials.sessionToken !== undefined && !request.path.includes('X-Amz-Security-Token=')) {
      request.path += `&X-Amz-Security-Token=${encodeURIComponent(credentials.sessionToken)}`;
    }
    log.debug('signed the websocket upgrade', { accessKeyId: credentials.accessKeyId, region, expiration: credentials.expiration?.toISOString() });
  };
  return {
    transform(request, done) {
      sign(request).then(
        () => done(),
        (error: unknown) => {
          lastError = error instanceof TrustlinkError
            ? error
            : new TrustlinkError('INTERNAL', `signing the websocket upgrade failed: ${(error as { error_name?: string }).error_name ?? (error as Error).message}`, { cause: error });
          done((error as { error_code?: number }).error_code ?? UNKNOWN_ERROR);
        },
      );
    },
    takeError() {
      const error = lastError;
      lastError = undefined;
      return error;
    },
  };
}
