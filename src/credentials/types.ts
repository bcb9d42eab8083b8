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

/** Called once per connect attempt; returns credentials valid at that moment. */
export interface CredentialsSource {
  get(): Promise<AwsCredentials>;
}
