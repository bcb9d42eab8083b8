/**
 * What a credentials command needs from the configuration: where to ask,
 * for which role alias and thing, and the device identity to ask with.
 * The identity (and the token) is opened only when a fetch is needed.
 */
import { missingSetting } from '../config/require.js';
import type { Config } from '../config/schema.js';
import { readCaBundle, readCertificateFile } from '../identity/certificate.js';
import { loadDeviceIdentity } from '../identity/device-identity.js';
import { certSourceFrom, keySourceFrom } from '../identity/sources.js';
import { isPkcs11Uri } from '../pkcs11/uri.js';
import type { Logger } from '../log/log.js';
import { cacheKey } from './cache.js';
import { describeEndpoint, parseCredentialsEndpoint, type CredentialsEndpoint } from './endpoint.js';
import { openCredentialsClient, type CredentialsClient } from './provider-client.js';

export interface CredentialsTarget {
  endpoint: CredentialsEndpoint;
  roleAlias: string;
  thingName: string | undefined;
  certFile: string;
}

export function credentialsTarget(config: Config): CredentialsTarget {
  const endpoint = config.credentials?.endpoint;
  if (endpoint === undefined) {
    throw missingSetting('credentials.endpoint', { hint: 'aws iot describe-endpoint --endpoint-type iot:CredentialProvider prints it' });
  }
  const roleAlias = config.credentials?.roleAlias;
  if (roleAlias === undefined) throw missingSetting('credentials.roleAlias', { hint: 'aws iot list-role-aliases lists them' });
  if (config.certFile === undefined) throw missingSetting('certFile', { hint: 'the device certificate (PEM) registered with AWS IoT' });
  return { endpoint: parseCredentialsEndpoint(endpoint), roleAlias, thingName: config.thingName, certFile: config.certFile };
}

/** The cache key: reads only the certificate, so a cache hit never touches the token. */
export function targetCacheKey(target: CredentialsTarget): string {
  return cacheKey({
    endpoint: describeEndpoint(target.endpoint),
    roleAlias: target.roleAlias,
    thingName: target.thingName,
    certificateFingerprint: certificateIdentity(target.certFile),
  });
}

/**
 * A certificate file is keyed by its fingerprint. A certificate in a token is
 * keyed by its URI, so that a cache hit still opens no token; a renewed
 * certificate under the same URI belongs to the same thing, whose cached
 * credentials stay valid until they expire.
 */
function certificateIdentity(cert: string): string {
  if (isPkcs11Uri(cert)) return cert;
  return readCertificateFile(cert).x509.fingerprint256;
}

export interface OpenedClient {
  client: CredentialsClient;
  /** Releases the token session opened to check the key. */
  close(): void;
}

/** Opens the device identity (token login, certificate-key check) and a client that asks with it. */
export async function openClientFor(config: Config, target: CredentialsTarget, timeoutMs: number, log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<OpenedClient> {
  const caPem = config.caFile !== undefined ? readCaBundle(config.caFile) : undefined;
  const keySource = keySourceFrom(config, env);
  const identity = loadDeviceIdentity(certSourceFrom(target.certFile, config, keySource), keySource, log);
  const close = (): void => identity.tokenKey?.close();
  try {
    const client = await openCredentialsClient({
      endpoint: target.endpoint,
      roleAlias: target.roleAlias,
      thingName: target.thingName,
      tls: { client: { certPem: identity.cert.certPem, key: identity.key }, caPem, alpn: [] },
      timeoutMs,
    }, log);
    return { client, close };
  } catch (error) {
    close();
    throw error;
  }
}
