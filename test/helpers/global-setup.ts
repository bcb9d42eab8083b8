/** Builds dist/ once before the suites: the tests run the CLI users run. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './paths.js';

export default function setup(): void {
  execFileSync(process.execPath, [join(REPO, 'bundle', 'build.mjs')], { stdio: 'inherit' });
}
