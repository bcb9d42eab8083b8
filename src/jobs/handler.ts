/**
 * A handler is an executable file in the handler directory. It runs only if
 * it and the directory are owned by root (or by the agent's own user) and
 * writable by nobody else: whoever can change a handler can run code as the
 * agent. argv is [handler, runAsUser, ...args], as with the Device Client.
 */
import { statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { HandlerStep } from './document.js';
import { describeExit, runProcess, type ProcessResult } from './process.js';
import { statusDetails, type StatusDetails } from './status-details.js';

export type FinalStatus = 'SUCCEEDED' | 'FAILED' | 'REJECTED';

export interface Verdict {
  status: FinalStatus;
  statusDetails: StatusDetails;
}

export type HandlerCheck = { ok: true; file: string } | { ok: false; unknown: boolean; reason: string };

const GROUP_OR_WORLD_WRITABLE = 0o022;

function ownerProblem(what: string, path: string, stats: Stats, uid: number): string | undefined {
  if (stats.uid !== 0 && stats.uid !== uid) return `${what} ${path} is owned by uid ${stats.uid}, not root or the agent's user`;
  if ((stats.mode & GROUP_OR_WORLD_WRITABLE) !== 0) return `${what} ${path} is writable by group or others (mode ${(stats.mode & 0o7777).toString(8)})`;
  return undefined;
}

/** Whether `handler` may run; `unknown` when there is no such handler (the job is then REJECTED as unknown). */
export function checkHandler(dir: string, handler: string, uid = process.getuid?.() ?? 0): HandlerCheck {
  const file = join(dir, handler);
  let dirStats: Stats;
  let stats: Stats;
  try {
    dirStats = statSync(dir);
  } catch (error) {
    return { ok: false, unknown: true, reason: `the handler directory ${dir} is missing (${(error as NodeJS.ErrnoException).code})` };
  }
  try {
    stats = statSync(file);
  } catch {
    return { ok: false, unknown: true, reason: `unknown operation "${handler}": no handler ${file}` };
  }
  const problem = ownerProblem('handler directory', dir, dirStats, uid) ?? ownerProblem('handler', file, stats, uid);
  if (problem !== undefined) return { ok: false, unknown: false, reason: `refused: ${problem}` };
  if (!stats.isFile()) return { ok: false, unknown: false, reason: `refused: ${file} is not a regular file` };
  if ((stats.mode & 0o111) === 0) return { ok: false, unknown: false, reason: `refused: ${file} is not executable` };
  return { ok: true, file };
}

export interface StepRunOptions {
  dir: string;
  timeoutMs: number;
  includeStdout: boolean;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  onStart?(step: HandlerStep, pid: number | undefined): void;
}

export function verdictOfProcess(result: ProcessResult, timeoutMs: number, includeStdout: boolean, stepName?: string): Verdict {
  const succeeded = result.exitCode === 0 && !result.timedOut && result.spawnError === undefined;
  return {
    status: succeeded ? 'SUCCEEDED' : 'FAILED',
    statusDetails: statusDetails({
      reason: describeExit(result, timeoutMs),
      step: stepName,
      stderr: result.stderr,
      stdout: includeStdout ? result.stdout : undefined,
    }),
  };
}

/**
 * Checks every handler first (a refused step means nothing runs), then runs
 * the steps in order; the first failing step that does not ignore failure
 * ends the job FAILED.
 */
export async function runHandlerSteps(steps: HandlerStep[], options: StepRunOptions): Promise<Verdict> {
  const files: string[] = [];
  for (const step of steps) {
    const check = checkHandler(options.dir, step.handler);
    if (!check.ok) return { status: 'REJECTED', statusDetails: statusDetails({ reason: check.reason, step: steps.length > 1 ? step.name : undefined }) };
    files.push(check.file);
  }
  let last: Verdict = { status: 'SUCCEEDED', statusDetails: {} };
  for (const [index, step] of steps.entries()) {
    const result = await runProcess(files[index] as string, [step.runAsUser, ...step.args], {
      env: options.env,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      onStart: (pid) => options.onStart?.(step, pid),
    });
    const verdict = verdictOfProcess(result, options.timeoutMs, options.includeStdout, steps.length > 1 ? step.name : undefined);
    if (verdict.status !== 'SUCCEEDED' && !step.ignoreFailure) return verdict;
    last = verdict.status === 'SUCCEEDED' ? verdict : { status: 'SUCCEEDED', statusDetails: statusDetails({ ...verdict.statusDetails, reason: `${verdict.statusDetails.reason ?? ''} (ignored)` }) };
  }
  return last;
}
