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
import { bridgeService } from './bridge-service.js';
import { certificateScheduleService } from '../rotation/schedule.js';
import { healthService } from './health.js';
import { jobsService } from './jobs.js';
import { shadowService } from './shadow.js';
import type { Notifier } from './sd-notify.js';
import type { AgentService, ServiceDeps } from './service.js';
import { startStatusFile } from './status-file.js';
import { createStatusRegistry, statusLine } from './status.js';

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

/** STATUS= is refreshed this often, so systemctl status shows the spool depth of now. */
const STATUS_LINE_INTERVAL_MS = 10_000;

/** What runs beside the connection; each service adds one line here. */
function agentServices(deps: ServiceDeps): AgentService[] {
  return [
    bridgeService(deps),
    healthService(deps),
    certificateScheduleService(deps),
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
  const endpoint = `${config.endpoint}:${config.port ?? defaultPort(config)}`;
  const registry = createStatusRegistry({ session: connection.session, endpoint, clientId: connection.clientId, version: options.version });
  const services = agentServices({ config, connection, log, version: options.version, stateDir: config.stateDir, status: registry.status });
  registry.setServices(services);
  let lastLine = '';
  const tellSystemd = (suffix = ''): void => {
    const line = statusLine(registry.status()) + suffix;
    if (line === lastLine) return;
    lastLine = line;
    void notifier.notify({ STATUS: line });
  };

  connection.session
    .on('connected', () => tellSystemd())
    .on('disconnected', (reason: string) => tellSystemd(` (${reason})`));
  // A failure that retrying cannot fix (certificate refused, CONNACK refused) ends the agent.
  const fatal = new Promise<unknown>((resolve) => {
    connection.firstConnect.catch(resolve);
  });

  let watchdog: NodeJS.Timeout | undefined;
  let statusTimer: NodeJS.Timeout | undefined;
  let statusFile: ReturnType<typeof startStatusFile> | undefined;
  try {
    for (const service of services) await service.start();
    statusFile = startStatusFile(config.runtimeDir, registry.status, log);
    statusTimer = setInterval(() => tellSystemd(), STATUS_LINE_INTERVAL_MS);
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
    clearInterval(statusTimer);
    statusFile?.stop();
    await notifier.notify({ STOPPING: '1', STATUS: 'stopping' });
    for (const service of [...services].reverse()) await withinTimeout(Promise.resolve(service.stop()), `stopping ${service.name}`, log);
    await withinTimeout(connection.close(), 'disconnecting', log);
    log.info('agent stopped');
  }
}
