/** The messages the spool tests append: number i has its own topic, retain flag and payload, so any change shows. */
import { createHash } from 'node:crypto';
import type { SpoolRecord } from '../../src/spool/index.js';

export function spoolTestRecord(index: number): SpoolRecord {
  const digest = createHash('sha256').update(`spool-test-${index}`).digest();
  // 32 to 400 bytes, different for each message.
  const length = 32 + ((digest[0] as number) * 256 + (digest[1] as number)) % 369;
  const payload = Buffer.alloc(length);
  for (let at = 0; at < length; at += digest.length) digest.copy(payload, at);
  return { topic: `dt/spool-test/${index}`, payload, qos: 1, retain: index % 3 === 0 };
}

/** The index a spooled test message was made from (its topic's last level). */
export const spoolTestIndex = (topic: string): number => Number(topic.slice(topic.lastIndexOf('/') + 1));
