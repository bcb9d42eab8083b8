import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ACK_ENTRY_BYTES, encodeAcks, scanAcks } from '../../../src/spool/acks.js';
import { crc32, crc32Table } from '../../../src/spool/crc32.js';
import { decodeRecord, encodeRecord, RECORD_PREFIX_BYTES, scanSegment, type RecordFields } from '../../../src/spool/record.js';

const message = (id: number, payload = `payload ${id}`): RecordFields => ({ id, appendedAt: 1_780_000_000_000 + id, topic: `dt/thing-1/${id}`, retain: id % 2 === 0, payload: Buffer.from(payload) });
const segmentOf = (...ids: number[]): Buffer => Buffer.concat(ids.map((id) => encodeRecord(message(id))));

describe('crc32', () => {
  it('is the IEEE CRC-32, table and zlib alike', () => {
    expect(crc32Table(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32Table(Buffer.alloc(0))).toBe(0);
    const random = Buffer.from(Array.from({ length: 4096 }, (_, index) => (index * 7919) & 0xff));
    expect(crc32(random)).toBe(crc32Table(random));
    // Node >= 20.15 has it built in; the table stands in before that.
    if (typeof (zlib as { crc32?: unknown }).crc32 === 'function') expect(crc32).toBe((zlib as unknown as { crc32: unknown }).crc32);
  });
});

describe('record', () => {
  it('round-trips topic, payload, retain, id and appendedAt', () => {
    for (const fields of [message(1), message(2, ''), { ...message(3), topic: 'dt/ünïcode/☃', payload: Buffer.alloc(128 * 1024, 7) }]) {
      const decoded = decodeRecord(encodeRecord(fields));
      expect(decoded).toEqual({ ok: true, fields });
    }
  });

  it('scans whole segments to the end', () => {
    const bytes = segmentOf(1, 2, 3);
    const scan = scanSegment(bytes);
    expect(scan).toEqual({ validBytes: bytes.length, records: scan.records });
    expect(scan.records.map((record) => record.id)).toEqual([1, 2, 3]);
    expect(scan.records.map((record) => record.offset)).toEqual([0, encodeRecord(message(1)).length, encodeRecord(message(1)).length * 2]);
  });

  it('stops at a truncated tail: every cut point keeps exactly the whole records before it', () => {
    const bytes = segmentOf(1, 2, 3);
    const ends = scanSegment(bytes).records.map((record) => record.offset + record.size);
    for (let cut = 0; cut < bytes.length; cut++) {
      const scan = scanSegment(bytes.subarray(0, cut));
      const whole = ends.filter((end) => end <= cut).length;
      expect(scan.records.length).toBe(whole);
      expect(scan.validBytes).toBe(whole === 0 ? 0 : ends[whole - 1]);
      if (scan.validBytes < cut) expect(scan.bad).toMatch(/partial header|bad length/);
    }
  });

  it('stops at a flipped byte, wherever it is, and never hands back that record', () => {
    const bytes = segmentOf(1, 2, 3);
    const second = scanSegment(bytes).records[1]!;
    for (let at = second.offset; at < second.offset + second.size; at++) {
      const damaged = Buffer.from(bytes);
      damaged[at] = (damaged[at] as number) ^ 0x40;
      const scan = scanSegment(damaged);
      expect(scan.records.map((record) => record.id)).toEqual([1]);
      expect(scan.validBytes).toBe(second.offset);
      expect(scan.bad).toBeDefined();
    }
  });

  it('stops at a zero-length record and at a zeroed block (what a power cut can leave)', () => {
    const good = segmentOf(1);
    expect(scanSegment(Buffer.concat([good, Buffer.alloc(RECORD_PREFIX_BYTES)]))).toMatchObject({ validBytes: good.length, bad: 'bad length' });
    expect(scanSegment(Buffer.concat([good, Buffer.alloc(4096)]))).toMatchObject({ validBytes: good.length, bad: 'bad length' });
  });

  it('stops at a partial header', () => {
    const good = segmentOf(1);
    const next = encodeRecord(message(2));
    for (let length = 1; length < RECORD_PREFIX_BYTES; length++) {
      expect(scanSegment(Buffer.concat([good, next.subarray(0, length)]))).toMatchObject({ validBytes: good.length, bad: 'partial header' });
    }
  });

  it('stops at an id that does not rise (a stale record past the good end)', () => {
    expect(scanSegment(segmentOf(5, 6, 4, 7))).toMatchObject({ validBytes: segmentOf(5, 6).length, bad: 'id out of order' });
    expect(scanSegment(segmentOf(5, 6), 5)).toMatchObject({ validBytes: 0, bad: 'id out of order' });
  });

  it('decodeRecord refuses bytes that are not exactly one good record', () => {
    const bytes = encodeRecord(message(1));
    expect(decodeRecord(bytes.subarray(0, bytes.length - 1))).toEqual({ ok: false, reason: 'bad length' });
    expect(decodeRecord(Buffer.concat([bytes, Buffer.alloc(1)]))).toEqual({ ok: false, reason: 'bad length' });
  });
});

describe('ack entries', () => {
  it('round-trip, and a torn or damaged last entry is ignored', () => {
    const bytes = encodeAcks([3, 1, 2 ** 40]);
    expect(scanAcks(bytes)).toEqual({ ids: new Set([3, 1, 2 ** 40]), validBytes: 3 * ACK_ENTRY_BYTES });
    expect(scanAcks(bytes.subarray(0, bytes.length - 1))).toEqual({ ids: new Set([3, 1]), validBytes: 2 * ACK_ENTRY_BYTES });
    const damaged = Buffer.from(bytes);
    damaged[2 * ACK_ENTRY_BYTES + 3] = 0xff;
    expect(scanAcks(damaged)).toEqual({ ids: new Set([3, 1]), validBytes: 2 * ACK_ENTRY_BYTES });
    expect(scanAcks(Buffer.alloc(ACK_ENTRY_BYTES))).toEqual({ ids: new Set(), validBytes: 0 });
  });
});
