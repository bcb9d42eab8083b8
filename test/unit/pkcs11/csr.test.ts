import { describe, expect, it } from 'vitest';
import { parseSubject } from '../../../src/pkcs11/csr.js';

describe('parseSubject', () => {
  it('keeps the attributes in the order written, with escaped commas', () => {
    expect(parseSubject('CN=thing-1,O=Example\\, Inc,C=DE').toJSON()).toEqual([{ CN: ['thing-1'] }, { O: ['Example, Inc'] }, { C: ['DE'] }]);
  });

  it.each([
    ['thing-1', 'names no attribute'],
    ['', 'names no attribute'],
    ['/CN=thing-1/O=x', "OpenSSL's /CN=... form"],
    ['CN=', 'has an empty value'],
    ['FOO=bar', 'attribute type trustlink does not know'],
  ])('refuses %j as a usage error', (subject, reason) => {
    expect(() => parseSubject(subject)).toThrow(reason);
    try {
      parseSubject(subject);
    } catch (error) {
      expect(error).toMatchObject({ code: 'USAGE', exitCode: 64 });
    }
  });
});
