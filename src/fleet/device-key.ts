/**
 * The device key for provisioning: the one named by the URI when the token
 * holds it (a rerun after a power cut), else a new one generated inside the
 * token under that label. Never a second key. And the rule for anything
 * kept from an earlier run: its certificate must carry this key.
 */
import { X509Certificate } from 'node:crypto';
import type { Pin } from '../pkcs11/secret.js';
import { existingKeyPair, generateKeyPair, removeStrayPublicKeys, type KeyType } from '../pkcs11/keygen.js';
import { openToken } from '../pkcs11/token.js';
import type { Pkcs11Uri } from '../pkcs11/uri.js';

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
    const existing = existingKeyPair(opened, options.label);
    if (existing !== undefined) return { ...existing, generated: false };
    removeStrayPublicKeys(opened, options.label);
    const key = await generateKeyPair(opened, { label: options.label, type: options.type });
    return { uri: key.uri, generated: true, publicKeySpki: key.publicKeySpki };
  } finally {
    opened.close();
  }
}
