/**
 * A rotation's progress, kept in <stateDir>/rotation/rotation.json so that a
 * run cut short at any step is finished by the next. Nothing secret: the
 * certificate, its ID and the identities' names; the ownership token of
 * CreateCertificateFromCsr stays in memory.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { TrustlinkError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic-write.js';

export const ROTATION_VIAS = ['fleet', 'rotator'] as const;
export type RotationVia = (typeof ROTATION_VIAS)[number];

const rotationState = v.object({
  via: v.picklist(ROTATION_VIAS),
  /** The identity being replaced: key URI and certFile as the config had them. */
  oldKey: v.string(),
  oldCert: v.string(),
  /** AWS IoT's ID of the old certificate (SHA-256 of its DER), for the cloud side. */
  oldCertificateId: v.optional(v.string()),
  /** The new key's label in the token. */
  newLabel: v.string(),
  /** started → certified (new certificate kept) → verified (it connected) → switched (config points at it). */
  step: v.picklist(['started', 'certified', 'verified', 'switched']),
  jobId: v.optional(v.string()),
  certificateId: v.optional(v.string()),
  certificatePem: v.optional(v.string()),
  newKey: v.optional(v.string()),
  newCert: v.optional(v.string()),
});
export type RotationState = v.InferOutput<typeof rotationState>;

export interface RotationProgress {
  file: string;
  read(): RotationState | undefined;
  save(state: RotationState): void;
  clear(): void;
}

export function openRotationProgress(stateDir: string): RotationProgress {
  const dir = join(stateDir, 'rotation');
  const file = join(dir, 'rotation.json');
  return {
    file,
    read() {
      if (!existsSync(file)) return undefined;
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(file, 'utf8'));
      } catch {
        return undefined;
      }
      // A file from another version or hand-edited: start over rather than trust it.
      const result = v.safeParse(rotationState, parsed);
      return result.success ? result.output : undefined;
    },
    save(state) {
      try {
        mkdirSync(dir, { recursive: true, mode: 0o755 });
      } catch (error) {
        throw new TrustlinkError('FILE_WRITE_FAILED', `cannot create the rotation folder ${dir}: ${(error as NodeJS.ErrnoException).code}`, {
          cause: error, hint: 'set stateDir (--state-dir) to a folder this user may write to',
        });
      }
      writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`, 0o644);
    },
    clear() {
      rmSync(file, { force: true });
    },
  };
}
