/**
 * Reports each step of a resumable operation (provision, rotate) as it is
 * done. `--stop-after STEP` then kills the process as a power cut would (no
 * cleanup, no flush), so the tests can prove the next run finishes the job.
 */
import type { Logger } from '../log/log.js';

export function logSteps(log: Logger, message: string, stopAfter: string | undefined): (step: string, detail: string) => void {
  return (step, detail) => {
    log.info(message, { step, detail });
    if (step === stopAfter) process.kill(process.pid, 'SIGKILL');
  };
}
