/** Where things are, for tests: the repo, the built CLI, the hsm/ scripts. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TRUSTLINK = join(REPO, 'dist', 'trustlink');
export const HSM_DIR = join(REPO, 'hsm');

/** A folder of the test's own; remove() deletes it. */
export function makeTempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `trustlink-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
