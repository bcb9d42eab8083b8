/** Builds test/helpers/spool-child.ts into a folder of the test's and runs it, to kill -9 a real spool user. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { build } from 'esbuild';
import { REPO } from './paths.js';

export async function buildSpoolChild(outDir: string): Promise<string> {
  const outfile = join(outDir, 'spool-child.mjs');
  await build({ entryPoints: [join(REPO, 'test/helpers/spool-child.ts')], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' });
  return outfile;
}

export interface KilledChild {
  /** stdout lines printed before the kill (or the end). */
  lines: string[];
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
}

/**
 * Runs the child; once `killWhen(lines)` holds it gets SIGKILL. Without a kill it runs to its
 * end; either way bounded by timeoutMs (then SIGKILL and an error).
 */
export async function runSpoolChild(script: string, args: string[], killWhen: (lines: string[]) => boolean, timeoutMs = 60_000): Promise<KilledChild> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    // Lines after the kill decision are still counted: they were printed, so their appends had resolved.
    lines.push(...parts);
    if (child.exitCode === null && child.signalCode === null && killWhen(lines)) child.kill('SIGKILL');
  });
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  if (timedOut) throw new Error(`spool-child ${args.join(' ')} timed out; stderr:\n${stderr}`);
  return { lines, signal, code, stderr };
}
