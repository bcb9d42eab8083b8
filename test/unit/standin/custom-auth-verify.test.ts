import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyCustomAuth } from '../../standin/custom-auth-verify.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const authorizer = { name: 'auth', tokenKeyName: 'tok', publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string };
const signature = encodeURIComponent(sign('sha256', Buffer.from('device-1'), privateKey).toString('base64'));

describe('the stand-in custom-auth check', () => {
  it('splits on the last "?" and ignores unknown keys such as SDK metrics', () => {
    const username = `us?er?x-amz-customauthorizer-name=auth&tok=device-1&x-amz-customauthorizer-signature=${signature}&SDK=IoTDeviceSDK/JS&Platform=linux`;
    expect(verifyCustomAuth(username, authorizer)).toEqual({ ok: true, authorizer: 'auth', user: 'us?er' });
  });

  it('refuses another authorizer, a missing token, and a signature over another token', () => {
    expect(verifyCustomAuth(`?x-amz-customauthorizer-name=other&tok=device-1&x-amz-customauthorizer-signature=${signature}`, authorizer)).toMatchObject({ ok: false, reason: 'unknown authorizer other' });
    expect(verifyCustomAuth(`?x-amz-customauthorizer-name=auth&x-amz-customauthorizer-signature=${signature}`, authorizer)).toMatchObject({ ok: false, reason: 'token or signature missing' });
    expect(verifyCustomAuth(`?x-amz-customauthorizer-name=auth&tok=device-2&x-amz-customauthorizer-signature=${signature}`, authorizer)).toMatchObject({ ok: false, reason: 'token signature does not verify' });
    expect(verifyCustomAuth('plain-user', authorizer)).toMatchObject({ ok: false });
  });
});
