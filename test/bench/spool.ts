/**
 * The spool's figures: append rate with fsync for 1 and for 64 concurrent
 * appenders, replay rate (peek + remove, as the bridge drains it after a
 * reconnect), and the RSS of a process holding 10,000 spooled messages,
 * beside baselines of the same run: one write + fdatasync per 200-byte
 * record on the same disk, and the RSS of the same process with an empty
 * spool. Figures only, never asserts.
 *
 *   node test/bench/run.mjs test/bench/spool.ts     (BENCH_SPOOL_DIR: a folder on the disk to measure)
 */
import { spawnSync } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log/log.js';
import { openSpool, type Spool, type SpoolRecord } from '../../src/spool/index.js';
import { REPO } from '../helpers/paths.js';

const RECORDS = Number(process.env.BENCH_SPOOL_RECORDS ?? 10_000);
const PAYLOAD_BYTES = 200;
const log = createLogger({ level: 'warn', json: true });
const record: SpoolRecord = { topic: 'dt/thing-1/telemetry', payload: Buffer.alloc(PAYLOAD_BYTES, 0x61), qos: 1, retain: false };
const open = (dir: string): Promise<Spool> => openSpool({ dir, maxBytes: 64 * 1024 * 1024, log });
const seconds = (started: bigint): number => Number(process.hrtime.bigint() - started) / 1e9;

/** Run as a child with --expose-gc: print the RSS after opening `dir` (which may hold messages). */
async function reportRss(dir: string): Promise<void> {
  const spool = await open(dir);
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  await new Promise((resolve) => setTimeout(resolve, 100));
  gc?.();
  console.log(JSON.stringify({ messages: spool.stats().messages, rssBytes: process.memoryUsage.rss() }));
  await spool.close();
}

function rssOf(dir: string): { messages: number; rssBytes: number } {
  const child = spawnSync(process.execPath, ['--expose-gc', join(REPO, 'test/bench/run.mjs'), join(REPO, 'test/bench/spool.ts'), 'rss', dir], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`rss child exited ${child.status}: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1) as string);
}

/** The disk's own pace: one write + fdatasync per record, as an appender without group commit would go. */
function rawFsyncRate(dir: string, count: number): number {
  const fd = openSync(join(dir, 'raw'), 'wx', 0o600);
  const bytes = Buffer.alloc(PAYLOAD_BYTES + 60);
  const started = process.hrtime.bigint();
  for (let index = 0; index < count; index++) {
    writeSync(fd, bytes);
    fdatasyncSync(fd);
  }
  const rate = count / seconds(started);
  closeSync(fd);
  return rate;
}

async function appendRate(dir: string, appenders: number): Promise<number> {
  const spool = await open(dir);
  let left = RECORDS;
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: appenders }, async () => {
    while (left > 0) {
      left--;
      await spool.append(record);
    }
  }));
  const rate = RECORDS / seconds(started);
  await spool.close();
  return rate;
}

/** Drains as the bridge would with AWS IoT's 100 unacknowledged QoS 1 messages: peek 100, remove them as their PUBACKs come. */
async function replayRate(dir: string): Promise<number> {
  const spool = await open(dir);
  const total = spool.stats().messages;
  const started = process.hrtime.bigint();
  for (let batch = spool.peek(100); batch.length > 0; batch = spool.peek(100)) {
    await Promise.all(batch.map((message) => spool.remove(message.id)));
  }
  const rate = total / seconds(started);
  await spool.close();
  return rate;
}

if (process.argv[2] === 'rss') {
  await reportRss(process.argv[3] as string);
} else {
  const base = process.env.BENCH_SPOOL_DIR ?? tmpdir();
  const work = mkdtempSync(join(base, 'trustlink-bench-spool-'));
  try {
    const raw = rawFsyncRate(work, Math.min(RECORDS, 2_000));
    const one = await appendRate(join(work, 'one'), 1);
    const many = await appendRate(join(work, 'many'), 64);
    const emptyRss = rssOf(join(work, 'empty'));
    const fullRss = rssOf(join(work, 'many'));
    const replay = await replayRate(join(work, 'many'));
    const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
    console.log(`\n${RECORDS} records of ${PAYLOAD_BYTES} bytes (node ${process.version}, ${process.platform}-${process.arch}); spool folder on the filesystem of ${base}\n`);
    console.log('| what | figure |\n| --- | ---: |');
    console.log(`| baseline: one write + fdatasync per record, no spool | ${raw.toFixed(0)} /s |`);
    console.log(`| append, 1 appender (each awaits its fsync) | ${one.toFixed(0)} /s |`);
    console.log(`| append, 64 concurrent appenders (group commit) | ${many.toFixed(0)} /s |`);
    console.log(`| replay: peek 100, remove as acknowledged | ${replay.toFixed(0)} /s |`);
    console.log(`| RSS, empty spool open (baseline) | ${mib(emptyRss.rssBytes)} MiB |`);
    console.log(`| RSS, ${fullRss.messages} messages spooled | ${mib(fullRss.rssBytes)} MiB (+${mib(fullRss.rssBytes - emptyRss.rssBytes)}) |`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
