/**
 * Exponential backoff with full jitter: the delay before attempt n is drawn
 * uniformly from [0, min(max, base * 2^n)], so a fleet that lost its broker
 * at the same moment does not come back at the same moment.
 */

export interface BackoffPolicy {
  minDelayMs: number;
  maxDelayMs: number;
}

export function backoffCeiling(policy: BackoffPolicy, attempt: number): number {
  // Cap the exponent: 2^31 already exceeds any sensible maximum.
  const exponential = policy.minDelayMs * 2 ** Math.min(attempt, 31);
  return Math.min(policy.maxDelayMs, exponential);
}

export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = backoffCeiling(policy, attempt);
  // Never below the minimum, so a failing broker is not hammered in a tight loop.
  return Math.max(policy.minDelayMs, Math.floor(random() * ceiling));
}
