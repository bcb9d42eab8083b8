/**
 * What provisioning and rotation share: a CSR signed by the token key,
 * CreateCertificateFromCsr and RegisterThing over an MQTT session (the
 * claim's or the device's own), and storing the certificate in the token
 * beside its key or in a file.
 */
import type { MqttSession } from '../connection/mqtt.js';
import { writeFileAtomic } from '../files/atomic-write.js';
import type { Pin } from '../pkcs11/secret.js';
import { openToken, openTokenKey } from '../pkcs11/token.js';
import type { Pkcs11Uri } from '../pkcs11/uri.js';
import { parsePkcs11Uri } from '../pkcs11/uri.js';
import { CREATE_FROM_CSR_TOPIC, parseCertificateAnswer, parseRegisterAnswer, registerThingTopic, rejectionError, type CertificateAnswer, type RegisterAnswer } from './fleet-api.js';
import { request } from './request.js';

export interface TokenAccess {
  modulePath: string;
  pin: Pin;
}

/** A PEM CSR for the key, signed in the token; AWS IoT takes only its public key, the CN is for people. */
export async function csrForKey(access: TokenAccess, keyUri: string, commonName: string): Promise<string> {
  // Loaded only here: the X.509 library is large and only CSRs need it.
  const { createCsr, parseSubject } = await import('../pkcs11/csr.js');
  const key = openTokenKey({ modulePath: access.modulePath, uri: parsePkcs11Uri(keyUri), pin: access.pin });
  try {
    return await createCsr(key, parseSubject(`CN=${commonName}`));
  } finally {
    key.close();
  }
}

export async function createCertificateFromCsr(session: MqttSession, csrPem: string, timeoutMs: number): Promise<CertificateAnswer> {
  const created = await request(session, CREATE_FROM_CSR_TOPIC, { certificateSigningRequest: csrPem }, timeoutMs);
  if (!created.accepted) throw rejectionError('CreateCertificateFromCsr', created.payload);
  return parseCertificateAnswer(created.payload);
}

export async function registerThing(session: MqttSession, template: string, ownershipToken: string, parameters: Record<string, string>, timeoutMs: number): Promise<RegisterAnswer> {
  const registered = await request(session, registerThingTopic(template), { certificateOwnershipToken: ownershipToken, parameters }, timeoutMs);
  if (!registered.accepted) throw rejectionError('RegisterThing', registered.payload);
  return parseRegisterAnswer(registered.payload);
}

export interface StoreTarget {
  /** A file, or undefined for the token beside the key. */
  certOut: string | undefined;
  /** Selects the token. */
  token: Pkcs11Uri;
  keyLabel: string;
}

/** The certificate in a file, or in the token beside its key; returns what certFile should say. */
export async function storeCertificate(access: TokenAccess, target: StoreTarget, certificatePem: string): Promise<string> {
  if (target.certOut !== undefined) {
    writeFileAtomic(target.certOut, certificatePem, 0o644);
    return target.certOut;
  }
  const { importCertificate } = await import('../pkcs11/import-certificate.js');
  const opened = openToken({ modulePath: access.modulePath, uri: target.token, pin: access.pin, readWrite: true });
  try {
    // replace: a rerun after a power cut finds its own certificate already there.
    return importCertificate(opened, { keyLabel: target.keyLabel, der: Buffer.from(certificatePem), source: 'AWS IoT', replace: true }).uri;
  } finally {
    opened.close();
  }
}
