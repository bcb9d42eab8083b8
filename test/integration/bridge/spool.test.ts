/**
 * The bridge's spool through the real agent while the upstream broker
 * (mosquitto as AWS IoT) is down: kill -9 at a random point loses no
 * message a local client saw acknowledged, what was in flight when the link
 * dropped is spooled ahead of what came after, a connected agent writes
 * nothing to the spool, a torn record is discarded and
 * never sent, and a full spool refuses (MQTT 5 0x97; 3.1.1: the connection
 * closes), counted and logged once.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBridgeAgent, type BridgeAgent } from '../../helpers/bridge-agent.js';
import { fileClientCert, mosquittoPub, mosquittoSub, pubackReasonCodes, upstreamFlags, type FileClientCert } from '../../helpers/mqtt-clients.js';
import { makeTempDir } from '../../helpers/paths.js';
import { createStack, type TestStack } from '../../helpers/stack.js';

let stack: TestStack;
let watcher: FileClientCert;

beforeAll(async () => {
  stack = await createStack('bridge-spool');
  watcher = await fileClientCert(stack, 'watcher');
});

afterAll(async () => {
  await stack?.close();
});

/** The upstream broker's state: start() on a running mosquitto would orphan it, so each test restores it once. */
let brokerDown = false;
async function brokerStop(): Promise<void> {
  await stack.broker.stop();
  brokerDown = true;
}
async function brokerStart(): Promise<void> {
  if (!brokerDown) return;
  await stack.broker.start();
  brokerDown = false;
}

/** mosquitto_pub -l: one QoS 1 message a line, its PUBACKs printed (-d) as they come. */
function publishLines(socket: string, topic: string, lines: string[], version = '5') {
  const child = spawn('stdbuf', ['-oL', 'mosquitto_pub', '--unix', socket, '-V', version, '-q', '1', '-t', topic, '-l', '-d'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stdin.end(`${lines.join('\n')}\n`);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child, exited,
    output: () => stdout,
    /** Message ids (1-based: line n has id n) whose PUBACK said success. */
    acked: () => [...stdout.matchAll(/received PUBACK \(Mid: (\d+), RC:0\)/g)].map((match) => Number(match[1])),
  };
}

async function waitUntil(what: string, predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Payloads an upstream subscriber received on `topic`, in arrival order. */
const payloads = (sub: { stdoutLines: string[] }, topic: string): string[] =>
  sub.stdoutLines.filter((line) => line.startsWith(`${topic} `)).map((line) => line.slice(topic.length + 1));

/** The first arrival of each wanted payload, in arrival order: at least once means duplicates may follow. */
const firstArrivals = (received: string[], wanted: Set<string>): number[] =>
  [...new Set(received)].filter((payload) => wanted.has(payload)).map(Number);

it('loses no acknowledged message when the agent is killed with kill -9 while the broker is down, and sends them in order', async () => {
  const dir = makeTempDir('bridge-kill');
  const topic = 'dt/thing-1/seq';
  const count = 1_000;
  await brokerStop();
  try {
    const first = await startBridgeAgent({ args: [...stack.args, '--client-id', 'thing-1'], env: stack.env, dir: dir.path, waitConnected: false });
    const publisher = publishLines(first.socket, topic, Array.from({ length: count }, (_, index) => String(index)));
    const killAfter = 100 + Math.floor(Math.random() * 800);
    await waitUntil(`${killAfter} PUBACKs`, () => publisher.acked().length >= killAfter);
    first.agent.child.kill('SIGKILL');
    await first.agent.exited;
    publisher.child.kill('SIGKILL');
    await publisher.exited;
    const acked = publisher.acked().map((id) => String(id - 1));
    expect(acked.length).toBeGreaterThanOrEqual(killAfter);

    await brokerStart();
    const sub = mosquittoSub([...upstreamFlags(stack, watcher), '-i', 'watcher-kill', '-q', '1', '-t', topic, '-d']);
    try {
      await sub.waitFor('SUBACK', () => sub.stdoutLines.some((line) => line.includes('received SUBACK')));
      const second = await startBridgeAgent({ args: [...stack.args, '--client-id', 'thing-1'], env: stack.env, dir: dir.path });
      try {
        const wanted = new Set(acked);
        await sub.waitFor('every acknowledged message', () => payloads(sub, topic).filter((payload) => wanted.has(payload)).length >= wanted.size, 60_000);
        const received = payloads(sub, topic);
        // Nothing garbled: each payload is one of the lines sent.
        expect(received.every((payload) => /^\d+$/.test(payload) && Number(payload) < count)).toBe(true);
        // In order, at least once: first arrivals of the acknowledged messages are in publish order.
        const arrivals = firstArrivals(received, wanted);
        expect(arrivals).toEqual([...arrivals].sort((a, b) => a - b));
        expect(arrivals).toHaveLength(wanted.size);
        await second.waitForStatus('the spool drained', (status) => status.services.bridge.spool.messages === 0);
      } finally {
        await second.stop();
      }
    } finally {
      await sub.stop();
    }
  } finally {
    await brokerStart();
    dir.remove();
  }
}, 180_000);

/** Bytes in the spool's files of a kind ('seg': records, 'ack': removals). */
function spoolFileBytes(dir: string, kind: 'seg' | 'ack'): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(`.${kind}`))
    .reduce((bytes, entry) => bytes + statSync(join(entry.parentPath, entry.name)).size, 0);
}

