/**
 * Runs self-test checks in order, each under its own time limit, and skips
 * the checks whose prerequisites did not pass. Knows nothing about tokens or
 * brokers: the checks are plain objects (checks.ts).
 */
import { isTrustlinkError } from '../errors.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

/** What a check's run() returns; throwing counts as a failure. */
export interface CheckOutcome {
  status: CheckStatus;
  detail: string;
  hint?: string;
}

export interface Check<Context> {
  id: string;
  name: string;
  /** Ids of checks that must pass (or warn) first; otherwise this one is skipped. */
  requires: readonly string[];
  timeoutMs: number | ((context: Context) => number);
  /** Talks to the network: skipped with --no-network. */
  network?: boolean;
  /** What to do when run() throws something without a hint of its own. */
  hint?: string;
  run(context: Context): CheckOutcome | Promise<CheckOutcome>;
}

export interface CheckResult {
  id: string;
  name: string;
  status: CheckStatus;
  durationMs: number;
  detail: string;
  hint?: string;
}

export type Verdict = 'pass' | 'warn' | 'fail';

export interface RunOptions {
  /** A reason to skip a check before it runs (e.g. --no-network), or undefined. */
  skipReason?: (check: { id: string; network?: boolean }) => string | undefined;
}

class CheckTimeout extends Error {}

function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimeout(`did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function failureOf(error: unknown, check: { hint?: string }): CheckOutcome {
  if (error instanceof CheckTimeout) {
    return { status: 'fail', detail: error.message, hint: check.hint ?? 'the operation hung; run again with --debug to see where' };
  }
  const detail = error instanceof Error ? error.message : String(error);
  const hint = (isTrustlinkError(error) ? error.hint : undefined) ?? check.hint;
  return { status: 'fail', detail, ...(hint !== undefined ? { hint } : {}) };
}

export async function runChecks<Context>(checks: ReadonlyArray<Check<Context>>, context: Context, options: RunOptions = {}): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  // A check only unblocks its dependants when it passed, warned, or said it does not apply.
  const blocked = new Map<string, string>();
  for (const check of checks) {
    const started = performance.now();
    const blocker = check.requires.find((id) => blocked.has(id));
    const preSkip = options.skipReason?.(check)
      ?? (blocker !== undefined ? `skipped: needs "${blocked.get(blocker)}", which did not pass` : undefined);
    let outcome: CheckOutcome;
    if (preSkip !== undefined) {
      outcome = { status: 'skip', detail: preSkip };
      blocked.set(check.id, check.name);
    } else {
      const timeoutMs = typeof check.timeoutMs === 'function' ? check.timeoutMs(context) : check.timeoutMs;
      try {
        outcome = await withTimeout(Promise.resolve().then(() => check.run(context)), timeoutMs);
      } catch (error) {
        outcome = failureOf(error, check);
      }
      if (outcome.status === 'fail') blocked.set(check.id, check.name);
    }
    results.push({
      id: check.id,
      name: check.name,
      status: outcome.status,
      durationMs: Math.round(performance.now() - started),
      detail: outcome.detail,
      ...((outcome.status === 'fail' || outcome.status === 'warn') && outcome.hint !== undefined ? { hint: outcome.hint } : {}),
    });
  }
  return results;
}

export function verdictOf(results: readonly CheckResult[]): Verdict {
  if (results.some((result) => result.status === 'fail')) return 'fail';
  if (results.some((result) => result.status === 'warn')) return 'warn';
  return 'pass';
}
