/**
 * Builds aws-crt's TLS context for mutual TLS. With a token key, aws-crt's
 * TLS stack (s2n) loads the PKCS#11 module itself and signs the handshake in
 * the token; the private key never enters this process.
 */
import type { ClientTlsContext } from 'aws-crt/dist/native/io.js';
import type { Crt } from './crt.js';
import type { TlsKey } from './identity.js';

/** AWS IoT Core serves MQTT over mTLS on 443 only to clients that ask for this ALPN protocol. */
export const AWS_IOT_MQTT_ALPN = 'x-amzn-mqtt-ca';

/** ALPN to offer: x-amzn-mqtt-ca on 443, nothing on 8883 (where none is needed), or what the user set. */
export function alpnFor(port: number, configured: string[] | undefined): string[] {
  if (configured !== undefined) return configured;
  return port === 443 ? [AWS_IOT_MQTT_ALPN] : [];
}

export interface TlsSettings {
  certPem: string;
  key: TlsKey;
  caPem: string | undefined;
  alpn: string[];
}

export function createMtlsContext(crt: Crt, settings: TlsSettings): ClientTlsContext {
  const { io } = crt;
  const options =
    settings.key.kind === 'pkcs11'
      ? io.TlsContextOptions.create_client_with_mtls_pkcs11({
          pkcs11_lib: new io.Pkcs11Lib(settings.key.modulePath),
          user_pin: settings.key.pin.reveal(),
          token_label: settings.key.tokenLabel,
          ...(settings.key.keyLabel !== undefined ? { private_key_object_label: settings.key.keyLabel } : {}),
          cert_file_contents: settings.certPem,
        })
      : io.TlsContextOptions.create_client_with_mtls(settings.certPem, settings.key.keyPem);
  if (settings.caPem !== undefined) options.override_default_trust_store(settings.caPem);
  options.alpn_list = settings.alpn;
  return new io.ClientTlsContext(options);
}
