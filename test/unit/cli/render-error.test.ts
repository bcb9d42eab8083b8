import { PassThrough } from 'node:stream';
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { renderError } from '../../../src/cli/render-error.js';
import { TrustlinkError, knownErrorCodes, type ErrorCode } from '../../../src/errors.js';

function render(error: unknown, options = { json: false, debug: false }): { text: string; exitCode: number } {
  const stream = new PassThrough();
  const exitCode = renderError(error, options, stream);
  return { text: stream.read()?.toString() ?? '', exitCode };
}

/** The exit status each code must have; docs/errors.md is generated from errors.ts. */
const EXPECTED_EXIT: Record<ErrorCode, number> = {
  USAGE: 64, CONFIG_UNREADABLE: 78, CONFIG_INVALID: 78, PKCS11_URI_INVALID: 78, PKCS11_MODULE_NOT_FOUND: 78,
  PKCS11_MODULE_FAILED: 69, TOKEN_NOT_FOUND: 69, KEY_NOT_FOUND: 78, KEY_EXISTS: 78, PIN_MISSING: 77, PIN_INCORRECT: 77,
  PIN_LOCKED: 77, TOKEN_OPERATION_FAILED: 69, FILE_UNREADABLE: 78, FILE_WRITE_FAILED: 70, CERT_INVALID: 78,
  CERT_KEY_MISMATCH: 78, CA_INVALID: 78, BROKER_UNREACHABLE: 69, TLS_FAILED: 69, CONNECT_REFUSED: 69,
  PUBLISH_FAILED: 69, SUBSCRIBE_FAILED: 69, CREDENTIALS_MISSING: 78, CREDENTIALS_UNAVAILABLE: 69, CREDENTIALS_REFUSED: 77, CREDENTIALS_THROTTLED: 69, CREDENTIALS_INVALID: 76,
  CREDENTIALS_EXPIRED: 69, INTERNAL: 70, CERT_EXISTS: 78, CERT_NOT_FOUND: 78,
  PROVISION_REJECTED: 69, PROVISION_ANSWER_INVALID: 65, PROVISION_INTERRUPTED: 69,
  LISTEN_FAILED: 69, AGENT_NOT_RUNNING: 69,
  SPOOL_FULL: 69, SPOOL_UNWRITABLE: 78,
  CERT_REFUSED: 77, CERT_EXPIRED: 77, ROTATION_REJECTED: 69, ROTATION_NEW_CERT_REFUSED: 69,
};

describe('renderError', () => {
  it.each(knownErrorCodes() as ErrorCode[])('renders %s once, with its hint and exit status', (code) => {
    const { text, exitCode } = render(new TrustlinkError(code, `something about ${code}`, { hint: 'do this' }));
    expect(text).toBe(`trustlink: something about ${code} [${code}]\n  hint: do this\n`);
    expect(exitCode).toBe(EXPECTED_EXIT[code]);
  });

  it('prints one JSON object with --json', () => {
    const { text } = render(new TrustlinkError('PIN_INCORRECT', 'refused', { hint: 'h' }), { json: true, debug: false });
    expect(JSON.parse(text)).toEqual({ error: { code: 'PIN_INCORRECT', message: 'refused', hint: 'h', exitCode: 77 } });
  });

  it('shows the cause chain only with --debug', () => {
    const error = new TrustlinkError('TLS_FAILED', 'handshake failed', { cause: new Error('AWS_IO_TLS_ERROR') });
    expect(render(error).text).not.toContain('AWS_IO_TLS_ERROR');
    expect(render(error, { json: false, debug: true }).text).toContain('cause: Error: AWS_IO_TLS_ERROR');
  });

  it('turns a commander usage error into USAGE (64)', () => {
    const { text, exitCode } = render(new CommanderError(1, 'commander.missingMandatoryOptionValue', "error: required option '--topic <topic>' not specified"));
    expect(text).toMatch(/^trustlink: required option '--topic <topic>' not specified \[USAGE\]/);
    expect(exitCode).toBe(64);
  });

  it('turns anything else into INTERNAL (70) with a bug-report hint', () => {
    const { text, exitCode } = render(new TypeError('x is undefined'));
    expect(text).toMatch(/unexpected error: x is undefined \[INTERNAL\]\n  hint: this is a bug/);
    expect(exitCode).toBe(70);
  });
});
