/**
 * The shapes in which programs read AWS credentials: the AWS CLI/SDK
 * credential_process JSON, shell export lines, and the ECS container and
 * EC2 instance-metadata answers.
 */
import type { TemporaryCredentials } from './types.js';

export const OUTPUT_FORMATS = ['process', 'env', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** credential_process output; SDKs refresh before Expiration (without it, botocore never would). */
export function processCredentials(credentials: TemporaryCredentials): Record<string, unknown> {
  return {
    Version: 1,
    AccessKeyId: credentials.accessKeyId,
    SecretAccessKey: credentials.secretAccessKey,
    SessionToken: credentials.sessionToken,
    Expiration: credentials.expiration,
  };
}

export function environmentVariables(credentials: TemporaryCredentials): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_SESSION_TOKEN: credentials.sessionToken,
    // Read by aws-vault, the Java and Rust SDKs; harmless to the others.
    AWS_CREDENTIAL_EXPIRATION: credentials.expiration,
  };
}

/** POSIX shell single quoting: safe for any value. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export function exportLines(variables: Record<string, string>): string {
  return Object.entries(variables).map(([name, value]) => `export ${name}=${shellQuote(value)}`).join('\n');
}

/** The ECS container-credentials answer (AWS_CONTAINER_CREDENTIALS_FULL_URI). */
export function containerCredentials(credentials: TemporaryCredentials): Record<string, unknown> {
  return {
    AccessKeyId: credentials.accessKeyId,
    SecretAccessKey: credentials.secretAccessKey,
    Token: credentials.sessionToken,
    Expiration: credentials.expiration,
  };
}

/** The IMDS answer at /latest/meta-data/iam/security-credentials/<role>. */
export function instanceMetadataCredentials(credentials: TemporaryCredentials, lastUpdated: Date): Record<string, unknown> {
  return {
    Code: 'Success',
    LastUpdated: lastUpdated.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    Type: 'AWS-HMAC',
    ...containerCredentials(credentials),
  };
}
