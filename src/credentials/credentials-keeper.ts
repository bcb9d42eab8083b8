/**
 * Keeps a set of credentials for a long-running server: fetched once,
 * refreshed in the background ahead of expiry, and, while a refresh fails,
 * the last good ones kept until they expire. Failures are retried with
 * backoff and jitter by class (refusals wait longest), never in a loop.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isTrustlinkError, TrustlinkError } from '../errors.js';
import type { Logger } from '../log/log.js';
import type { FetchedCredentials } from './provider-client.js';
import { healsWithTime, refreshDelayMs, retryDelayMs } from './refresh.js';

// setTimeout fires at once for delays above 2^31-1 ms (about 24.8 days).
const MAX_TIMER_MS = 2 ** 31 - 1;

function asTrustlinkError(error: unknown): TrustlinkError {
  return isTrustlinkError(error) ? error : new TrustlinkError('INTERNAL', (error as Error).message, { cause: error });
}

export interface KeeperOptions {
  fetch(): Promise<FetchedCredentials>;
  refreshMarginMs: number;
  log: Logger;
}

export class CredentialsKeeper {
  readonly #options: KeeperOptions;
  readonly #stopped = new AbortController();
  #current: FetchedCredentials | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #fetches = 0;

  constructor(options: KeeperOptions) {
    this.#options = options;
  }

  /** Upstream requests made so far. */
  get fetches(): number {
    return this.#fetches;
  }

  /** The credentials to hand out now: the last good ones, until they expire. */
  current(now: Date = new Date()): FetchedCredentials | undefined {
    const current = this.#current;
    return current !== undefined && current.credentials.expiresAt.getTime() > now.getTime() ? current : undefined;
  }

  /**
   * The first fetch. Waits out what may heal (network, 5xx, throttling);
   * a refusal or a bad answer is thrown: retrying will not fix the setup.
   * Resolves false when stopped before credentials arrived.
   */
  async start(): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        this.#accept(await this.#fetch());
        return !this.#stopped.signal.aborted;
      } catch (caught) {
        const error = asTrustlinkError(caught);
        if (this.#stopped.signal.aborted) return false;
        if (!healsWithTime(error.code)) throw error;
        const delayMs = retryDelayMs(error.code, attempt);
        this.#options.log.warn('cannot fetch credentials yet; retrying with backoff', { code: error.code, reason: error.message, retryInMs: delayMs });
        try {
          await sleep(delayMs, undefined, { signal: this.#stopped.signal });
        } catch {
          return false;
        }
      }
    }
  }

  stop(): void {
    this.#stopped.abort();
    clearTimeout(this.#timer);
  }

  #fetch(): Promise<FetchedCredentials> {
    this.#fetches++;
    return this.#options.fetch();
  }

  #accept(fetched: FetchedCredentials): void {
    this.#current = fetched;
    this.#failures = 0;
    this.#schedule(refreshDelayMs(fetched.fetchedAt, fetched.credentials.expiresAt, this.#options.refreshMarginMs, new Date()));
  }

  #schedule(delayMs: number): void {
    if (this.#stopped.signal.aborted) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#refresh(), Math.min(delayMs, MAX_TIMER_MS));
  }

  async #refresh(): Promise<void> {
    try {
      const fetched = await this.#fetch();
      if (this.#stopped.signal.aborted) return;
      this.#accept(fetched);
    } catch (caught) {
      if (this.#stopped.signal.aborted) return;
      const error = asTrustlinkError(caught);
      const delayMs = retryDelayMs(error.code, this.#failures++);
      const kept = this.current();
      this.#options.log.warn(kept ? 'refreshing credentials failed; serving the last good ones until they expire' : 'refreshing credentials failed; none valid to serve', {
        code: error.code,
        reason: error.message,
        retryInMs: delayMs,
        ...(kept ? { expiration: kept.credentials.expiration } : {}),
      });
      this.#schedule(delayMs);
    }
  }
}
