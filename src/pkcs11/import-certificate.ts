/**
 * Stores a device certificate in the token next to its key: same CKA_ID and
 * CKA_LABEL as the key, so `pkcs11:token=T;object=KEY;type=cert` finds it.
 * A certificate for another key is refused, and one already stored is only
 * replaced when asked (a renewed certificate).
 */
import { X509Certificate } from 'node:crypto';
import { AsnConvert, AsnIntegerArrayBufferConverter } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { TrustlinkError } from '../errors.js';
import { constants as ck, tokenError, type Handle } from './native.js';
import { findPrivateKey, hex, publicKeySpki, type OpenToken } from './token.js';
import { formatPkcs11Uri } from './uri.js';

export interface ImportCertificateOptions {
  /** The key's CKA_LABEL; the certificate gets the same label. */
  keyLabel: string;
  /** DER of the certificate. */
  der: Buffer;
  /** Where the certificate came from, for messages. */
  source: string;
  /** Replace a certificate already stored under this label or id. */
  replace: boolean;
}

export interface ImportedCertificate {
  label: string;
  id: Buffer;
  subject: string;
  notAfter: string;
  uri: string;
  replaced: number;
}

/** CKA_SUBJECT, CKA_ISSUER and CKA_SERIAL_NUMBER are DER encodings taken from the certificate itself. */
function certificateAttributes(der: Buffer): { subject: Buffer; issuer: Buffer; serial: Buffer } {
  const certificate = AsnConvert.parse(der, Certificate);
  const tbs = certificate.tbsCertificate;
  return {
    subject: Buffer.from(AsnConvert.serialize(tbs.subject)),
    issuer: Buffer.from(AsnConvert.serialize(tbs.issuer)),
    serial: Buffer.from(AsnIntegerArrayBufferConverter.toASN(tbs.serialNumber).toBER()),
  };
}

function existingCertificates(opened: OpenToken, label: string, id: Buffer): Handle[] {
  const { session } = opened;
  const byLabel = session.findObjects([{ type: ck.CKA_CLASS, value: ck.CKO_CERTIFICATE }, { type: ck.CKA_LABEL, value: label }]);
  const byId = id.length > 0 ? session.findObjects([{ type: ck.CKA_CLASS, value: ck.CKO_CERTIFICATE }, { type: ck.CKA_ID, value: id }]) : [];
  const unique = new Map<string, Handle>();
  for (const handle of [...byLabel, ...byId]) unique.set(handle.toString('hex'), handle);
  return [...unique.values()];
}

export function importCertificate(opened: OpenToken, options: ImportCertificateOptions): ImportedCertificate {
  const { session, token } = opened;
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(options.der);
  } catch (error) {
    throw new TrustlinkError('CERT_INVALID', `${options.source} is not a PEM or DER X.509 certificate`, { cause: error });
  }
  const der = certificate.raw;
  const privateKey = findPrivateKey(session, token, { object: options.keyLabel });
  const id = session.attributes(privateKey, [ck.CKA_ID]).get(ck.CKA_ID) ?? Buffer.alloc(0);
  const { spki } = publicKeySpki(session, token, privateKey, id, options.keyLabel);
  const subject = certificate.subject.replace(/\n/g, ', ');
  if (!spki.equals(certificate.publicKey.export({ type: 'spki', format: 'der' }))) {
    throw new TrustlinkError('CERT_KEY_MISMATCH', `${options.source} (${subject}) was not issued for key "${options.keyLabel}" in token "${token.label}"`, {
      hint: 'import the certificate the CA made from this key\'s CSR (trustlink hsm csr), or name the key it belongs to with --label',
    });
  }
  const existing = existingCertificates(opened, options.keyLabel, id);
  if (existing.length > 0 && !options.replace) {
    throw new TrustlinkError('CERT_EXISTS', `token "${token.label}" already holds a certificate labelled "${options.keyLabel}" or with id ${hex(id)}`, {
      hint: 'add --replace to swap in the new certificate (for a renewal)',
    });
  }
  const attributes = certificateAttributes(der);
  try {
    // The new certificate goes in before the old one goes out: an interruption never leaves the key without one.
    session.createObject([
      { type: ck.CKA_CLASS, value: ck.CKO_CERTIFICATE },
      { type: ck.CKA_CERTIFICATE_TYPE, value: ck.CKC_X_509 },
      { type: ck.CKA_TOKEN, value: true },
      { type: ck.CKA_PRIVATE, value: false },
      { type: ck.CKA_LABEL, value: options.keyLabel },
      { type: ck.CKA_ID, value: id },
      { type: ck.CKA_VALUE, value: der },
      { type: ck.CKA_SUBJECT, value: attributes.subject },
      { type: ck.CKA_ISSUER, value: attributes.issuer },
      { type: ck.CKA_SERIAL_NUMBER, value: attributes.serial },
    ]);
    for (const old of existing) session.destroyObject(old);
  } catch (error) {
    throw tokenError(error, `storing the certificate in token "${token.label}"`);
  }
  return {
    label: options.keyLabel,
    id,
    subject,
    notAfter: new Date(certificate.validTo).toISOString(),
    uri: formatPkcs11Uri({ token: token.label, object: options.keyLabel, ...(id.length > 0 ? { id } : {}), type: 'cert' }),
    replaced: existing.length,
  };
}
