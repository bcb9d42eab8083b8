/**
 * The seam between credential sources (environment, Cognito, the IoT
 * credentials provider) and what signs with them (the SigV4 websocket).
 */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** When the credentials stop working; absent for long-term keys. */
  expiration?: Date;
}

/** Temporary credentials as the AWS IoT credentials provider issued them, for handing on (credential_process, the local server). */
export interface TemporaryCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** ISO-8601 UTC, exactly as the provider sent it. */
  expiration: string;
  expiresAt: Date;
}

/** Called once per connect attempt; returns credentials valid at that moment. */
export interface CredentialsSource {
  get(): Promise<AwsCredentials>;
}

/** Makes the source once the region (and the CA the credential services must chain to) is known. */
export type SigningCredentialsFactory = (region: string, caPem: string | undefined) => CredentialsSource;
