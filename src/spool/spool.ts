/**
 * The durable spool: messages in arrival order in append-only segment files,
 * each append acknowledged only once fsync'd. Appends and removals that
 * arrive while a write is on its way queue up and share the next write and
 * fsync (group commit), so many concurrent appends cost one disk flush.
 * Only the index (ids, places, ages) is held in memory; peek reads the
 * messages back from the files.
 */
import { chmod, mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { TrustlinkError } from '../errors.js';
import type { Logger } from '../log/log.js';
import { ACK_ENTRY_BYTES, encodeAcks } from './acks.js';
import { spoolDiskError } from './disk-error.js';
import { decodeRecord, encodeRecord } from './record.js';
import { parseSegmentNames, Segment, segmentFileName, syncDir } from './segment.js';
import type { Spool, SpoolId, SpooledMessage, SpoolOptions, SpoolRecord, SpoolStats } from './types.js';

const DIR_MODE = 0o700;
const MIN_SEGMENT_BYTES = 64 * 1024;
const MAX_SEGMENT_BYTES = 4 * 1024 * 1024;
// Rebuild the index once this many removed entries sit in it (and they outnumber the live ones).
const COMPACT_INDEX_AFTER = 1024;

interface Entry {
  id: SpoolId;
  appendedAt: number;
  segment: Segment;
  offset: number;
  size: number;
  removed: boolean;
}

interface PendingAppend {
  message: SpooledMessage;
  bytes: Buffer;
  resolve(message: SpooledMessage): void;
  reject(error: unknown): void;
}

interface Run {
  segment: Segment;
  at: number;
  appends: PendingAppend[];
  bytes: number;
}

const cost = (append: PendingAppend): number => append.bytes.length + ACK_ENTRY_BYTES;

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

class FileSpool implements Spool {
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #segmentBytes: number;
  readonly #log: Logger;
  /** Oldest first; the last one takes appends. */
  readonly #segments: Segment[];
  /** Ascending ids; removed entries stay until the index is compacted. */
  #entries: Entry[] = [];
  /** Index of the first entry not removed (or the end). */
  #head = 0;
  /** Removed entries at or after #head. */
  #holes = 0;
  #live = 0;
  #nextId: SpoolId;
  /** Bytes of appends queued or being written, held against maxBytes. */
  #pendingBytes = 0;
  #appends: PendingAppend[] = [];
  #removals: Entry[] = [];
  #removalsSaved = deferred();
  #draining: Promise<void> | undefined;
  #closed = false;
  #discarded: number;

  constructor(options: SpoolOptions & { segments: Segment[]; entries: Entry[]; nextId: SpoolId; discarded: number; segmentBytes: number }) {
    this.#dir = options.dir;
    this.#maxBytes = options.maxBytes;
    this.#segmentBytes = options.segmentBytes;
    this.#log = options.log;
    this.#segments = options.segments;
    this.#entries = options.entries;
    this.#live = options.entries.length;
    this.#nextId = options.nextId;
    this.#discarded = options.discarded;
  }

  append(record: SpoolRecord): Promise<SpooledMessage> {
    if (this.#closed) return Promise.reject(new TrustlinkError('INTERNAL', 'append after the spool was closed'));
    const message: SpooledMessage = { topic: record.topic, payload: record.payload, qos: 1, retain: record.retain, id: this.#nextId, appendedAt: Date.now() };
    return new Promise((resolve, reject) => {
      const append: PendingAppend = { message, bytes: encodeRecord(message), resolve, reject };
      const needed = cost(append);
      if (this.#diskBytes() + this.#pendingBytes + needed > this.#maxBytes) {
        throw new TrustlinkError('SPOOL_FULL', `the spool in ${this.#dir} is full: ${this.#diskBytes()} of ${this.#maxBytes} bytes held, this message needs ${needed}`, {
          hint: 'messages leave the spool once AWS IoT acknowledges them; raise --spool-max-bytes for longer outages',
        });
      }
      this.#nextId++;
      this.#pendingBytes += needed;
      this.#appends.push(append);
      this.#kick();
    });
  }

  peek(max: number, after?: SpoolId): SpooledMessage[] {
    const messages: SpooledMessage[] = [];
    const unreadable: Entry[] = [];
    for (let index = after === undefined ? this.#head : this.#firstAbove(after); index < this.#entries.length && messages.length < max; index++) {
      const entry = this.#entries[index] as Entry;
      if (entry.removed) continue;
      const message = this.#read(entry);
      if (message === 'damaged') unreadable.push(entry);
      else if (message) messages.push(message);
    }
    // A record that no longer reads back (the disk changed under it) is never sent garbled: count it and drop it.
    for (const entry of unreadable) {
      this.#discarded++;
      void this.remove(entry.id);
    }
    return messages;
  }

  remove(id: SpoolId): Promise<void> {
    const index = this.#indexOf(id);
    const entry = this.#entries[index];
    if (this.#closed || entry === undefined || entry.removed) return Promise.resolve();
    entry.removed = true;
    entry.segment.live--;
    entry.segment.unsavedAcks++;
    this.#live--;
    this.#holes++;
    this.#advanceHead();
    this.#removals.push(entry);
    // Taken before the kick: a drain that starts now swaps in the next round's promise at once.
    const saved = this.#removalsSaved.promise;
    this.#kick();
    return saved;
  }

  stats(): SpoolStats {
    const oldest = this.#entries[this.#head];
    return {
      messages: this.#live,
      bytes: this.#diskBytes(),
      oldestAgeMs: oldest === undefined ? undefined : Math.max(0, Date.now() - oldest.appendedAt),
      discardedTornRecords: this.#discarded,
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    while (this.#draining) await this.#draining;
    await Promise.all(this.#segments.map((segment) => segment.close()));
  }

  #diskBytes(): number {
    let bytes = 0;
    for (const segment of this.#segments) bytes += segment.diskBytes();
    return bytes;
  }

  /** Starts writing what is queued, unless a write is on its way: then it waits for the next round. */
  #kick(): void {
    if (this.#draining) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined;
      if (this.#appends.length > 0 || this.#removals.length > 0) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#appends.length > 0 || this.#removals.length > 0) {
      const appends = this.#appends;
      const removals = this.#removals;
      const removalsSaved = this.#removalsSaved;
      this.#appends = [];
      this.#removals = [];
      this.#removalsSaved = deferred();
      await Promise.all([this.#commitAppends(appends), this.#commitRemovals(removals)]);
      await this.#deleteEmptySegments();
      removalsSaved.resolve();
    }
  }

  async #commitAppends(appends: PendingAppend[]): Promise<void> {
    if (appends.length === 0) return;
    const runs: Run[] = [];
    try {
      let active = this.#segments.at(-1) as Segment;
      let used = active.size;
      for (const append of appends) {
        if (used > 0 && used + append.bytes.length > this.#segmentBytes) {
          active = await this.#roll(append.message.id);
          used = 0;
        }
        let run = runs.at(-1);
        if (run?.segment !== active) {
          run = { segment: active, at: active.size, appends: [], bytes: 0 };
          runs.push(run);
        }
        run.appends.push(append);
        run.bytes += append.bytes.length;
        used += append.bytes.length;
      }
      await Promise.all(runs.map((run) => run.segment.writeRecords(Buffer.concat(run.appends.map((append) => append.bytes), run.bytes), run.at)));
      await Promise.all(runs.map((run) => run.segment.syncRecords()));
    } catch (error) {
      const failure = spoolDiskError(error, this.#dir, 'writing messages');
      this.#log.error('spool: messages not saved', { dir: this.#dir, messages: appends.length, error: failure.message });
      await Promise.allSettled(runs.map((run) => run.segment.cutRecords()));
      for (const append of appends) {
        this.#pendingBytes -= cost(append);
        append.reject(failure);
      }
      return;
    }
    for (const run of runs) {
      let offset = run.at;
      for (const append of run.appends) {
        const { id, appendedAt } = append.message;
        this.#entries.push({ id, appendedAt, segment: run.segment, offset, size: append.bytes.length, removed: false });
        offset += append.bytes.length;
        run.segment.records++;
        run.segment.live++;
        this.#live++;
      }
      run.segment.size = offset;
    }
    for (const append of appends) {
      this.#pendingBytes -= cost(append);
      append.resolve(append.message);
    }
  }

  /** A new segment for appends, its name made durable before anything is written to it. */
  async #roll(firstId: SpoolId): Promise<Segment> {
    const segment = await Segment.create(this.#dir, firstId);
    this.#segments.push(segment);
    await syncDir(this.#dir);
    return segment;
  }

  async #commitRemovals(removals: Entry[]): Promise<void> {
    const bySegment = new Map<Segment, SpoolId[]>();
    for (const entry of removals) bySegment.set(entry.segment, [...(bySegment.get(entry.segment) ?? []), entry.id]);
    await Promise.all([...bySegment].map(async ([segment, ids]) => {
      const bytes = encodeAcks(ids);
      try {
        await segment.writeAcks(bytes, segment.ackSize);
        await segment.syncAcks();
        segment.ackSize += bytes.length;
      } catch (error) {
        this.#log.warn('spool: removals not saved; those messages may be sent again after a restart', {
          dir: this.#dir, messages: ids.length, error: spoolDiskError(error, this.#dir, 'saving removals').message,
        });
        await segment.cutAcks().catch(() => undefined);
      } finally {
        segment.unsavedAcks -= ids.length;
      }
    }));
  }

  /** Compaction: a segment whose records are all removed goes, except the one taking appends. */
  async #deleteEmptySegments(): Promise<void> {
    for (let index = this.#segments.length - 2; index >= 0; index--) {
      const segment = this.#segments[index] as Segment;
      if (segment.live > 0 || segment.unsavedAcks > 0) continue;
      this.#segments.splice(index, 1);
      try {
        await segment.delete(this.#dir);
      } catch (error) {
        this.#log.warn('spool: an emptied segment was not deleted; the next start deletes it', {
          segment: segmentFileName(segment.firstId, 'seg'), error: spoolDiskError(error, this.#dir, 'deleting a segment').message,
        });
      }
    }
  }

  #read(entry: Entry): SpooledMessage | 'damaged' | undefined {
    let bytes: Buffer;
    try {
      bytes = entry.segment.readSync(entry.offset, entry.size);
    } catch (error) {
      this.#log.error('spool: cannot read a message back; it stays spooled', { id: entry.id, error: spoolDiskError(error, this.#dir, 'reading').message });
      return undefined;
    }
    const decoded = decodeRecord(bytes);
    if (!decoded.ok || decoded.fields.id !== entry.id) {
      this.#log.error('spool: a spooled message changed on disk and is dropped', { id: entry.id, reason: decoded.ok ? 'id' : decoded.reason });
      return 'damaged';
    }
    const { id, appendedAt, topic, payload, retain } = decoded.fields;
    return { id, appendedAt, topic, payload, retain, qos: 1 };
  }

  /** Index of the entry with this id, or -1. */
  #indexOf(id: SpoolId): number {
    const index = this.#firstAbove(id - 1);
    return this.#entries[index]?.id === id ? index : -1;
  }

  /** Index of the first entry (from #head) with an id above `id`. */
  #firstAbove(id: SpoolId): number {
    let low = this.#head;
    let high = this.#entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.#entries[middle] as Entry).id <= id) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  #advanceHead(): void {
    while (this.#entries[this.#head]?.removed) {
      this.#head++;
      this.#holes--;
    }
    if (this.#holes > COMPACT_INDEX_AFTER && this.#holes > this.#live) {
      this.#entries = this.#entries.slice(this.#head).filter((entry) => !entry.removed);
      this.#head = 0;
      this.#holes = 0;
    } else if (this.#head > COMPACT_INDEX_AFTER && this.#head > this.#entries.length / 2) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }
}

function defaultSegmentBytes(maxBytes: number): number {
  return Math.min(MAX_SEGMENT_BYTES, Math.max(MIN_SEGMENT_BYTES, Math.floor(maxBytes / 16)));
}

/** The folder, made private (0700) when it is not. */
async function prepareDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  const info = await stat(dir);
  if (!info.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  if ((info.mode & 0o777) !== DIR_MODE) await chmod(dir, DIR_MODE);
}

/**
 * Opens the spool in `dir` (made if missing), reading every segment forward:
 * torn or damaged tails are cut off and counted, segments whose records were
 * all removed are deleted, and appends continue after the last good record.
 */
export async function openSpool(options: SpoolOptions): Promise<Spool> {
  const { dir, maxBytes, log } = options;
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new TrustlinkError('CONFIG_INVALID', `the spool's maximum size must be a positive number of bytes, got ${maxBytes}`);
  const segmentBytes = options.segmentBytes ?? defaultSegmentBytes(maxBytes);
  const segments: Segment[] = [];
  try {
    await prepareDir(dir);
    const names = parseSegmentNames(await readdir(dir));
    // An ack file alone is what a power cut during a segment's deletion leaves.
    const orphans = names.acks.filter((first) => !names.segments.includes(first));
    await Promise.all(orphans.map((first) => unlink(join(dir, segmentFileName(first, 'ack')))));
    if (orphans.length > 0) await syncDir(dir);

    const entries: Entry[] = [];
    let lastId = 0;
    let discarded = 0;
    for (const first of names.segments) {
      const recovered = await Segment.recover(dir, first, Math.max(lastId, first - 1));
      const { segment, torn } = recovered;
      if (torn) {
        discarded++;
        log.warn('spool: cut off a torn or damaged record (a power cut mid-write leaves one); acknowledged messages before it are kept', {
          segment: segmentFileName(first, 'seg'), offset: torn.offset, reason: torn.reason, bytesDropped: torn.bytesDropped,
        });
      }
      segments.push(segment);
      for (const { id, appendedAt, offset, size } of recovered.records) entries.push({ id, appendedAt, segment, offset, size, removed: false });
      lastId = recovered.lastId;
    }
    for (let index = segments.length - 2; index >= 0; index--) {
      const segment = segments[index] as Segment;
      if (segment.live === 0) {
        segments.splice(index, 1);
        await segment.delete(dir);
      }
    }
    const last = segments.at(-1);
    const nextId = Math.max(lastId + 1, last?.firstId ?? 1);
    if (last === undefined) {
      segments.push(await Segment.create(dir, nextId));
      await syncDir(dir);
    }
    const spool = new FileSpool({ ...options, segments, entries, nextId, discarded, segmentBytes });
    const stats = spool.stats();
    log.info('spool opened', { dir, messages: stats.messages, bytes: stats.bytes, maxBytes, segments: segments.length, discardedTornRecords: discarded });
    if (stats.bytes > maxBytes) log.warn('spool: holds more than its maximum size; new messages are refused until it drains', { dir, bytes: stats.bytes, maxBytes });
    return spool;
  } catch (error) {
    await Promise.all(segments.map((segment) => segment.close()));
    throw spoolDiskError(error, dir, 'opening the spool');
  }
}
