/** Certificates as files: the device certificate and the CA bundle the server must chain to. */
import { X509Certificate } from 'node:crypto';
import { TrustlinkError } from '../errors.js';
import { readTextFile } from '../files/read.js';

export function parseCertificate(pem: string | Buffer, path: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new TrustlinkError('CERT_INVALID', `${path} is not a PEM or DER X.509 certificate`, {
      cause: error,
      hint: 'pass the device certificate AWS IoT issued or registered (-----BEGIN CERTIFICATE-----)',
    });
  }
}

/** The PEM certificate blocks of a bundle, in order. */
export function pemCertificates(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** Reads a CA bundle and checks that it holds at least one certificate. */
export function readCaBundle(path: string): string {
  const pem = readTextFile(path, 'CA file', 'pass --ca-file with the server CA (for AWS IoT: Amazon Root CA 1)');
  const blocks = pemCertificates(pem);
  if (blocks.length === 0) {
    throw new TrustlinkError('CA_INVALID', `the CA file ${path} holds no PEM certificate`, {
      hint: 'pass the server CA in PEM form (for AWS IoT: Amazon Root CA 1)',
    });
  }
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw new TrustlinkError('CA_INVALID', `the CA file ${path} holds a certificate that does not parse`, { cause: error });
    }
  }
  return pem;
}

export interface LoadedCertificate {
  certPem: string;
  certificate: X509Certificate;
}

export function readCertificateFile(path: string): LoadedCertificate {
  const certPem = readTextFile(path, 'certificate file', 'pass --cert with the device certificate (PEM)');
  return { certPem, certificate: parseCertificate(certPem, path) };
}

