/** The jobs runner as an agent service, when `jobs` is on. */
import { createJobsRunner } from '../jobs/service.js';
import type { RotationResult } from '../rotation/rotate.js';
import { restartOnNewIdentity, rotateAgentIdentity } from '../rotation/schedule.js';
import type { AgentService, ServiceDeps } from './service.js';

export function jobsService(deps: ServiceDeps, env: NodeJS.ProcessEnv = process.env): AgentService | undefined {
  const { config, log } = deps;
  if (!config.jobs) return undefined;
  let rotated: RotationResult | undefined;
  const runner = createJobsRunner({
    session: deps.connection.session,
    thingName: config.thingName ?? deps.connection.clientId,
    stateDir: config.stateDir,
    handlerDir: config.jobsHandlerDir,
    handlerTimeoutMs: config.jobsHandlerTimeoutSeconds * 1000,
    updateCommand: config.jobsUpdateCommand,
    rebootCommand: config.jobsRebootCommand,
    log,
    env,
    // The same rotation as the schedule's: the old key goes at the restart that follows the job's report.
    rotate: config.auth === 'mtls' ? async () => (rotated = await rotateAgentIdentity({ config, log, connection: deps.connection, env }, 'later', 'a rotate job')) : undefined,
    onRotated: () => {
      if (rotated !== undefined) restartOnNewIdentity(log, rotated);
    },
  });
  return { name: 'jobs', start: () => runner.start(), stop: () => runner.stop(), status: () => runner.status() };
}
