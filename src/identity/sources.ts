/**
 * Where the device's key and certificate are, read from the configuration:
 * a token (PKCS#11 URI) or, for development, a PEM file. Nothing is opened
 * here; loading and matching them is device-identity.ts.
 */
import { requireSetting } from '../config/require.js';
import type { Config } from '../config/schema.js';
import { requirePin, type Pin } from '../pkcs11/secret.js';
import { requireModulePath } from '../pkcs11/token.js';
import { isPkcs11Uri, parsePkcs11Uri, type Pkcs11Uri } from '../pkcs11/uri.js';

export type TokenKeySource = { kind: 'pkcs11'; modulePath: string; uri: Pkcs11Uri; pin: Pin };

export type KeySource = TokenKeySource | { kind: 'file'; path: string };

/** The device certificate: a PEM/DER file, or a certificate object in a token (`pkcs11:...;type=cert`). */
export type CertSource =
  | { kind: 'file'; path: string }
  | { kind: 'pkcs11'; modulePath: string; uri: Pkcs11Uri; text: string };

/** A key in a token named by a URI, with the module and PIN the configuration gives. */
export function tokenKeySource(uriText: string, config: Config, env: NodeJS.ProcessEnv): TokenKeySource {
  const uri = parsePkcs11Uri(uriText);
  const modulePath = requireModulePath(config.pkcs11Module, uri);
  const pin = requirePin({ pinFile: config.pinFile ?? uri.pinSource, env });
  return { kind: 'pkcs11', modulePath, uri, pin };
}

export function keySourceFrom(config: Config, env: NodeJS.ProcessEnv = process.env): KeySource {
  const key = requireSetting(config, 'key');
  return isPkcs11Uri(key) ? tokenKeySource(key, config, env) : { kind: 'file', path: key };
}

/** The certificate file, or a certificate in a token (by default the key's module and token). */
export function certSourceFrom(cert: string, config: Config, key: KeySource): CertSource {
  if (!isPkcs11Uri(cert)) return { kind: 'file', path: cert };
  const uri = parsePkcs11Uri(cert);
  const modulePath = requireModulePath(config.pkcs11Module ?? (key.kind === 'pkcs11' ? key.modulePath : undefined), uri);
  return { kind: 'pkcs11', modulePath, uri, text: cert };
}
