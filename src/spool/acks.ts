/**
 * Removals on disk: each segment has an ack file next to it, a list of the
 * ids removed from it, each entry `u64 BE id | u32 BE CRC-32 of those 8 bytes`.
 * A torn last entry fails its checksum and is ignored, like a torn record.
 */
import { crc32 } from './crc32.js';

export const ACK_ENTRY_BYTES = 12;

export function encodeAcks(ids: readonly number[]): Buffer {
  const bytes = Buffer.allocUnsafe(ids.length * ACK_ENTRY_BYTES);
  ids.forEach((id, index) => {
    const at = index * ACK_ENTRY_BYTES;
    bytes.writeBigUInt64BE(BigInt(id), at);
    bytes.writeUInt32BE(crc32(bytes.subarray(at, at + 8)), at + 8);
  });
  return bytes;
}

/** The ids of the good entries, and how many bytes from the start hold them. */
export function scanAcks(bytes: Buffer): { ids: Set<number>; validBytes: number } {
  const ids = new Set<number>();
  let at = 0;
  for (; at + ACK_ENTRY_BYTES <= bytes.length; at += ACK_ENTRY_BYTES) {
    if (crc32(bytes.subarray(at, at + 8)) !== bytes.readUInt32BE(at + 8)) break;
    ids.add(Number(bytes.readBigUInt64BE(at)));
  }
  return { ids, validBytes: at };
}
