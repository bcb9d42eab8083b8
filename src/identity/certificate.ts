/**
 * Certificates as files: the device certificate and the CA bundle the server
 * must chain to. What a connection needs of them (validity, public key) is
 * read from the DER here; Node's full parse (X509Certificate) is made only
 * where more is asked for, so that a connection never loads node:crypto.
 */
import type { X509Certificate } from 'node:crypto';
import { childrenOf, DerError, readElement, TAG, type Element } from '../der/der.js';
import { TrustlinkError } from '../errors.js';
import { readTextFile } from '../files/read.js';
import { nodeCrypto } from '../node-crypto.js';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/g;

/** The PEM certificate blocks of a bundle, in order. */
export function pemCertificates(pem: string): string[] {
  return pem.match(PEM_BLOCK) ?? [];
}

/** UTCTime (YYMMDDHHMMSSZ, years 1950-2049) or GeneralizedTime (YYYYMMDDHHMMSSZ), as RFC 5280 4.1.2.5 has them. */
function readTime(der: Buffer, element: Element): Date {
  const text = der.toString('latin1', element.contentStart, element.end);
  const utc = element.tag === TAG.utcTime;
  const match = (utc ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/ : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/).exec(text);
  if (!match || (!utc && element.tag !== TAG.generalizedTime)) throw new DerError(`not a certificate time: ${JSON.stringify(text)}`);
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const fullYear = utc ? (year < 50 ? 2000 + year : 1900 + year) : year;
  return new Date(Date.UTC(fullYear, month - 1, day, hour, minute, second));
}

/** Validity and SubjectPublicKeyInfo of a DER certificate (RFC 5280 4.1). */
function readFields(der: Buffer): { notBefore: Date; notAfter: Date; spki: Buffer } {
  const certificate = readElement(der);
  if (certificate.tag !== TAG.sequence || certificate.end !== der.length) throw new DerError('not one DER SEQUENCE');
  const [tbs] = childrenOf(der, certificate);
  if (tbs?.tag !== TAG.sequence) throw new DerError('no tbsCertificate');
  // [0] version, when present; then serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo.
  const fields = childrenOf(der, tbs);
  const [, , , validity, , spki] = fields[0]?.tag === 0xa0 ? fields.slice(1) : fields;
  if (validity?.tag !== TAG.sequence || spki?.tag !== TAG.sequence) throw new DerError('no validity or subjectPublicKeyInfo');
  const [notBefore, notAfter] = childrenOf(der, validity);
  if (!notBefore || !notAfter) throw new DerError('validity lacks a time');
  return { notBefore: readTime(der, notBefore), notAfter: readTime(der, notAfter), spki: der.subarray(spki.start, spki.end) };
}

const derToPem = (der: Buffer): string => `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}(?=.)/g, '$&\n')}\n-----END CERTIFICATE-----\n`;

/** A device certificate, read as far as a connection needs it. */
export class LoadedCertificate {
  readonly certPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** DER SubjectPublicKeyInfo: the key the certificate was issued for. */
  readonly spki: Buffer;
  #x509: X509Certificate | undefined;

  constructor(der: Buffer, certPem: string) {
    this.certPem = certPem;
    ({ notBefore: this.notBefore, notAfter: this.notAfter, spki: this.spki } = readFields(der));
  }

  /** Node's parse (subject, fingerprint, extensions), made on first use. */
  get x509(): X509Certificate {
    this.#x509 ??= new (nodeCrypto().X509Certificate)(this.certPem);
    return this.#x509;
  }
}

/** A certificate as PEM text (its first block) or DER bytes; `name` says where it came from, for errors. */
export function parseCertificate(pemOrDer: string | Buffer, name: string): LoadedCertificate {
  try {
    if (typeof pemOrDer !== 'string') return new LoadedCertificate(pemOrDer, derToPem(pemOrDer));
    const [block] = pemOrDer.matchAll(PEM_BLOCK);
    if (!block) throw new DerError('no PEM certificate block');
    return new LoadedCertificate(Buffer.from(block[1] as string, 'base64'), pemOrDer);
  } catch (error) {
    throw new TrustlinkError('CERT_INVALID', `${name} is not a PEM or DER X.509 certificate`, {
      cause: error,
      hint: 'pass the device certificate AWS IoT issued or registered (-----BEGIN CERTIFICATE-----)',
    });
  }
}

/** Reads a CA bundle and checks that each of its certificates is well-formed DER. */
export function readCaBundle(path: string): string {
  const pem = readTextFile(path, 'CA file', 'pass --ca-file with the server CA (for AWS IoT: Amazon Root CA 1)');
  const blocks = [...pem.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) {
    throw new TrustlinkError('CA_INVALID', `the CA file ${path} holds no PEM certificate`, {
      hint: 'pass the server CA in PEM form (for AWS IoT: Amazon Root CA 1)',
    });
  }
  for (const block of blocks) {
    try {
      readFields(Buffer.from(block[1] as string, 'base64'));
    } catch (error) {
      throw new TrustlinkError('CA_INVALID', `the CA file ${path} holds a certificate that does not parse`, { cause: error });
    }
  }
  return pem;
}

export function readCertificateFile(path: string): LoadedCertificate {
  const certPem = readTextFile(path, 'certificate file', 'pass --cert with the device certificate (PEM)');
  return parseCertificate(certPem, path);
}
