/**
 * SigV4 credentials from the AWS IoT credentials provider, fetched with the
 * device key. They go through the RAM cache `trustlink creds` keeps, so
 * processes on one device share a fetch. The client (TLS context, token
 * login) is opened at the first fetch and kept for the life of the process.
 */
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/log.js';
import { CredentialsCache, defaultCacheDir, readThrough } from './cache.js';
import { isFresh } from './refresh.js';
import { credentialsTarget, openClientFor, targetCacheKey, type OpenedClient } from './settings.js';
import type { CredentialsSource } from './types.js';

export function iotCredentials(config: Config, marginMs: number, log: Logger, env: NodeJS.ProcessEnv): CredentialsSource {
  // Checked now, so a missing flag is a usage error before any connect attempt.
  const target = credentialsTarget(config);
  const cache = { key: targetCacheKey(target), store: CredentialsCache.open(defaultCacheDir(env), log) };
  const fresh = (expiresAt: Date): boolean => isFresh(expiresAt, marginMs, new Date());
  let opening: Promise<OpenedClient> | undefined;
  const client = (): Promise<OpenedClient> => {
    // A failed open (token busy, PIN file unreadable) is tried again at the next attempt.
    opening ??= openClientFor(config, target, config.connectTimeoutMs, log, env).catch((error: unknown) => {
      opening = undefined;
      throw error;
    });
    return opening;
  };
  return {
    async get() {
      const { credentials } = await readThrough(cache, fresh, async () => (await client()).client.fetch(), log);
      return {
        accessKeyId: credentials.accessKeyId,
        secretAccessKey: credentials.secretAccessKey,
        sessionToken: credentials.sessionToken,
        expiration: credentials.expiresAt,
      };
    },
  };
}
