import { describe, expect, it } from 'vitest';
import { missingSetting } from '../../../src/config/require.js';

describe('missingSetting', () => {
  it('names the flag, the config key and the environment variable, and says what the key is for', () => {
    const error = missingSetting('certFile', { when: 'with --auth mtls' });
    expect(error.code).toBe('USAGE');
    expect(error.message).toBe('--cert is required with --auth mtls (or "certFile" in the config file, or TRUSTLINK_CERT_FILE in the environment)');
    expect(error.hint).toMatch(/^certFile: device certificate/);
  });

  it('names a key inside an object by its path, and the object\'s variable as JSON', () => {
    expect(missingSetting('credentials.roleAlias').message)
      .toBe('--role-alias is required (or "credentials.roleAlias" in the config file, or TRUSTLINK_CREDENTIALS (JSON) in the environment)');
  });

  it('names a key without a flag by its name', () => {
    expect(missingSetting('healthTopic').message).toBe('"healthTopic" is required (or TRUSTLINK_HEALTH_TOPIC in the environment)');
  });
});
