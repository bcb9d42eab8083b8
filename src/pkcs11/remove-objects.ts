/**
 * Deletes what a retired identity left in a token: the certificate and the
 * key pair stored under one label. The certificate goes first, so a cut
 * never leaves a certificate whose key is gone while the key pair is half.
 */
import { constants as ck, tokenError } from './native.js';
import type { OpenToken } from './token.js';

export function removeLabelledIdentity(opened: OpenToken, label: string): number {
  const { session, token } = opened;
  let removed = 0;
  try {
    for (const objectClass of [ck.CKO_CERTIFICATE, ck.CKO_PRIVATE_KEY, ck.CKO_PUBLIC_KEY]) {
      for (const handle of session.findObjects([{ type: ck.CKA_CLASS, value: objectClass }, { type: ck.CKA_LABEL, value: label }])) {
        session.destroyObject(handle);
        removed++;
      }
    }
  } catch (error) {
    throw tokenError(error, `removing the objects labelled "${label}" from token "${token.label}"`);
  }
  return removed;
}
