/** The jobs runner as an agent service, when `jobs` is on. */
import { createJobsRunner } from '../jobs/service.js';
import type { AgentService, ServiceDeps } from './service.js';

export function jobsService(deps: ServiceDeps, env: NodeJS.ProcessEnv = process.env): AgentService | undefined {
  const { config } = deps;
  if (!config.jobs) return undefined;
  const runner = createJobsRunner({
    session: deps.connection.session,
    thingName: config.thingName ?? deps.connection.clientId,
    stateDir: config.stateDir,
    handlerDir: config.jobsHandlerDir,
    handlerTimeoutMs: config.jobsHandlerTimeoutSeconds * 1000,
    updateCommand: config.jobsUpdateCommand,
    rebootCommand: config.jobsRebootCommand,
    log: deps.log,
    env,
  });
  return { name: 'jobs', start: () => runner.start(), stop: () => runner.stop(), status: () => runner.status() };
}
