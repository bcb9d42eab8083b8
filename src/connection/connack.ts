/** A broker's refusal of the MQTT connection (CONNACK), in words a user can act on. */
import type { AuthMode } from '../config/schema.js';
import { TrustlinkError } from '../errors.js';

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
