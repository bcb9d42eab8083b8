/**
 * When to fetch credentials again: ahead of expiry when all is well, and,
 * after a failure, later the more the failure looks like it needs a person
 * (4xx) rather than patience (5xx, network). Pure, so it is tested alone.
 */
import { backoffDelay, type BackoffPolicy } from '../retry/backoff.js';
import type { ErrorCode } from '../errors.js';

export const DEFAULT_REFRESH_MARGIN_SECONDS = 300;
/** Never refresh sooner than this after a fetch, however short the credentials' life. */
export const MIN_REFRESH_DELAY_MS = 1_000;

/** Credentials are fresh while more than the margin of their life is left. */
export function isFresh(expiresAt: Date, marginMs: number, now: Date): boolean {
  return expiresAt.getTime() - now.getTime() > marginMs;
}

/**
 * The delay before a background refresh: `margin` before expiry, or
 * halfway through the credentials' life when they live less than twice the
 * margin (else short-lived ones would be refreshed without pause).
 */
export function refreshDelayMs(fetchedAt: Date, expiresAt: Date, marginMs: number, now: Date): number {
  const lifetime = expiresAt.getTime() - fetchedAt.getTime();
  const refreshAt = expiresAt.getTime() - Math.min(marginMs, lifetime / 2);
  return Math.max(MIN_REFRESH_DELAY_MS, Math.round(refreshAt - now.getTime()));
}

/** Network trouble and 5xx: retry soon. 429: the service asked for room. Refusals and bad answers: a person must act. */
const RETRY_POLICIES = {
  soon: { minDelayMs: 1_000, maxDelayMs: 60_000 },
  throttled: { minDelayMs: 10_000, maxDelayMs: 300_000 },
  refused: { minDelayMs: 60_000, maxDelayMs: 900_000 },
} as const satisfies Record<string, BackoffPolicy>;

export function retryPolicy(code: ErrorCode): BackoffPolicy {
  if (code === 'CREDENTIALS_UNAVAILABLE') return RETRY_POLICIES.soon;
  if (code === 'CREDENTIALS_THROTTLED') return RETRY_POLICIES.throttled;
  return RETRY_POLICIES.refused;
}

/** Failures that retrying may heal even before credentials were ever fetched. */
export function healsWithTime(code: ErrorCode): boolean {
  return code === 'CREDENTIALS_UNAVAILABLE' || code === 'CREDENTIALS_THROTTLED';
}

/** The delay before retry number `attempt` (0-based) after a failure with `code`. */
export function retryDelayMs(code: ErrorCode, attempt: number, random: () => number = Math.random): number {
  return backoffDelay(retryPolicy(code), attempt, random);
}
