/**
 * What the agent says about the device in the shadow's reported state, and
 * when: at once after connecting, then when something changed, but not more
 * than once a minute (a shadow update is a metered message, and a flapping
 * value must not flood it).
 */
import { readFileSync } from 'node:fs';

export const MIN_REPORT_INTERVAL_MS = 60_000;

export interface SelftestFacts {
  status: string;
  startedAt: string;
  /** Ids of the checks that did not pass (fail and warn). */
  notPassed: string[];
}

export interface LastJobFacts {
  jobId: string;
  operation: string;
  status: string;
  finishedAt: string;
}

export interface DeviceFacts {
  version: string;
  selftest: SelftestFacts | null;
  certificateExpiresAt: string | null;
  connection: { auth: string; mqtt: string; endpoint: string };
  /** From the agent's status (the bridge's spool) once it offers one. */
  spool: { messages: number; bytes: number } | null;
  lastJob: LastJobFacts | null;
}

/** The boot self-test's verdict from its report; null when there is none (or it is unreadable). */
export function selftestFacts(reportFile: string): SelftestFacts | null {
  try {
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as { status?: unknown; startedAt?: unknown; checks?: { id: string; status: string }[] };
    if (typeof report.status !== 'string' || typeof report.startedAt !== 'string' || !Array.isArray(report.checks)) return null;
    return { status: report.status, startedAt: report.startedAt, notPassed: report.checks.filter((check) => check.status === 'fail' || check.status === 'warn').map((check) => check.id) };
  } catch {
    return null;
  }
}

/** How long to wait before reporting changed facts: 0 when due now. */
export function reportDelay(lastReportedAt: number | undefined, now: number, minIntervalMs = MIN_REPORT_INTERVAL_MS): number {
  return lastReportedAt === undefined ? 0 : Math.max(0, lastReportedAt + minIntervalMs - now);
}
