/** The throwaway test PKI (hsm/pki.sh): a CA and a loopback server certificate. */
import { join } from 'node:path';
import { HSM_DIR } from './paths.js';
import { runChecked } from './run.js';

export interface TestPki {
  dir: string;
  caFile: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** Certifies a public key (PEM) as CN, without a CSR. */
  certify(publicKeyPem: string, cn: string, out: string, days?: number): Promise<string>;
  /** Signs a CSR. */
  sign(csr: string, out: string, days?: number): Promise<string>;
  /** Marks a certificate revoked; crl() then lists it. */
  revoke(cert: string): Promise<void>;
  /** Writes the CA's CRL (PEM). */
  crl(out: string): Promise<string>;
}

const PKI = join(HSM_DIR, 'pki.sh');

export async function createPki(dir: string): Promise<TestPki> {
  await runChecked(PKI, ['ca', dir]);
  await runChecked(PKI, ['server', dir, 'server']);
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
    async certify(publicKeyPem, cn, out, days = 30) {
      await runChecked(PKI, ['certify', dir, publicKeyPem, cn, out, String(days)]);
      return out;
    },
    async sign(csr, out, days = 30) {
      await runChecked(PKI, ['sign', dir, csr, out, String(days)]);
      return out;
    },
    async revoke(cert) {
      await runChecked(PKI, ['revoke', dir, cert]);
    },
    async crl(out) {
      await runChecked(PKI, ['crl', dir, out]);
      return out;
    },
  };
}