it('writes nothing to the spool while AWS IoT takes each message at once', async () => {
  const dir = makeTempDir('bridge-live');
  const topic = 'dt/thing-1/live';
  const sub = mosquittoSub([...upstreamFlags(stack, watcher), '-i', 'watcher-live', '-q', '1', '-t', topic, '-d']);
  try {
    await sub.waitFor('SUBACK', () => sub.stdoutLines.some((line) => line.includes('received SUBACK')));
    const agent = await startBridgeAgent({ args: [...stack.args, '--client-id', 'thing-1'], env: stack.env, dir: dir.path });
    try {
      // Fewer than AWS IoT's 100 publishes/s: none waits past the second that would send it to the spool.
      const lines = Array.from({ length: 50 }, (_, index) => String(index));
      const publisher = publishLines(agent.socket, topic, lines);
      expect(await publisher.exited).toBe(0);
      expect(publisher.acked()).toHaveLength(lines.length);
      await sub.waitFor('every message', () => payloads(sub, topic).length >= lines.length);
      expect(payloads(sub, topic)).toEqual(lines);
      expect(spoolFileBytes(agent.spoolDir, 'seg')).toBe(0);
      expect(spoolFileBytes(agent.spoolDir, 'ack')).toBe(0);
    } finally {
      await agent.stop();
    }
  } finally {
    await sub.stop();
    dir.remove();
  }
}, 60_000);

it('spools what was in flight when the link dropped, ahead of what came after: all acknowledged messages arrive, in order', async () => {
  const dir = makeTempDir('bridge-drop');
  const topic = 'dt/thing-1/drop';
  const count = 20_000;
  let first: BridgeAgent | undefined;
  let publisher: ReturnType<typeof publishLines> | undefined;
  const before = mosquittoSub([...upstreamFlags(stack, watcher), '-i', 'watcher-drop-1', '-q', '1', '-t', topic, '-d']);
  try {
    await before.waitFor('SUBACK', () => before.stdoutLines.some((line) => line.includes('received SUBACK')));
    first = await startBridgeAgent({ args: [...stack.args, '--client-id', 'thing-1'], env: stack.env, dir: dir.path });
    const sending = publishLines(first.socket, topic, Array.from({ length: count }, (_, index) => String(index)));
    publisher = sending;
    const dropAfter = 200 + Math.floor(Math.random() * 300);
    await waitUntil(`${dropAfter} PUBACKs`, () => sending.acked().length >= dropAfter);
    await brokerStop();
    // Acknowledged while the broker is down: on disk only.
    const atDrop = sending.acked().length;
    await waitUntil('PUBACKs while the broker is down', () => sending.acked().length >= atDrop + 200);
    first.agent.child.kill('SIGKILL');
    await first.agent.exited;
    sending.child.kill('SIGKILL');
    await sending.exited;
    await before.stop();
    const acked = new Set(sending.acked().map((id) => String(id - 1)));

    await brokerStart();
    const after = mosquittoSub([...upstreamFlags(stack, watcher), '-i', 'watcher-drop-2', '-q', '1', '-t', topic, '-d']);
    try {
      await after.waitFor('SUBACK', () => after.stdoutLines.some((line) => line.includes('received SUBACK')));
      const second = await startBridgeAgent({ args: [...stack.args, '--client-id', 'thing-1'], env: stack.env, dir: dir.path });
      try {
        const arrivals = (): number[] => firstArrivals([...payloads(before, topic), ...payloads(after, topic)], acked);
        await after.waitFor('every acknowledged message', () => arrivals().length >= acked.size, 60_000);
        expect(arrivals()).toEqual([...arrivals()].sort((a, b) => a - b));
        await second.waitForStatus('the spool drained', (status) => status.services.bridge.spool.messages === 0);
      } finally {
        await second.stop();
      }
    } finally {
      await after.stop();
    }
  } finally {
    publisher?.child.kill('SIGKILL');
    await first?.stop();
    await brokerStart();
    await before.stop();
    dir.remove();
  }
}, 180_000);

