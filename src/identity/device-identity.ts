/**
 * The device identity for mutual TLS: the certificate, and the key it must
 * belong to (in a token, or a PEM file during development). Everything a
 * user can get wrong here is checked before any connection is attempted.
 */
import { TrustlinkError } from '../errors.js';
import type { Logger } from '../log/log.js';
import type { Pin } from '../pkcs11/secret.js';
import { readTokenCertificate } from '../pkcs11/token-certificate.js';
import { openTokenKey, type TokenKey } from '../pkcs11/token.js';
import { readTextFile } from '../files/read.js';
import { nodeCrypto } from '../node-crypto.js';
import { parseCertificate, readCertificateFile, type LoadedCertificate } from './certificate.js';
import type { CertSource, KeySource } from './sources.js';

export type TlsKey =
  | { kind: 'pkcs11'; modulePath: string; tokenLabel: string; keyLabel: string | undefined; pin: Pin }
  | { kind: 'file'; keyPem: string };

export interface DeviceIdentity {
  cert: LoadedCertificate;
  key: TlsKey;
  /** The open token key when the key is in a token; callers close it when done. */
  tokenKey: TokenKey | undefined;
}

function describeSubject(cert: LoadedCertificate): string {
  return cert.x509.subject.replace(/\n/g, ', ');
}

function openKeyFile(path: string): { keyPem: string; spki: Buffer } {
  const keyPem = readTextFile(path, 'private key file', 'pass --key with a PKCS#11 URI or a PEM key file');
  try {
    const { createPrivateKey, createPublicKey } = nodeCrypto();
    return { keyPem, spki: createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' }) };
  } catch (error) {
    throw new TrustlinkError('CONFIG_INVALID', `${path} is not an unencrypted PEM private key`, { cause: error });
  }
}

const TOKEN_SELECTORS = ['token', 'serial', 'manufacturer', 'model', 'slotId', 'slotDescription'] as const;

/** A certificate URI that names no token means the key's token. */
function readCertificateFromToken(source: Extract<CertSource, { kind: 'pkcs11' }>, tokenKey: TokenKey | undefined): LoadedCertificate {
  const namesToken = TOKEN_SELECTORS.some((selector) => source.uri[selector] !== undefined);
  const uri = namesToken || !tokenKey ? source.uri : { ...source.uri, token: tokenKey.token.label, serial: tokenKey.token.serial };
  return parseCertificate(readTokenCertificate({ modulePath: source.modulePath, uri }), source.text);
}

/**
 * A certificate file is read at once, before the token is touched, so a
 * typo costs no login; a certificate in a token is read once the key's
 * login is done (a private certificate object needs it).
 */
export function certificateReader(source: CertSource): (tokenKey: TokenKey | undefined) => LoadedCertificate {
  if (source.kind === 'pkcs11') return (tokenKey) => readCertificateFromToken(source, tokenKey);
  const loaded = readCertificateFile(source.path);
  return () => loaded;
}

/**
 * Loads the certificate, opens the key, and refuses a pair that does not
 * belong together: the TLS handshake would fail later with a vaguer error.
 */
export function loadDeviceIdentity(certSource: CertSource, keySource: KeySource, log: Logger, now = new Date()): DeviceIdentity {
  const readCertificate = certificateReader(certSource);
  const certName = certSource.kind === 'file' ? certSource.path : certSource.text;

  let key: TlsKey;
  let spki: Buffer;
  let tokenKey: TokenKey | undefined;
  if (keySource.kind === 'pkcs11') {
    tokenKey = openTokenKey(keySource);
    spki = tokenKey.publicKeySpki;
    key = { kind: 'pkcs11', modulePath: keySource.modulePath, tokenLabel: tokenKey.token.label, keyLabel: tokenKey.keyLabel, pin: keySource.pin };
  } else {
    const file = openKeyFile(keySource.path);
    spki = file.spki;
    key = { kind: 'file', keyPem: file.keyPem };
  }
  let cert: LoadedCertificate;
  try {
    cert = readCertificate(tokenKey);
  } catch (error) {
    tokenKey?.close();
    throw error;
  }
  if (cert.notAfter < now) {
    log.warn('the device certificate has expired; the server will refuse it', { cert: certName, validTo: cert.notAfter.toISOString() });
  } else if (cert.notBefore > now) {
    log.warn('the device certificate is not valid yet; is the clock right?', { cert: certName, validFrom: cert.notBefore.toISOString() });
  }
  if (!spki.equals(cert.spki)) {
    tokenKey?.close();
    const keyName = keySource.kind === 'pkcs11' ? `token key "${key.kind === 'pkcs11' ? key.keyLabel ?? '?' : ''}" in token "${tokenKey?.token.label}"` : keySource.path;
    throw new TrustlinkError('CERT_KEY_MISMATCH', `the certificate ${certName} (${describeSubject(cert)}) was not issued for ${keyName}`, {
      hint: 'use the certificate made from this key\'s CSR, or point --key at the key the certificate belongs to',
    });
  }
  return { cert, key, tokenKey };
}
