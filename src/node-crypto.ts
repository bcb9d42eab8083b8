/**
 * node:crypto, loaded on first use. Loading it costs a one-shot command ~3 ms
 * of its start (issue 17), and a connection with a token key needs none of it:
 * the token signs, aws-crt does the TLS, and the certificate is read with
 * der/der.ts. Modules on the connection's path get node:crypto from here.
 */
import type * as NodeCrypto from 'node:crypto';

export function nodeCrypto(): typeof NodeCrypto {
  // esbuild bundles this require as Node's own; under vitest `require` is the module runner's.
  return require('node:crypto') as typeof NodeCrypto;
}
