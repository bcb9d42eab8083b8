/**
 * Reads PKCS#11 attribute values as what they mean: CK_BBOOL, CK_ULONG,
 * UTF-8 text, and the key facts (type, curve, size) users ask about.
 */
import { constants as ck, type Handle, type Session } from './native.js';

/** DER OIDs of the named curves (CKA_EC_PARAMS) to their JOSE names. */
export const EC_CURVES: Record<string, string> = {
  '06082a8648ce3d030107': 'P-256',
  '06052b81040022': 'P-384',
  '06052b81040023': 'P-521',
};

export const asBool = (value: Buffer | undefined): boolean | undefined => (value === undefined ? undefined : value[0] !== 0);

// CK_ULONG is 4 or 8 bytes, little-endian on the machines trustlink runs on; values fit 32 bits.
export const asUlong = (value: Buffer | undefined): number | undefined => (value === undefined || value.length < 4 ? undefined : value.readUInt32LE(0));

export const asText = (value: Buffer | undefined): string | undefined => value?.toString('utf8');

/** Whether a private key can leave its token: CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_NEVER_EXTRACTABLE. */
export interface KeyProtection {
  sensitive: boolean | undefined;
  extractable: boolean | undefined;
  neverExtractable: boolean | undefined;
}

export function keyProtection(session: Session, key: Handle): KeyProtection {
  const values = session.attributes(key, [ck.CKA_SENSITIVE, ck.CKA_EXTRACTABLE, ck.CKA_NEVER_EXTRACTABLE]);
  return {
    sensitive: asBool(values.get(ck.CKA_SENSITIVE)),
    extractable: asBool(values.get(ck.CKA_EXTRACTABLE)),
    neverExtractable: asBool(values.get(ck.CKA_NEVER_EXTRACTABLE)),
  };
}

export interface KeyFacts {
  /** "EC", "RSA", or the CKK_ value in hex for anything else. */
  keyType: string;
  /** EC: "P-256", "P-384", "P-521", or the CKA_EC_PARAMS hex of another curve. */
  curve?: string;
  /** RSA: the modulus size. */
  bits?: number;
}

/** Type, curve or size of a key object (private or public). */
export function keyFacts(session: Session, key: Handle): KeyFacts {
  const values = session.attributes(key, [ck.CKA_KEY_TYPE, ck.CKA_EC_PARAMS, ck.CKA_MODULUS_BITS, ck.CKA_MODULUS]);
  const keyType = asUlong(values.get(ck.CKA_KEY_TYPE));
  if (keyType === ck.CKK_EC) {
    const params = values.get(ck.CKA_EC_PARAMS)?.toString('hex');
    return { keyType: 'EC', ...(params !== undefined ? { curve: EC_CURVES[params] ?? params } : {}) };
  }
  if (keyType === ck.CKK_RSA) {
    const modulus = values.get(ck.CKA_MODULUS);
    const bits = asUlong(values.get(ck.CKA_MODULUS_BITS)) ?? (modulus ? modulus.length * 8 : undefined);
    return { keyType: 'RSA', ...(bits !== undefined ? { bits } : {}) };
  }
  return { keyType: keyType === undefined ? 'unknown' : `0x${keyType.toString(16)}` };
}
