/**
 * One self-test run: the checks, the verdict, the report, and the exit
 * status the issue asks of `trustlink selftest` (0 pass or warnings, 1 a
 * check failed, 2 the configuration is unusable).
 */
import { hostname } from 'node:os';
import type { ConfigSources } from '../config/load.js';
import type { Logger } from '../log/log.js';
import { SELFTEST_CHECKS } from './checks.js';
import { timeSyncState } from './clock.js';
import type { SelftestContext } from './context.js';
import type { SelftestReport } from './report.js';
import { runChecks, verdictOf } from './runner.js';
import { SELFTEST_EXIT } from './exit-status.js';

export interface SelftestOptions {
  version: string;
  sources: ConfigSources;
  env: NodeJS.ProcessEnv;
  log: Logger;
  now: Date;
  buildTime: Date | undefined;
  network: boolean;
}

export interface SelftestRun {
  report: SelftestReport;
  exitCode: number;
}

export async function runSelftest(options: SelftestOptions): Promise<SelftestRun> {
  const started = performance.now();
  const context: SelftestContext = {
    sources: options.sources,
    env: options.env,
    log: options.log,
    now: options.now,
    buildTime: options.buildTime,
    network: options.network,
    timeSync: () => timeSyncState(),
    cleanups: [],
  };
  let checks;
  try {
    checks = await runChecks(SELFTEST_CHECKS, context, {
      skipReason: (check) => (check.network && !options.network ? 'skipped: --no-network' : undefined),
    });
  } finally {
    for (const cleanup of context.cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        options.log.debug('self-test cleanup failed', { reason: (error as Error).message });
      }
    }
  }
  const status = verdictOf(checks);
  const config = context.config;
  const report: SelftestReport = {
    version: options.version,
    device: config?.thingName ?? config?.clientId ?? hostname(),
    startedAt: options.now.toISOString(),
    durationMs: Math.round(performance.now() - started),
    status,
    checks,
  };
  const configFailed = checks.find((check) => check.id === 'config')?.status === 'fail';
  const exitCode = configFailed ? SELFTEST_EXIT.usage : status === 'fail' ? SELFTEST_EXIT.failed : SELFTEST_EXIT.ok;
  return { report, exitCode };
}
