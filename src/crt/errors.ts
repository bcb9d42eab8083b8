/**
 * aws-crt reports failures as CrtError with an error_name such as
 * AWS_IO_SOCKET_CONNECTION_REFUSED. This maps a failed connection (MQTT or
 * HTTP) to trustlink's codes and to words a user can act on.
 */
import { TrustlinkError } from '../errors.js';

export function crtErrorName(error: unknown): string {
  const name = (error as { error_name?: unknown } | undefined)?.error_name;
  return typeof name === 'string' ? name : error instanceof Error ? error.message : String(error);
}

const UNREACHABLE = /SOCKET_CONNECTION_REFUSED|SOCKET_TIMEOUT|SOCKET_NO_ROUTE|DNS_|SOCKET_NETWORK_DOWN|SOCKET_NOT_CONNECTED|IO_SOCKET_CONNECT_ABORTED|HOST_UNREACHABLE/;
const HUNG_UP = /SOCKET_CLOSED|UNEXPECTED_HANGUP|BROKEN_PIPE|CONNECTION_RESET/;
const WEBSOCKET_REFUSED = /WEBSOCKET_UPGRADE_FAILURE/;
const TLS = /TLS|PKCS11|X509|CERT/;

/** Maps a connection failure to a TrustlinkError naming the endpoint. */
export function connectionError(error: unknown, endpoint: string): TrustlinkError {
  if (error instanceof TrustlinkError) return error;
  const name = crtErrorName(error);
  if (UNREACHABLE.test(name)) {
    return new TrustlinkError('BROKER_UNREACHABLE', `cannot reach ${endpoint}: ${name}`, {
      cause: error,
      hint: 'check the endpoint name and port, DNS, and that the network lets the port through',
    });
  }
  if (HUNG_UP.test(name)) {
    return new TrustlinkError('BROKER_UNREACHABLE', `${endpoint} closed the connection: ${name}`, {
      cause: error,
      hint: 'is this an MQTT broker on that port? For AWS IoT, use the iot:Data-ATS endpoint on 8883 or 443',
    });
  }
  if (WEBSOCKET_REFUSED.test(name)) {
    return new TrustlinkError('CONNECT_REFUSED', `${endpoint} refused the websocket upgrade: ${name}`, {
      cause: error,
      hint: 'AWS IoT answers 403 to a SigV4 signature it does not accept: check the credentials (expired?), --region, and the clock',
    });
  }
  if (TLS.test(name)) {
    return new TrustlinkError('TLS_FAILED', `the TLS handshake with ${endpoint} failed: ${name}`, {
      cause: error,
      hint: 'check that --ca-file holds the server\'s CA, the endpoint name matches its certificate, and the server accepts this device certificate',
    });
  }
  return new TrustlinkError('BROKER_UNREACHABLE', `the connection to ${endpoint} failed: ${name}`, { cause: error });
}
