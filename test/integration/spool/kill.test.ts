/**
 * kill -9 of a process appending to the spool, at a seeded random point: every
 * message it had seen acknowledged is there after the restart, in order and
 * unchanged; removals it had seen saved stay removed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createLogger } from '../../../src/log/log.js';
import { openSpool, type SpooledMessage } from '../../../src/spool/index.js';
import { makeTempDir } from '../../helpers/paths.js';
import { buildSpoolChild, runSpoolChild } from '../../helpers/spool-process.js';
import { spoolTestIndex, spoolTestRecord } from '../../helpers/spool-records.js';

const temp = makeTempDir('spool-kill');
afterAll(() => temp.remove());
let child: string;
beforeAll(async () => {
  child = await buildSpoolChild(temp.path);
});

const log = createLogger({ level: 'error', json: true });
const MESSAGES = 1000;

/** mulberry32: a small seeded generator, so a failing kill point can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ackedIndexes = (lines: string[]): number[] => lines.filter((line) => line.startsWith('acked ')).map((line) => Number(line.split(' ')[1]));

async function spooled(dir: string): Promise<{ messages: SpooledMessage[]; discarded: number }> {
  const spool = await openSpool({ dir, maxBytes: 64 * 1024 * 1024, log });
  const messages = spool.peek(10 * MESSAGES);
  const { discardedTornRecords } = spool.stats();
  await spool.close();
  return { messages, discarded: discardedTornRecords };
}

/** Everything held is exactly a message the child appended, in the order it appended them (ids and indexes both rise). */
function expectIntactInOrder(messages: SpooledMessage[]): number[] {
  const indexes = messages.map((message) => spoolTestIndex(message.topic));
  for (const message of messages) {
    const { topic, payload, retain } = spoolTestRecord(spoolTestIndex(message.topic));
    expect({ topic: message.topic, payload: message.payload, retain: message.retain }).toEqual({ topic, payload, retain });
  }
  expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
  const ids = messages.map((message) => message.id);
  expect(ids).toEqual([...ids].sort((a, b) => a - b));
  expect(new Set(ids).size).toBe(ids.length);
  return indexes;
}

describe('spool under kill -9', () => {
  it.each([1, 2, 3])('keeps every acknowledged message, in order, over two kills (seed %i)', async (seed) => {
    const random = seeded(seed);
    const dir = join(temp.path, `kill-${seed}`);
    const acked: number[] = [];
    // Two rounds in the same folder: the second appends after the first one's recovery.
    for (const round of [0, 1]) {
      const killAfter = 1 + Math.floor(random() * (MESSAGES - 1));
      const concurrency = 1 + Math.floor(random() * 64);
      const first = round * MESSAGES;
      const result = await runSpoolChild(child, ['append', dir, String(first), String(MESSAGES), String(concurrency)], (lines) => lines.length >= killAfter);
      expect(result.signal, `killAfter ${killAfter}: ${result.stderr}`).toBe('SIGKILL');
      const seen = ackedIndexes(result.lines);
      expect(seen.length).toBeGreaterThanOrEqual(killAfter);
      acked.push(...seen);

      const { messages } = await spooled(dir);
      const held = new Set(expectIntactInOrder(messages));
      expect(acked.filter((index) => !held.has(index)), `seed ${seed} round ${round}: acknowledged but missing`).toEqual([]);
    }
  });

  it('a removal the child saw saved stays removed after kill -9', async () => {
    const dir = join(temp.path, 'removed');
    const appended = await runSpoolChild(child, ['append', dir, '0', '300', '16'], () => false);
    expect(appended.lines.at(-1)).toBe('done');
    const removed = await runSpoolChild(child, ['remove', dir, '250'], (lines) => lines.includes('removed 250'));
    expect(removed.signal).toBe('SIGKILL');
    const { messages } = await spooled(dir);
    expect(expectIntactInOrder(messages)).toEqual(Array.from({ length: 50 }, (_, offset) => 250 + offset));
  });
});
