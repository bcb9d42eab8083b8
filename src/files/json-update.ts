/**
 * Sets some keys of a JSON config file and keeps every other key, its mode
 * and (by an atomic write) the old content until the new one is complete.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from './atomic-write.js';

export function updateJsonFile(file: string, values: Record<string, unknown>): void {
  let current: Record<string, unknown> = {};
  let mode = 0o644;
  if (existsSync(file)) {
    current = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    mode = statSync(file).mode & 0o777;
  }
  writeFileAtomic(file, `${JSON.stringify({ ...current, ...values }, null, 2)}\n`, mode);
}
