/**
 * The named shadow as an agent service, when `shadow` is on: the facts it
 * reports come from what the agent knows (its version, connection, the
 * certificate) and from files (the boot self-test report, the jobs'
 * history); desired logLevel and healthIntervalSeconds change the running
 * agent's logger and config.
 */
import { readJobsState } from '../jobs/store.js';
import { defaultReportFile } from '../selftest/report.js';
import { selftestFacts, type DeviceFacts } from '../shadow/reported.js';
import { createShadowRunner } from '../shadow/service.js';
import type { AgentService, ServiceDeps } from './service.js';

/** The spool depth, from the bridge's figures in the agent's status; null without the bridge. */
function spoolDepth(deps: ServiceDeps): DeviceFacts['spool'] {
  const spool = deps.status().services.bridge?.spool as { messages?: unknown; bytes?: unknown } | undefined;
  return typeof spool?.messages === 'number' && typeof spool.bytes === 'number' ? { messages: spool.messages, bytes: spool.bytes } : null;
}

function lastJob(stateDir: string): DeviceFacts['lastJob'] {
  try {
    const last = readJobsState(stateDir).history[0];
    return last === undefined ? null : { jobId: last.jobId, operation: last.operation, status: last.status, finishedAt: last.finishedAt };
  } catch {
    return null;
  }
}

export function shadowService(deps: ServiceDeps, env: NodeJS.ProcessEnv = process.env): AgentService | undefined {
  const { config, connection, log } = deps;
  if (!config.shadow) return undefined;
  const reportFile = defaultReportFile(env);
  const runner = createShadowRunner({
    session: connection.session,
    thingName: config.thingName ?? connection.clientId,
    shadowName: config.shadowName,
    log,
    facts: () => ({
      version: deps.version,
      selftest: selftestFacts(reportFile),
      certificateExpiresAt: connection.certificateExpiresAt ?? null,
      connection: { auth: config.auth, mqtt: config.mqttVersion, endpoint: config.endpoint ?? '' },
      spool: spoolDepth(deps),
      lastJob: lastJob(config.stateDir),
    }),
    settings: () => ({ logLevel: config.logLevel, healthIntervalSeconds: config.healthIntervalSeconds }),
    apply(settings) {
      if (settings.logLevel !== undefined) {
        config.logLevel = settings.logLevel;
        log.setLevel?.(settings.logLevel);
      }
      // The health service reads it when it arms its next message.
      if (settings.healthIntervalSeconds !== undefined) config.healthIntervalSeconds = settings.healthIntervalSeconds;
    },
  });
  return { name: 'shadow', start: () => runner.start(), stop: () => runner.stop() };
}
