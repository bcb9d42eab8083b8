/**
 * The secret that local programs present in the Authorization header of
 * the ECS credentials protocol (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE).
 * Made once, 32 random bytes in hex, mode 0600; a file others may read is
 * refused, since whoever reads it gets the device's AWS credentials.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { TrustlinkError } from '../errors.js';
import { readTextFile } from '../files/read.js';
import { writeFileAtomic } from '../files/atomic-write.js';
import type { Logger } from '../log/log.js';

/** Header values must be printable ASCII without spaces; the SDKs send the file as it is. */
const TOKEN_PATTERN = /^[\x21-\x7e]{16,4096}$/;

export function readOrCreateToken(path: string, log: Logger): string {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // No newline: the AWS SDKs send the file's bytes as the header value.
  if (writeFileAtomic(path, randomBytes(32).toString('hex'), 0o600, { replace: false })) {
    log.info('created the authorization token file', { tokenFile: path });
  }
  const mode = statSync(path).mode;
  if ((mode & 0o007) !== 0) {
    throw new TrustlinkError('CONFIG_INVALID', `the token file ${path} may be read or written by any user (mode ${(mode & 0o777).toString(8)}); whoever reads it gets this device's AWS credentials`, {
      hint: `chmod 600 ${path} (or 640 with a group of the programs that need it)`,
    });
  }
  const token = readTextFile(path, 'token file', 'pass --token-file with a file this user may read');
  if (!TOKEN_PATTERN.test(token)) {
    // A trailing newline counts too: the SDKs would send it, and HTTP forbids it in a header.
    throw new TrustlinkError('CONFIG_INVALID', `the token file ${path} must hold 16-4096 printable characters, with no spaces or newline`, {
      hint: 'delete it and trustlink makes a new one, or write it with printf \'%s\' TOKEN',
    });
  }
  return token;
}
