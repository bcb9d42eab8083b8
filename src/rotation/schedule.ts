/**
 * The agent's daily look at the device certificate: a warning once a day
 * while it expires within certWarnDays. Shaped as an agent service without
 * importing the agent (rotation sits below it).
 */
import type { X509Certificate } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { certificateReader } from '../identity/device-identity.js';
import { certSourceFrom, keySourceFrom } from '../identity/sources.js';
import type { Logger } from '../log/log.js';

const DAY_MS = 86_400_000;

export interface ScheduleDeps {
  config: Config;
  log: Logger;
  env?: NodeJS.ProcessEnv;
}

export function daysToExpiry(certificate: X509Certificate, now = new Date()): number {
  return Math.floor((new Date(certificate.validTo).getTime() - now.getTime()) / DAY_MS);
}

/** The certificate the config names now, read afresh (a rotation replaces it). */
function currentCertificate(deps: ScheduleDeps): X509Certificate | undefined {
  const { config } = deps;
  if (config.auth !== 'mtls' || config.certFile === undefined || config.key === undefined) return undefined;
  return certificateReader(certSourceFrom(config.certFile, config, keySourceFrom(config, deps.env)))(undefined).certificate;
}

export function certificateScheduleService(deps: ScheduleDeps): { name: string; start(): void; stop(): void } | undefined {
  if (deps.config.auth !== 'mtls') return undefined;
  let timer: NodeJS.Timeout | undefined;

  const look = (): void => {
    let certificate: X509Certificate | undefined;
    try {
      certificate = currentCertificate(deps);
    } catch (error) {
      deps.log.warn('cannot read the device certificate to check its expiry', { reason: (error as Error).message });
      return;
    }
    if (certificate === undefined) return;
    const days = daysToExpiry(certificate);
    if (days < deps.config.certWarnDays) {
      deps.log.warn('the device certificate expires soon: run trustlink rotate, or set rotateBeforeDays', {
        daysToExpiry: days, validTo: new Date(certificate.validTo).toISOString(), certWarnDays: deps.config.certWarnDays,
      });
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
      clearInterval(timer);
    },
  };
}
