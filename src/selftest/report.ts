/**
 * The self-test report: one JSON document (schema: report.schema.json),
 * written atomically for whatever reads it at boot, and a compact table for
 * people.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isTrustlinkError, TrustlinkError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic-write.js';
import type { CheckResult, CheckStatus, Verdict } from './runner.js';

export const DEFAULT_REPORT_FILE = '/run/trustlink/selftest.json';

/** Under systemd, RuntimeDirectory=trustlink sets $RUNTIME_DIRECTORY (/run/trustlink): the report goes there. */
export function defaultReportFile(env: NodeJS.ProcessEnv): string {
  const runtimeDirectory = env.RUNTIME_DIRECTORY?.split(':')[0];
  return runtimeDirectory ? join(runtimeDirectory, 'selftest.json') : DEFAULT_REPORT_FILE;
}

export interface SelftestReport {
  version: string;
  device: string;
  startedAt: string;
  durationMs: number;
  status: Verdict;
  checks: CheckResult[];
  /** The --on-pass or --on-fail hook that ran, and how it ended: an update's verdict needs to know the slot was marked good. */
  hook?: { verdict: Verdict; exitCode: number };
}

/** Atomically (temporary file, then rename): a reader never sees half a report. */
export function writeReport(file: string, report: SelftestReport): void {
  try {
    // Outside systemd nothing makes /run/trustlink; the unit's RuntimeDirectory= does.
    mkdirSync(dirname(file), { recursive: true });
    writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`, 0o644);
  } catch (error) {
    const failure = (isTrustlinkError(error) ? error.cause : error) as NodeJS.ErrnoException;
    throw new TrustlinkError('FILE_WRITE_FAILED', `cannot write the self-test report ${file}: ${failure.code ?? failure.message}`, {
      cause: error,
      hint: 'pass --report FILE with a writable path (under systemd, RuntimeDirectory=trustlink makes /run/trustlink)',
    });
  }
}

const MARKS: Record<CheckStatus, string> = { pass: '✓', fail: '✗', warn: '!', skip: '-' };

function summary(report: SelftestReport): string {
  const count = (status: CheckStatus): number => report.checks.filter((check) => check.status === status).length;
  const parts = [`${count('pass')} passed`, `${count('fail')} failed`, `${count('warn')} warned`, `${count('skip')} skipped`];
  return `selftest ${report.status.toUpperCase()} for ${report.device}: ${parts.join(', ')} in ${report.durationMs} ms`;
}

/** One line per check: mark, name, time, detail; failures and warnings get their hint below. */
export function formatReport(report: SelftestReport): string {
  const nameWidth = Math.max(...report.checks.map((check) => check.name.length));
  const timeWidth = Math.max(...report.checks.map((check) => String(check.durationMs).length)) + 3;
  const lines = report.checks.flatMap((check) => {
    const line = `${MARKS[check.status]} ${check.name.padEnd(nameWidth)} ${`${check.durationMs} ms`.padStart(timeWidth)}  ${check.detail}`;
    // The hint lines up with the detail column: mark, name, time and the spaces between them.
    return check.hint !== undefined ? [line, `${' '.repeat(nameWidth + timeWidth + 5)}hint: ${check.hint}`] : [line];
  });
  return [...lines, summary(report)].join('\n');
}
