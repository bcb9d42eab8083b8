/**
 * What is wrong with a spool folder, for the self-test: missing, not a
 * folder, not writable, or on a filesystem without room for --spool-max-bytes
 * beyond what the spool already holds. Reads only; changes nothing.
 */
import { constants } from 'node:fs';
import { access, readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { parseSegmentNames, segmentFileName } from './segment.js';

export type SpoolDirProblem = 'missing' | 'not-a-directory' | 'not-writable' | 'no-room';

export type SpoolDirCheck =
  | { ok: true; detail: string; spoolBytes: number; freeBytes: number }
  | { ok: false; problem: SpoolDirProblem; detail: string; hint: string };

const MIB = 1024 * 1024;
const mib = (bytes: number): string => `${(bytes / MIB).toFixed(1)} MiB`;

export async function checkSpoolDir(dir: string, maxBytes: number): Promise<SpoolDirCheck> {
  let info;
  try {
    info = await stat(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') return { ok: false, problem: 'not-writable', detail: `cannot look at the spool folder ${dir}: ${code}`, hint: 'trustlink must be able to reach the folder (check the modes of its parents)' };
    return { ok: false, problem: 'missing', detail: `the spool folder ${dir} does not exist`, hint: `trustlink run makes it (mode 0700) if its parent is writable; or: install -d -m 0700 ${dir}` };
  }
  if (!info.isDirectory()) return { ok: false, problem: 'not-a-directory', detail: `${dir} is not a folder`, hint: 'remove it, or set --spool-dir to a folder' };
  try {
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    return {
      ok: false, problem: 'not-writable', detail: `the spool folder ${dir} is not writable: ${(error as NodeJS.ErrnoException).code}`,
      hint: 'the user trustlink runs as must own the folder (mode 0700), on a filesystem mounted read-write',
    };
  }
  const spoolBytes = await spoolFileBytes(dir);
  const fs = await statfs(dir);
  const freeBytes = fs.bavail * fs.bsize;
  const neededBytes = Math.max(0, maxBytes - spoolBytes);
  if (freeBytes < neededBytes) {
    return {
      ok: false, problem: 'no-room',
      detail: `the spool may grow by ${mib(neededBytes)} (--spool-max-bytes ${maxBytes}) but the filesystem of ${dir} has ${mib(freeBytes)} free`,
      hint: 'free space there, or lower --spool-max-bytes to fit',
    };
  }
  return { ok: true, detail: `${dir}: ${mib(spoolBytes)} spooled of ${mib(maxBytes)}, ${mib(freeBytes)} free`, spoolBytes, freeBytes };
}

async function spoolFileBytes(dir: string): Promise<number> {
  const names = parseSegmentNames(await readdir(dir));
  const files = [...names.segments.map((first) => segmentFileName(first, 'seg')), ...names.acks.map((first) => segmentFileName(first, 'ack'))];
  const sizes = await Promise.all(files.map((name) => stat(join(dir, name)).then((file) => file.size, () => 0)));
  return sizes.reduce((sum, size) => sum + size, 0);
}
