/**
 * One segment: an append-only file of records (NNNN.seg, named after the
 * first id it was made for) and its ack file (NNNN.ack). Both are private
 * (0600). Records are written at the offset the segment knows is good, never
 * with O_APPEND, so a failed write can be cut off again.
 */
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { readSync } from 'node:fs';
import { join } from 'node:path';
import { ACK_ENTRY_BYTES, scanAcks } from './acks.js';
import { scanSegment, type BadRecord, type ScannedRecord } from './record.js';

const FILE_MODE = 0o600;
const NAME = /^(\d{16})\.(seg|ack)$/;

export const segmentFileName = (firstId: number, kind: 'seg' | 'ack'): string => `${String(firstId).padStart(16, '0')}.${kind}`;

/** The first id of each segment or ack file in a folder listing, by kind. */
export function parseSegmentNames(names: string[]): { segments: number[]; acks: number[] } {
  const segments: number[] = [];
  const acks: number[] = [];
  for (const name of names) {
    const match = NAME.exec(name);
    if (match) (match[2] === 'seg' ? segments : acks).push(Number(match[1]));
  }
  return { segments: segments.sort((a, b) => a - b), acks };
}

/** Opens (or creates) a directory and fsyncs it, so created and removed names survive a power cut. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface Recovered {
  segment: Segment;
  /** Good records not yet removed, oldest first. */
  records: ScannedRecord[];
  /** The id of the last good record, removed or not (afterId when there is none). */
  lastId: number;
  /** Set when the segment ended in a record it could not trust, cut off here. */
  torn?: { reason: BadRecord; offset: number; bytesDropped: number };
}

export class Segment {
  /** Bytes of good records: where the next one goes. */
  size: number;
  ackSize: number;
  /** Records in the file, and those of them not removed. */
  records: number;
  live: number;
  /** Removals queued but not yet written to the ack file: the segment is not deleted before they are. */
  unsavedAcks = 0;

  private constructor(
    readonly firstId: number,
    private readonly data: FileHandle,
    private readonly acks: FileHandle,
    size: number,
    ackSize: number,
    records: number,
    live: number,
  ) {
    this.size = size;
    this.ackSize = ackSize;
    this.records = records;
    this.live = live;
  }

  /** A new, empty segment; the caller fsyncs the folder before relying on it. */
  static async create(dir: string, firstId: number): Promise<Segment> {
    const data = await open(join(dir, segmentFileName(firstId, 'seg')), 'wx+', FILE_MODE);
    try {
      const acks = await open(join(dir, segmentFileName(firstId, 'ack')), 'wx+', FILE_MODE);
      return new Segment(firstId, data, acks, 0, 0, 0, 0);
    } catch (error) {
      await data.close();
      throw error;
    }
  }

  /**
   * Opens an existing segment, reads it forward, and cuts off whatever
   * follows the first record it cannot trust (and a torn ack entry), so
   * later appends land right after good data.
   */
  static async recover(dir: string, firstId: number, afterId: number): Promise<Recovered> {
    const data = await open(join(dir, segmentFileName(firstId, 'seg')), 'r+');
    let acks: FileHandle | undefined;
    try {
      const bytes = await data.readFile();
      const scan = scanSegment(bytes, afterId);
      if (scan.validBytes < bytes.length) {
        await data.truncate(scan.validBytes);
        await data.datasync();
      }
      acks = await openAcks(dir, firstId);
      const ackBytes = await acks.readFile();
      const removed = scanAcks(ackBytes);
      if (removed.validBytes < ackBytes.length) {
        await acks.truncate(removed.validBytes);
        await acks.datasync();
      }
      const records = scan.records.filter((record) => !removed.ids.has(record.id));
      const segment = new Segment(firstId, data, acks, scan.validBytes, removed.validBytes, scan.records.length, records.length);
      const torn = scan.bad === undefined ? undefined : { reason: scan.bad, offset: scan.validBytes, bytesDropped: bytes.length - scan.validBytes };
      const lastId = scan.records.at(-1)?.id ?? afterId;
      return { segment, records, lastId, ...(torn && { torn }) };
    } catch (error) {
      await Promise.allSettled([data.close(), acks?.close()]);
      throw error;
    }
  }

  /** Bytes this segment holds on disk, counting an ack entry for every record not removed yet. */
  diskBytes(): number {
    return this.size + Math.max(this.ackSize, this.records * ACK_ENTRY_BYTES);
  }

  async writeRecords(bytes: Buffer, at: number): Promise<void> {
    await writeFully(this.data, bytes, at);
  }

  async writeAcks(bytes: Buffer, at: number): Promise<void> {
    await writeFully(this.acks, bytes, at);
  }

  syncRecords(): Promise<void> {
    return this.data.datasync();
  }

  syncAcks(): Promise<void> {
    return this.acks.datasync();
  }

  /** Cut the files back to what is known good, after a failed write (so its bytes stop counting). */
  cutRecords(): Promise<void> {
    return this.data.truncate(this.size);
  }

  cutAcks(): Promise<void> {
    return this.acks.truncate(this.ackSize);
  }

  /** The bytes of one record, for peek (synchronous: peek is, and the page cache usually holds them). */
  readSync(offset: number, size: number): Buffer {
    const bytes = Buffer.allocUnsafe(size);
    const read = readSync(this.data.fd, bytes, 0, size, offset);
    return read === size ? bytes : bytes.subarray(0, read);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.data.close(), this.acks.close()]);
  }

  /**
   * Deletes a segment whose records are all removed. The records go first and
   * the folder is synced before the ack file goes: a power cut in between
   * leaves an ack file alone, which the next open deletes, and never records
   * without their acks (which would send them all again).
   */
  async delete(dir: string): Promise<void> {
    await this.close();
    await unlink(join(dir, segmentFileName(this.firstId, 'seg')));
    await syncDir(dir);
    await unlink(join(dir, segmentFileName(this.firstId, 'ack')));
  }
}

/** A missing ack file (a power cut between the two creates) means nothing was removed yet: make it. */
async function openAcks(dir: string, firstId: number): Promise<FileHandle> {
  const path = join(dir, segmentFileName(firstId, 'ack'));
  try {
    return await open(path, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const created = await open(path, 'wx+', FILE_MODE);
    await syncDir(dir);
    return created;
  }
}

async function writeFully(handle: FileHandle, bytes: Buffer, at: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, at + done);
    done += bytesWritten;
  }
}
