/**
 * The token PIN: read from a file, an environment variable or a systemd
 * credential (never argv), and held in a wrapper that never prints itself.
 */
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { TrustlinkError } from '../errors.js';

export class Pin {
  readonly #value: string;
  /** Where the PIN came from, safe to show ("file /etc/...", "TRUSTLINK_PIN"). */
  readonly source: string;

  constructor(value: string, source: string) {
    this.#value = value;
    this.source = source;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted PIN]';
  }

  toJSON(): string {
    return '[redacted PIN]';
  }

  [inspect.custom](): string {
    return `Pin(from ${this.source})`;
  }
}

export interface PinSources {
  /** --pin-file, the config's pinFile, or the URI's pin-source. */
  pinFile?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/** systemd's LoadCredential=pin:... makes $CREDENTIALS_DIRECTORY/pin. */
const SYSTEMD_CREDENTIAL = 'pin';

/**
 * A PIN file that any user may read or write is refused, not just warned
 * about: whoever reads it can use the device key. The mode is that of the
 * file itself, so a symlink to such a file is refused too.
 */
function readPinFile(path: string, source: string): Pin {
  let text: string;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const mode = fstatSync(fd).mode & 0o777;
    if ((mode & 0o007) !== 0) {
      throw new TrustlinkError('CONFIG_INVALID', `the PIN file ${path} may be read or written by any user (mode ${mode.toString(8)}); whoever reads it can use the device key`, {
        hint: `chmod 600 ${path} (or 640 with the service's group), owned by the service user; or use a systemd credential (LoadCredential=pin:FILE)`,
      });
    }
    text = readFileSync(fd, 'utf8');
  } catch (error) {
    if (error instanceof TrustlinkError) throw error;
    throw new TrustlinkError('FILE_UNREADABLE', `cannot read the PIN file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, {
      hint: 'check the path and that this user may read it (mode 0600, owned by the service user)',
    });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  // Files made with `echo` end in a newline that is not part of the PIN.
  const value = text.replace(/\r?\n$/, '');
  if (value === '') throw new TrustlinkError('PIN_MISSING', `the PIN file ${path} is empty`);
  return new Pin(value, source);
}

/** The first PIN found: pin file, then TRUSTLINK_PIN, then the systemd credential. */
export function findPin(sources: PinSources): Pin | undefined {
  const env = sources.env ?? process.env;
  if (sources.pinFile) return readPinFile(sources.pinFile, `file ${sources.pinFile}`);
  const fromEnv = env.TRUSTLINK_PIN;
  if (fromEnv !== undefined && fromEnv !== '') return new Pin(fromEnv, 'TRUSTLINK_PIN');
  if (env.CREDENTIALS_DIRECTORY) {
    const path = join(env.CREDENTIALS_DIRECTORY, SYSTEMD_CREDENTIAL);
    try {
      return readPinFile(path, `systemd credential ${SYSTEMD_CREDENTIAL}`);
    } catch (error) {
      if (error instanceof TrustlinkError && error.code === 'FILE_UNREADABLE') return undefined;
      throw error;
    }
  }
  return undefined;
}

export function requirePin(sources: PinSources): Pin {
  const pin = findPin(sources);
  if (!pin) {
    throw new TrustlinkError('PIN_MISSING', 'the token needs a PIN and none was given', {
      hint: 'use --pin-file FILE, the TRUSTLINK_PIN environment variable, or a systemd credential named "pin" (LoadCredential=pin:FILE)',
    });
  }
  return pin;
}
