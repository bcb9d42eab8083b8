import { describe, expect, it } from 'vitest';
import { backoffCeiling, backoffDelay } from '../../../src/retry/backoff.js';

const policy = { minDelayMs: 1000, maxDelayMs: 60_000 };

describe('backoff', () => {
  it('doubles the ceiling each attempt up to the maximum', () => {
    expect([0, 1, 2, 3, 5, 6, 7, 100].map((attempt) => backoffCeiling(policy, attempt))).toEqual([1000, 2000, 4000, 8000, 32_000, 60_000, 60_000, 60_000]);
  });

  it('draws the delay from the whole range below the ceiling (full jitter)', () => {
    expect(backoffDelay(policy, 4, () => 0.5)).toBe(8000);
    expect(backoffDelay(policy, 4, () => 0.999)).toBe(15_984);
  });

  it('never waits less than the minimum, so failures cannot spin', () => {
    expect(backoffDelay(policy, 4, () => 0)).toBe(1000);
    expect(backoffDelay(policy, 0, () => 0.1)).toBe(1000);
  });

  it('spreads a fleet out: delays for the same attempt differ', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(policy, 6)));
    expect(delays.size).toBeGreaterThan(40);
  });
});
