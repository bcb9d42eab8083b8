/**
 * The DER that a connection reads and writes itself instead of loading
 * node:crypto: certificate validity and public key, and token keys'
 * SubjectPublicKeyInfo. Node's own parse is the reference for every field.
 */
import 'reflect-metadata';
import { generateKeyPairSync, webcrypto, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { afterAll, describe, expect, it } from 'vitest';
import { childrenOf, DerError, encodeElement, encodeUnsignedInteger, readElement, TAG } from '../../../src/der/der.js';
import { ecSpki, rsaSpki } from '../../../src/der/spki.js';
import { parseCertificate, readCaBundle } from '../../../src/identity/certificate.js';

const dir = mkdtempSync(join(tmpdir(), 'trustlink-certificate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ALGORITHMS = {
  'EC P-256': { generate: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } },
  'EC P-384': { generate: { name: 'ECDSA', namedCurve: 'P-384' }, sign: { name: 'ECDSA', hash: 'SHA-384' } },
  'RSA 2048': { generate: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, sign: { name: 'RSASSA-PKCS1-v1_5' } },
} as const;

async function selfSigned(algorithm: keyof typeof ALGORITHMS, notBefore: Date, notAfter: Date): Promise<string> {
  const { generate, sign } = ALGORITHMS[algorithm];
  const keys = await webcrypto.subtle.generateKey(generate, true, ['sign', 'verify']) as CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '0a1b', name: 'CN=thing-1, O=trustlink tests', notBefore, notAfter, keys, signingAlgorithm: sign,
  });
  return certificate.toString('pem');
}

describe('parseCertificate', () => {
  // UTCTime up to 2049, GeneralizedTime from 2050 on (RFC 5280 4.1.2.5).
  it.each([
    ['EC P-256', '2026-01-02T03:04:05Z', '2027-06-30T23:59:59Z'],
    ['EC P-384', '1999-12-31T00:00:00Z', '2049-12-31T23:59:59Z'],
    ['RSA 2048', '2026-01-01T00:00:00Z', '2051-02-03T04:05:06Z'],
  ] as const)('reads a %s certificate valid %s to %s as Node does', async (algorithm, from, to) => {
    const pem = await selfSigned(algorithm, new Date(from), new Date(to));
    const node = new X509Certificate(pem);
    const cert = parseCertificate(pem, 'device.pem');
    expect(cert.spki.equals(node.publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
    expect(cert.notBefore.toISOString()).toBe(new Date(from).toISOString());
    expect(cert.notAfter.toISOString()).toBe(new Date(to).toISOString());
    expect(cert.x509.fingerprint256).toBe(node.fingerprint256);
  });

  it('reads DER as a token holds it, and gives it back as PEM', async () => {
    const pem = await selfSigned('EC P-256', new Date('2026-01-01T00:00:00Z'), new Date('2027-01-01T00:00:00Z'));
    const der = new X509Certificate(pem).raw;
    const cert = parseCertificate(der, 'pkcs11:object=cert');
    expect(cert.certPem).toMatch(/^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{64}\n)+[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE-----\n$/);
    expect(new X509Certificate(cert.certPem).raw.equals(der)).toBe(true);
  });

  it('refuses what is not a certificate, naming where it came from', async () => {
    const pem = await selfSigned('EC P-256', new Date('2026-01-01T00:00:00Z'), new Date('2027-01-01T00:00:00Z'));
    const truncated = pem.replace(/\n[^\n]+\n-----END/, '\n-----END');
    for (const bad of ['not a certificate', truncated, Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01])]) {
      expect(() => parseCertificate(bad, 'device.pem')).toThrow(expect.objectContaining({ code: 'CERT_INVALID', message: 'device.pem is not a PEM or DER X.509 certificate' }));
    }
  });
});

describe('readCaBundle', () => {
  it('returns a bundle whose every certificate parses, and names a bundle with a broken one', async () => {
    const good = await selfSigned('EC P-256', new Date('2026-01-01T00:00:00Z'), new Date('2036-01-01T00:00:00Z'));
    const other = await selfSigned('RSA 2048', new Date('2026-01-01T00:00:00Z'), new Date('2036-01-01T00:00:00Z'));
    const path = join(dir, 'bundle.pem');
    writeFileSync(path, `${good}\n${other}`);
    expect(readCaBundle(path)).toBe(`${good}\n${other}`);
    writeFileSync(path, `${good}\n-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAK\n-----END CERTIFICATE-----\n`);
    expect(() => readCaBundle(path)).toThrow(expect.objectContaining({ code: 'CA_INVALID' }));
  });
});

describe('SubjectPublicKeyInfo of token keys', () => {
  it.each(['prime256v1', 'secp384r1', 'secp521r1'])('builds an EC %s key\'s as OpenSSL writes it', (namedCurve) => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve });
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    // What a token holds: CKA_EC_PARAMS (the curve OID) and the uncompressed point.
    const [algorithm, bits] = childrenOf(spki, readElement(spki)) as [ReturnType<typeof readElement>, ReturnType<typeof readElement>];
    const [, curve] = childrenOf(spki, algorithm) as [ReturnType<typeof readElement>, ReturnType<typeof readElement>];
    const point = spki.subarray(bits.contentStart + 1, bits.end);
    expect(ecSpki(spki.subarray(curve.start, curve.end), point).equals(spki)).toBe(true);
  });

  it.each([1024, 2048])('builds an RSA-%i key\'s from its modulus and exponent, leading zeros or not', (modulusLength) => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength });
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const { n, e } = publicKey.export({ format: 'jwk' }) as { n: string; e: string };
    const modulus = Buffer.from(n, 'base64url');
    expect(rsaSpki(modulus, Buffer.from(e, 'base64url')).equals(spki)).toBe(true);
    expect(rsaSpki(Buffer.concat([Buffer.alloc(2), modulus]), Buffer.from([0, 1, 0, 1])).equals(spki)).toBe(true);
  });
});

describe('DER elements', () => {
  it.each([0, 1, 127, 128, 255, 256, 65_536])('reads back a %i-byte element it wrote', (length) => {
    const contents = Buffer.alloc(length, 0xab);
    const der = encodeElement(TAG.sequence, contents);
    const element = readElement(der);
    expect(element).toEqual({ tag: TAG.sequence, start: 0, contentStart: der.length - length, end: der.length });
  });

  it('writes non-negative integers minimally, with a zero byte before a set top bit', () => {
    expect(encodeUnsignedInteger(Buffer.from([0, 0, 0x7f])).toString('hex')).toBe('02017f');
    expect(encodeUnsignedInteger(Buffer.from([0x80])).toString('hex')).toBe('02020080');
    expect(encodeUnsignedInteger(Buffer.from([0, 0])).toString('hex')).toBe('020100');
  });

  it('refuses elements that run past their container, and forms DER does not use', () => {
    const bad = [
      Buffer.from([0x30]), // no length
      Buffer.from([0x30, 0x05, 0x02, 0x01]), // contents cut short
      Buffer.from([0x30, 0x80, 0x00, 0x00]), // indefinite length
      Buffer.from([0x1f, 0x81, 0x01, 0x00]), // multi-byte tag
      Buffer.from([0x30, 0x82, 0x01]), // length cut short
    ];
    for (const der of bad) expect(() => readElement(der), der.toString('hex')).toThrow(DerError);
    const outer = readElement(Buffer.from([0x30, 0x03, 0x02, 0x05, 0x00]));
    expect(() => childrenOf(Buffer.from([0x30, 0x03, 0x02, 0x05, 0x00]), outer)).toThrow(DerError);
  });
});
