/**
 * What a provisioning run has achieved, kept under the state folder so a run
 * cut short resumes where it stopped. Nothing secret is stored: the
 * certificate ownership token (a one-hour credential) stays in memory, and a
 * run cut short before RegisterThing simply asks for a new certificate (AWS
 * deletes the unused one, still PENDING_ACTIVATION, after an hour).
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { TrustlinkError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic-write.js';

/** Exists once the device has a working identity; trustlink-provision.service is skipped then. */
export const PROVISIONED_MARKER = 'provisioned';
const STATE_FILE = 'provision.json';

const registeredState = v.object({
  step: v.literal('registered'),
  certificateId: v.string(),
  certificatePem: v.string(),
  thingName: v.string(),
  clientId: v.string(),
});
export type RegisteredState = v.InferOutput<typeof registeredState>;

export interface ProvisionState {
  dir: string;
  isProvisioned(): boolean;
  readRegistered(): RegisteredState | undefined;
  saveRegistered(state: RegisteredState): void;
  /** The marker says "done", and the resume file is no longer needed. */
  markProvisioned(thingName: string): void;
}

export function openState(dir: string): ProvisionState {
  const stateFile = join(dir, STATE_FILE);
  const marker = join(dir, PROVISIONED_MARKER);
  const ensureDir = (): void => {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
    } catch (error) {
      throw new TrustlinkError('FILE_WRITE_FAILED', `cannot create the state folder ${dir}: ${(error as NodeJS.ErrnoException).code}`, {
        cause: error, hint: 'pass --state-dir with a folder this user may write to',
      });
    }
  };
  return {
    dir,
    isProvisioned: () => existsSync(marker),
    readRegistered() {
      if (!existsSync(stateFile)) return undefined;
      // A file from another version or hand-edited: start over rather than trust it.
      let text: unknown;
      try {
        text = JSON.parse(readFileSync(stateFile, 'utf8'));
      } catch {
        return undefined;
      }
      const parsed = v.safeParse(registeredState, text);
      return parsed.success ? parsed.output : undefined;
    },
    saveRegistered(state) {
      ensureDir();
      writeFileAtomic(stateFile, `${JSON.stringify(state, null, 2)}\n`, 0o644);
    },
    markProvisioned(thingName) {
      ensureDir();
      writeFileAtomic(marker, `${JSON.stringify({ thingName, at: new Date().toISOString() })}\n`, 0o644);
      rmSync(stateFile, { force: true });
    },
  };
}
