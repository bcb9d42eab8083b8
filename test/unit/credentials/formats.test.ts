import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { containerCredentials, environmentVariables, exportLines, instanceMetadataCredentials, processCredentials, shellQuote } from '../../../src/credentials/formats.js';

const credentials = {
  accessKeyId: 'ASIAEXAMPLEEXAMPLE12',
  secretAccessKey: "se'cr$et`x\\",
  sessionToken: 'tok+/=',
  expiration: '2030-01-01T01:00:00Z',
  expiresAt: new Date('2030-01-01T01:00:00Z'),
};

describe('formats', () => {
  it('process: Version 1 and the four fields credential_process readers take', () => {
    expect(processCredentials(credentials)).toEqual({
      Version: 1, AccessKeyId: credentials.accessKeyId, SecretAccessKey: credentials.secretAccessKey, SessionToken: 'tok+/=', Expiration: '2030-01-01T01:00:00Z',
    });
  });

  it('env: export lines a POSIX shell reads back unchanged, whatever the characters', () => {
    const script = `${exportLines(environmentVariables(credentials))}\nprintf '%s|%s|%s|%s' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" "$AWS_CREDENTIAL_EXPIRATION"`;
    const printed = execFileSync('sh', ['-c', script], { encoding: 'utf8' });
    expect(printed).toBe(`${credentials.accessKeyId}|${credentials.secretAccessKey}|tok+/=|2030-01-01T01:00:00Z`);
  });

  it('shellQuote closes and reopens quotes around a single quote', () => {
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
  });

  it('ECS and IMDS answers carry Token, and IMDS adds Code, Type and LastUpdated', () => {
    expect(containerCredentials(credentials)).toEqual({ AccessKeyId: credentials.accessKeyId, SecretAccessKey: credentials.secretAccessKey, Token: 'tok+/=', Expiration: '2030-01-01T01:00:00Z' });
    expect(instanceMetadataCredentials(credentials, new Date('2030-01-01T00:00:00.456Z'))).toEqual({
      Code: 'Success', Type: 'AWS-HMAC', LastUpdated: '2030-01-01T00:00:00Z', ...containerCredentials(credentials),
    });
  });
});
