import { describe, expect, it } from 'vitest';
import { renderInventory } from '../../../src/cli/hsm-list-render.js';
import type { Inventory, TokenEntry } from '../../../src/pkcs11/inventory.js';

const healthy = { countLow: false, finalTry: false, locked: false, toBeChanged: false };

function token(overrides: Partial<TokenEntry>): TokenEntry {
  return { label: 'dev', serial: '1234', manufacturer: 'SoftHSM project', model: 'SoftHSM v2', initialized: true, loginRequired: true, pin: healthy, ...overrides };
}

const inventory = (tokens: Array<TokenEntry | undefined>, tpm = false): Inventory => ({
  module: { path: '/usr/lib/softhsm/libsofthsm2.so', manufacturer: 'SoftHSM', description: 'Implementation of PKCS11', version: '2.6', tpm },
  slots: tokens.map((entry, index) => ({ slotId: index, description: `slot ${index}`, manufacturer: 'SoftHSM', ...(entry ? { token: entry } : {}) })),
});

describe('renderInventory', () => {
  it('shows keys in a table with each URI under its row, and certificates with subject and expiry', () => {
    const text = renderInventory(inventory([token({
      objects: {
        loggedIn: true,
        keys: [
          { class: 'private', label: 'devkey', id: '01', keyType: 'EC', curve: 'P-256', sensitive: true, extractable: false, neverExtractable: true, uri: 'pkcs11:token=dev;object=devkey;id=%01;type=private' },
          { class: 'public', label: 'rsa', id: '02', keyType: 'RSA', bits: 2048, uri: 'pkcs11:token=dev;object=rsa;id=%02;type=public' },
        ],
        certificates: [{ label: 'devkey', id: '01', subject: 'CN=thing-1', issuer: 'CN=CA', notAfter: '2030-01-01T00:00:00.000Z', uri: 'pkcs11:token=dev;object=devkey;id=%01;type=cert' }],
      },
    })]));
    expect(text.split('\n')).toEqual([
      'module /usr/lib/softhsm/libsofthsm2.so: SoftHSM Implementation of PKCS11 2.6',
      'slot 0 "slot 0"',
      '  token "dev": serial 1234, manufacturer SoftHSM project, model SoftHSM v2',
      '    login required; PIN state healthy',
      '    keys:',
      '      CLASS    LABEL   ID  TYPE           SENSITIVE  EXTRACTABLE  NEVER-EXTRACTABLE',
      '      private  devkey  01  EC P-256       yes        no           yes',
      '        pkcs11:token=dev;object=devkey;id=%01;type=private',
      '      public   rsa     02  RSA 2048 bits  -          -            -',
      '        pkcs11:token=dev;object=rsa;id=%02;type=public',
      '    certificates:',
      '      "devkey" id 01: CN=thing-1, expires 2030-01-01T00:00:00.000Z',
      '        pkcs11:token=dev;object=devkey;id=%01;type=cert',
    ]);
  });

  it('says when only public objects are shown, and reports PIN flags and the TPM note', () => {
    const text = renderInventory(inventory([token({
      pin: { ...healthy, countLow: true, finalTry: true },
      pinNote: 'tpm2-pkcs11 does not report PIN retries',
      objects: { loggedIn: false, keys: [], certificates: [] },
    })], true));
    expect(text).toContain('PIN retry count low');
    expect(text).toContain('final PIN try');
    expect(text).toContain('note: tpm2-pkcs11 does not report PIN retries');
    expect(text).toContain('keys (public only: give the PIN and --token to see private keys):');
  });

  it('shows empty slots, uninitialized tokens and tokens whose objects could not be listed', () => {
    const text = renderInventory(inventory([undefined, token({ initialized: false, label: '' }), token({ objectsError: 'listing its objects failed: CKR_DEVICE_ERROR' })]));
    expect(text).toContain('slot 0 "slot 0": no token');
    expect(text).toContain('  token not initialized (serial 1234, model SoftHSM v2)');
    expect(text).toContain('    objects: cannot be listed (listing its objects failed: CKR_DEVICE_ERROR)');
  });
});
