/**
 * Writes a file so that readers see the old content or the new, never half
 * of it: a temporary file in the same folder, flushed, then renamed over.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TrustlinkError } from '../errors.js';

export function writeFileAtomic(path: string, data: string | Buffer, mode: number): void {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    // "wx": never follow or reuse something already at the temporary name.
    const fd = openSync(temp, 'wx', mode);
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new TrustlinkError('FILE_WRITE_FAILED', `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      cause: error,
      hint: 'check that the folder exists and that this user may write to it',
    });
  }
}
