import { describe, expect, it } from 'vitest';
import { ImdsSessions } from '../../../src/credentials/imds-sessions.js';

describe('ImdsSessions', () => {
  it.each([['1', 1], ['21600', 21600], [' 60 ', 60]])('accepts TTL %j', (header, ttl) => {
    expect(ImdsSessions.parseTtl(header)).toBe(ttl);
  });

  it.each([undefined, '', '0', '21601', '-5', '1.5', 'abc', ['60', '60']])('refuses TTL %j', (header) => {
    expect(ImdsSessions.parseTtl(header)).toBeUndefined();
  });

  it('accepts a token until its TTL has passed, and no other', () => {
    const sessions = new ImdsSessions();
    const token = sessions.issue(10, 0);
    expect(sessions.isValid(token, 9_999)).toBe(true);
    expect(sessions.isValid(token, 10_000)).toBe(false);
    expect(sessions.isValid(`${token}x`, 0)).toBe(false);
    expect(sessions.isValid(undefined, 0)).toBe(false);
  });

  it('keeps at most 10,000 tokens, dropping the oldest first', () => {
    const sessions = new ImdsSessions();
    const first = sessions.issue(600, 0);
    const second = sessions.issue(600, 0);
    for (let i = 0; i < 9_999; i++) sessions.issue(600, 0);
    expect(sessions.isValid(first, 1)).toBe(false);
    expect(sessions.isValid(second, 1)).toBe(true);
  });
});
