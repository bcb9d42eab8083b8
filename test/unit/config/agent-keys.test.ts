import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import type { TrustlinkError } from '../../../src/errors.js';

const load = (flags: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => loadConfig({ env, flags, defaultFile: '/nonexistent/config.json' }).config;

describe('self-test and agent keys', () => {
  it('default to no topics and a 60 s health interval', () => {
    const config = load({});
    expect(config.selftestTopic).toBeUndefined();
    expect(config.healthTopic).toBeUndefined();
    expect(config.healthIntervalSeconds).toBe(60);
  });

  it('are read from the environment', () => {
    expect(load({}, { TRUSTLINK_SELFTEST_TOPIC: 'st/1', TRUSTLINK_HEALTH_TOPIC: 'h/1', TRUSTLINK_HEALTH_INTERVAL_SECONDS: '30' }))
      .toMatchObject({ selftestTopic: 'st/1', healthTopic: 'h/1', healthIntervalSeconds: 30 });
  });

  it('refuse wildcard topics and intervals out of range, naming the key', () => {
    for (const [flags, key] of [[{ selftestTopic: 'st/#' }, 'selftestTopic'], [{ healthTopic: 'h/+' }, 'healthTopic'], [{ healthIntervalSeconds: 1 }, 'healthIntervalSeconds']] as const) {
      let error: TrustlinkError | undefined;
      try {
        load(flags);
      } catch (caught) {
        error = caught as TrustlinkError;
      }
      expect(error?.code).toBe('CONFIG_INVALID');
      expect(error?.message).toContain(key);
    }
  });
});
