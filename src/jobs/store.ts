/**
 * The jobs' progress under <stateDir>/jobs/: current.json (the job in hand,
 * written before anything of it runs) and history.json (the last ten
 * results). Both are written atomically, so a power cut leaves the old file
 * or the new one, never half of one.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as v from 'valibot';
import { TrustlinkError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic-write.js';
import type { CurrentJob, JobResult } from './machine.js';

export const HISTORY_LENGTH = 10;

const details = v.record(v.string(), v.string());
const verdict = v.object({ status: v.picklist(['SUCCEEDED', 'FAILED', 'REJECTED']), statusDetails: details });
const currentSchema = v.object({
  jobId: v.string(),
  executionNumber: v.optional(v.number()),
  versionNumber: v.optional(v.number()),
  operation: v.string(),
  kind: v.picklist(['handlers', 'reboot', 'update', 'rotate', 'invalid']),
  phase: v.picklist(['running', 'rebooting', 'reporting']),
  startedAt: v.string(),
  rebootRequestedAt: v.optional(v.string()),
  verdict: v.optional(verdict),
});
const resultSchema = v.object({
  jobId: v.string(),
  operation: v.string(),
  status: v.string(),
  statusDetails: details,
  startedAt: v.optional(v.string()),
  finishedAt: v.string(),
  note: v.optional(v.string()),
});

export interface JobsState {
  current: CurrentJob | undefined;
  /** Newest first. */
  history: JobResult[];
}

export const jobsDir = (stateDir: string): string => join(stateDir, 'jobs');

function readJson<T>(file: string, schema: v.GenericSchema<unknown, T>): T | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TrustlinkError('FILE_UNREADABLE', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code}`, { cause: error });
  }
  let parsed: v.SafeParseResult<v.GenericSchema<unknown, T>>;
  try {
    parsed = v.safeParse(schema, JSON.parse(text));
  } catch (error) {
    throw new TrustlinkError('FILE_UNREADABLE', `${file} is not JSON`, { cause: error, hint: 'it is written only by trustlink; remove it to start over' });
  }
  if (!parsed.success) throw new TrustlinkError('FILE_UNREADABLE', `${file} is not a trustlink jobs file`, { hint: 'it is written only by trustlink; remove it to start over' });
  return parsed.output;
}

export function readJobsState(stateDir: string): JobsState {
  const dir = jobsDir(stateDir);
  return {
    current: readJson(join(dir, 'current.json'), currentSchema) as CurrentJob | undefined,
    history: (readJson(join(dir, 'history.json'), v.array(resultSchema)) ?? []) as JobResult[],
  };
}

/**
 * A current.json that cannot be read (hand-edited, another version's) is moved aside, not trusted:
 * the job it named is still recognised by start-next's token (see machine.ts), so it is not run twice.
 */
export function readJobsStateOrSetAside(stateDir: string, onBad: (error: TrustlinkError, movedTo: string) => void): JobsState {
  try {
    return readJobsState(stateDir);
  } catch (error) {
    if (!(error instanceof TrustlinkError)) throw error;
    const dir = jobsDir(stateDir);
    const movedTo = join(dir, `bad-${Date.now()}`);
    mkdirSync(movedTo, { recursive: true, mode: 0o700 });
    for (const name of ['current.json', 'history.json']) {
      try {
        renameSync(join(dir, name), join(movedTo, name));
      } catch {
        // Not there: nothing to move.
      }
    }
    onBad(error, movedTo);
    return { current: undefined, history: [] };
  }
}

/** The rename that made a file is on flash only once its folder is. */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface JobsStore {
  saveCurrent(job: CurrentJob | undefined): void;
  record(result: JobResult): JobResult[];
}

export function openJobsStore(stateDir: string, history: JobResult[]): JobsStore {
  const dir = jobsDir(stateDir);
  let kept = history.slice(0, HISTORY_LENGTH);
  const ensureDir = (): void => {
    let created: string | undefined;
    try {
      created = mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new TrustlinkError('FILE_WRITE_FAILED', `cannot create ${dir}: ${(error as NodeJS.ErrnoException).code}`, { cause: error, hint: 'set stateDir (--state-dir) to a folder this user may write to' });
    }
    // New folders are on flash once their parents are: the record must be there before a job runs (machine.ts).
    if (created === undefined) return;
    for (let parent = dirname(dir); ; parent = dirname(parent)) {
      syncDir(parent);
      if (parent === dirname(created)) return;
    }
  };
  return {
    saveCurrent(job) {
      ensureDir();
      if (job === undefined) rmSync(join(dir, 'current.json'), { force: true });
      else writeFileAtomic(join(dir, 'current.json'), `${JSON.stringify(job, null, 2)}\n`, 0o600);
      syncDir(dir);
    },
    record(result) {
      ensureDir();
      // A crash between this and clearing current.json brings the job back once more: keep the first word on it.
      if (kept.some((old) => old.jobId === result.jobId && old.startedAt === result.startedAt)) return kept;
      kept = [result, ...kept].slice(0, HISTORY_LENGTH);
      writeFileAtomic(join(dir, 'history.json'), `${JSON.stringify(kept, null, 2)}\n`, 0o600);
      return kept;
    },
  };
}
