/** The spool against real files: order, restarts, torn tails, a full spool, compaction, modes, unwritable folders. */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log/log.js';
import { checkSpoolDir, openSpool, type Spool, type SpooledMessage } from '../../../src/spool/index.js';
import { runAsUser } from '../../helpers/as-user.js';
import { makeTempDir } from '../../helpers/paths.js';
import { buildSpoolChild } from '../../helpers/spool-process.js';
import { spoolTestIndex, spoolTestRecord } from '../../helpers/spool-records.js';

const temp = makeTempDir('spool');
afterAll(() => temp.remove());
let folder = 0;
const newDir = (): string => join(temp.path, `spool-${++folder}`);

function capturedLog(): { log: ReturnType<typeof createLogger>; messages: () => Array<Record<string, unknown>> } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  const log = createLogger({ level: 'debug', json: true, stream });
  return { log, messages: () => chunks.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>) };
}

const open = (dir: string, maxBytes = 64 * 1024 * 1024, segmentBytes?: number): Promise<Spool> =>
  openSpool({ dir, maxBytes, log: capturedLog().log, ...(segmentBytes !== undefined && { segmentBytes }) });

async function appendAll(spool: Spool, indexes: number[]): Promise<SpooledMessage[]> {
  return Promise.all(indexes.map((index) => spool.append(spoolTestRecord(index))));
}

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, offset) => from + offset);
/** The test indexes of what the spool holds, oldest first; each must be exactly what was appended. */
function held(spool: Spool): number[] {
  const messages = spool.peek(100_000);
  for (const message of messages) {
    const { topic, payload, retain, qos } = spoolTestRecord(spoolTestIndex(message.topic));
    expect({ topic: message.topic, payload: message.payload, retain: message.retain, qos: message.qos }).toEqual({ topic, payload, retain, qos });
  }
  expect(messages.map((message) => message.id)).toEqual([...messages.map((message) => message.id)].sort((a, b) => a - b));
  return messages.map((message) => spoolTestIndex(message.topic));
}
const segmentFiles = (dir: string): string[] => readdirSync(dir).filter((name) => name.endsWith('.seg')).sort();
const filesBytes = (dir: string): number => readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);

