/**
 * The agent's daily look at the device certificate: a warning once a day
 * while it expires within certWarnDays, and, with rotateBeforeDays set, a
 * rotation once it expires within that many days. A scheduled rotation asks
 * over the agent's own session, switches the config, then ends the agent
 * with EXIT_RESTART so that systemd (Restart=on-failure) starts it again on
 * the new identity; that next start retires the old key. Shaped as an agent
 * service without importing the agent (rotation sits below it). A `rotate`
 * job (src/jobs) runs the same rotation through rotateAgentIdentity.
 */
import type { X509Certificate } from 'node:crypto';
import { DEFAULT_CONFIG_FILE } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { StartedConnection } from '../connection/connect.js';
import { isTrustlinkError } from '../errors.js';
import { parseParameters } from '../fleet/fleet-api.js';
import { certificateReader } from '../identity/device-identity.js';
import { certSourceFrom, keySourceFrom } from '../identity/sources.js';
import type { Logger } from '../log/log.js';
import { rotate, type RotationPlan, type RotationResult } from './rotate.js';
import { openRotationProgress } from './state.js';

const DAY_MS = 86_400_000;
/** EX_TEMPFAIL: not in RestartPreventExitStatus, so systemd restarts the agent on its new identity. */
export const EXIT_RESTART = 75;

export interface ScheduleDeps {
  config: Config;
  log: Logger;
  connection: Pick<StartedConnection, 'session' | 'firstConnect'>;
  env?: NodeJS.ProcessEnv;
  /** The config file the agent was started with; TRUSTLINK_CONFIG or the default otherwise. */
  configFile?: string;
}

export function daysToExpiry(certificate: X509Certificate, now = new Date()): number {
  return Math.floor((new Date(certificate.validTo).getTime() - now.getTime()) / DAY_MS);
}

/** The certificate the config names now, read afresh (a rotation replaces it). */
function currentCertificate(deps: ScheduleDeps): X509Certificate | undefined {
  const { config } = deps;
  if (config.certFile === undefined || config.key === undefined) return undefined;
  return certificateReader(certSourceFrom(config.certFile, config, keySourceFrom(config, deps.env)))(undefined).x509;
}

function rotationPlan(deps: ScheduleDeps, retire: RotationPlan['retire']): RotationPlan {
  const env = deps.env ?? process.env;
  const { config } = deps;
  return {
    config,
    configFile: deps.configFile ?? env.TRUSTLINK_CONFIG ?? DEFAULT_CONFIG_FILE,
    progress: openRotationProgress(config.stateDir),
    via: 'fleet',
    jobId: undefined,
    template: config.provisioningTemplate,
    parameters: parseParameters(config.provisioningParameters ?? []),
    keyType: 'ec-p256',
    certOut: undefined,
    retire,
    answerTimeoutMs: 30_000,
    env,
    session: deps.connection.session,
  };
}

let inFlight: Promise<RotationResult> | undefined;

/**
 * One rotation over the agent's session ('later': the old key goes at the next start). The schedule
 * and a `rotate` job share it: a second caller while one runs gets that rotation's result.
 */
export function rotateAgentIdentity(deps: ScheduleDeps, retire: 'remove' | 'later', reason: string): Promise<RotationResult> {
  if (inFlight !== undefined) return inFlight;
  const { log, config } = deps;
  log.info(retire === 'remove' ? 'finishing the rotation: retiring the old key' : 'rotating the device identity', { reason, rotateBeforeDays: config.rotateBeforeDays });
  inFlight = rotate(rotationPlan(deps, retire), { log, stepDone: (step, detail) => log.info('rotation step done', { step, detail }) });
  return inFlight.finally(() => {
    inFlight = undefined;
  });
}

/** Ends the agent with EXIT_RESTART so that systemd starts it again on the new identity. */
export function restartOnNewIdentity(log: Logger, result: RotationResult): void {
  log.warn('the device identity was rotated; the agent exits to be restarted on it', { newKey: result.newKey, newCert: result.newCert, exitStatus: EXIT_RESTART });
  process.exitCode = EXIT_RESTART;
  process.kill(process.pid, 'SIGTERM');
}

export function certificateScheduleService(deps: ScheduleDeps): { name: string; start(): void; stop(): void } | undefined {
  if (deps.config.auth !== 'mtls') return undefined;
  const { log, config } = deps;
  let timer: NodeJS.Timeout | undefined;
  let rotating = false;
  let stopped = false;

  async function rotateNow(reason: string): Promise<void> {
    if (rotating || stopped) return;
    rotating = true;
    const progress = openRotationProgress(config.stateDir).read();
    // Switched already: this agent runs on the new identity, so the old key may go now.
    const finishing = progress?.step === 'switched';
    try {
      const result = await rotateAgentIdentity(deps, finishing ? 'remove' : 'later', reason);
      if (!finishing) restartOnNewIdentity(log, result);
    } catch (error) {
      log.error('rotation failed; the device stays on its current identity and tries again tomorrow', {
        code: isTrustlinkError(error) ? error.code : 'INTERNAL', reason: (error as Error).message, hint: isTrustlinkError(error) ? error.hint : undefined,
      });
    } finally {
      rotating = false;
    }
  }

  const look = (): void => {
    let certificate: X509Certificate | undefined;
    try {
      certificate = currentCertificate(deps);
    } catch (error) {
      log.warn('cannot read the device certificate to check its expiry', { reason: (error as Error).message });
      return;
    }
    if (certificate === undefined) return;
    const days = daysToExpiry(certificate);
    if (days < config.certWarnDays) {
      log.warn('the device certificate expires soon: run trustlink rotate, or set rotateBeforeDays', {
        daysToExpiry: days, validTo: new Date(certificate.validTo).toISOString(), certWarnDays: config.certWarnDays,
      });
    }
    const progress = openRotationProgress(config.stateDir).read();
    const unfinished = progress !== undefined;
    // A switched rotation (the schedule's or a job's) is finished even with rotateBeforeDays off: the old key goes.
    if (progress?.step === 'switched' || (config.rotateBeforeDays !== undefined && (unfinished || days < config.rotateBeforeDays))) {
      // Over the agent's own session, once it is up: the answers come back on it.
      void deps.connection.firstConnect.then(() => rotateNow(unfinished ? 'an unfinished rotation' : `${days} days to expiry`), () => undefined);
    }
  };

  return {
    name: 'certificate-schedule',
    start() {
      look();
      timer = setInterval(look, DAY_MS);
      // The daily look alone never keeps the agent alive.
      timer.unref();
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
