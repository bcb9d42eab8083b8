import { describe, expect, it } from 'vitest';
import { isTpm2Module, tpmLockoutHint } from '../../../src/pkcs11/tpm.js';

describe('isTpm2Module', () => {
  it('recognises tpm2-pkcs11 by what its C_GetInfo says', () => {
    expect(isTpm2Module({ manufacturer: 'tpm2-software.github.io', description: 'TPM2.0 Cryptoki', version: '1.9' })).toBe(true);
  });

  it('does not take SoftHSM or an HSM for a TPM', () => {
    expect(isTpm2Module({ manufacturer: 'SoftHSM', description: 'Implementation of PKCS11', version: '2.6' })).toBe(false);
    expect(isTpm2Module({ manufacturer: 'OpenSC Project', description: 'OpenSC smartcard framework', version: '0.23' })).toBe(false);
  });
});

describe('tpmLockoutHint', () => {
  it('explains the dictionary-attack counter and who can clear it', () => {
    for (const locked of [true, false]) {
      const hint = tpmLockoutHint(locked);
      expect(hint).toContain('TPM2_PT_LOCKOUT_COUNTER');
      expect(hint).toContain('tpm2_dictionarylockout --clear-lockout');
      expect(hint).toContain('tpm2_getcap properties-variable');
    }
  });

  it('says the TPM is in lockout only when it is', () => {
    expect(tpmLockoutHint(true)).toMatch(/^the TPM is in dictionary-attack lockout/);
    expect(tpmLockoutHint(false)).toMatch(/^fix the PIN before trying again/);
  });
});