/** The spool's newest segment file (NNNN.seg): where the last record went. */
function newestSegment(dir: string): string {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.seg'))
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((path) => statSync(path).size > 0)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (files[0] === undefined) throw new Error(`no spool file in ${dir}`);
  return files[0];
}

it('discards a record torn by a power cut (a truncated spool file) and never sends it garbled', async () => {
  const dir = makeTempDir('bridge-torn');
  const topic = 'dt/thing-1/torn';
  await brokerStop();
  try {
    const first = await startBridgeAgent({ args: [...stack.args, '--client-id', 'thing-1'], env: stack.env, dir: dir.path, waitConnected: false });
    const publisher = publishLines(first.socket, topic, Array.from({ length: 20 }, (_, index) => `reading-${index}`));
    expect(await publisher.exited).toBe(0);
    expect(publisher.acked()).toHaveLength(20);
    first.agent.child.kill('SIGKILL');
    await first.agent.exited;
    const file = newestSegment(first.spoolDir);
    truncateSync(file, statSync(file).size - 3);

    await brokerStart();
    const sub = mosquittoSub([...upstreamFlags(stack, watcher), '-i', 'watcher-torn', '-q', '1', '-t', topic, '-d']);
    try {
      await sub.waitFor('SUBACK', () => sub.stdoutLines.some((line) => line.includes('received SUBACK')));
      const second = await startBridgeAgent({ args: [...stack.args, '--client-id', 'thing-1'], env: stack.env, dir: dir.path });
      try {
        const status = await second.waitForStatus('the spool drained', (current) => current.services.bridge.spool.messages === 0);
        expect(status.services.bridge.spool.discardedTornRecords).toBeGreaterThanOrEqual(1);
        await sub.waitFor('the intact records', () => payloads(sub, topic).length >= 19);
        const received = [...new Set(payloads(sub, topic))];
        expect(received).toEqual(Array.from({ length: 19 }, (_, index) => `reading-${index}`));
      } finally {
        await second.stop();
      }
    } finally {
      await sub.stop();
    }
  } finally {
    await brokerStart();
    dir.remove();
  }
}, 120_000);

it('refuses new QoS 1 messages when the spool is full: MQTT 5 PUBACK 0x97, MQTT 3.1.1 the connection closed; counted, logged once', async () => {
  const dir = makeTempDir('bridge-full');
  const maxBytes = 65_536;
  await brokerStop();
  try {
    const agent = await startBridgeAgent({ args: [...stack.args, '--client-id', 'thing-1'], env: stack.env, dir: dir.path, waitConnected: false, extra: ['--spool-max-bytes', String(maxBytes)] });
    try {
      const kilobyte = 'x'.repeat(1_000);
      const v5 = publishLines(agent.socket, 'dt/thing-1/full', Array.from({ length: 100 }, () => kilobyte));
      expect(await v5.exited).toBe(0);
      const codes = pubackReasonCodes(v5.output());
      expect(codes).toHaveLength(100);
      const accepted = codes.filter((code) => code === 0).length;
      expect(accepted).toBeGreaterThan(0);
      // Once full, every later message is refused: the accepted ones come first.
      expect(codes).toEqual([...Array(accepted).fill(0), ...Array(100 - accepted).fill(0x97)]);

      await agent.waitForStatus('the accepted messages held', (current) => current.services.bridge.spool.messages === accepted);
      // 60 KB cannot fit in a 64 KiB spool holding anything: refused for certain.
      const v311 = await mosquittoPub(['--unix', agent.socket, '-V', '311', '-q', '1', '-t', 'dt/thing-1/full', '-m', 'y'.repeat(60_000), '-d']);
      expect(v311.stdout).toContain('received CONNACK');
      expect(v311.stdout).not.toContain('received PUBACK');

      const status = await agent.waitForStatus('the refusals counted', (current) => current.services.bridge.counters.refusedSpoolFull >= 100 - accepted + 1);
      expect(status.services.bridge.spool.bytes).toBeLessThanOrEqual(maxBytes);
      expect(status.services.bridge.spool.messages).toBe(accepted);
      expect(agent.agent.countLogs('local publish refused: the spool is full')).toBe(1);
    } finally {
      await agent.stop();
    }
  } finally {
    await brokerStart();
    dir.remove();
  }
}, 120_000);
