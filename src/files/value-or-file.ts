/** Secrets (tokens, signatures) can be given as @FILE so they stay out of argv and the process list. */
import { readTextFile } from './read.js';

export function readValueOrFile(value: string, what: string): string {
  if (!value.startsWith('@')) return value;
  return readTextFile(value.slice(1), `file holding the ${what}`, 'the file must be readable by this user').trim();
}
