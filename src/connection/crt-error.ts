/**
 * aws-crt reports failures as CrtError with an error_name such as
 * AWS_IO_SOCKET_CONNECTION_REFUSED. This maps them to trustlink's codes and
 * to words a user can act on.
 */
import type { AuthMode } from '../config/schema.js';
import { TrustlinkError } from '../errors.js';

function crtErrorName(error: unknown): string {
  const name = (error as { error_name?: unknown } | undefined)?.error_name;
  return typeof name === 'string' ? name : error instanceof Error ? error.message : String(error);
}

const UNREACHABLE = /SOCKET_CONNECTION_REFUSED|SOCKET_TIMEOUT|SOCKET_NO_ROUTE|DNS_|SOCKET_NETWORK_DOWN|SOCKET_NOT_CONNECTED|IO_SOCKET_CONNECT_ABORTED|HOST_UNREACHABLE/;
const HUNG_UP = /SOCKET_CLOSED|UNEXPECTED_HANGUP|BROKEN_PIPE|CONNECTION_RESET/;
const WEBSOCKET_REFUSED = /WEBSOCKET_UPGRADE_FAILURE/;
const TLS = /TLS|PKCS11|X509|CERT/;

/** MQTT 5 CONNACK reason codes a device can meet, in words. */
const CONNACK_REASONS: Record<number, string> = {
  0x80: 'unspecified error',
  0x81: 'malformed packet',
  0x82: 'protocol error',
  0x83: 'implementation specific error',
  0x84: 'unsupported protocol version',
  0x85: 'client identifier not valid',
  0x86: 'bad user name or password',
  0x87: 'not authorized',
  0x88: 'server unavailable',
  0x89: 'server busy',
  0x8a: 'banned',
  0x8c: 'bad authentication method',
  0x90: 'topic name invalid',
  0x95: 'packet too large',
  0x97: 'quota exceeded',
  0x99: 'payload format invalid',
  0x9a: 'retain not supported',
  0x9b: 'QoS not supported',
  0x9c: 'use another server',
  0x9d: 'server moved',
  0x9f: 'connection rate exceeded',
};

const REFUSAL_HINTS: Record<AuthMode, string> = {
  mtls: 'for AWS IoT: is the certificate ACTIVE, attached to a policy that allows iot:Connect for this client ID?',
  sigv4: 'for AWS IoT: does the IAM policy of these credentials allow iot:Connect for this client ID?',
  custom: 'for AWS IoT: is the authorizer name right and ACTIVE, the token signed with the key registered for it, and does its Lambda allow iot:Connect for this client ID?',
};

export function connackRefused(endpoint: string, reason: string, auth: AuthMode = 'mtls'): TrustlinkError {
  return new TrustlinkError('CONNECT_REFUSED', `${endpoint} refused the MQTT connection: ${reason}`, { hint: REFUSAL_HINTS[auth] });
}

export function describeConnackReason(reasonCode: number): string {
  return `${CONNACK_REASONS[reasonCode] ?? 'refused'} (reason code 0x${reasonCode.toString(16)})`;
}

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
