/** The spool's contract with the bridge (PLAN.md, "Spool"). */
import type { Logger } from '../log/log.js';

/** A local QoS 1 publish to keep until AWS IoT acknowledged it. */
export interface SpoolRecord {
  topic: string;
  payload: Buffer;
  qos: 1;
  retain: boolean;
}

/** Ids rise in arrival order and are never reused in one spool folder. */
export type SpoolId = number;

export interface SpooledMessage extends SpoolRecord {
  id: SpoolId;
  /** ms since the epoch, when append was called. */
  appendedAt: number;
}

export interface SpoolStats {
  /** Messages appended and not removed. */
  messages: number;
  /** Bytes of the spool's files, the figure --spool-max-bytes bounds. */
  bytes: number;
  /** Age of the oldest message not removed; undefined when empty. */
  oldestAgeMs: number | undefined;
  /** Torn or damaged records cut off since open (a power cut mid-write leaves one). */
  discardedTornRecords: number;
}

export interface Spool {
  /** Resolves once the message is fsync'd; rejects SPOOL_FULL when it would not fit, SPOOL_UNWRITABLE when the disk fails. */
  append(record: SpoolRecord): Promise<SpooledMessage>;
  /** Up to `max` messages not removed, oldest first, with ids above `after` when given. */
  peek(max: number, after?: SpoolId): SpooledMessage[];
  /**
   * Takes a message out (after the upstream PUBACK): at once for peek and
   * stats. The promise resolves once the removal is on disk, and never
   * rejects: a removal that could not be saved is logged, and the message
   * may be sent again after a restart (at least once).
   */
  remove(id: SpoolId): Promise<void>;
  stats(): SpoolStats;
  /** Writes what is queued, then closes the files; append rejects afterwards. */
  close(): Promise<void>;
}

export interface SpoolOptions {
  dir: string;
  /** The most bytes the spool's files may hold (--spool-max-bytes). */
  maxBytes: number;
  log: Logger;
  /** Roll to a new segment file past this size; default maxBytes/16, between 64 KiB and 4 MiB. */
  segmentBytes?: number;
}
