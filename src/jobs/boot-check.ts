/**
 * The verdict of an `update` job, from the boot that followed it: the boot
 * self-test's report (/run/trustlink/selftest.json) must be newer than the
 * reboot, say pass or warn, and show that its --on-pass hook (the A/B
 * system's mark-good) succeeded. Anything else is FAILED, naming why.
 */
import { readFileSync } from 'node:fs';
import type { Verdict } from './handler.js';
import { statusDetails } from './status-details.js';

interface ReportCheck {
  id: string;
  status: string;
  detail?: string;
}

interface BootReport {
  startedAt: string;
  status: string;
  checks: ReportCheck[];
  hook?: { verdict: string; exitCode: number };
}

export type BootCheck = { ready: false; why: string } | { ready: true; verdict: Verdict };

function readReport(file: string): BootReport | undefined {
  try {
    const report = JSON.parse(readFileSync(file, 'utf8')) as BootReport;
    return typeof report.startedAt === 'string' && Array.isArray(report.checks) ? report : undefined;
  } catch {
    return undefined;
  }
}

/** Not ready while the report predates the reboot: the boot self-test may still be running. */
export function checkBoot(reportFile: string, rebootRequestedAt: string): BootCheck {
  const report = readReport(reportFile);
  if (report === undefined) return { ready: false, why: `no self-test report at ${reportFile}` };
  if (Date.parse(report.startedAt) < Date.parse(rebootRequestedAt)) return { ready: false, why: `the self-test report at ${reportFile} is from before the reboot` };
  if (report.status === 'fail') {
    const failed = report.checks.filter((check) => check.status === 'fail');
    return {
      ready: true,
      verdict: {
        status: 'FAILED',
        statusDetails: statusDetails({
          reason: `the boot self-test after the update failed: ${failed.map((check) => check.id).join(', ')}; the update system rolls back`,
          failedChecks: failed.map((check) => check.id).join(','),
          detail: failed.map((check) => `${check.id}: ${check.detail ?? ''}`).join('; '),
        }),
      },
    };
  }
  if (report.hook === undefined || report.hook.verdict === 'fail' || report.hook.exitCode !== 0) {
    const why = report.hook === undefined ? 'the boot self-test ran no --on-pass hook' : `the --on-pass hook exited ${report.hook.exitCode}`;
    return { ready: true, verdict: { status: 'FAILED', statusDetails: statusDetails({ reason: `the boot self-test passed but the new slot was not marked good: ${why}`, selftest: report.status }) } };
  }
  return { ready: true, verdict: { status: 'SUCCEEDED', statusDetails: statusDetails({ reason: 'the boot self-test passed and the new slot was marked good', selftest: report.status }) } };
}
