/**
 * The few settings a fleet operator may change through the shadow's
 * desired state, checked with the same schemas as the config file. Anything
 * else in desired is ignored (and said so in reported), never applied.
 */
import * as v from 'valibot';
import { SETTINGS } from '../config/schema.js';
import type { LogLevel } from '../log/log.js';

export const DESIRED_ALLOWLIST = ['logLevel', 'healthIntervalSeconds'] as const;
export type DesiredKey = (typeof DESIRED_ALLOWLIST)[number];
export interface DesiredSettings {
  logLevel?: LogLevel;
  healthIntervalSeconds?: number;
}

export interface DesiredOutcome {
  /** Valid allowlisted values, to apply and acknowledge. */
  apply: DesiredSettings;
  /** Keys left alone: not allowlisted, or a value the config schema refuses (with why). */
  ignored: Record<string, string>;
}

const isAllowed = (key: string): key is DesiredKey => (DESIRED_ALLOWLIST as readonly string[]).includes(key);

export function sortDesired(delta: Record<string, unknown>): DesiredOutcome {
  const apply: Record<string, unknown> = {};
  const ignored: Record<string, string> = {};
  for (const [key, value] of Object.entries(delta)) {
    if (!isAllowed(key)) {
      ignored[key] = 'not a setting the shadow may change';
      continue;
    }
    const parsed = v.safeParse(SETTINGS[key].schema, value);
    if (parsed.success && parsed.output !== undefined) apply[key] = parsed.output;
    else ignored[key] = parsed.success ? 'no value' : parsed.issues[0].message;
  }
  return { apply: apply as DesiredSettings, ignored };
}
