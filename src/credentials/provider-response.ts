/**
 * Reads an answer of the AWS IoT credentials provider: a 200 with
 * {"credentials":{accessKeyId, secretAccessKey, sessionToken, expiration}},
 * or an error status with {"message"} and an x-amzn-ErrorType header.
 * Every field is checked; error messages name fields, never their values.
 */
import * as v from 'valibot';
import { TrustlinkError, type ErrorCode } from '../errors.js';
import type { TemporaryCredentials } from './types.js';

export interface ProviderResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: Buffer;
}

/** What was asked, for messages that say what to fix. */
export interface ProviderRequest {
  /** HOST:PORT. */
  endpoint: string;
  roleAlias: string;
  thingName: string | undefined;
}

// Limits with room above what STS issues today (20-character key IDs, 40-character secrets, tokens of about 1 KB).
const printable = (max: number, what: string) =>
  v.pipe(v.string(`${what} must be a string`), v.regex(new RegExp(`^[\\x21-\\x7e]{1,${max}}$`), `${what} must be 1-${max} printable ASCII characters without spaces`));
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

export const providerDocumentSchema = v.object({
  credentials: v.object(
    {
      accessKeyId: v.pipe(v.string('accessKeyId must be a string'), v.regex(/^\w{16,128}$/, 'accessKeyId must be 16-128 letters and digits')),
      secretAccessKey: printable(1024, 'secretAccessKey'),
      sessionToken: printable(16384, 'sessionToken'),
      expiration: v.pipe(
        v.string('expiration must be a string'),
        v.regex(ISO_UTC, 'expiration must be an ISO-8601 UTC time such as 2030-01-18T09:18:06Z'),
        v.check((text) => !Number.isNaN(Date.parse(text)), 'expiration is not a real date'),
      ),
    },
    'credentials must be an object',
  ),
}, 'the answer must be a JSON object');

export type ProviderDocument = v.InferOutput<typeof providerDocumentSchema>;

function invalid(message: string, hint?: string): TrustlinkError {
  return new TrustlinkError('CREDENTIALS_INVALID', message, { hint: hint ?? 'is the endpoint the account\'s iot:CredentialProvider endpoint (aws iot describe-endpoint --endpoint-type iot:CredentialProvider)?' });
}

function describeIssue(issue: v.BaseIssue<unknown>): string {
  const path = issue.path?.map((item) => String(item.key)).join('.');
  return path && issue.input === undefined ? `${path} is missing` : issue.message;
}

/**
 * Checks a provider document (from the wire or the cache) and returns the
 * credentials in it. Credentials that expired are an error: they are useless,
 * and most often the device clock is wrong.
 */
export function credentialsFromDocument(document: unknown, source: string, now: Date = new Date()): TemporaryCredentials {
  const result = v.safeParse(providerDocumentSchema, document);
  if (!result.success) {
    // Only our own messages: valibot's defaults would quote the (secret) value.
    const problems = [...new Set(result.issues.map(describeIssue))].join('; ');
    throw invalid(`${source} is not a credentials answer: ${problems}`);
  }
  const { accessKeyId, secretAccessKey, sessionToken, expiration } = result.output.credentials;
  const expiresAt = new Date(expiration);
  if (expiresAt.getTime() <= now.getTime()) {
    throw invalid(`${source} holds credentials that expired at ${expiration} (this device's clock says ${now.toISOString()})`,
      'check the device clock (NTP): credentials are issued for at most 12 hours');
  }
  return { accessKeyId, secretAccessKey, sessionToken, expiration, expiresAt };
}

/** One line of at most 300 characters: the provider's text goes into our messages and logs. */
export function cleanText(text: string, max = 300): string {
  const line = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function errorDetails(answer: ProviderResponse): { type: string | undefined; message: string | undefined } {
  // x-amzn-ErrorType may carry a URL after a colon: "AccessDeniedException:http://internal..."
  const type = answer.headers['x-amzn-errortype']?.split(':')[0]?.trim() || undefined;
  let message: string | undefined;
  try {
    const parsed = JSON.parse(answer.body.toString('utf8')) as { message?: unknown; Message?: unknown };
    const text = parsed.message ?? parsed.Message;
    if (typeof text === 'string' && text.trim() !== '') message = cleanText(text);
  } catch {
    // Not JSON: a proxy or load balancer answered; the status says enough.
  }
  return { type, message };
}

function hintFor(status: number, message: string | undefined, request: ProviderRequest): string {
  const thing = request.thingName ?? '(none given)';
  switch (status) {
    case 400:
      return `the role behind alias "${request.roleAlias}" cannot be assumed: check that the IAM role exists, trusts credentials.iot.amazonaws.com, and allows a session as long as the alias's credentialDurationSeconds`;
    case 401:
      return 'the device certificate was not accepted: is it registered with AWS IoT and ACTIVE, and is this the credentials endpoint of the same account and region?';
    case 403:
      if (message !== undefined && /thing name/i.test(message)) {
        return `the certificate is not attached to thing "${thing}": fix --thing-name (thingName), or attach it (aws iot attach-thing-principal)`;
      }
      if (message !== undefined && /certificate/i.test(message)) {
        return 'the certificate is not valid on this endpoint: is it ACTIVE, and is this the credentials endpoint of the account and region that registered it?';
      }
      return `the certificate's policy must allow iot:AssumeRoleWithCertificate on the role alias ARN (arn:aws:iot:REGION:ACCOUNT:rolealias/${request.roleAlias}), and the certificate must be attached to thing "${thing}"`;
    case 404:
      return `there is no role alias "${request.roleAlias}" in this account and region: check --role-alias (aws iot list-role-aliases)`;
    case 429:
      return 'too many requests: let trustlink cache the credentials (the default) and try again later';
    default:
      return status >= 500 ? 'the service is having trouble: try again later' : 'check the endpoint, the role alias and the thing name';
  }
}

function codeFor(status: number): ErrorCode {
  if (status === 429) return 'CREDENTIALS_THROTTLED';
  if (status >= 500) return 'CREDENTIALS_UNAVAILABLE';
  return 'CREDENTIALS_REFUSED';
}

/** A non-200 answer in words a user can act on. */
export function providerFailure(answer: ProviderResponse, request: ProviderRequest): TrustlinkError {
  const { type, message } = errorDetails(answer);
  const said = [type, message].filter(Boolean).join(': ');
  return new TrustlinkError(codeFor(answer.status),
    `the credentials provider ${request.endpoint} answered ${answer.status} for role alias "${request.roleAlias}"${said ? ` (${said})` : ''}`,
    { hint: hintFor(answer.status, message, request) });
}

/** The parsed 200 document and the credentials in it, or the failure the answer stands for. */
export function parseProviderResponse(answer: ProviderResponse, request: ProviderRequest, now: Date = new Date()): { document: ProviderDocument; credentials: TemporaryCredentials } {
  if (answer.status !== 200) throw providerFailure(answer, request);
  let document: unknown;
  try {
    document = JSON.parse(answer.body.toString('utf8'));
  } catch {
    throw invalid(`the credentials provider ${request.endpoint} answered 200 with a body that is not JSON (${answer.body.length} bytes, content-type ${answer.headers['content-type'] ?? 'none'})`,
      'is something else (a proxy, a captive portal) answering on that address? check the endpoint');
  }
  const credentials = credentialsFromDocument(document, `the answer of ${request.endpoint}`, now);
  return { document: document as ProviderDocument, credentials };
}
