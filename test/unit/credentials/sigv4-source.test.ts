import { describe, expect, it } from 'vitest';
import { envCredentials, refreshing, REFRESH_MARGIN_MS } from '../../../src/credentials/sigv4-source.js';
import type { AwsCredentials } from '../../../src/credentials/types.js';

/** A source that counts fetches and hands out credentials living `lifetimeMs` from the fake clock. */
function countingSource(clock: { now: number }, lifetimeMs: number) {
  const source = {
    fetches: 0,
    async get(): Promise<AwsCredentials> {
      source.fetches++;
      return { accessKeyId: `AKID${source.fetches}`, secretAccessKey: 's', sessionToken: 't', expiration: new Date(clock.now + lifetimeMs) };
    },
  };
  return source;
}

describe('refreshing', () => {
  it('fetches once while the credentials have more than the margin left', async () => {
    const clock = { now: 0 };
    const source = countingSource(clock, REFRESH_MARGIN_MS + 60_000);
    const cached = refreshing(source, () => clock.now);
    for (let attempt = 0; attempt < 20; attempt++) {
      expect((await cached.get()).accessKeyId).toBe('AKID1');
      clock.now += 1_000;
    }
    expect(source.fetches).toBe(1);
  });

  it('fetches new credentials once the old ones are within the margin of expiry, never reusing them', async () => {
    const clock = { now: 0 };
    const source = countingSource(clock, REFRESH_MARGIN_MS + 60_000);
    const cached = refreshing(source, () => clock.now);
    expect((await cached.get()).accessKeyId).toBe('AKID1');
    clock.now += 60_001;
    expect((await cached.get()).accessKeyId).toBe('AKID2');
    expect(source.fetches).toBe(2);
  });

  it('refuses credentials that are already expired', async () => {
    const clock = { now: 0 };
    await expect(refreshing(countingSource(clock, -1), () => clock.now).get()).rejects.toMatchObject({ code: 'CREDENTIALS_EXPIRED' });
  });
});

describe('envCredentials', () => {
  it('reads the standard variables on every call', async () => {
    const env: NodeJS.ProcessEnv = { AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'S' };
    const source = envCredentials(env);
    expect(await source.get()).toEqual({ accessKeyId: 'A', secretAccessKey: 'S' });
    env.AWS_SESSION_TOKEN = 'T';
    expect(await source.get()).toEqual({ accessKeyId: 'A', secretAccessKey: 'S', sessionToken: 'T' });
  });

  it('names the missing variables without echoing any value', async () => {
    await expect(envCredentials({ AWS_ACCESS_KEY_ID: 'A' }).get()).rejects.toMatchObject({ code: 'CREDENTIALS_MISSING' });
  });
});
