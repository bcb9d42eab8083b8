/**
 * A minimal MQTT 3.1.1 client on mqtt-packet for the bridge benchmark: a
 * publisher that keeps a window of QoS 1 messages in flight (or sends them
 * at a steady rate), each stamped with its send time, and a subscriber that
 * records when each arrived.
 * Figures only; nothing here asserts.
 */
import { once } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync } from 'node:fs';
import mqtt, { type Packet } from 'mqtt-packet';

export type Target = { port: number; host?: string } | { path: string } | { port: number; host: string; tls: { ca: string; cert: string; key: string } };

export interface Client {
  socket: Socket;
  send(packet: Packet): void;
  /** One handler per packet type, given the packet as its own type. */
  on<C extends Packet['cmd']>(cmd: C, handler: (packet: Extract<Packet, { cmd: C }>) => void): void;
  close(): void;
}

export async function connectClient(target: Target, clientId: string): Promise<Client> {
  const socket = 'tls' in target
    ? tlsConnect({ host: target.host, port: target.port, servername: 'localhost', ca: readFileSync(target.tls.ca), cert: readFileSync(target.tls.cert), key: readFileSync(target.tls.key) })
    : 'path' in target ? netConnect({ path: target.path }) : netConnect({ port: target.port, host: target.host ?? '127.0.0.1' });
  socket.setNoDelay(true);
  await once(socket, 'tls' in target ? 'secureConnect' : 'connect');
  const parser = mqtt.parser();
  const handlers = new Map<string, (packet: Packet) => void>();
  socket.on('data', (chunk: Buffer) => parser.parse(chunk));
  parser.on('packet', (packet: Packet) => handlers.get(packet.cmd)?.(packet));
  const client: Client = {
    socket,
    send: (packet) => void socket.write(mqtt.generate(packet)),
    on: (cmd, handler) => void handlers.set(cmd, handler as (packet: Packet) => void),
    close: () => socket.destroy(),
  };
  const connack = new Promise<void>((resolve, reject) => client.on('connack', (packet) => (packet.returnCode === 0 ? resolve() : reject(new Error(`CONNACK ${packet.returnCode}`)))));
  client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 60 });
  await connack;
  return client;
}

/** Subscribes (QoS 1) and records each message's latency from the send time in its payload. */
export async function subscriber(target: Target, filter: string): Promise<{ latenciesMs: number[]; arrivals: number[]; waitFor(count: number, timeoutMs: number): Promise<void>; close(): void }> {
  const client = await connectClient(target, `bench-sub-${process.pid}`);
  const latenciesMs: number[] = [];
  const arrivals: number[] = [];
  client.on('publish', (packet) => {
    const now = performance.now() + performance.timeOrigin;
    const sent = Number((packet.payload as Buffer).toString('utf8', 0, 20).split(' ')[0]);
    latenciesMs.push(now - sent);
    arrivals.push(now);
    if (packet.qos === 1) client.send({ cmd: 'puback', messageId: packet.messageId });
  });
  const suback = new Promise<void>((resolve) => client.on('suback', () => resolve()));
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 1 }] });
  await suback;
  return {
    latenciesMs, arrivals,
    async waitFor(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (latenciesMs.length < count) {
        if (Date.now() > deadline) throw new Error(`only ${latenciesMs.length} of ${count} messages arrived`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: () => client.close(),
  };
}

export interface LoadOptions {
  /** At most this many unacknowledged at once. */
  window: number;
  payloadBytes?: number;
  /** Paced: a steady this many a second (open loop: a message goes when due, not when the last was acknowledged). */
  perSecond?: number;
}

/**
 * Publishes `count` QoS 1 messages, as fast as the window allows or paced;
 * resolves when all were acknowledged. Returns the ms it took.
 */
export async function publishLoad(target: Target, topic: string, count: number, options: LoadOptions): Promise<number> {
  const { window, payloadBytes = 64, perSecond } = options;
  const client = await connectClient(target, `bench-pub-${process.pid}`);
  const padding = 'x'.repeat(Math.max(0, payloadBytes - 20));
  let sent = 0;
  let acked = 0;
  let pacer: NodeJS.Timeout | undefined;
  const started = performance.now();
  try {
    await new Promise<void>((resolve, reject) => {
      const sendOne = (): void => {
        sent++;
        const stamp = (performance.now() + performance.timeOrigin).toFixed(3);
        client.send({ cmd: 'publish', topic, qos: 1, retain: false, dup: false, messageId: ((sent - 1) % 65535) + 1, payload: Buffer.from(`${stamp} ${padding}`) });
      };
      const due = (): number => (perSecond === undefined ? count : Math.min(count, Math.floor(((performance.now() - started) * perSecond) / 1000) + 1));
      const sendDue = (): void => {
        while (sent < due() && sent - acked < window) sendOne();
      };
      client.on('puback', (packet) => {
        if (packet.reasonCode !== undefined && packet.reasonCode >= 0x80) reject(new Error(`PUBACK ${packet.reasonCode}`));
        acked++;
        if (acked === count) resolve();
        else sendDue();
      });
      client.socket.once('close', () => acked < count && reject(new Error(`closed after ${acked} acks`)));
      if (perSecond !== undefined) pacer = setInterval(sendDue, 1);
      sendDue();
    });
  } finally {
    clearInterval(pacer);
    client.close();
  }
  return performance.now() - started;
}

export const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
};

/** Resident set size of a process, from /proc, in MiB. */
export function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((entry) => entry.startsWith('VmRSS:')) ?? 'VmRSS: 0 kB';
  return Number(line.replace(/\D+/g, '')) / 1024;
}
