/**
 * The device key for provisioning: the one named by the URI when the token
 * holds it (a rerun after a power cut), else a new one generated inside the
 * token under that label. Never a second key. And the rule for anything
 * kept from an earlier run: its certificate must carry this key.
 */
import { X509Certificate } from 'node:crypto';
import type { Pin } from '../pkcs11/secret.js';
import { generateKeyPair, type KeyType } from '../pkcs11/keygen.js';
import { constants as ck } from '../pkcs11/native.js';
import { openToken, publicKeySpki } from '../pkcs11/token.js';
import { formatPkcs11Uri, type Pkcs11Uri } from '../pkcs11/uri.js';

export interface DeviceKeyResult {
  /** The private key's URI. */
  uri: string;
  generated: boolean;
  /** DER SubjectPublicKeyInfo of the key pair. */
  publicKeySpki: Buffer;
}

/** True when the PEM certificate was issued for the key with this SubjectPublicKeyInfo. */
export function certificateIsFor(certificatePem: string, spki: Buffer): boolean {
  try {
    return new X509Certificate(certificatePem).publicKey.export({ type: 'spki', format: 'der' }).equals(spki);
  } catch {
    return false;
  }
}

export async function ensureDeviceKey(options: { modulePath: string; uri: Pkcs11Uri; label: string; pin: Pin; type: KeyType }): Promise<DeviceKeyResult> {
  const opened = openToken({ modulePath: options.modulePath, uri: options.uri, pin: options.pin, readWrite: true });
  try {
    const existing = opened.session.findObjects([{ type: ck.CKA_CLASS, value: ck.CKO_PRIVATE_KEY }, { type: ck.CKA_LABEL, value: options.label }], 1);
    const [found] = existing;
    if (found !== undefined) {
      const id = opened.session.attributes(found, [ck.CKA_ID]).get(ck.CKA_ID);
      const { spki } = publicKeySpki(opened.session, opened.token, found, id, options.label);
      return { uri: formatPkcs11Uri({ token: opened.token.label, object: options.label, id, type: 'private' }), generated: false, publicKeySpki: spki };
    }
    // A generation cut short may have left the public half alone; it would block the label.
    for (const orphan of opened.session.findObjects([{ type: ck.CKA_CLASS, value: ck.CKO_PUBLIC_KEY }, { type: ck.CKA_LABEL, value: options.label }])) {
      opened.session.destroyObject(orphan);
    }
    const key = await generateKeyPair(opened, { label: options.label, type: options.type });
    return { uri: key.uri, generated: true, publicKeySpki: key.publicKeySpki };
  } finally {
    opened.close();
  }
}
