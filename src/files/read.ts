/** Reading a file the user named, with an error that says which file and what to do. */
import { readFileSync } from 'node:fs';
import { TrustlinkError } from '../errors.js';

export function readFileBytes(path: string, what: string, hint: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new TrustlinkError('FILE_UNREADABLE', `cannot read the ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      cause: error,
      hint,
    });
  }
}

export function readTextFile(path: string, what: string, hint: string): string {
  return readFileBytes(path, what, hint).toString('utf8');
}
