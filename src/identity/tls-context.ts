/**
 * Builds aws-crt's TLS context, for mutual TLS or (SigV4, custom auth) server
 * authentication only. With a token key, aws-crt's
 * TLS stack (s2n) loads the PKCS#11 module itself and signs the handshake in
 * the token; the private key never enters this process.
 */
import type { ClientTlsContext } from 'aws-crt/dist/native/io.js';
import { TrustlinkError } from '../errors.js';
import type { Crt } from '../crt/load.js';
import { crtErrorName } from '../crt/errors.js';
import type { TlsKey } from './device-identity.js';

export interface TlsSettings {
  /** The device certificate and key, for mutual TLS; absent when the server alone is authenticated. */
  client: { certPem: string; key: TlsKey } | undefined;
  caPem: string | undefined;
  alpn: string[];
}

function mtlsOptions(crt: Crt, certPem: string, key: TlsKey) {
  const { io } = crt;
  return key.kind === 'pkcs11'
    ? io.TlsContextOptions.create_client_with_mtls_pkcs11({
        pkcs11_lib: new io.Pkcs11Lib(key.modulePath),
        user_pin: key.pin.reveal(),
        token_label: key.tokenLabel,
        ...(key.keyLabel !== undefined ? { private_key_object_label: key.keyLabel } : {}),
        cert_file_contents: certPem,
      })
    : io.TlsContextOptions.create_client_with_mtls(certPem, key.keyPem);
}

export function createTlsContext(crt: Crt, settings: TlsSettings): ClientTlsContext {
  const { io } = crt;
  try {
    const options = settings.client !== undefined ? mtlsOptions(crt, settings.client.certPem, settings.client.key) : new io.TlsContextOptions();
    if (settings.caPem !== undefined) options.override_default_trust_store(settings.caPem);
    options.alpn_list = settings.alpn;
    return new io.ClientTlsContext(options);
  } catch (error) {
    throw tlsContextError(error, settings.client?.key);
  }
}

/** aws-crt loads the module and logs in itself here; its refusals are about the token, not the network. */
function tlsContextError(error: unknown, key: TlsKey | undefined): TrustlinkError {
  const reason = crtErrorName(error);
  if (key?.kind === 'pkcs11' && /PKCS11/.test(reason)) {
    return new TrustlinkError('PKCS11_MODULE_FAILED', `aws-crt cannot use the PKCS#11 module ${key.modulePath}: ${reason}`, {
      cause: error,
      hint: /VERSION_UNSUPPORTED/.test(reason)
        ? 'aws-crt accepts only Cryptoki 2.x modules; this one reports another version (OpenSC\'s pkcs11-spy 0.23 reports 3.0)'
        : 'check the module, the token label and the key label with trustlink hsm list',
    });
  }
  return new TrustlinkError('TLS_FAILED', `cannot set up TLS with the device certificate and key: ${reason}`, { cause: error });
}
