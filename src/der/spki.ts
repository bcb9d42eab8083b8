/**
 * The SubjectPublicKeyInfo (RFC 5280, 4.1.2.7) of a token's public key, built
 * from its PKCS#11 attributes in the one DER form OpenSSL also writes, so it
 * compares byte for byte with the SubjectPublicKeyInfo of a certificate.
 */
import { encodeElement, encodeUnsignedInteger, TAG } from './der.js';

// id-ecPublicKey (1.2.840.10045.2.1) and rsaEncryption (1.2.840.113549.1.1.1), as DER OIDs.
const EC_PUBLIC_KEY = Buffer.from('06072a8648ce3d0201', 'hex');
const RSA_ENCRYPTION = Buffer.from('06092a864886f70d010101', 'hex');
const DER_NULL = Buffer.from([TAG.null, 0]);

const spki = (algorithm: Buffer, publicKey: Buffer): Buffer =>
  encodeElement(TAG.sequence, encodeElement(TAG.sequence, algorithm), encodeElement(TAG.bitString, Buffer.from([0]), publicKey));

/** An EC key: `curve` is CKA_EC_PARAMS (the named curve's DER OID), `point` the uncompressed point (04 || x || y). */
export function ecSpki(curve: Buffer, point: Buffer): Buffer {
  return spki(Buffer.concat([EC_PUBLIC_KEY, curve]), point);
}

/** An RSA key from CKA_MODULUS and CKA_PUBLIC_EXPONENT (big-endian magnitudes). */
export function rsaSpki(modulus: Buffer, exponent: Buffer): Buffer {
  return spki(Buffer.concat([RSA_ENCRYPTION, DER_NULL]), encodeElement(TAG.sequence, encodeUnsignedInteger(modulus), encodeUnsignedInteger(exponent)));
}
