/**
 * The device key for provisioning: the one named by the URI when the token
 * holds it (a rerun after a power cut), else a new one generated inside the
 * token under that label. Never a second key.
 */
import type { Pin } from '../pkcs11/secret.js';
import { generateKeyPair, type KeyType } from '../pkcs11/keygen.js';
import { constants as ck } from '../pkcs11/native.js';
import { openToken } from '../pkcs11/token.js';
import { formatPkcs11Uri, type Pkcs11Uri } from '../pkcs11/uri.js';

export interface DeviceKeyResult {
  /** The private key's URI. */
  uri: string;
  generated: boolean;
}

export async function ensureDeviceKey(options: { modulePath: string; uri: Pkcs11Uri; label: string; pin: Pin; type: KeyType }): Promise<DeviceKeyResult> {
  const opened = openToken({ modulePath: options.modulePath, uri: options.uri, pin: options.pin, readWrite: true });
  try {
    const existing = opened.session.findObjects([{ type: ck.CKA_CLASS, value: ck.CKO_PRIVATE_KEY }, { type: ck.CKA_LABEL, value: options.label }], 1);
    const [found] = existing;
    if (found !== undefined) {
      const id = opened.session.attributes(found, [ck.CKA_ID]).get(ck.CKA_ID);
      return { uri: formatPkcs11Uri({ token: opened.token.label, object: options.label, id, type: 'private' }), generated: false };
    }
    // A generation cut short may have left the public half alone; it would block the label.
    for (const orphan of opened.session.findObjects([{ type: ck.CKA_CLASS, value: ck.CKO_PUBLIC_KEY }, { type: ck.CKA_LABEL, value: options.label }])) {
      opened.session.destroyObject(orphan);
    }
    const key = await generateKeyPair(opened, { label: options.label, type: options.type });
    return { uri: key.uri, generated: true };
  } finally {
    opened.close();
  }
}
