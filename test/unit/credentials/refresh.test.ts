import { describe, expect, it } from 'vitest';
import { healsWithTime, isFresh, MIN_REFRESH_DELAY_MS, refreshDelayMs, retryDelayMs, retryPolicy } from '../../../src/credentials/refresh.js';

const t0 = new Date('2030-01-01T00:00:00Z');
const at = (seconds: number): Date => new Date(t0.getTime() + seconds * 1000);

describe('refreshDelayMs', () => {
  it('refreshes one-hour credentials the margin before they expire', () => {
    expect(refreshDelayMs(t0, at(3600), 300_000, t0)).toBe(3300_000);
  });

  it('refreshes credentials that live less than twice the margin halfway through their life', () => {
    expect(refreshDelayMs(t0, at(8), 300_000, t0)).toBe(4_000);
  });

  it('counts from now, not from the fetch', () => {
    expect(refreshDelayMs(t0, at(3600), 300_000, at(1000))).toBe(2300_000);
  });

  it('never refreshes sooner than a second from now, even when overdue', () => {
    expect(refreshDelayMs(t0, at(3600), 300_000, at(3500))).toBe(MIN_REFRESH_DELAY_MS);
    expect(refreshDelayMs(t0, at(0.1), 300_000, t0)).toBe(MIN_REFRESH_DELAY_MS);
  });
});

describe('isFresh', () => {
  it('holds while more than the margin is left', () => {
    expect(isFresh(at(301), 300_000, t0)).toBe(true);
    expect(isFresh(at(300), 300_000, t0)).toBe(false);
  });
});

describe('retry after failures', () => {
  it('waits longer for refusals than for throttling, and longer for throttling than for 5xx', () => {
    const refused = retryPolicy('CREDENTIALS_REFUSED');
    const throttled = retryPolicy('CREDENTIALS_THROTTLED');
    const unavailable = retryPolicy('CREDENTIALS_UNAVAILABLE');
    expect(refused.minDelayMs).toBeGreaterThan(throttled.minDelayMs);
    expect(throttled.minDelayMs).toBeGreaterThan(unavailable.minDelayMs);
    expect(refused.maxDelayMs).toBeGreaterThan(throttled.maxDelayMs);
    expect(throttled.maxDelayMs).toBeGreaterThan(unavailable.maxDelayMs);
    expect(retryPolicy('CREDENTIALS_INVALID')).toEqual(refused);
    expect(retryPolicy('TLS_FAILED')).toEqual(refused);
  });

  it('never retries in a tight loop, and grows up to the ceiling', () => {
    for (const code of ['CREDENTIALS_UNAVAILABLE', 'CREDENTIALS_THROTTLED', 'CREDENTIALS_REFUSED'] as const) {
      const { minDelayMs, maxDelayMs } = retryPolicy(code);
      expect(retryDelayMs(code, 0, () => 0)).toBe(minDelayMs);
      expect(retryDelayMs(code, 50, () => 0.999999)).toBe(Math.floor(0.999999 * maxDelayMs));
    }
  });

  it('waits out only what may heal before the first success', () => {
    expect(healsWithTime('CREDENTIALS_UNAVAILABLE')).toBe(true);
    expect(healsWithTime('CREDENTIALS_THROTTLED')).toBe(true);
    expect(healsWithTime('CREDENTIALS_REFUSED')).toBe(false);
    expect(healsWithTime('CREDENTIALS_INVALID')).toBe(false);
    expect(healsWithTime('TLS_FAILED')).toBe(false);
  });
});
