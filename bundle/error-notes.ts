/**
 * What each error code means and what to check, for the troubleshooting
 * table in docs/errors.md (written by `npm run docs`). The code and its exit
 * status come from src/errors.ts; the type below makes a new code without a
 * note, or a note for a code that is gone, a typecheck error.
 */
import type { ErrorCode } from '../src/errors.js';

export const ERROR_NOTES = {
  USAGE: 'a flag or argument is missing or wrong, or a required setting was given nowhere; the message names it. `trustlink COMMAND --help`',
  CONFIG_UNREADABLE: 'the config file named by `--config` or `TRUSTLINK_CONFIG` cannot be read: its path and permissions',
  CONFIG_INVALID: 'the config file, a `TRUSTLINK_*` variable or a flag holds an unknown key or a wrong value; the message names the key (and the line). JSON has no comments or trailing commas',
  PKCS11_URI_INVALID: 'the PKCS#11 URI (RFC 7512), e.g. `pkcs11:token=LABEL;object=KEY;type=private`; a `pin-value` attribute is refused',
  PKCS11_MODULE_NOT_FOUND: 'the module path (`--pkcs11-module`, `module-path=`): is softhsm2 or tpm2-pkcs11 installed?',
  PKCS11_MODULE_FAILED: 'the module failed to load or initialize, or aws-crt refused it (it takes Cryptoki 2.x modules only): the module\'s own settings, `SOFTHSM2_CONF`, `TPM2_PKCS11_STORE`, `TPM2_PKCS11_TCTI`',
  TOKEN_NOT_FOUND: 'no token, or more than one, matches `token=` in the URI (or `--token`), or the token went away; the message lists the tokens present. Add `serial=` to pick one',
  KEY_NOT_FOUND: 'no private key, or more than one, matches `object=` or `id=` in the key URI; the message lists what the token holds (`trustlink hsm list`)',
  KEY_EXISTS: '`hsm keygen`: the token already holds an object with that label or id; choose another `--label` or `--id`',
  PIN_MISSING: 'give the PIN: `--pin-file`, `TRUSTLINK_PIN`, or the systemd credential `pin`',
  PIN_INCORRECT: 'the token refused the PIN; it was tried once and not again. Fix the PIN before running trustlink again',
  PIN_LOCKED: 'the token is locked: unlock it with the SO PIN or provision it again (on a TPM: its dictionary-attack lockout, see docs/tokens-and-tpm.md)',
  TOKEN_OPERATION_FAILED: 'the token failed an operation, or the TLS stack could not use its key: the token\'s health; `--debug` shows the PKCS#11 return value',
  FILE_UNREADABLE: 'the file named in the message, and its permissions',
  FILE_WRITE_FAILED: 'free space and permissions of the folder named in the message',
  CERT_INVALID: 'the certificate is not a PEM or DER X.509 certificate',
  CERT_KEY_MISMATCH: 'the certificate was issued for another key: use the one issued for this token key',
  CERT_EXISTS: '`hsm import-cert`: a certificate is already stored for that key; add `--replace` for a renewal',
  CERT_NOT_FOUND: 'no certificate, or more than one, matches the `--cert pkcs11:` URI: check with `hsm list`, or add `id=`',
  CA_INVALID: 'the CA file must hold PEM certificates that parse (AWS IoT: Amazon Root CA 1)',
  CERT_REFUSED: 'the broker refused the device certificate: revoked, inactive, or issued by a CA it does not trust. `aws iot describe-certificate --certificate-id ID` (the ID is in the message)',
  CERT_EXPIRED: 'the device certificate has expired; an expired certificate cannot renew itself: provision again, and set `rotateBeforeDays` (docs/rotation.md)',
  ROTATION_REJECTED: 'the certificate-rotator backend refused a step; its reason is in the message, the details in its Lambda logs',
  ROTATION_NEW_CERT_REFUSED: 'the new certificate did not connect and was removed again; the device stays on its old identity. The new certificate must be ACTIVE and attached to the thing and a policy',
  BROKER_UNREACHABLE: 'no TCP connection to the broker: endpoint, port, DNS, firewall',
  TLS_FAILED: 'the TLS handshake failed: `--ca-file`, the endpoint name against the server certificate',
  CONNECT_REFUSED: 'the broker refused the MQTT CONNECT. mtls: a policy allowing `iot:Connect` for the client ID; sigv4: the credentials, `--region`, the clock (websocket 403); custom: the authorizer name and the token signature',
  PUBLISH_FAILED: 'a publish was not acknowledged: the policy\'s `iot:Publish` on the topic',
  SUBSCRIBE_FAILED: 'a subscription was refused: the policy\'s `iot:Subscribe` and `iot:Receive`',
  CREDENTIALS_MISSING: '`--credentials-source env`: set `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`',
  CREDENTIALS_REFUSED: 'AWS refused the credentials request (IoT credentials provider 400, 401, 403, 404; Cognito NotAuthorized, ResourceNotFound): the status and AWS\'s message are in the message (docs/credentials.md)',
  CREDENTIALS_THROTTLED: 'the credentials provider answered 429: keep the cache on, and try again later',
  CREDENTIALS_UNAVAILABLE: 'the credentials service did not answer in time, was unreachable or answered 5xx: DNS, the firewall, `--ca-file`; try again later',
  CREDENTIALS_EXPIRED: 'the source handed out credentials that had already expired; they are never signed with: the device clock, or renew them at the source',
  CREDENTIALS_INVALID: 'the answer was not credentials (not JSON, a malformed field, over 64 KiB, already expired): the endpoint (a proxy or captive portal?) and the device clock',
  PROVISION_REJECTED: 'AWS IoT refused CreateCertificateFromCsr or RegisterThing; status, code and text are in the message. 403: a pre-provisioning hook or the policy; 404: the template name or region; 400: the key type or the `--param` names (docs/provisioning.md)',
  PROVISION_ANSWER_INVALID: 'the answer was not the fleet-provisioning API\'s JSON (wrong endpoint?); nothing was stored, run again',
  PROVISION_INTERRUPTED: 'the connection dropped, or no answer came within `--answer-timeout` (the claim policy must allow the answer topics); nothing was lost, run again',
  LISTEN_FAILED: 'the local MQTT endpoint could not listen: the address is in use (a second agent?) or its folder is not writable; `--local-listen`, `--runtime-dir`',
  AGENT_NOT_RUNNING: '`trustlink status`: no running agent wrote `<runtimeDir>/status.json`, or its writer is gone: `systemctl status trustlink`',
  SPOOL_FULL: 'the spool holds `spoolMaxBytes` of undelivered messages, or its filesystem is full; it empties once AWS IoT takes them (docs/spool.md)',
  SPOOL_UNWRITABLE: 'the spool folder cannot be made, opened or written: its owner, a read-only filesystem, an I/O error; `--spool-dir`',
  INTERNAL: 'a bug: run again with `--debug` and report it',
} as const satisfies Record<ErrorCode, string>;
