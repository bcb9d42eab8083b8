/**
 * CRC-32 (IEEE, the zlib/PNG one) of a buffer. Node has it built in from
 * 20.15 / 22.2 (zlib.crc32, in C); older Node 20 releases get the same sum
 * from a table, so the spool reads and writes one format on every Node.
 */
import * as zlib from 'node:zlib';

const TABLE = Uint32Array.from({ length: 256 }, (_, index) => {
  let value = index;
  for (let bit = 0; bit < 8; bit++) value = value & 1 ? 0xedb88320 ^ (value >>> 1) : value >>> 1;
  return value >>> 0;
});

/** The table-driven sum; exported so the tests hold it to zlib's. */
export function crc32Table(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// A namespace import, so a Node without zlib.crc32 yields undefined instead of failing to link.
const builtin = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

export const crc32: (data: Uint8Array) => number = builtin ?? crc32Table;
