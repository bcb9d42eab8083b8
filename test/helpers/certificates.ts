/**
 * Device certificates with chosen validity dates (expired, not yet valid),
 * signed by the test CA. openssl 3.0's `x509` has no -not_before/-not_after
 * (they came in 3.4), so @peculiar/x509 makes them.
 */
import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { TestPki } from './pki.js';

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

export async function certifyWithDates(pki: TestPki, publicKeyPem: string, cn: string, out: string, validity: { notBefore: Date; notAfter: Date }): Promise<string> {
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const caKey = await webcrypto.subtle.importKey('pkcs8', pemBody(readFileSync(pki.caKey, 'utf8')), EC_P256, false, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', pemBody(readFileSync(publicKeyPem, 'utf8')), EC_P256, true, ['verify']);
  const ca = new x509.X509Certificate(readFileSync(pki.caFile, 'utf8'));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: Date.now().toString(16),
    issuer: ca.subject,
    subject: `CN=${cn}`,
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
    publicKey,
    signingKey: caKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
  });
  writeFileSync(out, certificate.toString('pem'));
  return out;
}
