/**
 * Writes a file so that readers see the old content or the new, never a
 * half-written one: a private temp file in the same folder, fsync, rename.
 * The mode is set when the temp file is created, so the content is never
 * readable by others, not even for a moment.
 */
import { closeSync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TrustlinkError } from '../errors.js';
import { nodeCrypto } from '../node-crypto.js';

export interface AtomicWriteOptions {
  /** false: leave an existing file alone and return false (link(2) instead of rename(2), so no race). */
  replace?: boolean;
}

/** Returns false only when `replace` is false and the file already existed. */
export function writeFileAtomic(path: string, content: string | Buffer, mode: number, options: AtomicWriteOptions = {}): boolean {
  const temp = join(dirname(path), `.${basename(path)}.${nodeCrypto().randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    // "wx": never follow or reuse an existing file at the temp name.
    fd = openSync(temp, 'wx', mode);
    writeSync(fd, typeof content === 'string' ? Buffer.from(content) : content);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    if (options.replace === false) {
      try {
        linkSync(temp, path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        unlinkSync(temp);
        return false;
      }
      unlinkSync(temp);
    } else {
      renameSync(temp, path);
    }
    return true;
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // The temp file was never made, or is already gone.
    }
    throw new TrustlinkError('FILE_WRITE_FAILED', `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      cause: error,
      hint: 'check that the folder exists and this user may write to it',
    });
  }
}
