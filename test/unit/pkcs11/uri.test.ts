import { describe, expect, it } from 'vitest';
import type { TrustlinkError } from '../../../src/errors.js';
import { formatPkcs11Uri, parsePkcs11Uri } from '../../../src/pkcs11/uri.js';

function parseError(uri: string): TrustlinkError {
  try {
    parsePkcs11Uri(uri);
  } catch (error) {
    return error as TrustlinkError;
  }
  throw new Error(`${uri} parsed`);
}

describe('parsePkcs11Uri', () => {
  // The examples of RFC 7512, section 3.
  it.each([
    ['pkcs11:', {}],
    ['pkcs11:object=my-pubkey;type=public', { object: 'my-pubkey', type: 'public' }],
    ['pkcs11:object=my-key;type=private?pin-source=file:/etc/token', { object: 'my-key', type: 'private', pinSource: '/etc/token' }],
    [
      'pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=?pin-source=file:/etc/token_pin',
      {
        token: 'The Software PKCS#11 Softtoken',
        manufacturer: 'Snake Oil, Inc.',
        model: '1.0',
        object: 'my-certificate',
        type: 'cert',
        id: Buffer.from([0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91]),
        serial: '',
        pinSource: '/etc/token_pin',
      },
    ],
    ['pkcs11:object=my-sign-key;type=private?module-name=mypkcs11', { object: 'my-sign-key', type: 'private', moduleName: 'mypkcs11' }],
    ['pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1', { object: 'my-sign-key', type: 'private', modulePath: '/mnt/libmypkcs11.so.1' }],
    ['pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?pin-source=file:/etc/token_pin', { token: 'Software PKCS#11 softtoken', manufacturer: 'Snake Oil, Inc.', pinSource: '/etc/token_pin' }],
    ['pkcs11:slot-description=Sun%20Metaslot', { slotDescription: 'Sun Metaslot' }],
    ['pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-description=Soft%20Token%20Library;library-version=1.23', { libraryManufacturer: 'Snake Oil, Inc.', libraryDescription: 'Soft Token Library', libraryVersion: '1.23' }],
    ['pkcs11:token=My%20token%25%20created%20by%20Joe;library-version=3;id=%01%02%03%Ba%dd%Ef%fe;object=my-object?x-vendor-flag=1', { token: 'My token% created by Joe', libraryVersion: '3', id: Buffer.from([1, 2, 3, 0xba, 0xdd, 0xef, 0xfe]), object: 'my-object' }],
    ['pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert', { token: 'A name with a substring %;', object: 'my-certificate', type: 'cert' }],
    ['pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=my-certificate;type=cert', { token: 'Name with a small A with acute: á', object: 'my-certificate', type: 'cert' }],
    ['pkcs11:token=my-token;object=my-certificate;type=cert;vendor-aaa=value-a?pin-source=file:/etc/token_pin&vendor-bbb=value-b', null],
    ['pkcs11:slot-id=2;object=k', { slotId: 2, object: 'k' }],
    ['PKCS11:token=dev', { token: 'dev' }],
  ])('%s', (uri, expected) => {
    if (expected === null) {
      // Unknown non-"x-" attributes are refused rather than ignored.
      expect(parseError(uri).message).toMatch(/unknown attribute "vendor-aaa"/);
    } else {
      expect(parsePkcs11Uri(uri)).toEqual(expected);
    }
  });

  it.each([
    ['token=dev', /does not start with "pkcs11:"/],
    ['pkcs11:token=dev;token=other', /attribute "token" appears twice/],
    ['pkcs11:object=a%2', /bad percent-encoding "%2"/],
    ['pkcs11:object=a%zz', /bad percent-encoding "%zz"/],
    ['pkcs11:type=secret', /type "secret" is not one of/],
    ['pkcs11:slot-id=two', /slot-id "two" is not a decimal number/],
    ['pkcs11:object', /"object" is not NAME=VALUE/],
    ['pkcs11:object=%ff%fe', /is not UTF-8/],
    ['pkcs11:object=k?pin-source=/p&color=blue', /unknown query attribute "color"/],
  ])('refuses %s', (uri, message) => {
    const error = parseError(uri);
    expect(error.code).toBe('PKCS11_URI_INVALID');
    expect(error.message).toMatch(message);
  });

  it('refuses pin-value and never repeats the PIN', () => {
    const error = parseError('pkcs11:object=k?pin-value=123456');
    expect(error.message).toMatch(/pin-value is not accepted/);
    expect(error.message).not.toContain('123456');
  });
});

describe('formatPkcs11Uri', () => {
  it('percent-encodes what needs it and round-trips through the parser', () => {
    const parts = { token: 'My token; 100%', object: 'key/1', id: Buffer.from([0x01, 0xab]), type: 'private' as const };
    const uri = formatPkcs11Uri(parts);
    expect(uri).toBe('pkcs11:token=My%20token%3b%20100%25;object=key%2f1;id=%01%ab;type=private');
    expect(parsePkcs11Uri(uri)).toEqual(parts);
  });
});
