/**
 * The long-running agent behind `trustlink run`: holds the MQTT connection
 * (aws-crt reconnects with backoff and jitter), runs the services beside it,
 * and keeps systemd informed. Resolves only when `stop` is aborted.
 */
import { once } from 'node:events';
import type { Config } from '../config/schema.js';
import { startConnection } from '../connection/connect.js';
import { defaultPort, type ConnectionInputs } from '../connection/settings.js';
import type { Logger } from '../log/log.js';
import { healthService } from './health.js';
import { jobsService } from './jobs.js';
import { shadowService } from './shadow.js';
import type { Notifier } from './sd-notify.js';
import type { AgentService, ServiceDeps } from './service.js';

/** systemd's default TimeoutStopSec is 90 s; a clean exit should take a fraction of it. */
const STOP_TIMEOUT_MS = 5_000;

export interface AgentOptions {
  config: Config;
  log: Logger;
  env: NodeJS.ProcessEnv;
  connectionInputs: ConnectionInputs;
  notifier: Notifier;
  version: string;
  /** Aborted on SIGTERM/SIGINT. */
  stop: AbortSignal;
}

/** What runs beside the connection. The credentials server (issue 5) is added here. */
function agentServices(deps: ServiceDeps): AgentService[] {
  return [
    healthService(deps),
    jobsService(deps),
    shadowService(deps),
  ].filter((service): service is AgentService => service !== undefined);
}

async function withinTimeout(work: Promise<unknown>, what: string, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS);
  });
  const result = await Promise.race([work.then(() => 'done' as const), timeout]).finally(() => clearTimeout(timer));
  if (result === 'timeout') log.warn(`${what} did not finish in time; exiting anyway`, { timeoutMs: STOP_TIMEOUT_MS });
}

export async function runAgent(options: AgentOptions): Promise<void> {
  const { config, log, notifier } = options;
  const connection = await startConnection(config, log, { retry: true, ...options.connectionInputs });
  const services = agentServices({ config, connection, log, version: options.version });
  const endpoint = `${config.endpoint}:${config.port ?? defaultPort(config)}`;

  connection.session
    .on('connected', () => void notifier.notify({ STATUS: `connected to ${endpoint} as ${connection.clientId}` }))
    .on('disconnected', (reason: string) => void notifier.notify({ STATUS: `reconnecting to ${endpoint} (${reason})` }));
  // A failure that retrying cannot fix (certificate refused, CONNACK refused) ends the agent.
  const fatal = new Promise<unknown>((resolve) => {
    connection.firstConnect.catch(resolve);
  });

  let watchdog: NodeJS.Timeout | undefined;
  try {
    for (const service of services) await service.start();
    // Ready once the identity checked out and the client runs, not once the broker answered:
    // a device that boots without network is up and reconnecting, not failed.
    await notifier.notify({ READY: '1', STATUS: `connecting to ${endpoint} as ${connection.clientId}` });
    log.info('agent started', { endpoint, clientId: connection.clientId, services: services.map((service) => service.name), watchdogMs: notifier.watchdogIntervalMs });
    if (notifier.watchdogIntervalMs !== undefined) {
      watchdog = setInterval(() => void notifier.notify({ WATCHDOG: '1' }), notifier.watchdogIntervalMs);
    }
    const stopped = options.stop.aborted ? Promise.resolve() : once(options.stop, 'abort').then(() => undefined);
    const outcome = await Promise.race([fatal.then((error) => ({ error })), stopped]);
    if (outcome !== undefined) throw outcome.error;
  } finally {
    clearInterval(watchdog);
    await notifier.notify({ STOPPING: '1', STATUS: 'stopping' });
    for (const service of [...services].reverse()) await withinTimeout(Promise.resolve(service.stop()), `stopping ${service.name}`, log);
    await withinTimeout(connection.close(), 'disconnecting', log);
    log.info('agent stopped');
  }
}