describe('spool', () => {
  it('keeps arrival order, peeks after an id, removes, and reports its figures', async () => {
    const spool = await open(newDir());
    expect(spool.stats()).toEqual({ messages: 0, bytes: 0, oldestAgeMs: undefined, discardedTornRecords: 0 });
    const appended = await appendAll(spool, range(0, 64));
    expect(appended.map((message) => message.id)).toEqual(range(appended[0]!.id, 64));
    expect(held(spool)).toEqual(range(0, 64));
    expect(spool.peek(3, appended[9]!.id).map((message) => spoolTestIndex(message.topic))).toEqual([10, 11, 12]);
    await Promise.all([spool.remove(appended[0]!.id), spool.remove(appended[5]!.id), spool.remove(appended[5]!.id)]);
    expect(spool.peek(5).map((message) => spoolTestIndex(message.topic))).toEqual([1, 2, 3, 4, 6]);
    const stats = spool.stats();
    expect(stats.messages).toBe(62);
    expect(stats.oldestAgeMs).toBeGreaterThanOrEqual(0);
    await spool.close();
    await expect(spool.append(spoolTestRecord(99))).rejects.toThrow(/closed/);
  });

  it('writes its folder 0700 and its files 0600', async () => {
    const dir = newDir();
    mkdirSync(dir, { mode: 0o755 });
    const spool = await open(dir);
    await appendAll(spool, range(0, 3));
    await spool.remove(spool.peek(1)[0]!.id);
    await spool.close();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const names = readdirSync(dir);
    expect(names.sort()).toEqual(['0000000000000001.ack', '0000000000000001.seg']);
    for (const name of names) expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
  });

  it('after a restart holds what it held, in order, and goes on with higher ids', async () => {
    const dir = newDir();
    const first = await open(dir, 64 * 1024 * 1024, 64 * 1024);
    const appended = await appendAll(first, range(0, 1000));
    await Promise.all(appended.slice(0, 600).map((message) => first.remove(message.id)));
    await first.close();
    expect(segmentFiles(dir).length).toBeGreaterThan(1);

    const second = await open(dir, 64 * 1024 * 1024, 64 * 1024);
    expect(held(second)).toEqual(range(600, 400));
    expect(second.stats().messages).toBe(400);
    const later = await second.append(spoolTestRecord(1000));
    expect(later.id).toBeGreaterThan(appended.at(-1)!.id);
    await second.close();
  });

  it('deletes a segment once all its records are removed, and all but the last when emptied', async () => {
    const dir = newDir();
    const spool = await open(dir, 1024 * 1024, 4096);
    const appended = await appendAll(spool, range(0, 200));
    const before = segmentFiles(dir);
    expect(before.length).toBeGreaterThan(5);
    // The oldest segment's records all go: its two files go with them.
    const firstSegmentIds = appended.filter((message) => message.id < Number(before[1]!.slice(0, 16)));
    await Promise.all(firstSegmentIds.map((message) => spool.remove(message.id)));
    await spool.remove(spool.peek(1)[0]!.id);
    expect(segmentFiles(dir)).toEqual(before.slice(1));
    expect(readdirSync(dir)).not.toContain(before[0]!.replace('.seg', '.ack'));
    await Promise.all(spool.peek(1000).map((message) => spool.remove(message.id)));
    expect(segmentFiles(dir)).toEqual(before.slice(-1));
    expect(spool.stats()).toMatchObject({ messages: 0, oldestAgeMs: undefined });
    await spool.close();
    const reopened = await open(dir, 1024 * 1024, 4096);
    expect(reopened.stats().messages).toBe(0);
    expect((await reopened.append(spoolTestRecord(0))).id).toBe(appended.at(-1)!.id + 1);
    await reopened.close();
  });

  it('cuts off a truncated tail on open, counts it, and appends cleanly after it', async () => {
    const dir = newDir();
    const spool = await open(dir);
    await appendAll(spool, range(0, 20));
    await spool.close();
    const [segment] = segmentFiles(dir);
    const path = join(dir, segment!);
    const size = statSync(path).size;
    truncateSync(path, size - 10);

    const { log, messages } = capturedLog();
    const reopened = await openSpool({ dir, maxBytes: 64 * 1024 * 1024, log });
    expect(reopened.stats().discardedTornRecords).toBe(1);
    expect(held(reopened)).toEqual(range(0, 19));
    expect(messages().find((line) => String(line.message).startsWith('spool: cut off'))).toMatchObject({ level: 'warn', reason: 'bad length' });
    expect(statSync(path).size).toBeLessThan(size - 10);
    await reopened.append(spoolTestRecord(20));
    await reopened.close();

    const third = await open(dir);
    expect(third.stats().discardedTornRecords).toBe(0);
    expect(held(third)).toEqual([...range(0, 19), 20]);
    await third.close();
  });

  it('stops a damaged segment at the flipped byte but keeps the segments after it', async () => {
    const dir = newDir();
    const spool = await open(dir, 1024 * 1024, 4096);
    await appendAll(spool, range(0, 60));
    await spool.close();
    const segments = segmentFiles(dir);
    const path = join(dir, segments[0]!);
    const bytes = readFileSync(path);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] as number) ^ 0x01;
    writeFileSync(path, bytes);

    const reopened = await open(dir, 1024 * 1024, 4096);
    const indexes = held(reopened);
    expect(reopened.stats().discardedTornRecords).toBe(1);
    expect(indexes.length).toBeLessThan(60);
    expect(indexes.at(-1)).toBe(59);
    await reopened.close();
  });

  it('when full refuses with SPOOL_FULL, never holds more than maxBytes on disk, and takes messages again once drained', async () => {
    const dir = newDir();
    const maxBytes = 64 * 1024;
    const spool = await open(dir, maxBytes, 8192);
    const accepted: SpooledMessage[] = [];
    let refused: unknown;
    for (let index = 0; index < 10_000 && refused === undefined; index++) {
      // 16 at a time, so queued appends count against the ceiling too.
      const results = await Promise.allSettled(range(index * 16, 16).map((each) => spool.append(spoolTestRecord(each))));
      for (const result of results) {
        if (result.status === 'fulfilled') accepted.push(result.value);
        else refused ??= result.reason;
      }
    }
    expect(refused).toMatchObject({ code: 'SPOOL_FULL', message: expect.stringContaining(dir) });
    expect(spool.stats().bytes).toBeLessThanOrEqual(maxBytes);
    expect(filesBytes(dir)).toBeLessThanOrEqual(maxBytes);
    expect(spool.stats().messages).toBe(accepted.length);

    await Promise.all(accepted.slice(0, accepted.length / 2).map((message) => spool.remove(message.id)));
    const again = await spool.append(spoolTestRecord(1_000_000));
    expect(held(spool).at(-1)).toBe(1_000_000);
    expect(filesBytes(dir)).toBeLessThanOrEqual(maxBytes);
    expect(again.id).toBeGreaterThan(accepted.at(-1)!.id);
    await spool.close();
  });

  it('refuses a record larger than the whole spool with SPOOL_FULL', async () => {
    const spool = await open(newDir(), 64 * 1024);
    await expect(spool.append({ topic: 't', payload: Buffer.alloc(70 * 1024), qos: 1, retain: false })).rejects.toMatchObject({ code: 'SPOOL_FULL' });
    await spool.close();
  });

  it('on a filesystem that fills up refuses with SPOOL_FULL, cuts the failed write off, and recovers once drained', async () => {
    // A real ENOSPC: a 100 KiB tmpfs (not a whole number of segments, so a write is cut short mid-record) under a spool allowed 1 MiB.
    const mountPoint = newDir();
    mkdirSync(mountPoint);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=100k,mode=0700', 'tmpfs', mountPoint]);
    try {
      const dir = join(mountPoint, 'spool');
      const spool = await open(dir, 1024 * 1024, 64 * 1024);
      const accepted: number[] = [];
      let refused: unknown;
      for (let index = 0; index < 5_000 && refused === undefined; index++) {
        await spool.append(spoolTestRecord(index)).then(() => accepted.push(index), (error: unknown) => (refused = error));
      }
      expect(refused).toMatchObject({ code: 'SPOOL_FULL', message: expect.stringMatching(new RegExp(`filesystem holding the spool folder ${dir} is full \\(ENOSPC`)) });
      expect(held(spool)).toEqual(accepted);
      await spool.close();

      // The refused write left no torn bytes behind: nothing to cut off on the next start.
      const reopened = await open(dir, 1024 * 1024, 64 * 1024);
      expect(reopened.stats().discardedTornRecords).toBe(0);
      expect(held(reopened)).toEqual(accepted);
      await Promise.all(reopened.peek(100_000).map((message) => reopened.remove(message.id)));
      await reopened.append(spoolTestRecord(100_000));
      expect(held(reopened)).toEqual([100_000]);
      await reopened.close();
    } finally {
      execFileSync('umount', [mountPoint]);
    }
  });

  it('names the folder when it cannot be made (SPOOL_UNWRITABLE)', async () => {
    const file = join(temp.path, 'a-file');
    writeFileSync(file, '');
    const dir = join(file, 'spool');
    await expect(open(dir)).rejects.toMatchObject({ code: 'SPOOL_UNWRITABLE', message: expect.stringContaining(dir) });
    await expect(open(file)).rejects.toMatchObject({ code: 'SPOOL_UNWRITABLE', message: expect.stringContaining(file) });
  });
});

