/** How the device judges a broker's certificate chain, with certificates made in memory (@peculiar/x509, no openssl). */
import 'reflect-metadata';
import { webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { judgeServerChain } from '../../../src/identity/handshake-refusal.js';

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const NOW = new Date('2026-06-01T00:00:00Z');

async function issue(subject: string, issuer: { name: string; key: CryptoKey } | undefined, options: { san?: string[]; notAfter?: Date; ca?: boolean } = {}) {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']) as CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: '01', subject, issuer: issuer?.name ?? subject,
    notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: options.notAfter ?? new Date('2027-01-01T00:00:00Z'),
    publicKey: keys.publicKey, signingKey: issuer?.key ?? keys.privateKey, signingAlgorithm: SIGN,
    extensions: [
      ...(options.ca ? [new x509.BasicConstraintsExtension(true, undefined, true)] : []),
      ...(options.san ? [new x509.SubjectAlternativeNameExtension(options.san.map((value) => ({ type: 'dns' as const, value })))] : []),
    ],
  });
  return { name: subject, key: keys.privateKey, certificate: new X509Certificate(certificate.toString('pem')) };
}

let root: Awaited<ReturnType<typeof issue>>;
let intermediate: Awaited<ReturnType<typeof issue>>;
let otherRoot: Awaited<ReturnType<typeof issue>>;

beforeAll(async () => {
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  root = await issue('CN=root', undefined, { ca: true });
  intermediate = await issue('CN=intermediate', root, { ca: true });
  otherRoot = await issue('CN=other root', undefined, { ca: true });
});

describe('judgeServerChain', () => {
  it('accepts a leaf for the host, through an intermediate the broker sent, to a CA in the file', async () => {
    const leaf = await issue('CN=broker', intermediate, { san: ['broker.example'] });
    expect(judgeServerChain([leaf.certificate, intermediate.certificate], [root.certificate], 'broker.example', NOW)).toBeUndefined();
  });

  it('refuses a chain to another CA, naming the issuer', async () => {
    const leaf = await issue('CN=broker', intermediate, { san: ['broker.example'] });
    expect(judgeServerChain([leaf.certificate, intermediate.certificate], [otherRoot.certificate], 'broker.example', NOW))
      .toMatch(/issued by CN=root\) does not chain to a CA in the CA file$/);
  });

  it('refuses a certificate for another host, and an expired one', async () => {
    const leaf = await issue('CN=broker', root, { san: ['broker.example'] });
    expect(judgeServerChain([leaf.certificate], [root.certificate], 'other.example', NOW)).toMatch(/names DNS:broker.example, not other.example$/);
    const expired = await issue('CN=broker', root, { san: ['broker.example'], notAfter: new Date('2026-02-01T00:00:00Z') });
    expect(judgeServerChain([expired.certificate], [root.certificate], 'broker.example', NOW)).toMatch(/expired 2026-02-01T00:00:00.000Z$/);
  });

  it('says so when the broker sent no certificate', () => {
    expect(judgeServerChain([], [root.certificate], 'broker.example', NOW)).toBe('the broker sent no certificate');
  });
});
