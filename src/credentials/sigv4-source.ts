/**
 * Picks the SigV4 credentials source from the configuration, and wraps it so
 * every connect attempt gets credentials valid at that moment: cached ones are
 * reused only while they have time left, and expired ones are never signed with.
 */
import { missingSetting } from '../config/require.js';
import type { Config } from '../config/schema.js';
import { TrustlinkError } from '../errors.js';
import { readValueOrFile } from '../files/value-or-file.js';
import type { Logger } from '../log/log.js';
import type { CognitoOptions } from './cognito.js';
import { iotCredentials } from './iot-source.js';
import { DEFAULT_REFRESH_MARGIN_SECONDS, isFresh } from './refresh.js';
import type { AwsCredentials, CredentialsSource, SigningCredentialsFactory } from './types.js';

/** Cognito's client (https, tls) is imported on the first fetch: most devices never use it. */
function cognitoCredentials(options: CognitoOptions): CredentialsSource {
  return { get: async () => (await import('./cognito.js')).cognitoCredentials(options).get() };
}

/** Refresh this long before expiry, as the AWS SDKs and `trustlink creds` do: a connect must not race the deadline. */
export const REFRESH_MARGIN_MS = DEFAULT_REFRESH_MARGIN_SECONDS * 1000;

/** AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, read on every call. */
export function envCredentials(env: NodeJS.ProcessEnv): CredentialsSource {
  return {
    async get() {
      const accessKeyId = env.AWS_ACCESS_KEY_ID;
      const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
      if (!accessKeyId || !secretAccessKey) {
        throw new TrustlinkError('CREDENTIALS_MISSING', 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set for --credentials-source env', {
          hint: 'export them (and AWS_SESSION_TOKEN for temporary credentials), or use --credentials-source cognito or iot',
        });
      }
      return { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
    },
  };
}

const hasTimeLeft = (credentials: AwsCredentials, now: number): boolean =>
  credentials.expiration === undefined || isFresh(credentials.expiration, REFRESH_MARGIN_MS, new Date(now));

/** Caches credentials until REFRESH_MARGIN_MS before they expire, then fetches new ones. */
export function refreshing(source: CredentialsSource, clock: () => number = Date.now): CredentialsSource {
  let cached: AwsCredentials | undefined;
  return {
    async get() {
      if (cached !== undefined && hasTimeLeft(cached, clock())) return cached;
      cached = undefined;
      const fresh = await source.get();
      if (fresh.expiration !== undefined && fresh.expiration.getTime() <= clock()) {
        throw new TrustlinkError('CREDENTIALS_EXPIRED', `the credentials for access key ${fresh.accessKeyId} expired at ${fresh.expiration.toISOString()}`, {
          hint: 'the source handed out expired credentials: check the clock, or renew them at the source',
        });
      }
      cached = fresh;
      return fresh;
    },
  };
}

/** "PROVIDER=TOKEN" or "PROVIDER=@FILE" → [provider, token]. */
function parseLogin(login: string): [string, string] {
  const eq = login.indexOf('=');
  const provider = login.slice(0, eq);
  const value = login.slice(eq + 1);
  return [provider, readValueOrFile(value, `token of the Cognito login ${provider}`)];
}

/** Where a SigV4 connection gets its credentials, as the configuration says; made once the region is known. */
export function sigv4CredentialsFor(config: Config, log: Logger, env: NodeJS.ProcessEnv): SigningCredentialsFactory {
  return (region, caPem) => {
    if (config.credentialsSource === 'env') return envCredentials(env);
    if (config.credentialsSource === 'iot') return refreshing(iotCredentials(config, REFRESH_MARGIN_MS, log, env));
    if (config.cognitoIdentity === undefined) {
      throw missingSetting('cognitoIdentity', { when: 'with --credentials-source cognito', hint: 'the identity ID looks like eu-west-1:0123abcd-0000-0000-0000-000000000000' });
    }
    return refreshing(cognitoCredentials({
      endpoint: config.cognitoEndpoint ?? `cognito-identity.${region}.amazonaws.com`,
      identityId: config.cognitoIdentity,
      logins: Object.fromEntries((config.cognitoLogins ?? []).map(parseLogin)),
      caPem,
      timeoutMs: config.connectTimeoutMs,
    }));
  };
}
