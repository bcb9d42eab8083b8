/**
 * Cognito GetCredentialsForIdentity: an unsigned JSON 1.1 POST that trades an
 * identity ID (and logins, for authenticated identities) for temporary AWS
 * credentials. Node's https is used, with the system CAs plus --ca-file: no
 * device key is involved, and aws-crt's own Cognito provider has a fixed port
 * and never hands the credentials to JavaScript.
 */
import { request } from 'node:https';
import { rootCertificates } from 'node:tls';
import { TrustlinkError } from '../errors.js';
import type { AwsCredentials, CredentialsSource } from './types.js';

export interface CognitoOptions {
  /** host or host:port. */
  endpoint: string;
  identityId: string;
  /** Identity provider name → token. */
  logins: Record<string, string>;
  /** Extra trusted CAs (PEM), added to the system's. */
  caPem?: string | undefined;
  timeoutMs: number;
}

interface CognitoReply {
  Credentials?: { AccessKeyId?: string; SecretKey?: string; SessionToken?: string; Expiration?: number };
  __type?: string;
  message?: string;
}

function post(options: CognitoOptions, body: string): Promise<{ status: number; text: string }> {
  const url = new URL(`https://${options.endpoint}/`);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port === '' ? 443 : Number(url.port),
        servername: url.hostname,
        method: 'POST',
        path: '/',
        ca: options.caPem !== undefined ? [...rootCertificates, options.caPem] : undefined,
        timeout: options.timeoutMs,
        headers: {
          'X-Amz-Target': 'AWSCognitoIdentityService.GetCredentialsForIdentity',
          'Content-Type': 'application/x-amz-json-1.1',
          'Content-Length': Buffer.byteLength(body),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** "com.amazonaws.cognito.identity.model#ResourceNotFoundException" → "ResourceNotFoundException". */
const errorType = (type: string | undefined): string => (type ?? 'UnknownError').split('#').pop() ?? 'UnknownError';

function parseReply(text: string): CognitoReply {
  try {
    return JSON.parse(text) as CognitoReply;
  } catch {
    return {};
  }
}

export async function getCredentialsForIdentity(options: CognitoOptions): Promise<AwsCredentials> {
  const body = JSON.stringify({ IdentityId: options.identityId, ...(Object.keys(options.logins).length > 0 ? { Logins: options.logins } : {}) });
  let reply: { status: number; text: string };
  try {
    reply = await post(options, body);
  } catch (error) {
    throw new TrustlinkError('CREDENTIALS_UNAVAILABLE', `cannot reach Cognito at ${options.endpoint}: ${(error as Error).message}`, {
      cause: error,
      hint: 'check --cognito-endpoint (default cognito-identity.<region>.amazonaws.com), DNS, and --ca-file',
    });
  }
  const parsed = parseReply(reply.text);
  if (reply.status !== 200) {
    // The service's message names the identity or pool, never a token: safe to show.
    throw new TrustlinkError('CREDENTIALS_REFUSED', `Cognito refused identity ${options.identityId}: ${errorType(parsed.__type)} (HTTP ${reply.status}): ${parsed.message ?? 'no message'}`, {
      hint: 'check --cognito-identity and the region, and that each --cognito-login names the provider configured in the identity pool',
    });
  }
  const credentials = parsed.Credentials;
  if (!credentials?.AccessKeyId || !credentials.SecretKey || !credentials.SessionToken || typeof credentials.Expiration !== 'number') {
    throw new TrustlinkError('CREDENTIALS_UNAVAILABLE', `Cognito at ${options.endpoint} answered without complete credentials`);
  }
  return {
    accessKeyId: credentials.AccessKeyId,
    secretAccessKey: credentials.SecretKey,
    sessionToken: credentials.SessionToken,
    expiration: new Date(credentials.Expiration * 1000),
  };
}

export function cognitoCredentials(options: CognitoOptions): CredentialsSource {
  return { get: () => getCredentialsForIdentity(options) };
}
