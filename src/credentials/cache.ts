/**
 * The cache that lets one-shot `trustlink creds` calls (credential_process
 * runs one per SDK refresh) reuse credentials instead of asking AWS again.
 * It lives only in RAM-backed storage (tmpfs/ramfs), in a folder only this
 * user may enter, one 0600 file per endpoint + alias + thing + certificate.
 * Any trouble with it is logged and the command goes on without it:
 * credentials never land anywhere else.
 */
import { chmodSync, closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, statfsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../files/atomic-write.js';
import type { Logger } from '../log/log.js';
import { nodeCrypto } from '../node-crypto.js';
import { credentialsFromDocument, type ProviderDocument } from './provider-response.js';
import { MAX_ANSWER_BYTES, type FetchedCredentials } from './provider-client.js';

/** statfs(2) f_type of the file systems that live in RAM. */
const RAM_FILESYSTEMS = new Map([[0x01021994, 'tmpfs'], [0x858458f6, 'ramfs']]);

export function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  return env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'trustlink') : '/run/trustlink';
}

export interface CacheKeyParts {
  /** HOST:PORT. */
  endpoint: string;
  roleAlias: string;
  thingName: string | undefined;
  /** SHA-256 fingerprint of the device certificate. */
  certificateFingerprint: string;
}

/** A hash, so file names reveal nothing and any change of identity misses. */
export function cacheKey(parts: CacheKeyParts): string {
  return nodeCrypto().createHash('sha256')
    .update(JSON.stringify([parts.endpoint, parts.roleAlias, parts.thingName ?? null, parts.certificateFingerprint]))
    .digest('hex')
    .slice(0, 32);
}

interface CacheFile {
  document: ProviderDocument;
  fetchedAt: string;
}

export class CredentialsCache {
  readonly dir: string;
  readonly #log: Logger;

  private constructor(dir: string, log: Logger) {
    this.dir = dir;
    this.#log = log;
  }

  /** The cache in `dir`, made if missing; undefined (with a warning) when the folder is not safe for credentials. */
  static open(dir: string, log: Logger): CredentialsCache | undefined {
    const skip = (reason: string, hint: string): undefined => {
      log.warn(`not caching credentials: ${reason}`, { cacheDir: dir, hint });
      return undefined;
    };
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const stat = lstatSync(dir);
      if (!stat.isDirectory()) return skip('the cache folder is not a folder', 'point --cache-dir at a folder');
      if (stat.uid !== process.getuid?.()) return skip('the cache folder belongs to another user', 'use --cache-dir with a folder of this user');
      // A folder others can enter would let them read, or swap, the files.
      if ((stat.mode & 0o077) !== 0) chmodSync(dir, 0o700);
      const type = RAM_FILESYSTEMS.get(statfsSync(dir).type);
      if (type === undefined) {
        return skip('the cache folder is not on a RAM file system (tmpfs), and credentials must not reach persistent storage',
          'use --cache-dir on a tmpfs such as /run or $XDG_RUNTIME_DIR, or --no-cache');
      }
    } catch (error) {
      return skip(`cannot use the cache folder (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, 'use --cache-dir with a folder this user may write, or --no-cache');
    }
    return new CredentialsCache(dir, log);
  }

  pathOf(key: string): string {
    return join(this.dir, `credentials-${key}.json`);
  }

  /** The cached credentials for `key` if they stay valid beyond the margin. */
  read(key: string, isFresh: (expiresAt: Date) => boolean, now: Date = new Date()): FetchedCredentials | undefined {
    const path = this.pathOf(key);
    let text: string;
    try {
      // O_NOFOLLOW: a link planted in the folder is not followed.
      const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        const stat = fstatSync(fd);
        if (!stat.isFile() || stat.uid !== process.getuid?.() || (stat.mode & 0o077) !== 0 || stat.size > MAX_ANSWER_BYTES) {
          this.#log.warn('ignoring a cache file that is not a private file of this user', { path });
          return undefined;
        }
        text = readFileSync(fd, 'utf8');
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.#log.warn('cannot read the credentials cache', { path, reason: (error as NodeJS.ErrnoException).code });
      return undefined;
    }
    try {
      const file = JSON.parse(text) as CacheFile;
      const credentials = credentialsFromDocument(file.document, `cache file ${path}`, now);
      if (!isFresh(credentials.expiresAt)) {
        this.#log.debug('cached credentials are due for a refresh', { expiration: credentials.expiration });
        return undefined;
      }
      return { document: file.document, credentials, fetchedAt: new Date(file.fetchedAt) };
    } catch {
      // Expired or damaged: of no use to anyone, so not left lying around.
      this.#remove(path);
      return undefined;
    }
  }

  write(key: string, fetched: FetchedCredentials): void {
    const file: CacheFile = { document: fetched.document, fetchedAt: fetched.fetchedAt.toISOString() };
    try {
      writeFileAtomic(this.pathOf(key), JSON.stringify(file), 0o600);
    } catch (error) {
      this.#log.warn('cannot write the credentials cache', { cacheDir: this.dir, reason: (error as Error).message });
    }
  }

  #remove(path: string): void {
    try {
      unlinkSync(path);
    } catch {
      // Already gone.
    }
  }
}

/**
 * The cached credentials while they are fresh, else fetched ones, cached if
 * they will be fresh when read back (ones that live shorter than the margin
 * would never be).
 */
export async function readThrough(
  cache: { store: CredentialsCache | undefined; key: string } | undefined,
  isFresh: (expiresAt: Date) => boolean,
  fetch: () => Promise<FetchedCredentials>,
  log: Logger,
): Promise<FetchedCredentials> {
  const cached = cache?.store?.read(cache.key, isFresh);
  if (cached !== undefined) {
    log.debug('using cached credentials', { expiration: cached.credentials.expiration });
    return cached;
  }
  const fetched = await fetch();
  if (isFresh(fetched.credentials.expiresAt)) cache?.store?.write(cache.key, fetched);
  return fetched;
}