describe('checkSpoolDir', () => {
  it('says missing, not a folder, no room, or fine with the figures', async () => {
    expect(await checkSpoolDir(join(temp.path, 'nowhere'), 1024)).toMatchObject({ ok: false, problem: 'missing' });
    const file = join(temp.path, 'plain-file');
    writeFileSync(file, '');
    expect(await checkSpoolDir(file, 1024)).toMatchObject({ ok: false, problem: 'not-a-directory' });
    const dir = newDir();
    const spool = await open(dir);
    await appendAll(spool, range(0, 10));
    await spool.close();
    expect(await checkSpoolDir(dir, 2 ** 60)).toMatchObject({ ok: false, problem: 'no-room', detail: expect.stringContaining(dir) });
    const fine = await checkSpoolDir(dir, 1024 * 1024);
    expect(fine).toMatchObject({ ok: true, spoolBytes: filesBytes(dir) });
  });
});

describe('a spool folder the service user cannot write', () => {
  let child: string;
  let dir: string;
  beforeAll(async () => {
    // A folder tree the unprivileged user may enter, with a spool folder owned by root.
    const shared = join(temp.path, 'shared');
    mkdirSync(shared, { mode: 0o755 });
    chmodSync(temp.path, 0o755);
    child = await buildSpoolChild(shared);
    dir = join(shared, 'spool');
    mkdirSync(dir, { mode: 0o755 });
  });

  it('fails to open with SPOOL_UNWRITABLE naming the folder, and checkSpoolDir says not-writable', async () => {
    const result = await runAsUser(process.execPath, [child, 'open', dir, String(1024 * 1024)]);
    expect(result.code, result.stderr).toBe(0);
    const { error, check } = JSON.parse(result.stdout) as { error: { code: string; message: string }; check: { problem: string } };
    expect(error.code).toBe('SPOOL_UNWRITABLE');
    expect(error.message).toContain(dir);
    expect(check.problem).toBe('not-writable');
  });
});
