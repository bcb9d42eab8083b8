/** The spool's one translation of a failed file operation into a TrustlinkError that names the folder. */
import { TrustlinkError } from '../errors.js';

const NO_ROOM = new Set(['ENOSPC', 'EDQUOT']);

export function spoolDiskError(error: unknown, dir: string, doing: string): TrustlinkError {
  if (error instanceof TrustlinkError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  if (NO_ROOM.has(code)) {
    return new TrustlinkError('SPOOL_FULL', `the filesystem holding the spool folder ${dir} is full (${code} while ${doing})`, {
      cause: error,
      hint: 'free space on that filesystem, or lower --spool-max-bytes below the room it has (trustlink selftest checks it)',
    });
  }
  return new TrustlinkError('SPOOL_UNWRITABLE', `cannot use the spool folder ${dir}: ${code} while ${doing}`, {
    cause: error,
    hint: 'the folder must be a directory this user can write (trustlink makes it mode 0700); set --spool-dir to use another',
  });
}
