import { describe, expect, it } from 'vitest';
import { customAuthCredentials, customAuthUsername } from '../../../src/connection/custom-auth.js';
import { configSchema } from '../../../src/config/schema.js';
import * as v from 'valibot';
import type { TrustlinkError } from '../../../src/errors.js';

describe('customAuthUsername', () => {
  it('puts user, authorizer name, token, then the URI-encoded signature, as aws-crt MQTT 5 does', () => {
    expect(customAuthUsername({ username: 'dev', authorizer: 'auth', token: { keyName: 'tok', value: 'a b', signature: 'ab+/=' } }))
      .toBe('dev?x-amz-customauthorizer-name=auth&tok=a%20b&x-amz-customauthorizer-signature=ab%2B%2F%3D');
  });

  it('keeps a signature that is already encoded, and needs no user', () => {
    expect(customAuthUsername({ authorizer: 'auth', token: { keyName: 'tok', value: 't', signature: 'ab%2B' } }))
      .toBe('?x-amz-customauthorizer-name=auth&tok=t&x-amz-customauthorizer-signature=ab%2B');
  });

  it('appends with & to a user that already carries parameters', () => {
    expect(customAuthUsername({ username: 'dev?x=1', authorizer: 'auth' })).toBe('dev?x=1&x-amz-customauthorizer-name=auth');
  });
});

describe('customAuthCredentials', () => {
  const config = (input: Record<string, unknown>) => v.parse(configSchema, { auth: 'custom', ...input });
  const noKey = () => {
    throw new Error('no signing key expected');
  };

  it('requires an authorizer', () => {
    expect(() => customAuthCredentials(config({}), noKey)).toThrow(expect.objectContaining({ code: 'USAGE' }) as TrustlinkError);
  });

  it('requires the token fields all together', () => {
    expect(() => customAuthCredentials(config({ authorizer: 'a', tokenKeyName: 'tok' }), noKey)).toThrow(/--token-key-name, --token-value and one of/);
  });

  it('refuses both a signature and a signing key', () => {
    expect(() => customAuthCredentials(config({ authorizer: 'a', tokenKeyName: 'tok', tokenValue: 't', tokenSignature: 's', tokenSigningKey: 'pkcs11:token=x' }), noKey)).toThrow(/not both/);
  });

  it('builds the username from a given signature', () => {
    expect(customAuthCredentials(config({ authorizer: 'a', tokenKeyName: 'tok', tokenValue: 't', tokenSignature: 'c2ln' }), noKey))
      .toEqual({ username: '?x-amz-customauthorizer-name=a&tok=t&x-amz-customauthorizer-signature=c2ln', password: undefined });
  });
});
