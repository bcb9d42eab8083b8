/**
 * Is the system clock believable? Devices without a battery-backed clock
 * boot in 1970 or at their image's build date, and TLS then fails in ways
 * that look like certificate problems. Pure: every input is passed in.
 */
import { existsSync } from 'node:fs';
import type { CheckOutcome } from './runner.js';

/** systemd-timesyncd's flag files (systemd-timesyncd.service(8)). */
const TIMESYNC_DIR = '/run/systemd/timesync';

export type TimeSync = 'synchronized' | 'not synchronized' | 'unknown';

export function timeSyncState(dir = TIMESYNC_DIR): TimeSync {
  if (existsSync(`${dir}/synchronized`)) return 'synchronized';
  // The folder exists once timesyncd ran; the flag appears at the first successful sync.
  return existsSync(dir) ? 'not synchronized' : 'unknown';
}

export interface ClockFacts {
  now: Date;
  /** When this trustlink was built; undefined in unbundled development runs. */
  buildTime: Date | undefined;
  certificate: { validFrom: Date; validTo: Date } | undefined;
  timeSync: TimeSync;
}

const HINT = 'set the clock (NTP: systemd-timesyncd, chrony; or an RTC) before connecting; order the unit after time-sync.target';

export function assessClock(facts: ClockFacts): CheckOutcome {
  const now = facts.now.toISOString();
  const problems: string[] = [];
  if (facts.buildTime !== undefined && facts.now < facts.buildTime) {
    problems.push(`the clock (${now}) is before this program's build date (${facts.buildTime.toISOString()})`);
  }
  // A clock behind the certificate's start is the usual "no RTC" fault. A clock past
  // its end looks the same as an expired certificate: the certificate check says so.
  if (facts.certificate !== undefined && facts.now < facts.certificate.validFrom) {
    problems.push(`the clock (${now}) is before the device certificate's validity starts (${facts.certificate.validFrom.toISOString()})`);
  }
  const sync = `time sync: ${facts.timeSync}`;
  if (problems.length > 0) return { status: 'fail', detail: `${problems.join('; ')}; ${sync}`, hint: HINT };
  if (facts.timeSync === 'not synchronized') {
    return { status: 'warn', detail: `${now}, plausible, but ${sync}`, hint: HINT };
  }
  return { status: 'pass', detail: `${now}; ${sync}` };
}
