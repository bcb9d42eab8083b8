/**
 * --on-pass / --on-fail: hands the verdict to what surrounds the device
 * (an A/B update system, a factory station) by running a shell command.
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../log/log.js';
import type { Verdict } from './runner.js';

/** A hook that hangs must not hold up the boot forever. */
const HOOK_TIMEOUT_MS = 120_000;

/**
 * Runs `command` with /bin/sh -c, the verdict in TRUSTLINK_SELFTEST_STATUS and
 * the report's path in TRUSTLINK_SELFTEST_REPORT. Its output goes to stderr so
 * that stdout stays one JSON document with --json. Resolves to its exit status.
 */
export function runHook(command: string, verdict: Verdict, reportFile: string | undefined, log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], {
      env: { ...env, TRUSTLINK_SELFTEST_STATUS: verdict, TRUSTLINK_SELFTEST_REPORT: reportFile ?? '' },
      stdio: ['ignore', process.stderr, process.stderr],
      timeout: HOOK_TIMEOUT_MS,
    });
    child.once('error', (error) => {
      log.error('self-test hook could not start', { command, reason: error.message });
      resolve(127);
    });
    child.once('exit', (code, signal) => {
      if (code !== 0) log.error('self-test hook failed', { command, exitCode: code, signal });
      resolve(code ?? 128);
    });
  });
}
