/**
 * One spooled message on disk, and reading a segment back.
 *
 *   u32 BE  body length L
 *   u32 BE  CRC-32 of the body
 *   body (L bytes):
 *     u8      format version (1)
 *     u8      flags (bit 0: retain)
 *     u64 BE  id
 *     u64 BE  appendedAt, ms since the epoch
 *     u16 BE  topic length T
 *     T       topic, UTF-8
 *     rest    payload
 *
 * A reader trusts a record only when its length fits the bytes that follow,
 * its checksum matches and its id is above the one before: a torn tail, a
 * zeroed block or a flipped bit all end the scan there.
 */
import { TrustlinkError } from '../errors.js';
import { crc32 } from './crc32.js';

export const RECORD_PREFIX_BYTES = 8;
const FORMAT_VERSION = 1;
const BODY_FIXED_BYTES = 1 + 1 + 8 + 8 + 2;
const RETAIN_FLAG = 1;
const MAX_TOPIC_BYTES = 0xffff;

export interface RecordFields {
  id: number;
  appendedAt: number;
  topic: string;
  retain: boolean;
  payload: Buffer;
}

export function encodeRecord(fields: RecordFields): Buffer {
  const topicBytes = Buffer.byteLength(fields.topic);
  if (topicBytes > MAX_TOPIC_BYTES) throw new TrustlinkError('INTERNAL', `a spooled topic must be under 64 KiB, got ${topicBytes} bytes`);
  const bodyLength = BODY_FIXED_BYTES + topicBytes + fields.payload.length;
  const record = Buffer.allocUnsafe(RECORD_PREFIX_BYTES + bodyLength);
  record.writeUInt32BE(bodyLength, 0);
  let at = RECORD_PREFIX_BYTES;
  at = record.writeUInt8(FORMAT_VERSION, at);
  at = record.writeUInt8(fields.retain ? RETAIN_FLAG : 0, at);
  at = record.writeBigUInt64BE(BigInt(fields.id), at);
  at = record.writeBigUInt64BE(BigInt(fields.appendedAt), at);
  at = record.writeUInt16BE(topicBytes, at);
  at += record.write(fields.topic, at, 'utf8');
  fields.payload.copy(record, at);
  record.writeUInt32BE(crc32(record.subarray(RECORD_PREFIX_BYTES)), 4);
  return record;
}

/** Why a scan stopped before the end of its bytes. */
export type BadRecord = 'partial header' | 'bad length' | 'bad checksum' | 'bad body' | 'id out of order';

export interface RecordFrame {
  id: number;
  appendedAt: number;
  /** Prefix and body: where the next record starts. */
  size: number;
}

export type Checked = ({ ok: true } & RecordFrame) | { ok: false; reason: BadRecord };

/** Checks the record starting at `offset` without copying it; `afterId` is the id of the record before it (0 for none). */
export function checkRecord(bytes: Buffer, offset: number, afterId = 0): Checked {
  if (bytes.length - offset < RECORD_PREFIX_BYTES) return { ok: false, reason: 'partial header' };
  const bodyLength = bytes.readUInt32BE(offset);
  const bodyStart = offset + RECORD_PREFIX_BYTES;
  if (bodyLength < BODY_FIXED_BYTES || bodyLength > bytes.length - bodyStart) return { ok: false, reason: 'bad length' };
  const body = bytes.subarray(bodyStart, bodyStart + bodyLength);
  if (crc32(body) !== bytes.readUInt32BE(offset + 4)) return { ok: false, reason: 'bad checksum' };
  const id = Number(body.readBigUInt64BE(2));
  if (body[0] !== FORMAT_VERSION || BODY_FIXED_BYTES + body.readUInt16BE(18) > bodyLength || !Number.isSafeInteger(id)) return { ok: false, reason: 'bad body' };
  if (id <= afterId) return { ok: false, reason: 'id out of order' };
  return { ok: true, id, appendedAt: Number(body.readBigUInt64BE(10)), size: RECORD_PREFIX_BYTES + bodyLength };
}

export type Decoded = { ok: true; fields: RecordFields } | { ok: false; reason: BadRecord };

/** The message of the one record in `bytes` (as read back from its place in a segment). */
export function decodeRecord(bytes: Buffer): Decoded {
  const checked = checkRecord(bytes, 0);
  if (!checked.ok) return checked;
  if (checked.size !== bytes.length) return { ok: false, reason: 'bad length' };
  const body = bytes.subarray(RECORD_PREFIX_BYTES);
  const topicEnd = BODY_FIXED_BYTES + body.readUInt16BE(18);
  return {
    ok: true,
    fields: {
      id: checked.id,
      appendedAt: checked.appendedAt,
      retain: ((body[1] as number) & RETAIN_FLAG) !== 0,
      topic: body.toString('utf8', BODY_FIXED_BYTES, topicEnd),
      payload: body.subarray(topicEnd),
    },
  };
}

export interface ScannedRecord extends RecordFrame {
  offset: number;
}

export interface SegmentScan {
  records: ScannedRecord[];
  /** Bytes from the start that hold good records; anything after is to be cut off. */
  validBytes: number;
  bad?: BadRecord;
}

/** Reads a segment's bytes forward and stops at the first record it cannot trust; ids must rise above `afterId`. */
export function scanSegment(bytes: Buffer, afterId = 0): SegmentScan {
  const records: ScannedRecord[] = [];
  let offset = 0;
  let lastId = afterId;
  while (offset < bytes.length) {
    const checked = checkRecord(bytes, offset, lastId);
    if (!checked.ok) return { records, validBytes: offset, bad: checked.reason };
    records.push({ id: checked.id, appendedAt: checked.appendedAt, size: checked.size, offset });
    lastId = checked.id;
    offset += checked.size;
  }
  return { records, validBytes: offset };
}
