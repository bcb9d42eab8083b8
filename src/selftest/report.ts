/**
 * The self-test report: one JSON document (schema: report.schema.json),
 * written atomically for whatever reads it at boot, and a compact table for
 * people.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TrustlinkError } from '../errors.js';
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
}

/** Writes the report beside its final name, then renames: a reader never sees half a report. */
export function writeReport(file: string, report: SelftestReport): void {
  const temp = join(dirname(file), `.${process.pid}.selftest.json.tmp`);
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(temp, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o644 });
    renameSync(temp, file);
  } catch (error) {
    try {
      rmSync(temp, { force: true });
    } catch {
      // The folder itself is unusable; there is no temporary file to remove.
    }
    throw new TrustlinkError('FILE_WRITE_FAILED', `cannot write the self-test report ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
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
