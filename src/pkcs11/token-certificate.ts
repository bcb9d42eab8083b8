/**
 * Reads an X.509 certificate object (CKO_CERTIFICATE) out of a token, for
 * `--cert pkcs11:...;type=cert`. Certificates are public objects, so no
 * login is needed; in a process that has logged in already, private ones
 * are found too (login state belongs to the process, not the session).
 */
import { TrustlinkError } from '../errors.js';
import { constants as ck, tokenError, type Template } from './native.js';
import { hex, openToken } from './token.js';
import type { Pkcs11Uri } from './uri.js';

export interface ReadCertificateOptions {
  modulePath: string;
  uri: Pkcs11Uri;
}

/** The DER of the one certificate the URI names. */
export function readTokenCertificate(options: ReadCertificateOptions): Buffer {
  const { uri } = options;
  if (uri.type !== undefined && uri.type !== 'cert') {
    throw new TrustlinkError('PKCS11_URI_INVALID', `the certificate URI says type=${uri.type}; a certificate needs type=cert`);
  }
  const opened = openToken(options);
  try {
    const template: Template = [
      { type: ck.CKA_CLASS, value: ck.CKO_CERTIFICATE },
      { type: ck.CKA_CERTIFICATE_TYPE, value: ck.CKC_X_509 },
    ];
    if (uri.object !== undefined) template.push({ type: ck.CKA_LABEL, value: uri.object });
    if (uri.id !== undefined) template.push({ type: ck.CKA_ID, value: uri.id });
    const wanted = [uri.object !== undefined && `object "${uri.object}"`, uri.id !== undefined && `id ${hex(uri.id)}`].filter(Boolean).join(', ') || 'the URI';
    let found;
    try {
      found = opened.session.findObjects(template, 2).map((object) => opened.session.attributes(object, [ck.CKA_VALUE]).get(ck.CKA_VALUE));
    } catch (error) {
      throw tokenError(error, `looking for certificate ${wanted} in token "${opened.token.label}"`);
    }
    if (found.length !== 1) {
      throw new TrustlinkError('CERT_NOT_FOUND', `token "${opened.token.label}" holds ${found.length === 0 ? 'no' : 'more than one'} certificate matching ${wanted}`, {
        hint: found.length === 0
          ? 'store it with trustlink hsm import-cert, or fix object= / id= (trustlink hsm list shows the certificates and their URIs)'
          : 'add id= to the URI to pick one (trustlink hsm list shows them)',
      });
    }
    const [der] = found;
    if (der === undefined || der.length === 0) {
      throw new TrustlinkError('CERT_INVALID', `the certificate ${wanted} in token "${opened.token.label}" has no value (CKA_VALUE)`);
    }
    return der;
  } finally {
    opened.close();
  }
}
