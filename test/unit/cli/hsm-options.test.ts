import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseKeyId, parseLabel, parseTokenSelector } from '../../../src/cli/hsm-options.js';

describe('parseKeyId', () => {
  it('takes even-length hex, as pkcs11-tool --id does', () => {
    expect(parseKeyId('01')).toEqual(Buffer.from([1]));
    expect(parseKeyId('3F2a')).toEqual(Buffer.from([0x3f, 0x2a]));
  });

  it.each(['', '1', '310', 'zz', '0x01', '01 02'])('refuses %j', (value) => {
    expect(() => parseKeyId(value)).toThrow(InvalidArgumentError);
  });
});

describe('parseTokenSelector', () => {
  it('takes a plain label', () => {
    expect(parseTokenSelector('dev')).toEqual({ token: 'dev' });
  });

  it('takes a PKCS#11 URI, decoded', () => {
    expect(parseTokenSelector('pkcs11:token=my%20token;serial=0001')).toEqual({ token: 'my token', serial: '0001' });
  });

  it('refuses a malformed URI with the URI error', () => {
    expect(() => parseTokenSelector('pkcs11:tokn=dev')).toThrow(/unknown attribute "tokn"/);
  });
});

describe('parseLabel', () => {
  it('refuses an empty or blank label', () => {
    expect(() => parseLabel('')).toThrow(InvalidArgumentError);
    expect(() => parseLabel('  ')).toThrow(InvalidArgumentError);
    expect(parseLabel('thing-1')).toBe('thing-1');
  });
});
