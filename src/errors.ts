/**
 * The one error type of trustlink. Every failure a user can act on is a
 * TrustlinkError with a stable string code; the CLI renders it once and exits
 * with the code's exit status (sysexits.h numbers; docs/errors.md is generated from this file).
 */

export const EXIT_CODES = {
  usage: 64,
  dataError: 65,
  unavailable: 69,
  software: 70,
  protocol: 76,
  noPermission: 77,
  config: 78,
} as const;

/** What each exit status means, for --help and the docs. */
export const EXIT_MEANINGS: Record<number, string> = {
  [EXIT_CODES.usage]: 'usage (a flag or argument is wrong)',
  [EXIT_CODES.dataError]: 'malformed provisioning answer',
  [EXIT_CODES.unavailable]: 'unreachable or refused (broker, token, AWS service)',
  [EXIT_CODES.software]: 'internal error',
  [EXIT_CODES.protocol]: 'malformed credentials answer',
  [EXIT_CODES.noPermission]: 'PIN or credentials refused',
  [EXIT_CODES.config]: 'configuration (file, key, certificate)',
};

/** Each code maps to one exit status; docs/errors.md lists them, with a note each from bundle/error-notes.ts. */
const CODE_EXIT = {
  USAGE: EXIT_CODES.usage,
  CONFIG_UNREADABLE: EXIT_CODES.config,
  CONFIG_INVALID: EXIT_CODES.config,
  PKCS11_URI_INVALID: EXIT_CODES.config,
  PKCS11_MODULE_NOT_FOUND: EXIT_CODES.config,
  PKCS11_MODULE_FAILED: EXIT_CODES.unavailable,
  TOKEN_NOT_FOUND: EXIT_CODES.unavailable,
  KEY_NOT_FOUND: EXIT_CODES.config,
  KEY_EXISTS: EXIT_CODES.config,
  PIN_MISSING: EXIT_CODES.noPermission,
  PIN_INCORRECT: EXIT_CODES.noPermission,
  PIN_LOCKED: EXIT_CODES.noPermission,
  TOKEN_OPERATION_FAILED: EXIT_CODES.unavailable,
  FILE_UNREADABLE: EXIT_CODES.config,
  FILE_WRITE_FAILED: EXIT_CODES.software,
  CERT_INVALID: EXIT_CODES.config,
  CERT_KEY_MISMATCH: EXIT_CODES.config,
  CERT_EXISTS: EXIT_CODES.config,
  CERT_NOT_FOUND: EXIT_CODES.config,
  CA_INVALID: EXIT_CODES.config,
  // The broker refused the device certificate: revoked, inactive, or an unknown CA; or it expired.
  CERT_REFUSED: EXIT_CODES.noPermission,
  CERT_EXPIRED: EXIT_CODES.noPermission,
  // Rotation: the certificate-rotator backend said no; the new certificate did not connect (never switched to).
  ROTATION_REJECTED: EXIT_CODES.unavailable,
  ROTATION_NEW_CERT_REFUSED: EXIT_CODES.unavailable,
  BROKER_UNREACHABLE: EXIT_CODES.unavailable,
  TLS_FAILED: EXIT_CODES.unavailable,
  CONNECT_REFUSED: EXIT_CODES.unavailable,
  PUBLISH_FAILED: EXIT_CODES.unavailable,
  SUBSCRIBE_FAILED: EXIT_CODES.unavailable,
  CREDENTIALS_MISSING: EXIT_CODES.config,
  // AWS said no (credentials provider 400/401/403/404, Cognito NotAuthorized): a fix on the AWS side or in the flags is needed.
  CREDENTIALS_REFUSED: EXIT_CODES.noPermission,
  CREDENTIALS_THROTTLED: EXIT_CODES.unavailable,
  CREDENTIALS_UNAVAILABLE: EXIT_CODES.unavailable,
  CREDENTIALS_EXPIRED: EXIT_CODES.unavailable,
  // An answer that is not credentials: malformed, too large, or already expired.
  CREDENTIALS_INVALID: EXIT_CODES.protocol,
  PROVISION_REJECTED: EXIT_CODES.unavailable,
  PROVISION_ANSWER_INVALID: EXIT_CODES.dataError,
  PROVISION_INTERRUPTED: EXIT_CODES.unavailable,
  // The local MQTT endpoint could not listen (address in use, folder not writable).
  LISTEN_FAILED: EXIT_CODES.unavailable,
  // trustlink status: no running agent wrote a status file (or it is stale).
  AGENT_NOT_RUNNING: EXIT_CODES.unavailable,
  // The spool holds --spool-max-bytes (or its filesystem is full): it empties once AWS IoT takes the messages.
  SPOOL_FULL: EXIT_CODES.unavailable,
  // The spool folder cannot be made, opened or written (permissions, a read-only filesystem, an I/O error).
  SPOOL_UNWRITABLE: EXIT_CODES.config,
  INTERNAL: EXIT_CODES.software,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof CODE_EXIT;

export interface ErrorDetails {
  /** What the user should do next. */
  hint?: string;
  cause?: unknown;
  /** The MQTT 5 reason code the broker answered with, when it refused. */
  reasonCode?: number;
}

export class TrustlinkError extends Error {
  override readonly name = 'TrustlinkError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly reasonCode: number | undefined;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.hint = details.hint;
    this.reasonCode = details.reasonCode;
  }

  get exitCode(): number {
    return CODE_EXIT[this.code];
  }
}

export function isTrustlinkError(value: unknown): value is TrustlinkError {
  return value instanceof TrustlinkError;
}

export function knownErrorCodes(): string[] {
  return Object.keys(CODE_EXIT);
}
