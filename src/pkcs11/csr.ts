/**
 * PKCS#10 certificate requests signed inside the token. @peculiar/x509
 * builds the structure; its signing goes through a Crypto object whose only
 * private-key operation is the token's C_Sign. The request is verified
 * before it is returned, so a bad token signature never reaches a CA.
 */
import 'reflect-metadata';
import { createPublicKey, webcrypto } from 'node:crypto';
import { Name, Pkcs10CertificateRequestGenerator } from '@peculiar/x509';
import { TrustlinkError } from '../errors.js';
import type { TokenKey } from './token.js';

/** Parses "CN=thing-1,O=Example" (the first RDN first, as written). */
export function parseSubject(subject: string): Name {
  const problem = (reason: string): TrustlinkError =>
    new TrustlinkError('USAGE', `--subject "${subject}" ${reason}`, { hint: 'write it as NAME=VALUE pairs separated by commas, e.g. --subject "CN=thing-1,O=Example Corp"' });
  if (subject.startsWith('/')) throw problem('is in OpenSSL\'s /CN=... form');
  let name: Name;
  try {
    name = new Name(subject);
  } catch (error) {
    throw problem(`has an attribute type trustlink does not know (${(error as Error).message})`);
  }
  const rdns = name.toJSON();
  if (rdns.length === 0) throw problem('names no attribute');
  if (rdns.some((rdn) => Object.values(rdn).some((values) => values.some((value) => value === '')))) throw problem('has an empty value');
  return name;
}

/** The WebCrypto view of the token key: what the generator puts in the request's algorithm fields. */
function keyAlgorithms(key: TokenKey): { keyAlgorithm: Algorithm & Record<string, unknown>; signingAlgorithm: Algorithm & Record<string, unknown> } {
  if (key.algorithm === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { keyAlgorithm: algorithm, signingAlgorithm: algorithm };
  }
  const { crv } = createPublicKey({ key: key.publicKeySpki, format: 'der', type: 'spki' }).export({ format: 'jwk' });
  // signSha256 hashes with SHA-256 whatever the curve, so the request says ecdsa-with-SHA256.
  return { keyAlgorithm: { name: 'ECDSA', namedCurve: crv }, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } };
}

/** A PEM CSR for `name` (see parseSubject), signed by the token key. */
export async function createCsr(key: TokenKey, name: Name): Promise<string> {
  const { keyAlgorithm, signingAlgorithm } = keyAlgorithms(key);
  // Stand-ins for CryptoKeys: the generator only reads .algorithm and hands them back to tokenCrypto.
  const publicKey = { type: 'public', algorithm: keyAlgorithm, extractable: true, usages: ['verify'] } as unknown as CryptoKey;
  const privateKey = { type: 'private', algorithm: keyAlgorithm, extractable: false, usages: ['sign'] } as unknown as CryptoKey;
  const spki = key.publicKeySpki;
  const unsupported = (what: string): never => {
    throw new TrustlinkError('INTERNAL', `the CSR builder asked the token for ${what}, which it does not offer`);
  };
  const tokenCrypto = {
    subtle: {
      async exportKey(format: string, exported: CryptoKey): Promise<ArrayBuffer> {
        if (format !== 'spki' || exported !== publicKey) return unsupported(`a ${format} export`);
        return spki.buffer.slice(spki.byteOffset, spki.byteOffset + spki.byteLength) as ArrayBuffer;
      },
      async sign(_algorithm: unknown, signer: CryptoKey, data: ArrayBuffer): Promise<ArrayBuffer> {
        if (signer !== privateKey) return unsupported('a signature with another key');
        const signature = key.signSha256(Buffer.from(data));
        return signature.buffer.slice(signature.byteOffset, signature.byteOffset + signature.byteLength) as ArrayBuffer;
      },
    },
  } as unknown as Crypto;

  const csr = await Pkcs10CertificateRequestGenerator.create({ name, keys: { publicKey, privateKey }, signingAlgorithm }, tokenCrypto);
  if (!(await csr.verify(webcrypto as unknown as Crypto))) {
    throw new TrustlinkError('TOKEN_OPERATION_FAILED', `the token's signature on the CSR for key "${key.keyLabel ?? '?'}" does not verify with the key's public half`, {
      hint: 'the token signs wrongly for this key type; try an EC P-256 key or another token',
    });
  }
  return csr.toString('pem');
}
